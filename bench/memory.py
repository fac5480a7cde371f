"""Memory: the resident peak of a bulk send of 100,000 recipients and of a pull of 100,000 messages.

Each runs in a child of its own (its peak is the child's, Django and the migration included),
against the simulator in its own process, so that the simulator's memory is not counted.
Recipients are handed to ``send_bulk`` as a generator: nothing but the package holds them.
"""

from __future__ import annotations

from . import plumbing
from .table import Row

AIM_MB = 300.0


def _row(name: str, db: str, peak: float, start: float) -> Row:
    return Row(
        name, db, peak, "MB", [("at start", start)], None, f"< {AIM_MB:.0f} MB resident", met=peak < AIM_MB
    )


def send_child(db: str) -> list[Row]:
    from django.conf import settings
    from django.test.utils import override_settings

    from django_zoomconnect.models import Message, MessageStatus
    from django_zoomconnect.services.outbox import send_bulk

    count = plumbing.size("memory_messages")
    start = plumbing.peak_rss_mb()
    with (
        plumbing.simulator_process() as url,
        override_settings(ZOOMCONNECT={**settings.ZOOMCONNECT, "BASE_URL": url}),
    ):
        recipients = (f"+2782{n:07d}" for n in range(1_000_000, 1_000_000 + count))
        batch = send_bulk(recipients=recipients, body=plumbing.TEXT, campaign="memory")
        peak = plumbing.peak_rss_mb()
    sent = Message.objects.filter(batch=batch, status=MessageStatus.SENT).count()
    if sent != count:
        raise RuntimeError(f"only {sent} of {count} were sent")
    return [_row(f"memory: send_bulk of {count:,}", db, peak, start)]


def pull_child(db: str) -> list[Row]:
    from .pull import bulk_pull, seed

    count = plumbing.size("memory_messages")
    with plumbing.simulator_process() as url:
        seed(url, count)
        start = plumbing.peak_rss_mb()
        bulk_pull(url, count)
        peak = plumbing.peak_rss_mb()
    return [_row(f"memory: pull of {count:,} messages", db, peak, start)]
