"""The simulator's HTTP surface: routing, authentication and JSON of the REST API and control API.

Transport-neutral: a request comes in as plain values and leaves as a
:class:`SimulatorResponse`, so the threaded server, the in-process ``requests`` adapter and the
WSGI wrapper all answer exactly the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .faults import TransportFault


@dataclass(frozen=True)
class SimulatorResponse:
    """An answer ready to be written by any transport.

    ``headers`` always include ``Content-Type`` and ``Content-Length`` (send them as given; do
    not add another ``Content-Length``). When ``fault`` is set, the transport must act it out
    (see :class:`~django_zoomconnect.simulator.faults.TransportFault`) instead of, or after,
    answering normally.
    """

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    fault: TransportFault | None = None

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or ``None``."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


@dataclass(frozen=True)
class RecordedRequest:
    """One REST request as the simulator received it; credentials are redacted."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    at: datetime
    status: int
    fault: str | None = None
