"""``manage.py zoomconnect_webhooks``: apply, reprocess and delete stored webhook events.

``apply`` applies the pending events in batches (``WEBHOOK_PROCESSING = "batch"`` without
Celery beat: run it from cron); ``reprocess`` gives failed, deferred and pending events another
run (after a bug fix, a database outage, or a lost Celery message); ``cleanup`` keeps the event
table bounded by ``WEBHOOK_EVENT_RETENTION_DAYS``. They only call
:mod:`django_zoomconnect.services.inbound`, and all take ``--quiet`` and ``--json``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from ... import conf
from ...models import WebhookEvent
from ...services import inbound
from ..arguments import day_count, positive_int
from ..base import CommandParser as OneLineCommandParser
from ..base import ZoomConnectCommand

REPROCESSABLE = (WebhookEvent.State.FAILED, WebhookEvent.State.DEFERRED, WebhookEvent.State.PENDING)


class Command(ZoomConnectCommand):
    help = "Reprocess stored Zoom Connect webhook events, or delete old ones."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action",
            required=True,
            metavar="{apply,reprocess,cleanup}",
            parser_class=OneLineCommandParser,
        )
        apply = actions.add_parser(
            "apply", help="Apply the pending events in batches (WEBHOOK_PROCESSING = 'batch')."
        )
        apply.add_argument("--limit", type=positive_int, help="Apply at most this many events.")
        apply.add_argument(
            "--batch-size",
            type=positive_int,
            default=inbound.batch.BATCH_SIZE,
            help=f"Events per transaction (default {inbound.batch.BATCH_SIZE}).",
        )
        self.add_output_options(apply)
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
        self.add_account_option(reprocess, "Only the events received on this account's webhook URLs.")
        reprocess.add_argument("ids", nargs="*", type=positive_int, metavar="ID", help="Only these events.")
        self.add_output_options(reprocess)
        cleanup = actions.add_parser("cleanup", help="Delete events older than the retention period.")
        cleanup.add_argument(
            "--days",
            type=day_count,
            help="Keep this many days instead of WEBHOOK_EVENT_RETENTION_DAYS.",
        )
        self.add_output_options(cleanup)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "apply":
            self.apply(options.get("limit"), options["batch_size"])
            return
        if options["action"] == "cleanup":
            deleted = inbound.delete_old_events(days=options.get("days"))
            if self.json_output:
                self.print_json({"deleted": deleted})
            self.say(f"Deleted {deleted} webhook event(s).")
            return
        events = WebhookEvent.objects.filter(state__in=options.get("state") or REPROCESSABLE)
        if options.get("kind"):
            events = events.filter(kind=options["kind"])
        if options.get("account"):
            events = events.filter(account=conf.account_alias(options["account"]))
        if options.get("ids"):
            events = events.filter(pk__in=options["ids"])
            missing = sorted(set(options["ids"]) - set(events.values_list("pk", flat=True)))
            if missing:
                raise CommandError(
                    f"No event to reprocess with id {', '.join(map(str, missing))}: it does not exist, "
                    "was processed already, or is not of the --state, --kind or --account asked for."
                )
        states = inbound.reprocess_events(events)
        total = sum(states.values())
        summary = ", ".join(f"{count} {state}" for state, count in sorted(states.items())) or "nothing to do"
        if self.json_output:
            self.print_json({"reprocessed": total, "states": {str(state): n for state, n in states.items()}})
        self.say(f"Reprocessed {total} webhook event(s): {summary}.")
        if states.get(WebhookEvent.State.FAILED):
            self.stderr.write("Some events failed again: see their error in the admin.")

    def apply(self, limit: int | None, batch_size: int) -> None:
        applied = inbound.apply_pending(limit=limit, batch_size=batch_size)
        if self.json_output:
            self.print_json(applied.as_dict())
        if applied.busy:
            self.say("Another applier is running (it holds the lease); nothing was done.")
            return
        states = sorted(applied.states.items())
        summary = ", ".join(f"{count} {state}" for state, count in states) or "nothing to do"
        self.say(f"Applied {applied.total} webhook event(s) in {applied.batches} batch(es): {summary}.")
        if applied.states.get(WebhookEvent.State.FAILED):
            self.stderr.write("Some events failed: see their error in the admin.")
