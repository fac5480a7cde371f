"""How many SMS parts a text costs: GSM-7 or UCS-2, counted the way handsets split it.

A message is GSM-7 when every character is in the GSM 03.38 default alphabet or its extension
table; one character outside both switches the *whole* message to UCS-2. GSM-7 fits 160
septets in a single SMS; UCS-2 fits 70 UTF-16 code units. A longer message is sent as
concatenated parts whose user-data header leaves 153 septets or 67 units each.

Parts are found by packing characters in order, not by dividing the length: an extension
character (an escape septet plus the character) and a character outside the Basic Multilingual
Plane (a UTF-16 surrogate pair, e.g. most emoji) are two units that must travel in the same
part, so a part may end one unit short and the count can exceed ``ceil(length / 153)``.

Pure Python with no Django import: the simulator uses the same counting as the app, so what the
app predicts and what the simulator charges agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM7", "UCS2"]

GSM7_SINGLE_LIMIT = 160
GSM7_PART_LIMIT = 153
UCS2_SINGLE_LIMIT = 70
UCS2_PART_LIMIT = 67

#: The GSM 03.38 default alphabet (127 characters: position 0x1B is the escape, not a character).
GSM7_BASIC: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039eÆæßÉ"  # Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

#: The extension table: each costs two septets, the escape and the character.
GSM7_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")

_GSM7 = GSM7_BASIC | GSM7_EXTENSION
_FIRST_ASTRAL = "\U00010000"


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """What a text costs to send.

    ``length`` is in the encoding's units (septets for GSM-7, UTF-16 code units for UCS-2),
    which is what the limits are written in; ``characters`` is ``len(text)``, which is what a
    person counts.
    """

    encoding: Encoding
    length: int
    parts: int
    characters: int


def is_gsm7(text: str) -> bool:
    """Whether every character of ``text`` has a GSM-7 encoding (basic or extension table)."""
    return _GSM7.issuperset(text)


def encoding_of(text: str) -> Encoding:
    """``"GSM7"`` when :func:`is_gsm7`, else ``"UCS2"``: one outsider switches the whole text."""
    return "GSM7" if _GSM7.issuperset(text) else "UCS2"


def ucs2_characters(text: str) -> list[str]:
    """The characters of ``text`` with no GSM-7 encoding, once each, in order of appearance.

    Any one of them makes the whole text UCS-2 (see :func:`encoding_of`): these are what a
    person would replace to fit more in a part. ``ñ``, ``é`` and ``€`` are GSM-7; ``ó``, ``ç``,
    curly quotes and emoji are not.
    """
    return list(dict.fromkeys(char for char in text if char not in _GSM7))


def _units(text: str, encoding: Encoding) -> int:
    if encoding == "GSM7":
        return len(text) + sum(text.count(char) for char in GSM7_EXTENSION.intersection(text))
    # "surrogatepass" lets a lone surrogate (possible in a Python str) count as the one unit it is.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _limits(encoding: Encoding) -> tuple[int, int]:
    if encoding == "GSM7":
        return GSM7_SINGLE_LIMIT, GSM7_PART_LIMIT
    return UCS2_SINGLE_LIMIT, UCS2_PART_LIMIT


def _part_starts(text: str, encoding: Encoding, limit: int) -> list[int]:
    """Index of the first character of each part, packing two-unit characters whole."""
    starts = [0]
    fill = 0
    if encoding == "GSM7":
        extension = GSM7_EXTENSION
        for index, char in enumerate(text):
            width = 2 if char in extension else 1
            if fill + width > limit:
                starts.append(index)
                fill = 0
            fill += width
    else:
        for index, char in enumerate(text):
            width = 2 if char >= _FIRST_ASTRAL else 1
            if fill + width > limit:
                starts.append(index)
                fill = 0
            fill += width
    return starts


def analyse(text: str) -> SegmentInfo:
    """The encoding, length in units and number of parts of ``text``.

    The empty text has length 0 and **0 parts**: the provider refuses an empty message (error
    code 3), so it is never sent and never charged. Any other text has at least one part.
    """
    encoding = encoding_of(text)
    length = _units(text, encoding)
    single, per_part = _limits(encoding)
    if not text:
        parts = 0
    elif length <= single:
        parts = 1
    elif length == len(text):
        # No two-unit character: nothing can be pushed to the next part, so plain division holds.
        parts = math.ceil(length / per_part)
    else:
        parts = len(_part_starts(text, encoding, per_part))
    return SegmentInfo(encoding=encoding, length=length, parts=parts, characters=len(text))


def split(text: str) -> list[str]:
    """The parts ``text`` is sent as, in order; ``"".join(split(text)) == text``.

    Useful to the simulator and for showing why a message costs what it does. The empty text
    has no parts (see :func:`analyse`).
    """
    if not text:
        return []
    encoding = encoding_of(text)
    single, per_part = _limits(encoding)
    if _units(text, encoding) <= single:
        return [text]
    starts = _part_starts(text, encoding, per_part)
    ends = [*starts[1:], len(text)]
    return [text[start:end] for start, end in zip(starts, ends, strict=True)]


def credit_cost(text: str, *, credits_per_part: float = 1.0) -> float:
    """The credits ``text`` costs at ``credits_per_part`` (the provider charges per part).

    The rate depends on the account and destination and is not published, hence the argument.
    """
    return analyse(text).parts * credits_per_part
