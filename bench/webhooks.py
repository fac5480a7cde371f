"""Webhook ingest: delivery reports through the full view beside the floor, under gunicorn.

One gunicorn with one sync worker serves one project (:mod:`bench.settings`, the middleware of
a new ``startproject``, persistent connections): ``/floor/`` stores the raw body with one INSERT
and answers 200 (the least any receiver must do); ``/zc/webhooks/delivery-report/`` is the real
view (parse, verify the checksum, refuse replays, store the event, and in the default ``"sync"``
mode apply it to its message with its history and signals). The client posts pre-signed reports,
one per message, a new connection each (a sync worker closes it, as the provider's would be), four
in flight so that the worker never waits for the client, in three interleaved rounds; the best
round of each counts. It runs once per ``WEBHOOK_PROCESSING`` mode: ``"sync"`` (the default) and
``"batch"`` (store only; :mod:`bench.applier` measures the applier).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode

from . import plumbing
from .table import Row, ratio_row

AIM = 0.7
CONCURRENCY = 4
ROUNDS = 3
MODES = (("sync", "webhook ingest, sync (default)"), ("batch", "webhook ingest, batch"))


def request_bytes(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def post_all(port: int, requests: list[bytes], concurrency: int = CONCURRENCY) -> float:
    """Send every request (each on a new connection, ``concurrency`` at a time); requests per second."""
    failures: list[bytes] = []

    def worker(part: list[bytes]) -> None:
        for raw in part:
            with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
                connection.sendall(raw)
                answer = b""
                while chunk := connection.recv(65536):
                    answer += chunk
            if not answer.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")):
                failures.append(answer[:500])
                return

    threads = [threading.Thread(target=worker, args=(requests[i::concurrency],)) for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} request(s) failed, the first answered: {failures[0]!r}")
    return len(requests) / elapsed


def report_params(prefix: str, count: int) -> list[dict[str, str]]:
    """``count`` outbound messages in the database, SENT; a signed DELIVERED report for each."""
    from django.conf import settings

    from django_zoomconnect.models import Direction, Message, MessageStatus
    from django_zoomconnect.testing import build_delivery_report_params

    ids = [f"{prefix}{n:020d}" for n in range(count)]
    Message.objects.bulk_create(
        (
            Message(
                direction=Direction.OUTBOUND,
                remote_id=remote_id,
                to_number="+27821234567",
                body="Bench",
                status=MessageStatus.SENT,
            )
            for remote_id in ids
        ),
        batch_size=1000,
    )
    secret = settings.ZOOMCONNECT["WEBHOOK_SECRET"]
    return [
        build_delivery_report_params(remote_id, "DELIVERED", data_field=f"d-{remote_id}", secret=secret)
        for remote_id in ids
    ]


def reports(prefix: str, count: int) -> list[bytes]:
    """:func:`report_params`, as the bodies the provider posts."""
    return [urlencode(params).encode() for params in report_params(prefix, count)]


def gunicorn(port: int, processing: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k.startswith("BENCH_")}
    env["BENCH_PROCESSING"] = processing
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers=1",
        "--worker-class=sync",
        f"--bind=127.0.0.1:{port}",
        "--log-level=warning",
        "bench.wsgi:application",
    ]
    return subprocess.Popen(command, cwd=plumbing.ROOT, env=plumbing.child_env(env))


def measure(processing: str, prefix: str, count: int) -> tuple[float, float, int]:
    """Best rates (floor, view) over interleaved rounds, and how many reports the view took."""
    from .urls import FLOOR_PATH, REPORT_PATH

    warm = max(count // 30, 10)
    bodies = reports(prefix, warm + count)
    port = plumbing.free_port()
    server = gunicorn(port, processing)
    try:
        plumbing.wait_for_port(port, server)
        post_all(port, [request_bytes(FLOOR_PATH, b) for b in bodies[:warm]])
        post_all(port, [request_bytes(REPORT_PATH, b) for b in bodies[:warm]])
        floor_rates, view_rates = [], []
        size = -(-count // ROUNDS)
        for start in range(warm, warm + count, size):
            part = bodies[start : min(start + size, warm + count)]
            floor_rates.append(post_all(port, [request_bytes(FLOOR_PATH, b) for b in part]))
            view_rates.append(post_all(port, [request_bytes(REPORT_PATH, b) for b in part]))
    finally:
        plumbing.stop(server)
    return max(floor_rates), max(view_rates), warm + count


def check(processing: str, prefix: str, expected: int) -> None:
    from django_zoomconnect.models import Message, MessageStatus, WebhookEvent

    events = WebhookEvent.objects.filter(remote_message_id__startswith=prefix)
    state = WebhookEvent.State.PROCESSED if processing == "sync" else WebhookEvent.State.PENDING
    counted = (events.count(), events.filter(state=state).count())
    if processing == "sync":
        delivered = Message.objects.filter(
            remote_id__startswith=prefix, status=MessageStatus.DELIVERED
        ).count()
        counted += (delivered,)
    if set(counted) != {expected}:
        raise RuntimeError(
            f"{processing}: expected {expected} of each, counted {counted}: something was lost"
        )


def run(db: str) -> list[Row]:
    count = plumbing.size("webhook_reports")
    rows = []
    for number, (processing, name) in enumerate(MODES):
        prefix = f"w{number}"
        floor, view, posted = measure(processing, prefix, count)
        check(processing, prefix, posted)
        rows.append(
            ratio_row(
                name,
                db,
                view,
                "req/s",
                [("floor", floor)],
                at_least=AIM,
                aim=f">= {AIM} of the floor",
            )
        )
    return rows
