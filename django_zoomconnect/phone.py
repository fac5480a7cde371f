"""Phone numbers: parse and validate what people type, store E.164, write the wire format.

Why E.164 is stored: it is the one spelling that is unambiguous without knowing where the
number was typed, so two rows for the same phone compare equal and a delivery report or reply
(whose ``from``/``to`` may be spelt differently) can be matched to a contact.

Why the wire format is a setting: the provider's documents show ``+27…``, ``27…`` and ``0…``
in different places and say nothing about what ``recipientNumber`` accepts, so
``ZOOMCONNECT["PHONE_NUMBER_FORMAT"]`` picks ``"e164"`` (the default), ``"digits"`` or
``"national"`` and :func:`to_wire` applies it.

Validation is :func:`phonenumbers.is_valid_number`: the number must exist in its country's
numbering plan. It does not insist on a mobile number, because number portability and
SMS-capable fixed lines make "mobile" a guess the provider is better placed to make (it refuses
undeliverable numbers with error code 2).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

import phonenumbers
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    PhoneNumberFormat,
    ValidationResult,
)

from . import conf
from .exceptions import PhoneNumberError

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country calling code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}

_POSSIBLE_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong number of digits",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "only a local number (the area code is missing)",
}

# Punctuation people put between digits; what remains must be digits for the "+" retry.
_SEPARATORS = str.maketrans("", "", " -./()\u00a0")


def _region(region: str | None) -> str:
    if region is None:
        return str(conf.get("DEFAULT_REGION"))
    if not isinstance(region, str) or region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"region {region!r} is not a two-letter region code known to phonenumbers")
    return region.upper()


def _fail(number: object, reason: str) -> PhoneNumberError:
    return PhoneNumberError(f"{number!r} is not a valid phone number: {reason}.", number=number)


def _parse(number: str, text: str, region: str) -> PhoneNumber:
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise _fail(number, _PARSE_REASONS.get(exc.error_type, "not a phone number")) from None


def _why_invalid(parsed: PhoneNumber) -> str:
    reason = _POSSIBLE_REASONS.get(phonenumbers.is_possible_number_with_reason(parsed))
    if reason is None:
        # The length is possible for the country, but no range of its numbering plan matches.
        reason = "not in the numbering plan"
    code = parsed.country_code or 0
    region = phonenumbers.region_code_for_country_code(code)
    where = f" ({region})" if region.isalpha() and region != "ZZ" else ""
    return f"{reason} for country code +{code}{where}"


def parse(number: str, *, region: str | None = None) -> PhoneNumber:
    """Like :func:`normalize`, but the :class:`phonenumbers.PhoneNumber`, for its region or type."""
    if not isinstance(number, str):
        raise _fail(number, f"expected a string, not {type(number).__name__}")
    return _parse_in(number, _region(region))


def _parse_in(number: str, default_region: str) -> PhoneNumber:
    """:func:`parse` of a string in a region already checked."""
    text = number.strip()
    if not text:
        raise _fail(number, "it is empty")
    parsed = _parse(number, text, default_region)
    valid = phonenumbers.is_valid_number(parsed)
    if not valid:
        # "447911123456": digits that carry their own country code but no "+". Read as a
        # national number of the default region first (so a leading zero lost in a spreadsheet,
        # "821234567", still works); only when that is not valid, as an international number.
        digits = text.translate(_SEPARATORS)
        if digits.isdigit() and digits.isascii() and not digits.startswith("0"):
            try:
                retry = phonenumbers.parse("+" + digits, None)
            except NumberParseException:
                retry = None
            if retry is not None and phonenumbers.is_valid_number(retry):
                parsed, valid = retry, True
    if not valid:
        raise _fail(number, _why_invalid(parsed))
    if parsed.extension:
        raise _fail(number, f"it has an extension ({parsed.extension}), which an SMS cannot reach")
    return parsed


def normalize(number: str, *, region: str | None = None) -> str:
    """``number`` in E.164 (``"+27821234567"``), the form this package stores and compares.

    Accepts what people type: ``"+27 82 123 4567"``, ``"082 123 4567"``, ``"0027821234567"``,
    ``"27821234567"``. A number without ``+`` or an international prefix is read in ``region``
    (default ``ZOOMCONNECT["DEFAULT_REGION"]``, read now); if it is not valid there and is all
    digits, it is read as an international number written without the ``+``.

    Raises :class:`~django_zoomconnect.exceptions.PhoneNumberError` (a ``ValueError``) naming the
    input and why it was refused; its ``.number`` is the input. An unknown ``region`` is a
    plain ``ValueError``: that is the caller's mistake, not the number's.

    Results are remembered (the last 16,384 numbers and regions): a bulk send to a list sent to
    before, or a number in every reply, is read once.
    """
    if not isinstance(number, str):
        raise _fail(number, f"expected a string, not {type(number).__name__}")
    return _normalized(number, _region(region))


@lru_cache(maxsize=16_384)
def _normalized(number: str, region: str) -> str:
    text = number.strip()
    return _valid_e164(text) or phonenumbers.format_number(_parse_in(number, region), PhoneNumberFormat.E164)


#: A number written in E.164 already: "+", a country code and national digits, nothing else.
_E164 = re.compile(r"\+([1-9][0-9]{6,16})")


def _valid_e164(text: str) -> str | None:
    """``text`` when it is a valid number written in E.164 already, else ``None`` (then parse it).

    What :func:`phonenumbers.parse` would do with such a text, without its general machinery (the
    larger part of a bulk send's or a pull's time per number): the country code is the first of
    its one to three digits that is one, the rest is the national number. Any text that parse
    could read differently goes the long way: a national number with a leading zero (Italy's
    numbers, or a national prefix written after the country code), or one that the country's
    national prefix for parsing matches (parse may strip or transform that part).
    """
    shape = _E164.fullmatch(text)
    if shape is None:
        return None
    digits = shape.group(1)
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    country = _country(code)
    if not national or national[0] == "0" or country is None:
        return None
    prefix = country[1]
    if prefix is not None and prefix.match(national):
        return None
    if len(COUNTRY_CODE_TO_REGION_CODE[code]) == 1:
        valid = _numbering_plan(code, len(national)).fullmatch(national) is not None
    else:  # the region is chosen by the number: phonenumbers' own way
        valid = phonenumbers.is_valid_number(PhoneNumber(country_code=code, national_number=int(national)))
    return text if valid else None


@cache
def _country(code: int) -> tuple[PhoneMetadata, re.Pattern[str] | None] | None:
    """The metadata of calling code ``code`` and its national prefix for parsing, compiled."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(
        code, phonenumbers.region_code_for_country_code(code)
    )
    if metadata is None:
        return None
    prefix = metadata.national_prefix_for_parsing
    return metadata, re.compile(prefix) if prefix else None


