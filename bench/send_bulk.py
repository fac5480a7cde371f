"""How fast the outbox sends: ``send_bulk`` end to end against the simulator, beside two yardsticks.

Not a test: run it by hand, ``python bench/send_bulk.py [--messages 10000] [--naive 500]``.
It configures Django on its own (SQLite in a temporary file, or ``--db memory``), migrates, and
serves the simulator on a free loopback port with the real threaded server. Then it times:

* **end to end**: ``send_bulk(recipients=..., body=...)`` for ``--messages`` numbers, dispatched
  in the calling process (``SEND_EAGERLY``) chunk by chunk through ``sms/send-bulk``: validation,
  rows written, claims, HTTP, remote ids and history stored;
* **naive loop**: ``send_sms`` once per number (one ``sms/send`` call each) for ``--naive``
  numbers, the way code without a bulk path would do it;
* **the limit**: the same chunks as pre-built JSON bodies posted straight to the simulator with
  one ``requests.Session``: no database, no validation, nothing to store.

It prints messages per second for each and the two ratios the project aims at: end to end at
least 20 times the naive loop, and at least half the limit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def configure(db: str, directory: str) -> None:
    import django
    from django.conf import settings

    name = ":memory:" if db == "memory" else os.path.join(directory, "bench.sqlite3")
    settings.configure(
        DEBUG=False,
        USE_TZ=True,
        TIME_ZONE="UTC",
        SECRET_KEY="bench-only",
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_zoomconnect"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": name}},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        CELERY_TASK_ALWAYS_EAGER=True,
        LOGGING_CONFIG=None,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def numbers(count: int, offset: int) -> list[str]:
    return [f"+2782{n:07d}" for n in range(offset, offset + count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000, help="messages sent in bulk (10000)")
    parser.add_argument("--naive", type=int, default=500, help="messages sent one by one (500)")
    parser.add_argument("--chunk", type=int, default=500, help="BULK_CHUNK_SIZE (500)")
    parser.add_argument("--db", choices=("file", "memory"), default="file", help="SQLite in a file or memory")
    options = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as directory:
        configure(options.db, directory)
        return run(options)


def run(options: argparse.Namespace) -> int:
    import requests
    from django.conf import settings

    from django_zoomconnect.models import Message, MessageStatus
    from django_zoomconnect.services.outbox import send_bulk, send_sms
    from django_zoomconnect.simulator import Clock, Simulator
    from django_zoomconnect.simulator.server import SimulatorServer

    simulator = Simulator(clock=Clock(frozen=True), balance=10_000_000.0)
    text = "Flash sale at Acme: 20% off everything until Sunday. Reply STOP to opt out."
    with SimulatorServer(simulator, background=False) as server:
        settings.ZOOMCONNECT = {
            "EMAIL": simulator.email,
            "API_TOKEN": simulator.token,
            "BASE_URL": server.url,
            "SEND_EAGERLY": True,
            "BALANCE_CHECK": "refuse",
            "BULK_CHUNK_SIZE": options.chunk,
        }

        # Warm up: imports, the first connection, SQLite's caches.
        send_bulk(recipients=numbers(10, 9_000_000), body=text)

        started = time.perf_counter()
        batch = send_bulk(recipients=numbers(options.messages, 1_000_000), body=text, campaign="bench")
        bulk_seconds = time.perf_counter() - started
        sent = Message.objects.filter(batch=batch, status=MessageStatus.SENT).count()
        if sent != options.messages:
            print(f"only {sent} of {options.messages} bulk messages were sent", file=sys.stderr)
            return 1

        started = time.perf_counter()
        for number in numbers(options.naive, 5_000_000):
            message = send_sms(number, text, campaign="bench")
            if message.status != MessageStatus.SENT:
                print(f"a naive send ended {message.status}: {message.last_error}", file=sys.stderr)
                return 1
        naive_seconds = time.perf_counter() - started

        chunks = [
            json.dumps(
                {
                    "sendSmsRequests": [
                        {"recipientNumber": n, "message": text, "campaign": "bench", "dataField": f"raw-{n}"}
                        for n in part
                    ]
                }
            ).encode()
            for part in (
                numbers(options.messages, 7_000_000)[start : start + options.chunk]
                for start in range(0, options.messages, options.chunk)
            )
        ]
        headers = {
            "email": simulator.email,
            "token": simulator.token,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        url = server.url + "api/rest/v1/sms/send-bulk"
        with requests.Session() as session:
            session.post(url, data=chunks[0], headers=headers, timeout=60).raise_for_status()  # warm up
            started = time.perf_counter()
            for body in chunks:
                session.post(url, data=body, headers=headers, timeout=60).raise_for_status()
            raw_seconds = time.perf_counter() - started

    bulk_rate = options.messages / bulk_seconds
    naive_rate = options.naive / naive_seconds
    raw_rate = options.messages / raw_seconds
    print("django-zoomconnect: sending to the simulator over loopback (SQLite, eager dispatch)")
    line = "  {:<24}: {:>6} messages in {:6.2f}s = {:>8,.0f}/s"
    print(line.format("end to end (send_bulk)", options.messages, bulk_seconds, bulk_rate))
    print(line.format("naive loop (send_sms)", options.naive, naive_seconds, naive_rate))
    print(line.format("limit (raw bulk posts)", options.messages, raw_seconds, raw_rate))
    print(f"  end to end / naive      : {bulk_rate / naive_rate:6.1f}x (aim: 20x or more)")
    print(f"  end to end / limit      : {bulk_rate / raw_rate:6.2f}  (aim: 0.5 or more)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
