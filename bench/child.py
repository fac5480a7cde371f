"""What one subprocess runs: ``python -m bench.child GROUP`` (``BENCH_*`` variables name its database).

It migrates a fresh database, runs the group and prints its rows as one JSON line after
:data:`~bench.plumbing.RESULT_MARK`. Memory children (``memory-send``, ``memory-pull``) print
their own peak instead.
"""

from __future__ import annotations

import json
import sys

from . import plumbing


def main(argv: list[str]) -> int:
    (group,) = argv
    db = plumbing.setup_django()
    from . import applier, memory, pull, reconcile, sending, webhooks

    groups = {
        "webhook": webhooks.run,
        "applier": applier.run,
        "send": sending.run,
        "pull": pull.run,
        "reconcile": reconcile.run,
        "memory-send": memory.send_child,
        "memory-pull": memory.pull_child,
    }
    rows = groups[group](db)
    print(plumbing.RESULT_MARK + json.dumps([row.as_dict() for row in rows]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
