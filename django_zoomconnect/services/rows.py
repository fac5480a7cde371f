"""The one bulk-row engine: INSERT and UPDATE many rows with the SQL built once, one statement a batch.

Why not ``bulk_create``, ``bulk_update`` and ``Case(When(...))``: Django compiles each value of
each row in Python (about 0.4 ms for one 36-column message row on a modest machine) and
``bulk_update`` resolves a ``When`` expression per row and field, so writing a 10,000-message
batch or a large pull cost several times more than the work itself. Here each column gets one
:class:`_Preparer` (text and whole numbers pass straight through, as their fields would return
them; other values go through the field's own ``get_db_prep_save``, remembered for the values a
batch repeats; a value every row of a batch shares is prepared once, a column at a time), and
each database gets the statement it runs fastest: SQLite one multi-row statement per batch,
with a value every row shares written in once (:mod:`.rows_sqlite`);
MySQLdb rewrites an ``executemany`` INSERT into multi-row ones, and an UPDATE is one ``UPDATE
... SET f = CASE pk WHEN ... END`` per batch; PostgreSQL, where psycopg would pipeline one
statement per row, each planned on its own, gets one ``COPY ... FROM STDIN`` per batch of new
rows and one ``UPDATE ... FROM unnest(...)`` per batch of updates, with one array parameter per
column, bound on the server in binary (:mod:`.rows_postgres`), which can also answer the rows
it changed (:func:`update_each_returning`). :func:`insert_new` is the one-row INSERT that a unique
constraint may turn down, without a savepoint.

Statements go to the connection the database router picks for writing the model, inside
whatever transaction the caller holds. Model signals are not sent, exactly as with
``bulk_create``. Query counts stay one per batch of rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import islice, repeat
from operator import is_
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from django.db import IntegrityError, connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from . import rows_postgres as postgres
from . import rows_sqlite as sqlite
from .rows_postgres import column_of as _column

__all__ = ["SLICE", "batched", "insert", "insert_new", "update_by_pk", "update_each", "update_each_returning"]

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
        first = values[0]
        if all(map(is_, values, repeat(first))):
            return [self(first)] * len(values)
        kinds = set(map(type, values))
        if (self._text and kinds == {str}) or (self._number and kinds == {int}):
            return values
        return list(map(self, values))

    def _prepare(self, value: Any) -> Any:
        return self._field.get_db_prep_save(value, self._connection)


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    """The concrete field ``name`` (``batch`` or ``batch_id`` alike)."""
    for candidate in model._meta.concrete_fields:
        if name in (candidate.attname, candidate.name):
            return candidate
    raise LookupError(f"{model.__name__} has no concrete field {name!r}")


class _InsertPlan:
    """The SQL of an INSERT of rows that give the fields ``given``, and how each value is prepared.

    Built once per model, connection, fields and conflict handling (see :func:`_plan`): the
    per-row work is then only preparing the values. Fields not given get their default (a
    callable default is called for each row); ``auto_now``/``auto_now_add`` fields get ``now``.
    """

    __slots__ = ("_columns", "_given", "copy", "head", "returns", "sql")

    def __init__(
        self,
        model: type[models.Model],
        connection: BaseDatabaseWrapper,
        given: frozenset[str],
        unique: tuple[str, ...],
    ) -> None:
        columns = [f for f in model._meta.concrete_fields if not (f.primary_key and f.attname not in given)]
        unknown = given - {f.attname for f in columns}
        if unknown:
            raise ValueError(f"{model.__name__} has no field(s) {', '.join(sorted(unknown))}")
        # (attname, preparer, per-row default, default, takes now): what fills each column.
        self._columns: list[tuple[str, _Preparer, Callable[[], Any] | None, Any, bool]] = []
        for field in columns:
            prepare = _Preparer(field, connection)
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                self._columns.append((field.attname, prepare, None, None, True))
            elif field.has_default() and callable(field.default):
                self._columns.append((field.attname, prepare, field.get_default, None, False))
            else:
                self._columns.append((field.attname, prepare, None, field.get_default(), False))
        self._given = given
        quote = connection.ops.quote_name
        names = ", ".join(quote(_column(field)) for field in columns)
        placeholders = ", ".join(["%s"] * len(columns))
        verb, suffix = "INSERT INTO", ""
        #: Whether the statement answers the new row's primary key (``RETURNING``).
        self.returns = False
        if unique:
            targets = ", ".join(quote(_column(_field(model, name))) for name in unique)
            if connection.vendor == "mysql":
                verb = "INSERT IGNORE INTO"  # which would truncate a long value: callers check widths
            else:
                suffix = f" ON CONFLICT ({targets}) DO NOTHING"
            # SQLite tells a skipped row by its rowcount and the new key by lastrowid, as MySQL
            # does: no RETURNING row to fetch.
            if connection.features.can_return_columns_from_insert and connection.vendor != "sqlite":
                key = model._meta.pk
                assert key is not None
                suffix += f" RETURNING {quote(_column(key))}"
                self.returns = True
        table = quote(model._meta.db_table)
        #: The statement up to its values (SQLite writes many rows a statement after it).
        self.head = f"{verb} {table} ({names})"
        self.sql = f"{self.head} VALUES ({placeholders}){suffix}"
        #: PostgreSQL: many rows streamed in one statement.
        self.copy = f"COPY {table} ({names}) FROM STDIN"

    def rows(self, rows: Sequence[Mapping[str, Any]], now: datetime) -> list[tuple[Any, ...]]:
        """The statement's parameters for each of ``rows`` (see :meth:`columns`)."""
        return list(zip(*self.columns(rows, now), strict=True))

    def columns(self, rows: Sequence[Mapping[str, Any]], now: datetime) -> list[list[Any]]:
        """The values of each of the statement's columns for ``rows``, prepared a column at a
        time (a value all rows share is prepared once); ``now`` fills the ``auto_now`` fields."""
        columns = []
        for attname, prepare, make, default, takes_now in self._columns:
            if takes_now:
                default = now
            if attname in self._given:
                try:
                    column = [row[attname] for row in rows]
                except KeyError:  # a field only some of the rows give
                    column = [row[attname] if attname in row else make() if make else default for row in rows]
            elif make is not None:
                column = [make() for _ in rows]
            else:
                column = [default] * len(rows)
            columns.append(prepare.column(column))
        return columns

    def row(self, row: Mapping[str, Any], now: datetime) -> list[Any]:
        """The parameters of one row (:meth:`rows` for a single row, without its column work:
        every stored webhook is one)."""
        values = []
        for attname, prepare, make, default, takes_now in self._columns:
            if attname in row:
                value = row[attname]
            elif takes_now:
                value = now
            else:
                value = make() if make is not None else default
            values.append(prepare(value))
        return values


