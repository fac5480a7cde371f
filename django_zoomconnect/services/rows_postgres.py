"""PostgreSQL's bulk statements for :mod:`.rows`: arrays bound on the server, in binary.

Why a cursor of its own: Django's psycopg cursor binds parameters on the client, quoting each
array into the statement's text element by element, which cost more than the database's own
work for a batch of updates. :func:`binding_cursor` sends them apart from the statement
(``%b``), as psycopg dumps them in C; :func:`update_from_values` is the one ``UPDATE ... FROM
unnest(...)`` that writes many rows with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

__all__ = ["binding_cursor", "cast", "column_of", "psycopg3", "update_from_values"]


def column_of(field: models.Field[Any, Any]) -> str:
    """The column of a concrete field (for the statements here and in :mod:`.rows`)."""
    if field.column is None:  # pragma: no cover - only non-concrete fields have none
        raise ValueError(f"{field.name} has no column")
    return field.column


def cast(field: models.Field[Any, Any], connection: BaseDatabaseWrapper) -> str:
    """The type a VALUES column is cast to: the field's, without a length or precision, so that a
    value too long is an error from the column it is written to, never silently cut by the cast."""
    db_type = field.db_type(connection)
    if not db_type:  # pragma: no cover - concrete fields have one
        raise ValueError(f"{field.name} has no database type")
    return re.sub(r"\(.*\)", "", db_type).strip()


def update_from_values(
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    setting: Sequence[models.Field[Any, Any]],
    matching: Sequence[models.Field[Any, Any]],
    slices: Iterable[list[list[Any]]],
    keep_existing: Sequence[str] = (),
    returning: Sequence[models.Field[Any, Any]] = (),
) -> tuple[int, list[tuple[Any, ...]]]:
    """PostgreSQL: ``UPDATE t SET ... FROM unnest(<arrays>) AS v WHERE t.<matching> = v.<matching>``.

    One short statement per slice of rows, with one array parameter per column, where
    ``executemany`` would pipeline one statement per row (each planned on its own) and a
    ``VALUES`` list would make a statement as long as the data, for the driver to parse. Each
    of ``slices`` is one statement's prepared columns: those of ``setting``, then of
    ``matching``. Rows must not match the same table row twice (one of them would win, where
    one statement per row applies both in turn); callers match by primary key. Returns the
    number of statements and the ``returning`` columns of the rows changed, as stored.
    """
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    fields = [*setting, *matching]
    names = [f"v{index}" for index in range(len(fields))]
    assignments = []
    for field, name in zip(setting, names, strict=False):
        column = quote(column_of(field))
        value = f"v.{name}"
        if field.attname in keep_existing or field.name in keep_existing:
            value = f"COALESCE({table}.{column}, {value})"
        assignments.append(f"{column} = {value}")
    conditions = [
        f"{table}.{quote(column_of(field))} = v.{name}"
        for field, name in zip(matching, names[len(setting) :], strict=True)
    ]
    # The primary keys again, as "= ANY": the planner then reads only those rows (an index scan,
    # or a filtered scan of a table too new to have statistics), never hashes the whole table.
    mark = "b" if psycopg3() else "s"
    conditions += [
        f"{table}.{quote(column_of(field))} = ANY(%({name}){mark}::{cast(field, connection)}[])"
        for field, name in zip(matching, names[len(setting) :], strict=True)
        if field.primary_key
    ]
    arrays = ", ".join(
        f"%({name}){mark}::{cast(field, connection)}[]" for field, name in zip(fields, names, strict=True)
    )
    sql = (
        f"UPDATE {table} SET {', '.join(assignments)} FROM unnest({arrays}) "  # noqa: S608
        f"AS v({', '.join(names)}) WHERE {' AND '.join(conditions)}"
    )
    if returning:
        sql += " RETURNING " + ", ".join(f"{table}.{quote(column_of(field))}" for field in returning)
    statements, found = 0, []
    with binding_cursor(connection) as cursor:
        for columns in slices:
            cursor.execute(sql, dict(zip(names, columns, strict=True)))
            if returning:
                found += cursor.fetchall()
            statements += 1
    return statements, found


def psycopg3() -> bool:
    """Whether Django drives PostgreSQL through psycopg 3 (else psycopg2: no COPY object, no
    binding on the server)."""
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return bool(is_psycopg3)


def binding_cursor(connection: BaseDatabaseWrapper) -> Any:
    """PostgreSQL: a cursor that sends its parameters apart from the statement (``%b``: binary).

    Django's default psycopg cursor binds on the client: it would quote each array into the
    statement's text, element by element. Wrapped as Django wraps its own cursors (errors,
    query logging, and the connection's ``prepare_threshold``, which Django leaves off so that a
    pooler in transaction mode keeps working); only columns that need no time zone are read
    from it. With psycopg2, Django's own cursor.
    """
    if not psycopg3():
        return connection.cursor()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    from django.db.backends.postgresql import base as postgresql

    binding: Any = postgresql.ServerBindingCursor
    cursor = binding(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)
