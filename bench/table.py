"""Rows of figures and the one table they are printed as."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Row:
    """One figure beside its yardsticks, with the aim it is judged against.

    ``ratio`` is ``figure / yardsticks[0]`` unless given (for a "lower is better" figure such as
    memory there is none); ``met`` is ``None`` when the row has no aim (information only).
    """

    name: str
    db: str
    figure: float
    unit: str
    yardsticks: list[tuple[str, float]] = field(default_factory=list)
    ratio: float | None = None
    aim: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        return "" if self.met is None else ("met" if self.met else "NOT MET")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "yardsticks": [list(y) for y in self.yardsticks], "verdict": self.verdict}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Row:
        fields = {k: v for k, v in data.items() if k != "verdict"}
        fields["yardsticks"] = [tuple(y) for y in fields.get("yardsticks", [])]
        return cls(**fields)


def ratio_row(
    name: str,
    db: str,
    figure: float,
    unit: str,
    yardsticks: Sequence[tuple[str, float]],
    *,
    at_least: float,
    aim: str,
    note: str = "",
) -> Row:
    """A row whose ratio to its first yardstick must be at least ``at_least``."""
    ratio = figure / yardsticks[0][1] if yardsticks and yardsticks[0][1] else None
    return Row(
        name,
        db,
        figure,
        unit,
        list(yardsticks),
        ratio,
        aim,
        met=ratio is not None and ratio >= at_least,
        note=note,
    )


def number(value: float) -> str:
    """A figure as people read it: thousands separated, decimals only where they tell something."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}x" if value >= 10 else f"{value:.2f}"


def cells(row: Row) -> list[str]:
    yardsticks = "; ".join(f"{label} {number(value)}" for label, value in row.yardsticks) or "-"
    return [
        row.name,
        row.db,
        f"{number(row.figure)} {row.unit}",
        yardsticks,
        _ratio(row.ratio),
        row.aim,
        row.verdict,
    ]


HEADER = ["row", "db", "figure", "yardstick(s)", "ratio", "aim", "verdict"]


def format_table(rows: Iterable[Row], *, notes: bool = True) -> str:
    """The rows as one plain-text table (a reStructuredText simple table, pasteable into the README)."""
    rows = list(rows)
    grid = [HEADER, *(cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in grid) for i in range(len(HEADER))]
    rule = "  ".join("=" * width for width in widths)

    def line(values: Sequence[str]) -> str:
        return "  ".join(value.ljust(width) for value, width in zip(values, widths, strict=True)).rstrip()

    out = [rule, line(HEADER), rule, *(line(values) for values in grid[1:]), rule]
    if notes:
        out.extend(f"{row.name} ({row.db}): {row.note}" for row in rows if row.note)
    return "\n".join(out)
