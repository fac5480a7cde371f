"""``manage.py zoomconnect_sync``: push local changes to the account, then pull it, with a summary.

Thin: it parses the options, calls :func:`services.contacts.push_pending` and
:func:`services.pull.pull`, and renders their reports. The progress bar is written to stderr,
only when stderr is a terminal, so that cron mails and CI logs stay clean.
"""

from __future__ import annotations

import shutil
import time
from datetime import date
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from ...client import ZoomConnectClient
from ...exceptions import ConfigurationError
from ...services import contacts
from ...services.pull import ALL_KINDS, MESSAGE_PAGE_SIZE, pull
from ...services.reports import SyncReport


class ProgressBar:
    """A one-line progress bar for ``pull(progress=...)``, redrawn in place (stdlib only)."""

    def __init__(
        self, stream: IO[str] | OutputWrapper, *, width: int | None = None, interval: float = 0.1
    ) -> None:
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


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date: write it YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = (
        "Push local changes of contacts, groups and memberships to Zoom Connect, then pull "
        "contacts, groups, templates and messages from it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--kinds",
            default=",".join(ALL_KINDS),
            help=f"What to pull, comma-separated (default: {','.join(ALL_KINDS)}).",
        )
        parser.add_argument("--since", type=_date, help="Pull messages from this date on (YYYY-MM-DD).")
        parser.add_argument("--until", type=_date, help="Pull messages up to this date (YYYY-MM-DD).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Write nothing, here or there: report what would change."
        )
        parser.add_argument("--no-push", action="store_true", help="Do not push local changes first.")
        parser.add_argument("--no-pull", action="store_true", help="Only push local changes.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--page-size",
            type=int,
            default=MESSAGE_PAGE_SIZE,
            help="Messages per API page (default: %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kinds = [kind.strip() for kind in options["kinds"].split(",") if kind.strip()]
        unknown = sorted(set(kinds) - set(ALL_KINDS))
        if unknown or not kinds:
            raise CommandError(f"--kinds: choose among {', '.join(ALL_KINDS)} (got {options['kinds']!r}).")
        if options["no_push"] and options["no_pull"]:
            raise CommandError("--no-push and --no-pull together leave nothing to do.")
        if options["page_size"] < 1:
            raise CommandError("--page-size must be at least 1.")
        since, until = options.get("since"), options.get("until")
        if since and until and since > until:
            raise CommandError("--since must not be after --until.")
        try:
            client = ZoomConnectClient.from_settings()
        except ConfigurationError as exc:
            raise CommandError(str(exc)) from None
        reports: list[SyncReport] = []
        with client:
            if not options["no_push"]:
                if options["dry_run"]:
                    pending = contacts.pending_changes()
                    summary = ", ".join(f"{count:,} {name}" for name, count in pending.items())
                    self.stdout.write(f"Would push: {summary} (dry run: nothing was pushed).")
                else:
                    reports.append(self._show(contacts.push_pending(client=client)))
            if not options["no_pull"]:
                bar = None
                if not options["no_progress"] and self.stderr.isatty():
                    bar = ProgressBar(self.stderr)
                try:
                    report = pull(
                        kinds=kinds,
                        since=since,
                        until=until,
                        dry_run=options["dry_run"],
                        client=client,
                        progress=bar,
                        page_size=options["page_size"],
                    )
                finally:
                    if bar is not None:
                        bar.close()
                reports.append(self._show(report))
        failed = [report for report in reports if not report.ok]
        if failed:
            problems = "; ".join(
                [f"{kind}: {error}" for report in failed for kind, error in report.errors.items()]
                + [
                    f"{counts.failed} {kind} failed"
                    for report in failed
                    for kind, counts in report.kinds.items()
                    if counts.failed
                ]
            )
            raise CommandError(f"Zoom Connect sync incomplete: {problems}")

    def _show(self, report: SyncReport) -> SyncReport:
        self.stdout.write(report.as_table())
        if report.issues:
            self.stdout.write(report.describe_issues())
        return report
