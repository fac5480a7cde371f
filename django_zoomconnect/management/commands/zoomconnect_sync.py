"""``manage.py zoomconnect_sync``: push local changes to the account, then pull it, with a summary.

Thin: it parses the options, calls :func:`services.contacts.push_pending` and
:func:`services.pull.pull`, and renders their reports (``--json``: as one JSON object). The
progress bar is drawn on stderr in the terminal's own colour, only when stderr is a terminal, so
that cron mails and CI logs stay clean. A failure that every call would meet (the provider
unreachable, the credentials refused) stops the run and is shown once, with a hint.
"""

from __future__ import annotations

import shutil
import time
from typing import Any, Protocol

from django.core.management.base import CommandError, CommandParser

from ...client import ZoomConnectClient
from ...services import contacts
from ...services.pull import ALL_KINDS, MESSAGE_PAGE_SIZE, pull
from ...services.reports import SyncReport
from ..arguments import comma_separated, iso_date, positive_int
from ..base import ZoomConnectCommand, describe_failure


class _Stream(Protocol):
    def write(self, text: str, /) -> Any: ...

    def flush(self) -> Any: ...


class ProgressBar:
    """A one-line progress bar for ``pull(progress=...)``, redrawn in place (stdlib only)."""

    def __init__(self, stream: _Stream, *, width: int | None = None, interval: float = 0.1) -> None:
        self.stream = stream
        self.width = width or max(10, min(40, shutil.get_terminal_size((80, 20)).columns - 45))
        self.interval = interval
        self._kind: str | None = None
        self._drawn = 0.0

    def __call__(self, kind: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if kind == self._kind and not finished and now - self._drawn < self.interval:
            return  # redraw at most ten times a second
        if self._kind is not None and kind != self._kind:
            self.stream.write("\n")
        self._kind, self._drawn = kind, now
        if total:
            filled = int(self.width * min(done, total) / total)
            bar = "#" * filled + "-" * (self.width - filled)
            line = f"{kind:<10} [{bar}] {done:,}/{total:,} {100 * min(done, total) // total:3d}%"
        else:
            line = f"{kind:<10} {done:,}"
        self.stream.write("\r" + line)
        self.stream.flush()

    def close(self) -> None:
        if self._kind is not None:
            self.stream.write("\n")
            self.stream.flush()
            self._kind = None


class Command(ZoomConnectCommand):
    help = (
        "Push local changes of contacts, groups and memberships to Zoom Connect, then pull "
        "contacts, groups, templates and messages from it."
    )
    # The services log the failures this command prints: shown once, here (-v 2 shows both).
    reported_loggers = ("django_zoomconnect.services.pull", "django_zoomconnect.services.push")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--kinds",
            type=comma_separated(ALL_KINDS),
            default=list(ALL_KINDS),
            metavar="KIND,...",
            help=f"What to pull, comma-separated (default: {','.join(ALL_KINDS)}).",
        )
        parser.add_argument(
            "--since", type=iso_date, metavar="YYYY-MM-DD", help="Pull messages from this date on."
        )
        parser.add_argument(
            "--until", type=iso_date, metavar="YYYY-MM-DD", help="Pull messages up to this date."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Write nothing, here or there: report what would change."
        )
        parser.add_argument("--no-push", action="store_true", help="Do not push local changes first.")
        parser.add_argument("--no-pull", action="store_true", help="Only push local changes.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--page-size",
            type=positive_int,
            default=MESSAGE_PAGE_SIZE,
            metavar="N",
            help="Messages per API page (default: %(default)s).",
        )
        self.add_account_option(parser, "The account to sync (default: 'default').")
        self.add_output_options(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["no_push"] and options["no_pull"]:
            raise CommandError("--no-push and --no-pull together leave nothing to do.")
        since, until = options.get("since"), options.get("until")
        if since and until and since > until:
            raise CommandError("--since must not be after --until.")
        result: dict[str, Any] = {
            "dry_run": options["dry_run"],
            "would_push": None,
            "push": None,
            "pull": None,
        }
        reports: list[SyncReport] = []
        account = options.get("account")
        if account is not None:
            result["account"] = account
        with ZoomConnectClient.from_settings(account=account) as client:
            if not options["no_push"] and options["dry_run"]:
                result["would_push"] = pending = contacts.pending_changes()
                summary = ", ".join(f"{count:,} {name}" for name, count in pending.items())
                self.say(f"Would push: {summary} (dry run: nothing was pushed).")
            elif not options["no_push"]:
                reports.append(self._show(contacts.push_pending(client=client, account=account)))
            # After a failure every call would meet, pulling would only meet it again.
            if not options["no_pull"] and not any(report.stopped_by for report in reports):
                reports.append(self._show(self._pull(client, options)))
        problem = _problem(reports)
        if self.json_output:
            result.update((report.direction, report.to_dict()) for report in reports)
            self.print_json({"ok": problem is None, **result, "error": problem})
        if problem is not None:
            raise CommandError(problem)

    def _pull(self, client: ZoomConnectClient, options: dict[str, Any]) -> SyncReport:
        stream = self.progress_stream(wanted=not options["no_progress"])
        bar = ProgressBar(stream) if stream is not None else None
        try:
            return pull(
                kinds=options["kinds"],
                since=options.get("since"),
                until=options.get("until"),
                dry_run=options["dry_run"],
                client=client,
                progress=bar,
                page_size=options["page_size"],
                account=options.get("account"),
            )
        finally:
            if bar is not None:
                bar.close()

    def _show(self, report: SyncReport) -> SyncReport:
        done = any(any(counts.as_dict().values()) for counts in report.kinds.values())
        if report.stopped_by is None or done:  # a table of zeros before the error line says nothing
            self.say(report.as_table(errors=False))  # the errors are the command's last line
        if report.issues:
            self.say(report.describe_issues())
        return report


def _problem(reports: list[SyncReport]) -> str | None:
    """The one line the command ends with when something did not complete, or ``None``."""
    for report in reports:
        if report.stopped_by is not None:
            return describe_failure(report.stopped_by)
    failed = [report for report in reports if not report.ok]
    if not failed:
        return None
    problems = "; ".join(
        [f"{kind}: {error}" for report in failed for kind, error in report.errors.items()]
        + [
            f"{counts.failed} {kind} failed"
            for report in failed
            for kind, counts in report.kinds.items()
            if counts.failed
        ]
    )
    return f"Zoom Connect sync incomplete: {problems}"
