"""Encoding requests and decoding answers for the client: option names, paths, the shapes of answers.

Options are written under the provider's names by one rule (``first_name`` as ``firstName``),
and only when given: absent means "not given", never "set to null". Ids are quoted into paths
so that an id can never change the path. Answers are read leniently (a bare scalar or an object
holding it, a list bare or wrapped) but never guessed: an answer without what the operation
needs is a ``ValueError``, which the engine reports as an
:class:`~django_zoomconnect.exceptions.InvalidResponseError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

from .wire_formats import read_list, read_object, read_str

T = TypeVar("T")


def query_value(value: Any) -> str:
    """A query parameter's text: booleans as the API writes them (``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def query(**values: Any) -> list[tuple[str, str]]:
    """Query parameters in the given order, leaving out the ones that are ``None``."""
    return [(key, query_value(value)) for key, value in values.items() if value is not None]


def ignore(body: Any) -> None:
    """The parser of an operation whose answer carries nothing (deletes, memberships)."""
    return None


# --- requests ----------------------------------------------------------------------------------


def camel(name: str) -> str:
    """The provider's name for an option: ``first_name`` is ``firstName``."""
    first, *rest = name.split("_")
    return first + "".join(word.title() for word in rest)


def fields(**values: Any) -> dict[str, Any]:
    """``values`` under the provider's names, leaving out the ``None`` ones."""
    return {camel(name): value for name, value in values.items() if value is not None}


def options(spec: Any, given: Mapping[str, Any]) -> dict[str, Any]:
    """``given``, the options of ``spec`` (a ``TypedDict``), in its order. An option ``spec`` does
    not know, or a required one missing, is a ``TypeError`` as for any other keyword argument."""
    unknown = sorted(set(given) - set(spec.__annotations__))
    missing = sorted(spec.__required_keys__ - set(given))
    if unknown or missing:
        problem = f"unexpected keyword argument {unknown[0]!r}" if unknown else f"missing {missing[0]!r}"
        raise TypeError(f"{spec.__name__}: {problem}")
    return {name: given.get(name) for name in spec.__annotations__}


def segment(value: object) -> str:
    """One path segment: ids are quoted so that an id can never change the path."""
    text = str(value)
    if not text:
        raise ValueError("an id in a request path must not be empty")
    return quote(text, safe="")


def path(*parts: object) -> str:
    """``kind/{id}[/action/{id}]``: the odd parts are the API's words, the even ones quoted ids."""
    return "/".join(str(part) if index % 2 == 0 else segment(part) for index, part in enumerate(parts))


def int_id(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return value


# --- answers -----------------------------------------------------------------------------------


def items(key: str, build: Callable[[Any], T]) -> Callable[[Any], list[T]]:
    """A parser for a list wrapped in ``{key: [...]}`` (a bare JSON array is accepted too).

    A missing key is an error, not an empty list: a sync must never read "no contacts" from an
    answer it did not understand.
    """

    def parse(body: Any) -> list[T]:
        if isinstance(body, list):
            items = body
        else:
            data = read_object(body, f"an object with {key!r}")
            if key not in data:
                raise ValueError(f"the answer has no {key!r}")
            items = read_list(data[key], key)
        return [build(item) for item in items]

    return parse


def scalar(key: str, read: Callable[[Any], T | None], what: str) -> Callable[[Any], T]:
    """A parser for a bare scalar answer (``2``, ``true``, ``GSM7``); an object holding ``key``
    is accepted too. An answer without the value is an error."""

    def parse(body: Any) -> T:
        if isinstance(body, Mapping):
            if key not in body:
                raise ValueError(f"the answer has no {key!r}")
            body = body[key]
        elif body is None or isinstance(body, list):
            raise ValueError("the answer is not a single value")
        value = read(body)
        if value is None:
            raise ValueError(f"the answer has no {what}")
        return value

    return parse


def or_none(build: Callable[[Any], T]) -> Callable[[Any], T | None]:
    """A parser for an answer the provider may leave empty (its spec allows a bare 200 or 201)."""
    return lambda body: None if body is None else build(body)


def unquoted(value: Any) -> str | None:
    """A text answer without surrounding blanks and quotes (``"GSM7"`` is ``GSM7``)."""
    text = read_str(value)
    return None if text is None else text.strip().strip('"')


def message_id_text(body: Any) -> str:
    """The message id from a plain-text answer (``send-url-parameters`` and ``send-url``)."""
    value = body.get("messageId") if isinstance(body, Mapping) else body
    text = read_str(value)
    if text is None or not text.strip():
        raise ValueError("the answer holds no message id")
    return text.strip().strip('"')
