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
from typing import Any

__all__ = ["find_problem", "problem"]

_SURROGATE = re.compile("[\ud800-\udfff]")


def problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (``"a NUL character"``, ...), or ``None`` when it can."""
    if "\x00" in text:
        return "a NUL character"
    found = _SURROGATE.search(text)
    if found is not None:
        return f"an unpaired surrogate (U+{ord(found.group()):04X})"
    return None


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
