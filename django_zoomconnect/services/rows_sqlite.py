"""SQLite's bulk statements for :mod:`.rows`: many rows a statement, a value they share bound once.

Why not ``executemany``: it binds every value of every row and runs the statement once per row,
so a 10,000-message batch bound 380,000 values, most of them the same few (a status, the
batch's time, an empty text, NULL). Here the rows go in as one ``VALUES`` list per statement,
holding only the columns whose values differ between rows; a value every row shares is bound
once (NULL is written as ``NULL``): ``INSERT ... SELECT <columns> FROM (VALUES ...)``
(:func:`insert`) and ``UPDATE ... FROM (VALUES ...) RETURNING`` (:func:`update_returning`, SQLite
3.35 and later, which answers the rows it changed).

Why a power of two rows a statement (up to :data:`ROWS`), the last one padded: SQLite keeps each
connection's prepared statements (Python's ``sqlite3`` caches the last 128), and a statement of
many rows is large. Its text depends only on the columns and on that size, never on a value or
on the exact number of rows, so a few sizes make a few statements whatever is written, and a
batch is one statement. A padding row is all NULL: it matches no row to update, and an INSERT
takes only the rows whose first ``VALUES`` column (a marker, 1) is not NULL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from .rows_values import all_same, max_query_params

__all__ = ["ROWS", "can_update_returning", "insert", "update_returning"]

#: Rows a statement, at most (fewer where the variable limit is lower): a power of two.
ROWS = 1024

_NULL = object()
_BOUND = object()


def _shared(column: Sequence[Any]) -> object:
    """How a column is written: :data:`_NULL` when every row holds ``None``, :data:`_BOUND` when
    every row holds the same value (bound once), else ``None`` (a column of the ``VALUES``)."""
    first = column[0]
    # The same object (a value prepared once), else equal values of one type (1 == 1.0 == True).
    if not all_same(column) and (
        column.count(first) != len(column) or any(type(value) is not type(first) for value in column)
    ):
        return None
    return _NULL if first is None else _BOUND


def _layout(
    columns: list[list[Any]], *, key: int | None = None, shift: int = 0
) -> tuple[list[str], list[Any], list[list[Any]]]:
    """How each column is written (``v.columnN``, counted after ``shift`` marker columns;
    ``%s`` or ``NULL``), the values bound once in that order, and the columns that vary. Column
    ``key`` always varies (each row its own), and so does the first when none would."""
    kinds = [_shared(column) for column in columns]
    if key is not None:
        kinds[key] = None
    if all(kind is not None for kind in kinds):
        kinds[0] = None
    written, once, varying = [], [], []
    for column, kind in zip(columns, kinds, strict=True):
        if kind is _NULL:
            written.append("NULL")
        elif kind is _BOUND:
            written.append("%s")
            once.append(column[0])
        else:
            varying.append(column)
            written.append(f"v.column{len(varying) + shift}")
    return written, once, varying


def _sizes(count: int, most: int) -> Iterator[tuple[int, int]]:
    """``(rows, size)`` of each statement for ``count`` rows: ``most`` at a time, then the rest
    in one statement of the next power of two."""
    while count > 0:
        size = most if count >= most else 1 << (count - 1).bit_length()
        yield min(count, size), size
        count -= size


def _most(connection: BaseDatabaseWrapper, once: int, width: int) -> int:
    """The most rows of ``width`` values a statement binding ``once`` more can hold: a power of two."""
    fits = max(1, min(ROWS, (max_query_params(connection) - once) // max(width, 1)))
    return 1 << (fits.bit_length() - 1)


def _statements(
    connection: BaseDatabaseWrapper, once: list[Any], varying: list[list[Any]], *, marked: bool
) -> Iterator[tuple[str, list[Any]]]:
    """For each statement: its ``VALUES`` list and the values of its rows, flattened and padded
    with NULL rows to its size; ``marked`` puts a first column of 1 in each real row."""
    columns = [[1] * len(varying[0]), *varying] if marked else varying
    rows = list(zip(*columns, strict=True))
    width = len(columns)
    row = "(" + ", ".join(["%s"] * width) + ")"
    start = 0
    for real, size in _sizes(len(rows), _most(connection, len(once), width)):
        params = list(chain.from_iterable(rows[start : start + real]))
        params += [None] * (width * (size - real))
        yield ", ".join([row] * size), params
        start += real


def insert(cursor: Any, connection: BaseDatabaseWrapper, head: str, columns: list[list[Any]]) -> int:
    """``<head> SELECT ... FROM (VALUES ...)`` for the rows whose prepared values are ``columns``
    (one list per column of ``head``, in its order); the number of statements."""
    written, once, varying = _layout(columns, shift=1)
    statements = 0
    for values, params in _statements(connection, once, varying, marked=True):
        cursor.execute(
            # Quoted names, placeholders and NULL only: every value is bound.
            f"{head} SELECT {', '.join(written)} FROM (VALUES {values}) AS v WHERE v.column1 IS NOT NULL",  # noqa: S608
            once + params,
        )
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
    (the primary key: each row of values updates its own row); ``columns`` the prepared values,
    one list per column of ``setting`` then ``matching``. Answers the ``returning`` columns of
    the rows changed, as stored.
    """
    written, once, varying = _layout(columns, key=len(setting))
    # Bound in the order they are written: the SET clause's, the rows', the WHERE clause's.
    set_once = sum(1 for text in written[: len(setting)] if text == "%s")
    before, after = once[:set_once], once[set_once:]
    assignments = [
        f"{column} = COALESCE({table}.{column}, {text})" if keep else f"{column} = {text}"
        for (column, keep), text in zip(setting, written, strict=False)
    ]
    # "= NULL" matches nothing, as a bound None would (and a padding row's NULL key).
    matched = zip(matching, written[len(setting) :], strict=True)
    conditions = " AND ".join(f"{table}.{column} = {text}" for column, text in matched)
    answer = ", ".join(f"{table}.{column}" for column in returning)
    found: list[tuple[Any, ...]] = []
    for rows, params in _statements(connection, once, varying, marked=False):
        cursor.execute(
            f"UPDATE {table} SET {', '.join(assignments)} FROM (VALUES {rows}) AS v "  # noqa: S608
            f"WHERE {conditions} RETURNING {answer}",
            before + params + after,
        )
        found += cursor.fetchall()
    return found
