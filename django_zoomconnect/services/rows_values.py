"""The row engine's values: how :mod:`.rows` and :mod:`.rows_update` prepare each value, in batches.

Why apart: both the INSERTs and the UPDATEs of the engine prepare values the same way (a
:class:`Preparer` per column, a value every row shares prepared once) on the connection the
router picks for writing; this is that one copy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice, repeat
from operator import is_
from typing import Any, TypeVar

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper

__all__ = ["SLICE", "Preparer", "all_same", "batched", "connection_for", "field_of", "max_query_params"]

#: Rows per ``executemany`` (or per CASE statement): one logged query per slice.
SLICE = 1000

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size``."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def connection_for(model: type[models.Model]) -> BaseDatabaseWrapper:
    return connections[router.db_for_write(model)]


class Preparer:
    """``field.get_db_prep_save``, with the shortcuts that make a bulk write cheap.

    Text for a text column and whole numbers for an integer column (foreign keys included) are
    what the field would return anyway, so they pass through (as plain ``str``: choices are
    ``str`` subclasses). Other values are remembered: a batch writes the same ``now``, cost and
    JSON into thousands of rows, and preparing a datetime is the costliest step of a bulk write.
    A large dict or list (a webhook's parameters) is prepared each time, never remembered.
    """

    __slots__ = ("_cache", "_connection", "_field", "_number", "_text")

    #: Distinct prepared values remembered per column before the memory starts afresh.
    LIMIT = 1024

    def __init__(self, field: models.Field[Any, Any], connection: BaseDatabaseWrapper) -> None:
        self._field = field
        self._connection = connection
        self._cache: dict[Any, Any] = {}
        # Oracle stores "" as NULL: there, let every field decide.
        plain = not connection.features.interprets_empty_strings_as_nulls
        target = field.target_field if isinstance(field, models.ForeignKey) else field
        self._text = plain and isinstance(field, models.CharField | models.TextField)
        self._number = plain and isinstance(target, models.IntegerField | models.AutoField)

    def __call__(self, value: Any) -> Any:
        kind = type(value)
        if self._text and isinstance(value, str):
            return value if kind is str else str(value)
        if self._number and kind is int:
            return value
        try:
            key: Any = (kind, value)
            hash(key)
        except TypeError:
            if len(value) > 4:  # a webhook's parameters, a payload: seldom repeated, costly to repr
                return self._prepare(value)
            key = (kind, repr(value))
        try:
            return self._cache[key]
        except KeyError:
            pass
        if len(self._cache) >= self.LIMIT:
            self._cache.clear()
        prepared = self._cache[key] = self._prepare(value)
        return prepared

    def column(self, values: list[Any]) -> list[Any]:
        """``values`` prepared, a column at a time: a value every row shares (the same object,
        as a batch's ``now``, campaign or status) is prepared once, and a column of plain text
        or whole numbers passes through as it is."""
        if all_same(values):
            return [self(values[0])] * len(values)
        kinds = set(map(type, values))
        if (self._text and kinds == {str}) or (self._number and kinds == {int}):
            return values
        return list(map(self, values))

    def _prepare(self, value: Any) -> Any:
        return self._field.get_db_prep_save(value, self._connection)


def all_same(values: Sequence[Any]) -> bool:
    """Whether every one of ``values`` is the same object as the first (a value a batch shares)."""
    return all(map(is_, values, repeat(values[0])))


def max_query_params(connection: BaseDatabaseWrapper) -> int:
    """The most parameters one statement may bind on ``connection`` (SQLite's own limit)."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        try:
            return int(connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        except AttributeError:  # pragma: no cover - Python < 3.11
            return 999
    return int(connection.features.max_query_params or 32_000)


def field_of(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    """The concrete field ``name`` (``batch`` or ``batch_id`` alike)."""
    for candidate in model._meta.concrete_fields:
        if name in (candidate.attname, candidate.name):
            return candidate
    raise LookupError(f"{model.__name__} has no concrete field {name!r}")
