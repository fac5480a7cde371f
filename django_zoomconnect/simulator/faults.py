"""Injected faults: HTTP errors answered by the simulator and transport failures its runners act out.

The simulator never touches a socket, so a transport fault is a *verdict* handed back with the
response (:class:`TransportFault`): the real server and the in-process adapter each turn it into
what a client would see on a real network (a refused connection, a connection closed without an
answer, an answer that comes too late).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

TransportKind = Literal["delay", "drop", "refuse"]

#: Every fault kind :meth:`FaultInjector.add` accepts.
FAULT_KINDS: tuple[str, ...] = ("500", "503", "429", "delay", "drop", "refuse")
HTTP_FAULTS: frozenset[str] = frozenset({"500", "503", "429"})
TRANSPORT_FAULTS: frozenset[str] = frozenset({"delay", "drop", "refuse"})

#: A delay longer than any sensible client read timeout (the client's default is 30 seconds).
DEFAULT_DELAY_SECONDS = 60.0
DEFAULT_RETRY_AFTER = 1


@dataclass(frozen=True)
class TransportFault:
    """What the transport must do instead of (or after) delivering the answer normally.

    * ``"refuse"``: the request was **not** processed; fail as a refused connection.
    * ``"drop"``: the request **was** processed (a send is accepted and recorded); close the
      connection without answering.
    * ``"delay"``: the request was processed; hold the answer back ``seconds`` (past the
      client's read timeout the client sees a read timeout).
    """

    kind: TransportKind
    seconds: float = 0.0


@dataclass
class FaultRule:
    """One injected fault and what it applies to.

    Without ``rate`` it fires on the next ``remaining`` matching requests and is then used up;
    with ``rate`` it fires on each matching request with that probability until cleared.
    """

    kind: str
    remaining: int = 1
    method: str | None = None
    path: str | None = None
    rate: float | None = None
    retry_after: int | None = None
    seconds: float | None = None
    after_processing: bool = False
    fired: int = field(default=0)

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or self.path in path

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "remaining": None if self.rate is not None else self.remaining,
            "method": self.method,
            "path": self.path,
            "rate": self.rate,
            "retryAfter": self.retry_after,
            "seconds": self.seconds,
            "afterProcessing": self.after_processing,
            "fired": self.fired,
        }


class FaultInjector:
    """The list of armed faults; the first rule matching a request decides. Not locked itself:
    the simulator calls it under its state lock."""

    def __init__(self, seed: int = 0) -> None:
        self.rules: list[FaultRule] = []
        self.random = random.Random(seed)

    def seed(self, seed: int) -> None:
        """Make probabilistic faults repeatable."""
        self.random.seed(seed)

    def add(
        self,
        kind: str,
        *,
        count: int = 1,
        method: str | None = None,
        path: str | None = None,
        rate: float | None = None,
        retry_after: int | None = None,
        seconds: float | None = None,
        after_processing: bool = False,
    ) -> FaultRule:
        kind = str(kind)
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}, not {kind!r}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be a whole number, one or more, not {count!r}")
        if rate is not None and not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, not {rate!r}")
        if seconds is not None and float(seconds) < 0:
            raise ValueError(f"seconds must be zero or more, not {seconds!r}")
        if retry_after is not None and int(retry_after) < 0:
            raise ValueError(f"retry_after must be zero or more, not {retry_after!r}")
        if after_processing and kind not in ("500", "503"):
            raise ValueError("after_processing only applies to the 500 and 503 faults")
        if path is not None:
            path = path.strip("/") or None
        if kind == "429" and retry_after is None:
            retry_after = DEFAULT_RETRY_AFTER
        if kind == "delay" and seconds is None:
            seconds = DEFAULT_DELAY_SECONDS
        rule = FaultRule(
            kind=kind,
            remaining=count,
            method=method.upper() if method else None,
            path=path,
            rate=None if rate is None else float(rate),
            retry_after=None if retry_after is None else int(retry_after),
            seconds=None if seconds is None else float(seconds),
            after_processing=after_processing,
        )
        self.rules.append(rule)
        return rule

    def take(self, method: str, path: str) -> FaultRule | None:
        """The fault that fires for this request, if any, counting it as used."""
        for rule in self.rules:
            if not rule.matches(method, path):
                continue
            if rule.rate is not None:
                if self.random.random() < rule.rate:
                    rule.fired += 1
                    return rule
                continue
            rule.remaining -= 1
            rule.fired += 1
            if rule.remaining <= 0:
                self.rules.remove(rule)
            return rule
        return None

    def _first_unfiltered(self) -> FaultRule | None:
        for rule in self.rules:
            if rule.method is None and rule.path is None:
                return rule
        return None

    def armed_for_any(self, kind: str) -> bool:
        """Whether the first fault that applies to *every* request is of ``kind``."""
        rule = self._first_unfiltered()
        return rule is not None and rule.kind == kind

    def take_for_any(self, kind: str) -> FaultRule | None:
        """Consume the first fault applying to every request if it is of ``kind``.

        For transports that must decide before a request exists (a refused connection).
        """
        rule = self._first_unfiltered()
        if rule is None or rule.kind != kind:
            return None
        if rule.rate is not None:
            if self.random.random() >= rule.rate:
                return None
        else:
            rule.remaining -= 1
            if rule.remaining <= 0:
                self.rules.remove(rule)
        rule.fired += 1
        return rule

    def clear(self) -> None:
        self.rules.clear()