#: Plans by connection (a connection belongs to one thread), then by model, fields and conflict.
_PLANS: WeakKeyDictionary[BaseDatabaseWrapper, dict[tuple[Any, ...], _InsertPlan]] = WeakKeyDictionary()


def _plan(
    model: type[models.Model],
    connection: BaseDatabaseWrapper,
    given: frozenset[str],
    unique: tuple[str, ...] = (),
) -> _InsertPlan:
    plans = _PLANS.setdefault(connection, {})
    key = (model._meta.label, id(model), given, unique)
    plan = plans.get(key)
    if plan is None:
        plan = plans[key] = _InsertPlan(model, connection, given, unique)
    return plan


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
    plan = _plan(model, connection, frozenset().union(*(row.keys() for row in rows)))
    moment = timezone.now() if now is None else now
    calls = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and postgres.psycopg3():
            # One COPY per slice: the rows stream in psycopg's text format, parsed by each
            # column's type on the server (a value too long is refused as by an INSERT).
            for chunk in batched(rows, batch_size):
                with connection.wrap_database_errors, cursor.copy(plan.copy) as copy:
                    for values in plan.rows(chunk, moment):
                        copy.write_row(values)
                calls += 1
            return calls
        for chunk in batched(rows, batch_size):
            if connection.vendor == "sqlite":
                calls += sqlite.insert(cursor, connection, plan.head, plan.columns(chunk, moment))
            else:
                cursor.executemany(plan.sql, plan.rows(chunk, moment))
                calls += 1
    return calls


