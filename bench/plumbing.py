"""The one copy of the benchmarks' plumbing: databases, the simulator process, children, timers.

A child (:func:`run_child`) is a fresh ``python -m bench.child`` with ``BENCH_*`` variables
naming its database; it migrates, runs one group of rows and prints them as JSON. The simulator
(:func:`simulator_process`) is ``python -m django_zoomconnect.simulator`` on a free loopback
port: it has its own process, as the provider has its own machine, and nothing reaches a real host.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULT_MARK = "BENCH-RESULT "
SIMULATOR_EMAIL = "bench@example.com"
SIMULATOR_TOKEN = "bench-token"
TEXT = "Flash sale at Acme: 20% off everything until Sunday. Reply STOP to opt out."
DATABASES = ("sqlite", "postgres")


def numbers(count: int, offset: int) -> list[str]:
    """``count`` distinct valid South African mobile numbers in E.164, from ``offset`` on."""
    return [f"+2782{n:07d}" for n in range(offset, offset + count)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[Any], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {seconds:.0f}s")


def stop(process: subprocess.Popen[Any]) -> None:
    """End a process this module started (by its own handle, never by name)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def simulator_process(*extra: str) -> Iterator[str]:
    """The simulator served on a free loopback port by a process of its own; its base URL.

    Its clock runs, but messages stay accepted (a day's send delay), so that its lifecycle thread
    costs nothing while we measure.
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "django_zoomconnect.simulator",
        "--port",
        str(port),
        "--email",
        SIMULATOR_EMAIL,
        "--token",
        SIMULATOR_TOKEN,
        "--balance",
        "1000000000",
        "--send-delay",
        "86400",
        "--default-format",
        "json",
        *extra,
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=child_env({}), stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/app/"
    finally:
        stop(process)


def simulator_headers() -> dict[str, str]:
    return {
        "email": SIMULATOR_EMAIL,
        "token": SIMULATOR_TOKEN,
        "Content-Type": "application/json",
        "Accept": "application/json",
    }


def bulk_bodies(recipients: list[str], chunk: int, tag: str) -> list[bytes]:
    """``sms/send-bulk`` bodies for ``recipients``, ``chunk`` a request."""
    return [
        json.dumps(
            {
                "sendSmsRequests": [
                    {
                        "recipientNumber": n,
                        "message": TEXT,
                        "campaign": "bench",
                        "dataField": f"{tag}-{start + i}",
                    }
                    for i, n in enumerate(recipients[start : start + chunk])
                ]
            }
        ).encode()
        for start in range(0, len(recipients), chunk)
    ]


# --- databases ----------------------------------------------------------------------------------


def _pg_admin() -> Any:
    import psycopg

    return psycopg.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", "postgres"),
        dbname="postgres",
        autocommit=True,
    )


@contextmanager
def database(db: str, directory: str) -> Iterator[dict[str, str]]:
    """A new, empty database for one child; the ``BENCH_*`` variables naming it. Dropped after."""
    if db == "sqlite":
        path = os.path.join(directory, f"bench-{uuid.uuid4().hex[:8]}.sqlite3")
        try:
            yield {"BENCH_DB": "sqlite", "BENCH_DB_NAME": path}
        finally:
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(path + suffix).unlink(missing_ok=True)
        return
    name = f"zoomconnect_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {"BENCH_DB": "postgres", "BENCH_DB_NAME": name}
    finally:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_available() -> bool:
    try:
        with _pg_admin():
            return True
    except Exception:
        return False


def create_floor_tables() -> None:
    """The floors' minimal tables (not the app's: the least a design must store)."""
    from django.db import connection

    key = (
        "BIGSERIAL PRIMARY KEY" if connection.vendor == "postgresql" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    )
    stamp = "TIMESTAMP WITH TIME ZONE" if connection.vendor == "postgresql" else "DATETIME"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE bench_floor_event (id {key}, body TEXT NOT NULL, received_at {stamp} NOT NULL)"
        )
        cursor.execute(
            f"CREATE TABLE bench_floor_message (id {key}, reference VARCHAR(64) NOT NULL UNIQUE,"
            " to_number VARCHAR(32) NOT NULL, body TEXT NOT NULL, status VARCHAR(16) NOT NULL,"
            " remote_id VARCHAR(64) NULL)"
        )


# --- children -----------------------------------------------------------------------------------


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    env.update(extra)
    return env


def run_child(group: str, env: dict[str, str], *, timeout: float = 3600) -> list[dict[str, Any]]:
    """Run ``bench.child`` for ``group``; the rows it printed (as dicts). Its output passes through."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.child", group],
        cwd=ROOT,
        env=child_env(env),
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
    )
    results = [
        line[len(RESULT_MARK) :] for line in completed.stdout.splitlines() if line.startswith(RESULT_MARK)
    ]
    if completed.returncode != 0 or not results:
        raise RuntimeError(
            f"bench.child {group} exited with {completed.returncode}:\n{completed.stdout[-2000:]}"
        )
    rows: list[dict[str, Any]] = json.loads(results[-1])
    return rows


def setup_django() -> str:
    """Set a child up: Django, the migrated database, the floor tables; the database's name."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import logging

    import django

    django.setup()
    # The package's warnings (a 5xx injected on purpose, a report deferred) are expected here.
    logging.getLogger("django_zoomconnect").setLevel(logging.ERROR)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    create_floor_tables()
    return "postgres" if connection.vendor == "postgresql" else connection.vendor


# --- measuring ----------------------------------------------------------------------------------


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``action`` took, and what it returned."""
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scratch_directory() -> tempfile.TemporaryDirectory[str]:
    """Where SQLite files go: a RAM disk when there is one (``/dev/shm``), else the temporary directory.

    On a RAM disk a commit costs no ``fsync``: the figures are about the code, not about this
    machine's disk (on which one commit of the floor took 15 ms, flattening every ratio towards 1).
    ``BENCH_SQLITE_DIR`` picks another place.
    """
    place = os.environ.get("BENCH_SQLITE_DIR") or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
    return tempfile.TemporaryDirectory(prefix="zoomconnect-bench-", dir=place)


#: What each group measures, at full size (the README's table) and ``--small`` (CI: it runs).
SIZES: dict[str, dict[str, int]] = {
    "full": {
        "webhook_reports": 3000,  # per view and mode, in three interleaved rounds
        "applier_events": 10_000,
        "applier_naive": 1_000,
        "send_messages": 10_000,
        "send_rounds": 2,
        "send_naive": 300,
        "send_sdk": 1_000,
        "pull_messages": 20_000,
        "pull_naive": 2_000,
        "memory_messages": 100_000,
        "reconcile_chunk": 500,
    },
    "small": {
        "webhook_reports": 150,
        "applier_events": 300,
        "applier_naive": 30,
        "send_messages": 300,
        "send_rounds": 1,
        "send_naive": 10,
        "send_sdk": 30,
        "pull_messages": 300,
        "pull_naive": 50,
        "memory_messages": 2_000,
        "reconcile_chunk": 50,
    },
}


def size(key: str) -> int:
    return SIZES[os.environ.get("BENCH_SIZE", "full")][key]
