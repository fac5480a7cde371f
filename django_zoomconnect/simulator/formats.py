"""Content negotiation for the simulator's REST answers, and their XML form.

The provider speaks JSON and XML. A path suffix (``.json`` or ``.xml``) decides first, then the
``Accept`` header; a request that names neither (no ``Accept``, or only wildcards such as the
``*/*`` that HTTP libraries send by default) gets the provider's default, XML, unless the
simulator is told to answer JSON or 406 instead. Operations build JSON payloads; an answer is
re-rendered as XML here when XML was negotiated, so every operation speaks both.

The XML is what a Java service binding the provider's Swagger definitions would plausibly write:
the root element is the definition's name with a lowercase first letter
(``WebServiceAccount`` -> ``<webServiceAccount>``), each field an element, a list a wrapper
element holding one element per item, ``null`` an empty element with ``xsi:nil="true"``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Format = Literal["json", "xml"]
#: What a request that names no format gets: the provider's XML, JSON, or a 406 refusal.
DefaultFormat = Literal["xml", "json", "406"]
DEFAULT_FORMATS: tuple[DefaultFormat, ...] = ("xml", "json", "406")

#: The content types of the simulator's answers.
JSON_TYPE = "application/json;charset=UTF-8"
XML_TYPE = "application/xml;charset=UTF-8"
TEXT_TYPE = "text/plain;charset=UTF-8"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

SUFFIXES: dict[str, Format] = {".json": "json", ".xml": "xml"}
_WILDCARDS = frozenset({"*/*", "*", "application/*", "text/*"})


@dataclass(frozen=True)
class Negotiation:
    """The format of an answer. ``format`` is ``None`` when nothing the request accepts can be
    produced (a 406); ``explicit`` says whether the request named it (by suffix or ``Accept``)
    rather than getting the default."""

    format: Format | None
    explicit: bool


def split_suffix(route: str) -> tuple[str, Format | None]:
    """``route`` without a trailing ``.json`` or ``.xml``, and the format that suffix names."""
    for suffix, fmt in SUFFIXES.items():
        if route.endswith(suffix):
            return route[: -len(suffix)], fmt
    return route, None


def _media_format(media: str) -> Format | None:
    subtype = media.partition("/")[2]
    if subtype == "json" or subtype.endswith("+json"):
        return "json"
    if subtype == "xml" or subtype.endswith("+xml"):
        return "xml"
    return None


def _ranges(accept: str) -> Iterable[tuple[str, float]]:
    for part in accept.split(","):
        media, *parameters = part.split(";")
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 1.0
        media = media.strip().lower()
        if media:
            yield media, quality


def negotiate(suffix: Format | None, accept: str | None, default: DefaultFormat) -> Negotiation:
    """The answer's format for a path ``suffix``, an ``Accept`` header and the default.

    The suffix wins over ``Accept`` (as on the provider). Among media ranges naming JSON or XML
    the highest quality wins, the first listed on a tie. Wildcards name no format: they get the
    default, as does a missing or empty ``Accept``. ``Accept`` naming only other types (e.g.
    ``text/html``) gets ``None``: 406.
    """
    if suffix is not None:
        return Negotiation(suffix, True)
    fallback: Format | None = None if default == "406" else default
    if not accept or not accept.strip():
        return Negotiation(fallback, False)
    best: tuple[float, Format] | None = None
    wildcard = False
    for media, quality in _ranges(accept):
        if quality <= 0:
            continue
        fmt = _media_format(media)
        if fmt is not None:
            if best is None or quality > best[0]:
                best = (quality, fmt)
        elif media in _WILDCARDS:
            wildcard = True
    if best is not None:
        return Negotiation(best[1], True)
    return Negotiation(fallback if wildcard else None, False)


# --- XML ---------------------------------------------------------------------------------------

#: The root element of every error answer (the spec's ``RestErrorDTO``).
ERROR_ROOT = "restErrorDTO"

#: The element of each item of a list field (the spec's item definitions); others are ``item``.
ITEM_ELEMENTS: dict[str, str] = {
    "links": "link",
    "webServiceContacts": "webServiceContact",
    "webServiceGroups": "webServiceGroup",
    "webServiceMessages": "webServiceMessage",
    "webServiceTemplates": "webServiceTemplate",
    "webServiceUserList": "webServiceUser",
    "sendSmsRequests": "webServiceSendSmsRequest",
    "sendSmsResponses": "webServiceSendSmsResponse",
    "users": "webServiceUserStatistics",
    "campaigns": "webServiceCampaignStatistics",
    "messages": "webServiceVoiceMessage",
}

# Characters XML 1.0 cannot carry at all; they become U+FFFD so the document stays well-formed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def _text(value: str) -> str:
    value = _NOT_XML.sub("\ufffd", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _write(out: list[str], name: str, value: Any, attributes: str = "") -> None:
    if not _NAME.fullmatch(name):
        name = "entry"
    start = f"<{name}{attributes}"
    if value is None:
        out.append(f'{start} xsi:nil="true"/>')
    elif isinstance(value, dict):
        out.append(f"{start}>")
        for key, item in value.items():
            _write(out, str(key), item)
        out.append(f"</{name}>")
    elif isinstance(value, list):
        item_name = ITEM_ELEMENTS.get(name, "item")
        out.append(f"{start}>")
        for item in value:
            _write(out, item_name, item)
        out.append(f"</{name}>")
    elif isinstance(value, bool):
        out.append(f"{start}>{'true' if value else 'false'}</{name}>")
    elif isinstance(value, int | float):
        out.append(f"{start}>{json.dumps(value)}</{name}>")
    else:
        out.append(f"{start}>{_text(str(value))}</{name}>")


def to_xml(payload: Any, root: str) -> bytes:
    """``payload`` (what the JSON answer holds) as an XML document whose root is ``root``."""
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>']
    # The xsi namespace is declared on the root, for the nil markers anywhere below it.
    _write(out, root, payload, f' xmlns:xsi="{XSI}"')
    return "".join(out).encode("utf-8")
