"""Where the running demo's services listen, for the start page (empty outside ``manage.py demo``)."""

from __future__ import annotations

#: Filled in by the ``demo`` command: ``web``, ``simulator``, ``control``, ``username``, ``password``.
RUNNING: dict[str, str] = {}
