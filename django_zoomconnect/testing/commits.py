"""Commit hooks in tests that run inside a transaction: run them when a real commit would.

Why: ``send_sms`` wakes a worker, and the webhook views send their signals, only once the
transaction commits (``transaction.on_commit``). A test marked ``@pytest.mark.django_db`` (or a
``django.test.TestCase``) runs inside a transaction that is rolled back, never committed, so
those hooks would never run and the message would stay ``QUEUED``. Inside
:func:`commits_as_in_production`, the test's own transaction counts as no transaction at all: a
hook registered outside any block of the code under test runs at once, and one registered inside
``transaction.atomic()`` runs when that block ends, as it would on commit (not if it rolls back).
The outbox's rule that a claim is committed before the API call is relaxed the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from django.db import DEFAULT_DB_ALIAS, connections, transaction

__all__ = ["commits_as_in_production"]

logger = logging.getLogger("django_zoomconnect.testing")


def _only_the_tests_transaction(connection: Any) -> bool:
    """Inside the test's own transaction (a TestCase's atomic blocks), and nothing else."""
    return bool(connection.in_atomic_block) and all(
        getattr(block, "_from_testcase", False) for block in connection.atomic_blocks
    )


def _run(func: Callable[[], Any], robust: bool) -> None:
    if not robust:
        func()
        return
    try:
        func()
    except Exception:
        logger.exception("Error calling %s in on_commit() (as a commit would)", func)


@contextmanager
def commits_as_in_production(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run ``on_commit`` hooks as a commit would, although the test's transaction never commits.

    In a transactional test (``django_db(transaction=True)``, ``TransactionTestCase``) nothing
    changes: real commits run the hooks already.
    """
    connection = connections[using]
    register = connection.on_commit
    leave = transaction.Atomic.__exit__

    def on_commit(func: Callable[[], Any], robust: bool = False) -> None:
        if _only_the_tests_transaction(connection):
            _run(func, robust)
        else:
            register(func, robust)

    def exit_block(block: transaction.Atomic, *exc: Any) -> Any:
        result = leave(block, *exc)
        mine = connections[block.using or DEFAULT_DB_ALIAS] is connection
        if mine and exc[0] is None and _only_the_tests_transaction(connection):
            # The block under test ended as a commit would: what it registered runs now (a
            # rolled-back savepoint's hooks were discarded by Django already).
            pending: list[Any] = connection.run_on_commit
            connection.run_on_commit = []
            for _, func, robust in pending:  # (savepoint ids, hook, robust)
                _run(func, robust)
        return result

    def in_a_transaction() -> bool:
        return bool(connection.in_atomic_block) and not _only_the_tests_transaction(connection)

    from ..services.outbox import dispatch

    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(connection, "on_commit", on_commit))
        stack.enter_context(mock.patch.object(transaction.Atomic, "__exit__", exit_block))
        stack.enter_context(mock.patch.object(dispatch, "_in_a_transaction", in_a_transaction))
        yield
