"""``python -m bench``: every benchmark, one table (see the package's documentation).

``--small`` runs tiny sizes (CI runs it only to prove the benchmarks run: the aims are for the
full sizes), ``--db`` picks the databases, ``--only`` some groups of rows, ``--json`` prints the
rows as JSON instead of the table. It exits 0 whatever the verdicts (it is a report, not a
test) and 1 when a benchmark could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from . import plumbing
from .table import Row, format_table

#: The groups of rows, in the table's order; each runs in children of its own, per database.
GROUPS: dict[str, tuple[str, ...]] = {
    "webhook": ("webhook",),
    "applier": ("applier",),
    "send": ("send",),
    "pull": ("pull",),
    "memory": ("memory-send", "memory-pull"),
    "reconcile": ("reconcile",),
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--small", action="store_true", help="tiny sizes: proves it runs (CI), judges nothing"
    )
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--only", nargs="+", choices=sorted(GROUPS), metavar="GROUP", help=", ".join(GROUPS))
    parser.add_argument("--json", action="store_true", help="the rows as JSON")
    return parser.parse_args(argv)


def run(options: argparse.Namespace) -> tuple[list[Row], list[str]]:
    databases = list(plumbing.DATABASES) if options.db == "both" else [options.db]
    errors: list[str] = []
    if "postgres" in databases and not plumbing.postgres_available():
        errors.append("PostgreSQL is not reachable on PGHOST/PGPORT: its rows are missing")
        databases.remove("postgres")
    size = {"BENCH_SIZE": "small" if options.small else "full"}
    rows: list[Row] = []
    with plumbing.scratch_directory() as directory:
        for group in options.only or GROUPS:
            for db in databases:
                for child in GROUPS[group]:
                    started = time.perf_counter()
                    try:
                        with plumbing.database(db, directory) as env:
                            found = plumbing.run_child(child, {**env, **size})
                    except Exception as exc:
                        errors.append(f"{child} on {db}: {exc}")
                        print(f"{child} on {db}: FAILED ({exc})", file=sys.stderr, flush=True)
                        continue
                    rows.extend(Row.from_dict(data) for data in found)
                    print(
                        f"{child} on {db}: {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True
                    )
    return rows, errors


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    rows, errors = run(options)
    if options.json:
        document: dict[str, Any] = {"rows": [row.as_dict() for row in rows], "errors": errors}
        print(json.dumps(document, indent=2))
    else:
        print(format_table(rows))
        if options.small:
            print("(--small: tiny sizes prove that every benchmark runs; the aims are for the full sizes)")
        for error in errors:
            print(f"ERROR: {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
