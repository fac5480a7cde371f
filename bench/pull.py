"""Sync pull: ``pull(kinds=["messages"])`` into an empty database beside a naive ``update_or_create`` loop.

The simulator process is seeded with the messages (raw bulk posts), then both read them over
loopback, a thousand a page (the simulator scans its whole history per page: with the
provider's 100 a page, serving would dominate both). The naive loop is what a first
implementation does, one ``update_or_create`` per message, on a sample, per message.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import islice
from typing import Any

from . import plumbing
from .plumbing import numbers
from .table import Row, ratio_row

AIM = 10.0
PAGE_SIZE = 1_000


def seed(url: str, count: int) -> None:
    """``count`` messages on the simulated account, posted a chunk at a time (never all in memory)."""
    import requests

    with requests.Session() as session:
        for start in range(0, count, 500):
            (body,) = plumbing.bulk_bodies(
                numbers(min(500, count - start), 1_000_000 + start), 500, f"seed{start}"
            )
            session.post(
                url + "api/rest/v1/sms/send-bulk", data=body, headers=plumbing.simulator_headers(), timeout=60
            ).raise_for_status()


def client(url: str) -> Any:
    from django_zoomconnect.client import ZoomConnectClient

    return ZoomConnectClient.from_settings(base_url=url)


def bulk_pull(url: str, count: int) -> None:
    from django_zoomconnect.services.pull import pull

    report = pull(kinds=["messages"], client=client(url), page_size=PAGE_SIZE)
    created = report.kinds["messages"].created
    if not report.ok or created != count:
        raise RuntimeError(f"the pull created {created} of {count} messages: {report.as_table()}")


def naive_pull(url: str, count: int) -> None:
    """One ``update_or_create`` per remote message, for the first ``count``."""
    from django_zoomconnect.models import Direction, Message, SyncState

    for m in islice(client(url).iter_messages(page_size=PAGE_SIZE, type="OUTBOUND"), count):
        Message.objects.update_or_create(
            remote_id=m.message_id,
            defaults={
                "direction": Direction.OUTBOUND,
                "status": m.status or "UNKNOWN",
                "from_number": m.from_number or "",
                "to_number": m.to_number or "",
                "body": m.message or "",
                "campaign": m.campaign or "",
                "data_field": m.data_field or "",
                "scheduled_at": m.scheduled_at,
                "sent_at": m.sent_at,
                "received_at": m.received_at,
                "parts": m.number_of_messages,
                "credit_cost": None if m.credit_cost is None else Decimal(str(m.credit_cost)),
                "remote_data": m.raw,
                "sync_state": SyncState.SYNCED,
            },
        )


def run(db: str) -> list[Row]:
    from django_zoomconnect.models import Message

    count, sample = plumbing.size("pull_messages"), plumbing.size("pull_naive")
    with plumbing.simulator_process() as url:
        seed(url, count)
        seconds, _ = plumbing.timed(lambda: bulk_pull(url, count))
        Message.objects.all().delete()
        naive_seconds, _ = plumbing.timed(lambda: naive_pull(url, sample))
    return [
        ratio_row(
            f"sync pull of {count:,} messages",
            db,
            count / seconds,
            "msgs/s",
            [("naive loop", sample / naive_seconds)],
            at_least=AIM,
            aim=f">= {AIM:.0f}x the naive loop",
            note=f"into an empty database; naive loop measured on {sample} messages",
        )
    ]
