"""The one bulk-row engine: INSERT and UPDATE many rows with the SQL built once, through ``executemany``.

Why not ``bulk_create``, ``bulk_update`` and ``Case(When(...))``: Django compiles each value of
each row in Python (about 0.4 ms for one 36-column message row on a modest machine) and
``bulk_update`` resolves a ``When`` expression per row and field, so writing a 10,000-message
batch or a large pull cost several times more than the work itself. Here each column gets one
:class:`_Preparer` (text and whole numbers pass straight through, as their fields would return
them; other values go through the field's own ``get_db_prep_save``, remembered for the values a
batch repeats), constant values are prepared once, and the driver runs one statement for many
rows: SQLite loops in C, psycopg pipelines, MySQLdb rewrites an INSERT into multi-row ones. An
UPDATE by primary key on MySQL, whose driver would send one statement per row, is one
``UPDATE ... SET f = CASE pk WHEN ... END`` per batch instead.

Statements go to the connection the database router picks for writing the model, inside
whatever transaction the caller holds. Model signals are not sent, exactly as with
``bulk_create``. Query counts stay one per batch of rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

__all__ = ["SLICE", "batched", "insert", "update_by_pk", "update_each"]

#: Rows per ``executemany`` (or per CASE statement): one logged query per slice.
SLICE = 1000

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size``."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _connection(model: type[models.Model]) -> BaseDatabaseWrapper:
    return connections[router.db_for_write(model)]


class _Preparer:
    """``field.get_db_prep_save``, with the shortcuts that make a bulk write cheap.

    Text for a text column and whole numbers for an integer column (foreign keys included) are
    what the field would return anyway, so they pass through (as plain ``str``: choices are
    ``str`` subclasses). Other values are remembered: a batch writes the same ``now``, cost and
    JSON into thousands of rows, and preparing a datetime is the costliest step of a bulk write.
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
            key = (kind, repr(value))
        try:
            return self._cache[key]
        except KeyError:
            pass
        if len(self._cache) >= self.LIMIT:
            self._cache.clear()
        prepared = self._cache[key] = self._prepare(value)
        return prepared

    def _prepare(self, value: Any) -> Any:
        return self._field.get_db_prep_save(value, self._connection)


def _column(field: models.Field[Any, Any]) -> str:
    column = field.column
    if column is None:  # pragma: no cover - only non-concrete fields have none
        raise ValueError(f"{field.name} has no column")
    return column


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    """The concrete field ``name`` (``batch`` or ``batch_id`` alike)."""
    for candidate in model._meta.concrete_fields:
        if name in (candidate.attname, candidate.name):
            return candidate
    raise LookupError(f"{model.__name__} has no concrete field {name!r}")


