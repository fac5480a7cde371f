"""What a pull, a push or an operator's action did: counts, what was skipped or refused and why."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..exceptions import ZoomConnectError

__all__ = ["COLUMNS", "MAX_ISSUES", "Counts", "Issue", "KindReport", "SyncReport", "Tally"]

#: Issues kept in a report; the rest are only counted.
MAX_ISSUES = 200


class Counts:
    """A dataclass of counters (and flags) that a task returns, and a log line shows, as primitives."""

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in getattr(self, "__dataclass_fields__", ())}


@dataclass
class Tally:
    """What an operator's action did to a selection, and what it left alone and why.

    :meth:`as_dict` reads as one line in the admin: ``{"retried": 12, "skipped: not failed": 3}``.
    Results keep the order they were first counted in; the reasons follow, most frequent first.
    """

    done: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)

    def add(self, result: str, count: int = 1) -> None:
        self.done[result] += count

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] += count

    def as_dict(self) -> dict[str, int]:
        shown = {result: count for result, count in self.done.items() if count}
        reasons = sorted(self.skipped.items(), key=lambda item: (-item[1], item[0]))
        shown.update((f"skipped: {reason}", count) for reason, count in reasons if count > 0)
        return shown


COLUMNS = (
    "created",
    "updated",
    "adopted",
    "unchanged",
    "deleted",
    "skipped",
    "conflicts",
    "waiting",
    "failed",
)
_ALWAYS_SHOWN = ("created", "updated", "unchanged")


@dataclass
class KindReport(Counts):
    """What happened to one kind of object.

    ``deleted`` counts rows deleted, or marked ``REMOTE_DELETED`` under the "mark" policy, by a
    pull, and remote objects deleted by a push. ``waiting`` counts memberships that wait for their
    contact or group to be pushed first.
    """

    created: int = 0
    updated: int = 0
    adopted: int = 0
    unchanged: int = 0
    deleted: int = 0
    skipped: int = 0
    conflicts: int = 0
    waiting: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Issue:
    """One object that was skipped, conflicted or failed, and why."""

    kind: str
    item: str
    reason: str

    def __str__(self) -> str:
        return f"{self.kind} {self.item}: {self.reason}"


@dataclass
class SyncReport:
    """The outcome of a pull or a push: counts per kind, the issues, and kinds that failed."""

    direction: Literal["pull", "push"]
    dry_run: bool = False
    kinds: dict[str, KindReport] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    #: Issues beyond :data:`MAX_ISSUES`, counted but not kept.
    issues_left_out: int = 0
    #: Kinds that could not be completed, with the error (the API could not be reached, ...).
    errors: dict[str, str] = field(default_factory=dict)
    #: The failure that stopped the run because every call would meet it (the provider cannot
    #: be reached, the credentials are refused): what came after it was not tried.
    stopped_by: ZoomConnectError | None = field(default=None, repr=False, compare=False)

    def kind(self, name: str) -> KindReport:
        return self.kinds.setdefault(name, KindReport())

    def note(self, kind: str, item: object, reason: str) -> None:
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(Issue(kind, str(item), reason))
        else:
            self.issues_left_out += 1

    @property
    def ok(self) -> bool:
        """True when every kind completed and nothing failed (skips and conflicts are fine)."""
        return not self.errors and not any(counts.failed for counts in self.kinds.values())

    def to_dict(self) -> dict[str, Any]:
        """Primitives only, for a Celery result or a log line."""
        return {
            "direction": self.direction,
            "dry_run": self.dry_run,
            "kinds": {name: counts.as_dict() for name, counts in self.kinds.items()},
            "issues": [str(issue) for issue in self.issues],
            "issues_left_out": self.issues_left_out,
            "errors": dict(self.errors),
        }

    def as_table(self, *, errors: bool = True) -> str:
        """The counts as a plain-text table, one line per kind, then the kinds that failed (unless
        ``errors`` is false: the caller shows them); empty columns are left out."""
        title = {"pull": "Pulled from Zoom Connect", "push": "Pushed to Zoom Connect"}[self.direction]
        if self.dry_run:
            title += " (dry run: nothing was written)"
        columns = [
            name
            for name in COLUMNS
            if name in _ALWAYS_SHOWN or any(getattr(k, name) for k in self.kinds.values())
        ]
        header = ["", *columns]
        lines = [[name, *(f"{getattr(k, c):,}" for c in columns)] for name, k in self.kinds.items()]
        widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]

        def render(row: Sequence[str]) -> str:
            first, *rest = row
            cells = [first.ljust(widths[0])] + [cell.rjust(widths[i + 1]) for i, cell in enumerate(rest)]
            return "  ".join(cells).rstrip()

        out = [title, render(header), *(render(line) for line in lines)]
        if errors:
            out += [f"{kind}: FAILED: {error}" for kind, error in self.errors.items()]
        return "\n".join(out)

    def describe_issues(self, limit: int = 20) -> str:
        """The first ``limit`` issues, one per line, and how many more there are."""
        shown = [f"  {issue}" for issue in self.issues[:limit]]
        more = len(self.issues) - len(shown) + self.issues_left_out
        if more > 0:
            shown.append(f"  ... and {more:,} more")
        return "\n".join(shown)

    def __str__(self) -> str:
        return self.as_table()
