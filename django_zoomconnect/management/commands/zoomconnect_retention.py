"""``manage.py zoomconnect_retention``: apply the retention settings now, or say what they would do.

Blanks the texts of old finished messages and deletes old status history and webhook events, as
the ``apply_retention`` beat task does (:mod:`django_zoomconnect.services.retention`);
``--dry-run`` only counts. Prints one line per kind, or one JSON object with ``--json``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from ... import conf
from ...services import retention
from ..base import ZoomConnectCommand

#: (report field, what it counts, the setting that decides it).
KINDS = (
    ("bodies_blanked", "message texts blanked", "MESSAGE_BODY_RETENTION_DAYS"),
    ("status_changes_deleted", "status history entries deleted", "STATUS_HISTORY_RETENTION_DAYS"),
    ("webhook_events_deleted", "webhook events deleted", "WEBHOOK_EVENT_RETENTION_DAYS"),
)


class Command(ZoomConnectCommand):
    help = "Blank old message texts, delete old status history and webhook events (the retention settings)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; change nothing.")
        self.add_output_options(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        days = {setting: conf.get(setting) for _, _, setting in KINDS}  # a wrong value: one line
        report = retention.apply_retention(dry_run=options["dry_run"])
        if report.busy:
            raise CommandError("Another retention run holds the lease; nothing was done. Try again later.")
        if self.json_output:
            self.print_json({**report.as_dict(), "days": days})
            return
        if report.dry_run:
            self.say("Dry run: nothing was changed. These would go:")
        for field, what, setting in KINDS:
            if days[setting] is None:
                self.say(f"{what}: kept for ever ({setting} is None)")
            else:
                self.say(f"{what}: {getattr(report, field):,} (older than {days[setting]} days)")