def insert(
    model: type[models.Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    now: datetime | None = None,
    batch_size: int = SLICE,
) -> int:
    """INSERT one row per mapping of attribute names (``batch_id``, not ``batch``) to values.

    Every other field gets its default (a callable default, such as a message's unique
    ``reference``, is called for each row), and ``auto_now``/``auto_now_add`` fields get ``now``
    (default: the current time). Primary keys are not read back. Returns the number of
    ``executemany`` calls.
    """
    if not rows:
        return 0
    connection = _connection(model)
    given = set().union(*(row.keys() for row in rows))
    columns = [f for f in model._meta.concrete_fields if not (f.primary_key and f.attname not in given)]
    unknown = given - {f.attname for f in columns}
    if unknown:
        raise ValueError(f"{model.__name__} has no field(s) {', '.join(sorted(unknown))}")
    moment = timezone.now() if now is None else now
    # (attname, preparer, per-row default, constant): one of the last two is used when not given.
    plan: list[tuple[str, _Preparer, Callable[[], Any] | None, Any]] = []
    for field in columns:
        prepare = _Preparer(field, connection)
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            plan.append((field.attname, prepare, None, field.get_db_prep_save(moment, connection)))
        elif field.has_default() and callable(field.default):
            plan.append((field.attname, prepare, field.get_default, None))
        else:
            constant = field.get_db_prep_save(field.get_default(), connection)
            plan.append((field.attname, prepare, None, constant))
    quote = connection.ops.quote_name
    names = ", ".join(quote(_column(field)) for field in columns)
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES ({placeholders})"  # noqa: S608
    calls = 0
    with connection.cursor() as cursor:
        for chunk in batched(rows, batch_size):
            params = []
            for row in chunk:
                values = []
                for attname, prepare, make, constant in plan:
                    if attname in row:
                        values.append(prepare(row[attname]))
                    elif make is not None:
                        values.append(prepare(make()))
                    else:
                        values.append(constant)
                params.append(values)
            cursor.executemany(sql, params)
            calls += 1
    return calls


def update_each(
    model: type[models.Model],
    set_fields: Sequence[str],
    where_fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    keep_existing: Sequence[str] = (),
    batch_size: int = SLICE,
) -> int:
    """``UPDATE ... SET <set_fields> WHERE <where_fields>`` once per row of values, in that order.

    A field in ``keep_existing`` is only filled when it is NULL (``COALESCE(column, value)``).
    Rows that no longer match the WHERE clause are left alone: that is how conditional writes
    (a claim token, an expected status) stay conditional in bulk. Returns the number of
    ``executemany`` calls.
    """
    if not rows:
        return 0
    connection = _connection(model)
    quote = connection.ops.quote_name
    set_parts = []
    preparers: list[_Preparer] = []
    for attname in set_fields:
        field = _field(model, attname)
        column = quote(_column(field))
        if attname in keep_existing:
            set_parts.append(f"{column} = COALESCE({column}, %s)")
        else:
            set_parts.append(f"{column} = %s")
        preparers.append(_Preparer(field, connection))
    where_parts = []
    for attname in where_fields:
        field = _field(model, attname)
        where_parts.append(f"{quote(_column(field))} = %s")
        preparers.append(_Preparer(field, connection))
    sql = (
        f"UPDATE {quote(model._meta.db_table)} SET {', '.join(set_parts)} "  # noqa: S608
        f"WHERE {' AND '.join(where_parts)}"
    )
    calls = 0
    with connection.cursor() as cursor:
        for chunk in batched(rows, batch_size):
            params = [
                [prepare(value) for value, prepare in zip(row, preparers, strict=True)] for row in chunk
            ]
            cursor.executemany(sql, params)
            calls += 1
    return calls


def _max_query_params(connection: BaseDatabaseWrapper) -> int:
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        try:
            return int(connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        except AttributeError:  # pragma: no cover - Python < 3.11
            return 999
    return int(connection.features.max_query_params or 32_000)


def update_by_pk(
    model: type[models.Model], rows: Sequence[Any], fields: Sequence[str], *, batch_size: int = SLICE
) -> int:
    """Write ``fields`` (attribute names) of each of ``rows`` (objects with ``pk``) by primary key.

    One ``executemany`` per batch; on MySQL one ``UPDATE ... CASE`` statement per batch, as
    the module says. Returns the number of statements (or ``executemany`` calls).
    """
    if not rows or not fields:
        return 0
    connection = _connection(model)
    meta = model._meta
    columns = [_field(model, name) for name in fields]
    key = meta.pk
    assert key is not None
    quote = connection.ops.quote_name
    table, key_column = quote(meta.db_table), quote(_column(key))
    preparers = [(column.attname, _Preparer(column, connection)) for column in columns]
    statements = 0
    with connection.cursor() as cursor:
        if connection.vendor != "mysql":
            assignments = ", ".join(f"{quote(_column(column))} = %s" for column in columns)
            sql = f"UPDATE {table} SET {assignments} WHERE {key_column} = %s"  # noqa: S608 (quoted names)
            for chunk in batched(rows, batch_size):
                by_row = [[prepare(getattr(row, name)) for name, prepare in preparers] for row in chunk]
                for values, row in zip(by_row, chunk, strict=True):
                    values.append(row.pk)
                cursor.executemany(sql, by_row)
                statements += 1
            return statements
        per_statement = max(1, min(batch_size, _max_query_params(connection) // len(columns)))
        for chunk in batched(rows, per_statement):
            keys = [int(row.pk) for row in chunk]
            whens = " ".join(f"WHEN {pk} THEN %s" for pk in keys)
            parts: list[str] = []
            params: list[Any] = []
            for column, (name, prepare) in zip(columns, preparers, strict=True):
                parts.append(f"{quote(_column(column))} = CASE {key_column} {whens} END")
                params.extend(prepare(getattr(row, name)) for row in chunk)
            # Only quoted names and integer keys are written into the statement; values are params.
            where = f"{key_column} IN ({', '.join(map(str, keys))})"
            cursor.execute(f"UPDATE {table} SET {', '.join(parts)} WHERE {where}", params)  # noqa: S608
            statements += 1
    return statements