def insert_new(
    model: type[models.Model], row: Mapping[str, Any], *, unique: Sequence[str], now: datetime | None = None
) -> int | None:
    """INSERT ``row`` unless a row with the same ``unique`` values exists: its primary key, or ``None``.

    One statement, and no savepoint: ``INSERT ... ON CONFLICT (unique) DO NOTHING`` on
    PostgreSQL and SQLite, ``INSERT IGNORE`` on MySQL and MariaDB (so the caller checks the
    other values fit their columns first; a duplicate costs a second query there, to tell it
    from a conflict on another key), with ``RETURNING`` where the database has it. Any other
    conflict is raised as ``IntegrityError``. Fields are filled as :func:`insert` fills them.
    """
    connection = _connection(model)
    if connection.vendor not in ("postgresql", "sqlite", "mysql"):
        return _insert_new_portably(model, row, unique)
    plan = _plan(model, connection, frozenset(row), tuple(unique))
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, plan.row(row, timezone.now() if now is None else now))
        if plan.returns:
            found = cursor.fetchone()
            pk = None if found is None else int(found[0])
        else:
            pk = int(cursor.lastrowid) if cursor.rowcount else None
    if pk is None and connection.vendor == "mysql":
        # INSERT IGNORE ignores every duplicate key: make sure it was the one asked about.
        same = model._default_manager.using(connection.alias).filter(**{name: row[name] for name in unique})
        if not same.exists():
            raise IntegrityError(f"{model.__name__} row conflicts on another unique key")
    return pk


def _insert_new_portably(
    model: type[models.Model], row: Mapping[str, Any], unique: Sequence[str]
) -> int | None:
    """:func:`insert_new` through the ORM, for databases whose conflict clause is not known here."""
    manager = model._default_manager
    try:
        with transaction.atomic(using=router.db_for_write(model)):
            return int(manager.create(**row).pk)
    except IntegrityError:
        if manager.filter(**{name: row[name] for name in unique}).exists():
            return None
        raise


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
    if connection.vendor == "postgresql":
        return _update_each_postgres(
            connection, model, set_fields, where_fields, rows, keep_existing, batch_size
        )[0]
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
    connection = _connection(model)
    if connection.vendor == "sqlite" and sqlite.can_update_returning():
        return _update_each_sqlite(
            connection, model, set_fields, where_fields, rows, keep_existing, returning
        )
    if connection.vendor != "postgresql":
        update_each(model, set_fields, where_fields, rows, keep_existing=keep_existing)
        return None
    if not rows:
        return []
    return _update_each_postgres(
        connection, model, set_fields, where_fields, rows, keep_existing, SLICE, returning
    )[1]


def _update_each_postgres(
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    set_fields: Sequence[str],
    where_fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    keep_existing: Sequence[str],
    batch_size: int,
    returning: Sequence[str] = (),
) -> tuple[int, list[tuple[Any, ...]]]:
    setting = [_field(model, name) for name in set_fields]
    matching = [_field(model, name) for name in where_fields]
    preparing = [_Preparer(field, connection) for field in (*setting, *matching)]
    slices = (_columns(chunk, preparing) for chunk in batched(rows, batch_size))
    answer = [_field(model, name) for name in returning]
    return postgres.update_from_values(connection, model, setting, matching, slices, keep_existing, answer)


def _update_each_sqlite(
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    set_fields: Sequence[str],
    where_fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    keep_existing: Sequence[str],
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    if not rows:
        return []
    quote = connection.ops.quote_name
    setting = [_field(model, name) for name in set_fields]
    matching = [_field(model, name) for name in where_fields]
    preparing = [_Preparer(field, connection) for field in (*setting, *matching)]
    found: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for chunk in batched(rows, SLICE):
            found += sqlite.update_returning(
                cursor,
                connection,
                quote(model._meta.db_table),
                [(quote(_column(f)), f.attname in keep_existing or f.name in keep_existing) for f in setting],
                [quote(_column(field)) for field in matching],
                _columns(chunk, preparing),
                [quote(_column(_field(model, name))) for name in returning],
            )
    return found


def _columns(rows: Sequence[Sequence[Any]], preparers: Sequence[_Preparer]) -> list[list[Any]]:
    """The prepared columns of ``rows``, whose values are in the order of ``preparers``."""
    return [
        prepare.column(list(column))
        for column, prepare in zip(zip(*rows, strict=True), preparers, strict=True)
    ]


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
