"""``manage.py zoomconnect_webhooks``: reprocess stored webhook events, and delete old ones.

``reprocess`` gives failed, deferred and pending events another run (after a bug fix, a
database outage, or a lost Celery message); ``cleanup`` keeps the event table bounded by
``WEBHOOK_EVENT_RETENTION_DAYS``. Both only call :mod:`django_zoomconnect.services.inbound`.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...models import WebhookEvent
from ...services import inbound

REPROCESSABLE = (WebhookEvent.State.FAILED, WebhookEvent.State.DEFERRED, WebhookEvent.State.PENDING)


class Command(BaseCommand):
    help = "Reprocess stored Zoom Connect webhook events, or delete old ones."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{reprocess,cleanup}")
        reprocess = actions.add_parser(
            "reprocess", help="Process failed, deferred and pending events again (processed ones never)."
        )
        reprocess.add_argument(
            "--state",
            action="append",
            choices=[str(state) for state in REPROCESSABLE],
            help="Only events in this state (repeatable; default: all three).",
        )
        reprocess.add_argument(
            "--kind", choices=[str(kind) for kind in WebhookEvent.Kind], help="Only replies or only reports."
        )
        reprocess.add_argument("ids", nargs="*", type=int, metavar="ID", help="Only these events.")
        cleanup = actions.add_parser("cleanup", help="Delete events older than the retention period.")
        cleanup.add_argument(
            "--days", type=int, help="Keep this many days instead of WEBHOOK_EVENT_RETENTION_DAYS."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "cleanup":
            days = options.get("days")
            if days is not None and days < 0:
                raise CommandError("--days must be zero or more.")
            deleted = inbound.delete_old_events(days=days)
            self.stdout.write(f"Deleted {deleted} webhook event(s).")
            return
        events = WebhookEvent.objects.filter(state__in=options.get("state") or REPROCESSABLE)
        if options.get("kind"):
            events = events.filter(kind=options["kind"])
        if options.get("ids"):
            events = events.filter(pk__in=options["ids"])
        states = inbound.reprocess_events(events)
        total = sum(states.values())
        summary = ", ".join(f"{count} {state}" for state, count in sorted(states.items())) or "nothing to do"
        self.stdout.write(f"Reprocessed {total} webhook event(s): {summary}.")
        if states.get(WebhookEvent.State.FAILED):
            self.stderr.write("Some events failed again: see their error in the admin.")