#: The kinds of number a numbering plan describes, as :func:`phonenumbers.number_type` tries them.
_NUMBER_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


@lru_cache(maxsize=1024)
def _numbering_plan(code: int, length: int) -> re.Pattern[str]:
    """One pattern that a national number of ``length`` digits matches whole exactly when
    :func:`phonenumbers.is_valid_number` holds it valid in the plan of calling code ``code``
    (one that serves one region: else the number chooses its region).

    phonenumbers matches the number against the plan's general pattern, then against each kind
    of number in turn (a kind whose possible lengths do not include ``length`` is skipped): nine
    or ten expressions a number. Here the general pattern is a lookahead and the kinds are one
    alternation, the same test in one match. A test holds it to phonenumbers' answer for every
    example number of every region, changed in each digit, shortened and lengthened.
    """
    country = _country(code)
    if country is None:
        return _NOTHING
    metadata = country[0]
    general = _pattern_for(metadata.general_desc, length)
    names = [n for n in _NUMBER_TYPES if not (n == "mobile" and metadata.same_mobile_and_fixed_line_pattern)]
    kinds = [p for p in (_pattern_for(getattr(metadata, name), length) for name in names) if p is not None]
    if general is None or not kinds:
        return _NOTHING
    return re.compile(f"(?=(?:{general})$)(?:{'|'.join(f'(?:{kind})' for kind in kinds)})")


#: Matches no national number.
_NOTHING = re.compile(r"(?!)")


def _pattern_for(desc: object, length: int) -> str | None:
    """The pattern of a kind of number (``desc``) that a number of ``length`` digits may match."""
    if desc is None:
        return None
    possible = getattr(desc, "possible_length", ())
    if possible and length not in possible:
        return None
    pattern: str | None = getattr(desc, "national_number_pattern", None)
    return pattern or None


def is_valid(number: object, *, region: str | None = None) -> bool:
    """Whether :func:`normalize` accepts ``number`` (anything that is not a string is not)."""
    if not isinstance(number, str):
        return False
    try:
        parse(number, region=region)
    except PhoneNumberError:
        return False
    return True


def stored_form(number: str) -> str:
    """``number`` as a row stores a number the provider sent: E.164 when it parses, else trimmed.

    A reply's ``from`` or an opted-out recipient is kept even when it does not parse (a short
    code, a number this package's metadata does not know), so that an opt-out of it still holds.
    """
    try:
        return normalize(number)
    except ValueError:  # PhoneNumberError, or a DEFAULT_REGION phonenumbers does not know
        return number.strip()


def same_number(a: str, b: str, *, region: str | None = None) -> bool:
    """Whether ``a`` and ``b`` are the same valid phone number however they are written.

    Matches a reply's ``from`` against stored contacts; an invalid number equals nothing.
    """
    try:
        return normalize(a, region=region) == normalize(b, region=region)
    except PhoneNumberError:
        return False


def to_wire(number: str, *, fmt: str | None = None, region: str | None = None) -> str:
    """``number`` written the way ``recipientNumber`` is sent to the provider.

    ``fmt`` defaults to ``ZOOMCONNECT["PHONE_NUMBER_FORMAT"]``:

    * ``"e164"``: ``"+27821234567"``;
    * ``"digits"``: ``"27821234567"``, E.164 without the ``+``;
    * ``"national"``: ``"0821234567"``, as dialled from ``region`` (default
      ``DEFAULT_REGION``) without spaces; a number of another country is written with that
      region's international prefix (``"00447911123456"`` from ZA), because a bare national
      number would be read as one of the provider's own country.

    ``number`` may be anything :func:`normalize` accepts. ``"digits"`` is ambiguous for some
    foreign numbers (``"431234567"`` is Vienna's ``+43 1 234567`` and East London's
    ``043 123 4567``); ``"e164"`` never is, which is why it is the default.
    """
    if fmt is None:
        fmt = str(conf.get("PHONE_NUMBER_FORMAT"))
    if fmt not in conf.PHONE_NUMBER_FORMATS:
        raise ValueError(f"fmt {fmt!r} is not one of {', '.join(map(repr, conf.PHONE_NUMBER_FORMATS))}")
    from_region = _region(region)
    parsed = parse(number, region=from_region)
    e164: str = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
    if fmt == "e164":
        return e164
    if fmt == "digits":
        return e164[1:]
    dialled: str = phonenumbers.format_out_of_country_calling_number(parsed, from_region)
    return "".join(char for char in dialled if char.isdigit() or char == "+")
