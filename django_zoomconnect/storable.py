"""Whether text can be stored at all: no NUL characters and no lone surrogates, on any database.

PostgreSQL refuses NUL (``\\x00``) in text and JSON columns, and no database driver can encode a
lone surrogate (``\\ud800``, which ``json.loads`` or an exotic charset can produce): either one
reaching a query is a server error, or a stored event that can never be processed. Every input
that came from outside (webhook parameters, API filters and bodies, ``send_sms`` arguments) is
checked with :func:`problem` first, so that it is refused with a clear message instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import chain
from typing import Any

__all__ = ["find_problem", "params_problem", "problem"]

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (``"a NUL character"``, ...), or ``None`` when it can."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if "\x00" in text:
        return "a NUL character"
    return f"an unpaired surrogate (U+{ord(found.group()):04X})"


def params_problem(params: Mapping[str, str]) -> tuple[str, str] | None:
    """The first key of ``params`` whose key or value cannot be stored, with :func:`problem`'s
    reason; ``None`` when all can (one search over them all, as they nearly always can)."""
    if _UNSTORABLE.search("".join(chain.from_iterable(params.items()))) is None:
        return None
    for key, value in params.items():
        found = problem(key) or problem(value)
        if found:
            return key, found
    return None  # pragma: no cover - the search above found something in one of them


def find_problem(value: Any) -> str | None:
    """:func:`problem` of the first string in ``value``, looking into mappings (keys too) and lists."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found = problem(item)
            if found:
                return found
        elif isinstance(item, Mapping):
            for key, inner in item.items():
                stack += (key, inner)
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None
