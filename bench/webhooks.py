"""Delivery reports per second through the full webhook view, beside a bare Django view.

Not a test: run it by hand, ``python bench/webhooks.py [--reports 3000] [--db sqlite|postgres]
[--processing sync|celery]``. One server process (Django's own WSGI server, keep-alive, the
middleware of a new project, persistent database connections) serves both URLs of one project:
``/bare/`` answers 200 and does nothing, ``/zc/webhooks/delivery-report/`` is the real view
(parse, verify the checksum against two secrets and both encodings, check the nonce, store the
event, apply the report to its message, record the status change, send the signals). The client
posts pre-signed reports, one per message, over one keep-alive connection, in interleaved rounds,
and prints the best rate of each, the server's CPU time per request, and their ratio.
Aim: the webhook at least half the bare rate.

The database is a fresh SQLite file on a RAM disk when there is one (``--db postgres`` uses the
``PG*`` environment variables, like the test settings, with a database named
``zoomconnect_bench``, dropped and recreated). ``--processing celery`` measures what the request
itself does in that mode (store the event, enqueue a task on an in-memory broker no worker reads).
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRETS = ["bench-secret-new", "bench-secret-old"]
REPORT_PATH = "/zc/webhooks/delivery-report/"
BARE_PATH = "/bare/"


def configure(db: str, path: str, *, async_commit: bool = False, processing: str = "sync") -> None:
    import django
    from django.conf import settings

    if db == "postgres":
        database = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "zoomconnect_bench",
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
        }
        if async_commit:
            database["OPTIONS"] = {"options": "-c synchronous_commit=off"}
    else:
        database = {"ENGINE": "django.db.backends.sqlite3", "NAME": path}
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only",
        ALLOWED_HOSTS=["*"],
        USE_TZ=True,
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django_zoomconnect",
        ],
        # The middleware of a new `startproject`: both views go through all of it.
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ],
        # Persistent connections, as production sites run: otherwise every webhook would pay for
        # a new database connection that the bare view (which never queries) does not need.
        DATABASES={"default": {**database, "CONN_MAX_AGE": 600}},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        LOGGING_CONFIG=None,
        ZOOMCONNECT={
            "EMAIL": "bench@example.com",
            "API_TOKEN": "bench",
            "WEBHOOK_SECRET": SECRETS,
            "WEBHOOK_PROCESSING": processing,
        },
    )
    django.setup()


def _bare(request: object) -> object:
    from django.http import HttpResponse

    return HttpResponse("OK\n", content_type="text/plain; charset=utf-8")


def _urlpatterns() -> list[object]:
    from django.urls import include, path
    from django.views.decorators.csrf import csrf_exempt

    return [path("bare/", csrf_exempt(_bare)), path("zc/", include("django_zoomconnect.urls"))]


def __getattr__(name: str) -> object:  # the URLconf is built lazily, once Django is set up
    if name == "urlpatterns":
        return _urlpatterns()
    raise AttributeError(name)


def prepare_database(db: str, reports: int) -> list[bytes]:
    """Migrate, create one outbound message per report; the signed report bodies."""
    from django.core.management import call_command
    from django.db import connection

    from django_zoomconnect.models import Direction, Message, MessageStatus
    from django_zoomconnect.testing import build_delivery_report_params

    if db == "postgres":
        import psycopg

        admin = {k: v for k, v in connection.settings_dict.items() if k in ("USER", "HOST", "PORT")}
        dsn = f"host={admin['HOST']} port={admin['PORT']} user={admin['USER']} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as pg:
            pg.execute("DROP DATABASE IF EXISTS zoomconnect_bench")
            pg.execute("CREATE DATABASE zoomconnect_bench")
    call_command("migrate", verbosity=0)
    Message.objects.bulk_create(
        Message(
            direction=Direction.OUTBOUND,
            remote_id=f"{n:024x}",
            to_number="+27821234567",
            body="Bench",
            status=MessageStatus.SENT,
        )
        for n in range(reports)
    )
    # Signed with the older secret, as during a rotation: the view tries both secrets.
    return [
        urlencode(
            build_delivery_report_params(f"{n:024x}", "DELIVERED", data_field=f"bench-{n}", secret=SECRETS[1])
        ).encode()
        for n in range(reports)
    ]


def serve(port: int, processing: str) -> None:
    from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def setup(self) -> None:
            super().setup()
            # Headers and body leave in separate writes: without this, Nagle's algorithm and
            # delayed ACKs would add tens of milliseconds to every answer, bare or not.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: object) -> None:
            pass

    if processing == "celery":
        # The request path only: tasks go to an in-memory broker that no worker reads.
        from celery import Celery

        Celery("bench", broker="memory://", set_as_current=True).set_default()
    server = WSGIServer(("127.0.0.1", port), QuietHandler, ipv6=False)
    server.set_app(get_wsgi_application())
    print("ready", flush=True)
    server.serve_forever()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far (Linux), or 0.0 when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def post_all(port: int, path: str, bodies: list[bytes]) -> float:
    """POST every body over one keep-alive connection; the rate per second."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.connect()
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    started = time.perf_counter()
    for body in bodies:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}: {answer!r}")
    elapsed = time.perf_counter() - started
    connection.close()
    return len(bodies) / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=3000, help="delivery reports to post (default 3000)")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timed rounds (default 3)")
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument(
        "--processing",
        choices=["sync", "celery"],
        default="sync",
        help="WEBHOOK_PROCESSING: 'celery' measures the request path only (store, enqueue)",
    )
    parser.add_argument(
        "--async-commit",
        action="store_true",
        help="PostgreSQL only: synchronous_commit=off, to see the code's cost without the disk's fsync",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sqlite-path", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)

    if options.serve:
        configure(
            options.db, options.sqlite_path, async_commit=options.async_commit, processing=options.processing
        )
        serve(options.port, options.processing)
        return 0

    # A RAM disk when there is one: the figure is about this code, not about the disk's fsync.
    ram = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=ram) as tmp:
        sqlite_path = str(Path(tmp) / "bench.sqlite3")
        configure(options.db, sqlite_path, async_commit=options.async_commit)
        bodies = prepare_database(options.db, options.reports)
        command = [
            sys.executable,
            __file__,
            "--serve",
            "--db",
            options.db,
            "--port",
            str(options.port),
            "--sqlite-path",
            sqlite_path,
            "--processing",
            options.processing,
            *(["--async-commit"] if options.async_commit else []),
        ]
        server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            if server.stdout.readline().strip() != "ready":
                raise SystemExit("the server did not start")
            warmup, timed = bodies[:100], bodies[100:]
            post_all(options.port, BARE_PATH, warmup)
            post_all(options.port, REPORT_PATH, warmup)
            # Interleaved rounds, best of each: on a shared machine the load changes by the second.
            bare_rates, webhook_rates = [], []
            cpu_bare = cpu_webhook = 0.0
            size = -(-len(timed) // options.rounds)
            for start in range(0, len(timed), size):
                chunk = timed[start : start + size]
                before = cpu_seconds(server.pid)
                bare_rates.append(post_all(options.port, BARE_PATH, chunk))
                middle = cpu_seconds(server.pid)
                webhook_rates.append(post_all(options.port, REPORT_PATH, chunk))
                cpu_bare += middle - before
                cpu_webhook += cpu_seconds(server.pid) - middle
            bare, webhook = max(bare_rates), max(webhook_rates)
        finally:
            server.terminate()
            server.wait()

        from django_zoomconnect.models import Message, MessageStatus, MessageStatusChange, WebhookEvent

        delivered = Message.objects.filter(status=MessageStatus.DELIVERED).count()
        stored = WebhookEvent.objects.count()
        processed = WebhookEvent.objects.filter(state="processed").count()
        changes = MessageStatusChange.objects.count()
        per = 1000 / len(timed)
        ratio = webhook / bare
        print(
            f"database            {options.db}{' (synchronous_commit=off)' if options.async_commit else ''}"
        )
        print(f"processing          {options.processing}")
        print(f"bare Django view    {bare:8.0f} requests/s  server CPU {cpu_bare * per:6.2f} ms/request")
        print(f"delivery reports    {webhook:8.0f} reports/s   server CPU {cpu_webhook * per:6.2f} ms/report")
        print(f"stored              {stored} events, {processed} processed")
        print(f"applied             {delivered} messages delivered, {changes} status changes")
        print(
            f"ratio               {ratio:8.2f}  (aim: 0.50 or more) {'OK' if ratio >= 0.5 else 'BELOW AIM'}"
        )
        expected = options.reports
        done = (stored,) if options.processing == "celery" else (stored, processed, delivered, changes)
        if set(done) != {expected}:
            print(f"expected {expected} of each: something was lost")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
