"""The benchmark package (``python -m bench``) imports, formats its table and runs a row.

Not a benchmark: nothing here is timed or judged by speed (CI runs ``python -m bench --small``
once to prove the whole of it runs). The reconcile row runs here because it counts API calls
against the in-process simulator, in a second, on the suite's database.
"""

import pytest

from bench import plumbing, reconcile
from bench.__main__ import GROUPS, parse
from bench.table import Row, format_table, ratio_row


def test_a_row_is_judged_against_its_aim_and_survives_json():
    above = ratio_row("webhook", "sqlite", 800.0, "req/s", [("floor", 1000.0)], at_least=0.7, aim=">= 0.7")
    below = ratio_row("webhook", "postgres", 300.0, "req/s", [("floor", 1000.0)], at_least=0.7, aim=">= 0.7")
    info = Row(
        "memory", "sqlite", 120.5, "MB", [("at start", 70.0)], None, "< 300 MB", met=True, note="a note"
    )
    assert (above.ratio, above.verdict) == (0.8, "met")
    assert (below.ratio, below.verdict) == (0.3, "NOT MET")
    assert Row.from_dict(info.as_dict()) == info


def test_the_table_has_one_line_per_row_and_every_column():
    rows = [
        ratio_row(
            "send_bulk of 10,000",
            "sqlite",
            12_345.6,
            "msgs/s",
            [("floor", 20_000.0)],
            at_least=0.5,
            aim=">= 0.5",
        ),
        ratio_row(
            "sync pull", "postgres", 5_000.0, "msgs/s", [("naive loop", 100.0)], at_least=10, aim=">= 10x"
        ),
        Row("info only", "postgres", 3.0, "calls", [], None, ""),
    ]
    lines = format_table(rows).splitlines()
    assert lines[1].split() == ["row", "db", "figure", "yardstick(s)", "ratio", "aim", "verdict"]
    assert lines[0] == lines[2] == lines[-1]  # a reStructuredText simple table
    assert all(cell in lines[3] for cell in ("12,346 msgs/s", "floor 20,000", "0.62"))
    assert lines[3].endswith("met")
    assert "50.0x" in lines[4]
    assert lines[5].endswith("-")


def test_the_command_line():
    options = parse(["--small", "--db", "sqlite", "--only", "send", "reconcile", "--json"])
    assert (options.small, options.db, options.only, options.json) == (
        True,
        "sqlite",
        ["send", "reconcile"],
        True,
    )
    assert parse([]).db == "both"
    assert set(GROUPS) == {"webhook", "applier", "send", "pull", "memory", "reconcile"}
    assert plumbing.numbers(2, 5) == ["+27820000005", "+27820000006"]


@pytest.mark.django_db(transaction=True)
def test_the_reconcile_row_runs(monkeypatch):
    monkeypatch.setenv("BENCH_SIZE", "small")
    (row,) = reconcile.run("sqlite")
    assert row.name.startswith("reconcile")
    assert row.unit == "calls"
    assert row.met is not None
    assert "probes" in row.note
    assert row.name in format_table([row])
