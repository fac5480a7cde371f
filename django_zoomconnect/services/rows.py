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

The INSERTs are here, the UPDATEs in :mod:`.rows_update` and how values are prepared in
:mod:`.rows_values`; this module is the one callers import.

Statements go to the connection the database router picks for writing the model, inside
whatever transaction the caller holds. Model signals are not sent, exactly as with
``bulk_create``. Query counts stay one per batch of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from django.db import IntegrityError, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from . import rows_postgres as postgres
from . import rows_sqlite as sqlite
from .rows_postgres import column_of as _column
from .rows_update import update_by_pk, update_each, update_each_returning
from .rows_values import SLICE, Preparer, batched, connection_for, field_of

__all__ = ["SLICE", "batched", "insert", "insert_new", "update_by_pk", "update_each", "update_each_returning"]


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
        self._columns: list[tuple[str, Preparer, Callable[[], Any] | None, Any, bool]] = []
        for field in columns:
            prepare = Preparer(field, connection)
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
            targets = ", ".join(quote(_column(field_of(model, name))) for name in unique)
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

    def rows(
        self, rows: Sequence[Mapping[str, Any]], now: datetime, shared: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """The statement's parameters for each of ``rows`` (see :meth:`columns`)."""
        return list(zip(*self.columns(rows, now, shared), strict=True))

    def columns(
        self, rows: Sequence[Mapping[str, Any]], now: datetime, shared: Mapping[str, Any]
    ) -> list[list[Any]]:
        """The values of each of the statement's columns for ``rows``, prepared a column at a
        time (a value all rows share is prepared once); ``shared`` gives values of every row,
        ``now`` fills the ``auto_now`` fields."""
        columns = []
        for attname, prepare, make, default, takes_now in self._columns:
            if takes_now:
                default = now
            if attname in shared:
                column = [shared[attname]] * len(rows)
            elif attname in self._given:
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
    shared: Mapping[str, Any] | None = None,
) -> int:
    """INSERT one row per mapping of attribute names (``batch_id``, not ``batch``) to values.

    ``shared`` gives the values every row has (which the rows then leave out). Every other
    field gets its default (a callable default, such as a message's unique ``reference``, is
    called for each row), and ``auto_now``/``auto_now_add`` fields get ``now`` (default: the
    current time). Primary keys are not read back. Returns the number of statements (or
    ``executemany`` calls).
    """
    if not rows:
        return 0
    shared = shared or {}
    given = frozenset().union(*(row.keys() for row in rows))
    if not given.isdisjoint(shared):
        raise ValueError(f"rows give shared fields: {', '.join(sorted(given & shared.keys()))}")
    connection = connection_for(model)
    plan = _plan(model, connection, given.union(shared))
    moment = timezone.now() if now is None else now
    calls = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and postgres.psycopg3():
            # One COPY per slice: the rows stream in psycopg's text format, parsed by each
            # column's type on the server (a value too long is refused as by an INSERT).
            for chunk in batched(rows, batch_size):
                with connection.wrap_database_errors, cursor.copy(plan.copy) as copy:
                    for values in plan.rows(chunk, moment, shared):
                        copy.write_row(values)
                calls += 1
            return calls
        for chunk in batched(rows, batch_size):
            if connection.vendor == "sqlite":
                calls += sqlite.insert(cursor, connection, plan.head, plan.columns(chunk, moment, shared))
            else:
                cursor.executemany(plan.sql, plan.rows(chunk, moment, shared))
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
    connection = connection_for(model)
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
