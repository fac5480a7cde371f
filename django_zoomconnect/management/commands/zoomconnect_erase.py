"""``manage.py zoomconnect_erase <number>``: erase a person's number from every local table.

Calls :func:`django_zoomconnect.services.erasure.erase_number` and prints what it removed or
anonymised, table by table (``--json``: one object). ``--dry-run`` counts and changes nothing;
``--delete-remote`` deletes the contact on the account as well. A number that is not valid, or a
message to it being sent, is one line on stderr and exit status 1; so is a remote deletion that
failed (worded as every command words an unreachable provider or refused credentials).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from ...exceptions import PhoneNumberError
from ...services import erasure
from ..arguments import non_empty
from ..base import ZoomConnectCommand, describe_failure

#: (report field, what it counts).
ROWS = (
    ("contacts", "contacts deleted"),
    ("memberships", "group memberships deleted"),
    ("cancelled", "queued messages cancelled"),
    ("messages", "messages anonymised"),
    ("status_changes", "status history entries anonymised"),
    ("webhook_events", "webhook events emptied"),
    ("opt_outs", "opt-outs replaced by a hashed opt-out"),
    ("opt_out_changes", "opt-out history entries deleted"),
    ("admin_log_entries", "admin log entries deleted"),
    ("remote_contacts", "contacts deleted on Zoom Connect"),
)


class Command(ZoomConnectCommand):
    help = "Erase a phone number from every local table (a STOP is kept, hashed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("number", type=non_empty, help="The number, e.g. +27821234567 or 082 123 4567.")
        parser.add_argument(
            "--delete-remote", action="store_true", help="Delete the contact on the Zoom Connect account too."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be erased; change nothing."
        )
        self.add_output_options(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = erasure.erase_number(
                options["number"], delete_remote=options["delete_remote"], dry_run=options["dry_run"]
            )
        except (PhoneNumberError, erasure.ErasureRefused) as exc:
            raise CommandError(f"{exc} Nothing was erased.") from None
        if self.json_output:
            self.print_json({**report.as_dict(), "total": report.total})
        else:
            if report.dry_run:
                self.say("Dry run: nothing was changed. This would be erased:")
            for field, what in ROWS:
                self.say(f"{what}: {getattr(report, field):,}")
            kept = "yes" if report.hashed_opt_out else "no (the number had not opted out)"
            self.say(f"opt-out kept as a hash: {kept}")
        if report.remote_failure is not None:
            # One line: the failure as every command words it (with its hint), then what is left.
            raise CommandError(
                f"{describe_failure(report.remote_failure)} The local erasure is done, but the contact "
                "is left on the account: run the command again to delete it."
            )
