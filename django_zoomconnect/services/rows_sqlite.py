"""SQLite's bulk statements for :mod:`.rows`: many rows a statement, a value they share written once.

Why not ``executemany``: it binds every value of every row and runs the statement once per row,
so a 10,000-message batch bound 380,000 values, most of them the same few (a status, the
batch's time, an empty text, NULL). Here a value that every row of a batch shares and that is a
plain literal (:func:`literal`: NULL, a whole number, or a short text of letters, digits and
``' .:+-'``, nothing that could end a quoted string) is written into the statement once, and
the rows go in a multi-row ``INSERT ... VALUES (...), (...)`` (:func:`insert`), or one ``UPDATE
... FROM (VALUES ...)`` that answers the rows it changed (:func:`update_returning`, SQLite 3.35
and later), as many rows a statement as the variable limit allows.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from itertools import chain, repeat
from operator import is_
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

__all__ = ["can_update_returning", "insert", "literal", "update_returning"]

_PLAIN = re.compile(r"[\w .:+-]{0,64}", re.ASCII)


def literal(value: Any) -> str | None:
    """``value`` (as prepared for the database) written as an SQL literal, when that is safe and
    exact: ``None`` otherwise (the value is then bound)."""
    if value is None:
        return "NULL"
    kind = type(value)
    if kind is bool:
        return "1" if value else "0"
    if kind is int:
        return str(value)
    if kind is str and _PLAIN.fullmatch(value):
        return f"'{value}'"
    return None


def _shared(column: Sequence[Any]) -> str | None:
    """The literal of the value every row of ``column`` holds, if they all hold one."""
    first = column[0]
    # The same object (a value prepared once), else equal values of one type (1 == 1.0 == True).
    if not all(map(is_, column, repeat(first))) and (
        column.count(first) != len(column) or any(type(value) is not type(first) for value in column)
    ):
        return None
    return literal(first)


def _rows_per_statement(connection: BaseDatabaseWrapper, bound: int, most: int) -> int:
    connection.ensure_connection()
    limit = int(connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    return max(1, min(most, limit // max(bound, 1)))


def insert(cursor: Any, connection: BaseDatabaseWrapper, head: str, columns: list[list[Any]]) -> int:
    """``<head> VALUES (...), (...)`` for the rows whose prepared values are ``columns`` (one list
    per column of ``head``, in its order); the number of statements."""
    count = len(columns[0])
    shared = [_shared(column) for column in columns]
    bound = [column for column, value in zip(columns, shared, strict=True) if value is None]
    row = "(" + ", ".join("%s" if value is None else value for value in shared) + ")"
    per_statement = _rows_per_statement(connection, len(bound), count)
    rows = list(zip(*bound, strict=True)) if bound else [()] * count
    statements = 0
    for start in range(0, count, per_statement):
        part = rows[start : start + per_statement]
        cursor.execute(f"{head} VALUES {', '.join([row] * len(part))}", list(chain.from_iterable(part)))
        statements += 1
    return statements


def can_update_returning() -> bool:
    """Whether this SQLite has ``UPDATE ... FROM`` (3.33) and ``RETURNING`` (3.35)."""
    return sqlite3.sqlite_version_info >= (3, 35, 0)


def update_returning(
    cursor: Any,
    connection: BaseDatabaseWrapper,
    table: str,
    setting: Sequence[tuple[str, bool]],
    matching: Sequence[str],
    columns: list[list[Any]],
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    """``UPDATE <table> SET ... FROM (VALUES ...) AS v WHERE <matching> RETURNING <returning>``.

    ``setting`` are the quoted columns set, each with whether it keeps a value already stored
    (``COALESCE``); ``matching`` the quoted columns that pick the row, the first of them unique
    (the primary key: always bound, so that each row of values updates its own row);
    ``columns`` the prepared values, one list per column of ``setting`` then ``matching``.
    Answers the ``returning`` columns of the rows changed, as stored.
    """
    count = len(columns[0])
    shared = [_shared(column) for column in columns]
    shared[len(setting)] = None  # the key
    bound = [column for column, value in zip(columns, shared, strict=True) if value is None]
    names: list[str] = []
    position = 0
    for value in shared:
        if value is None:
            position += 1
            names.append(f"v.column{position}")
        else:
            names.append(value)
    assignments = []
    for (column, keep), value in zip(setting, names, strict=False):
        assignments.append(
            f"{column} = COALESCE({table}.{column}, {value})" if keep else f"{column} = {value}"
        )
    conditions = [
        f"{table}.{column} = {value}" for column, value in zip(matching, names[len(setting) :], strict=True)
    ]
    row = "(" + ", ".join(["%s"] * len(bound)) + ")"
    answer = ", ".join(f"{table}.{column}" for column in returning)
    rows = list(zip(*bound, strict=True))
    per_statement = _rows_per_statement(connection, len(bound), count)
    found: list[tuple[Any, ...]] = []
    for start in range(0, count, per_statement):
        part = rows[start : start + per_statement]
        cursor.execute(
            f"UPDATE {table} SET {', '.join(assignments)} FROM (VALUES {', '.join([row] * len(part))}) AS v "  # noqa: S608
            f"WHERE {' AND '.join(conditions)} RETURNING {answer}",
            list(chain.from_iterable(part)),
        )
        found += cursor.fetchall()
    return found
