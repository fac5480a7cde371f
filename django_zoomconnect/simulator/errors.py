"""The provider's refusals (:class:`ApiError`) and the lookups that end in one.

The account state raises them and the REST surface answers them with the provider's error body
(``RestErrorDTO``); nothing here knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class ApiError(Exception):
    """A refusal the provider would answer with its error body (``RestErrorDTO``).

    ``code`` is the provider's code where one is published (2 invalid number, 3 empty message)
    and otherwise the HTTP status, as the error-body pattern the provider follows does.
    """

    def __init__(
        self, status: int, message: str, *, code: int | None = None, developer_message: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = status if code is None else code
        self.message = message
        self.developer_message = developer_message if developer_message is not None else message


def invalid_number(number: object) -> ApiError:
    return ApiError(
        400,
        "Invalid mobile number",
        code=2,
        developer_message=f"{number!r} is not a valid mobile number",
    )


def empty_message() -> ApiError:
    return ApiError(400, "Message cannot be empty", code=3)


def not_found(kind: str, identifier: object) -> ApiError:
    return ApiError(404, f"{kind} not found", developer_message=f"No {kind.lower()} with id {identifier!r}")


def lookup(items: Mapping[Any, T], identifier: str, kind: str, *, numeric: bool = False) -> T:
    """``items[identifier]`` (keyed by the integer it spells when ``numeric``), or the 404 the
    provider answers for a missing ``kind``."""
    key: object = identifier
    if numeric:
        try:
            key = int(identifier)
        except ValueError:
            raise not_found(kind, identifier) from None
    item = items.get(key)
    if item is None:
        raise not_found(kind, identifier)
    return item
