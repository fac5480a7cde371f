"""The row engine's UPDATEs (see :mod:`.rows`, which callers import): one statement per batch of rows.

Each database gets the statement it runs fastest: PostgreSQL one ``UPDATE ... FROM unnest(...)``
with its arrays bound in binary (:mod:`.rows_postgres`), SQLite one ``UPDATE ... FROM (VALUES
...)`` where the rows' new values must be answered (:mod:`.rows_sqlite`) and ``executemany``
elsewhere, MySQL and MariaDB one ``UPDATE ... CASE`` per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from . import rows_postgres as postgres
from . import rows_sqlite as sqlite
from .rows_postgres import column_of as _column
from .rows_values import SLICE, Preparer, batched, connection_for, field_of, max_query_params

__all__ = ["update_by_pk", "update_each", "update_each_returning"]


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
    connection = connection_for(model)
    if connection.vendor == "postgresql":
        return _update_answering(
            connection, model, set_fields, where_fields, rows, keep_existing, batch_size
        )[0]
    quote = connection.ops.quote_name
    set_parts = []
    preparers: list[Preparer] = []
    for attname in set_fields:
        field = field_of(model, attname)
        column = quote(_column(field))
        if attname in keep_existing:
            set_parts.append(f"{column} = COALESCE({column}, %s)")
        else:
            set_parts.append(f"{column} = %s")
        preparers.append(Preparer(field, connection))
    where_parts = []
    for attname in where_fields:
        field = field_of(model, attname)
        where_parts.append(f"{quote(_column(field))} = %s")
        preparers.append(Preparer(field, connection))
    sql = (
        f"UPDATE {quote(model._meta.db_table)} SET {', '.join(set_parts)} "  # noqa: S608
        f"WHERE {' AND '.join(where_parts)}"
    )
    calls = 0
    with connection.cursor() as cursor:
        for chunk in batched(rows, batch_size):
            cursor.executemany(sql, list(zip(*_columns(chunk, preparers), strict=True)))
            calls += 1
    return calls


def update_each_returning(
    model: type[models.Model],
    set_fields: Sequence[str],
    where_fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    returning: Sequence[str],
    *,
    keep_existing: Sequence[str] = (),
) -> list[tuple[Any, ...]] | None:
    """:func:`update_each`, answering ``returning`` (attribute names) of each row it changed, as
    stored, in no particular order; ``None`` where that would cost a statement per row (MySQL,
    MariaDB, SQLite before 3.35): read the rows back then. The rows must match by primary key
    first (``where_fields[0]``), each its own row."""
    connection = connection_for(model)
    answers = connection.vendor == "postgresql" or (
        connection.vendor == "sqlite" and sqlite.can_update_returning()
    )
    if not answers:
        update_each(model, set_fields, where_fields, rows, keep_existing=keep_existing)
        return None
    if not rows:
        return []
    return _update_answering(
        connection, model, set_fields, where_fields, rows, keep_existing, SLICE, returning
    )[1]


def _update_answering(
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    set_fields: Sequence[str],
    where_fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    keep_existing: Sequence[str],
    batch_size: int,
    returning: Sequence[str] = (),
) -> tuple[int, list[tuple[Any, ...]]]:
    """PostgreSQL's ``UPDATE ... FROM unnest`` or SQLite's ``UPDATE ... FROM (VALUES ...)``: the
    number of statements, and the ``returning`` columns of the rows changed."""
    setting = [field_of(model, name) for name in set_fields]
    matching = [field_of(model, name) for name in where_fields]
    preparing = [Preparer(field, connection) for field in (*setting, *matching)]
    slices = (_columns(chunk, preparing) for chunk in batched(rows, batch_size))
    answer = [field_of(model, name) for name in returning]
    if connection.vendor == "postgresql":
        return postgres.update_from_values(
            connection, model, setting, matching, slices, keep_existing, answer
        )
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    set_columns = [
        (quote(_column(f)), f.attname in keep_existing or f.name in keep_existing) for f in setting
    ]
    where_columns = [quote(_column(field)) for field in matching]
    answer_columns = [quote(_column(field)) for field in answer]
    statements, found = 0, []
    with connection.cursor() as cursor:
        for columns in slices:
            found += sqlite.update_returning(
                cursor, connection, table, set_columns, where_columns, columns, answer_columns
            )
            statements += 1
    return statements, found


def _columns(rows: Sequence[Sequence[Any]], preparers: Sequence[Preparer]) -> list[list[Any]]:
    """The prepared columns of ``rows``, whose values are in the order of ``preparers``."""
    return [
        prepare.column(list(column))
        for column, prepare in zip(zip(*rows, strict=True), preparers, strict=True)
    ]


def update_by_pk(
    model: type[models.Model], rows: Sequence[Any], fields: Sequence[str], *, batch_size: int = SLICE
) -> int:
    """Write ``fields`` (attribute names) of each of ``rows`` (objects with ``pk``) by primary key.

    One ``executemany`` per batch; on MySQL one ``UPDATE ... CASE`` statement per batch, as
    the module says. Returns the number of statements (or ``executemany`` calls).
    """
    if not rows or not fields:
        return 0
    connection = connection_for(model)
    meta = model._meta
    columns = [field_of(model, name) for name in fields]
    key = meta.pk
    assert key is not None
    quote = connection.ops.quote_name
    table, key_column = quote(meta.db_table), quote(_column(key))
    preparers = [(column.attname, Preparer(column, connection)) for column in columns]
    statements = 0
    if connection.vendor == "postgresql":
        slices = (
            [
                *(prepare.column([getattr(row, name) for row in chunk]) for name, prepare in preparers),
                [r.pk for r in chunk],
            ]
            for chunk in batched(rows, batch_size)
        )
        return postgres.update_from_values(connection, model, columns, [key], slices)[0]
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
        per_statement = max(1, min(batch_size, max_query_params(connection) // len(columns)))
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
