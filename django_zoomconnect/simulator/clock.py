"""The simulator's clock: real time until frozen, stepped by tests, never sleeping."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """The simulator's sense of time: follows real time until frozen, and can always be stepped.

    ``advance`` moves it forward whether frozen or not, so a test can freeze it once and step
    through a message's life without sleeping.
    """

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = None
        if start is not None:
            start = _aware(start)
            if frozen:
                self._frozen_at = start
            else:
                self._offset = start - datetime.now(UTC)
        elif frozen:
            self._frozen_at = datetime.now(UTC)

    def now(self) -> datetime:
        """The current simulated time, timezone-aware, in UTC."""
        frozen_at = self._frozen_at
        if frozen_at is not None:
            return frozen_at
        return datetime.now(UTC) + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        step = timedelta(seconds=seconds)
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += step
            else:
                self._offset += step

    def freeze(self, at: datetime | None = None) -> None:
        """Stop following real time, at ``at`` or at the current simulated time."""
        with self._lock:
            self._frozen_at = _aware(at) if at is not None else self.now()

    def unfreeze(self) -> None:
        """Follow real time again, carrying on from the current simulated time."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - datetime.now(UTC)
                self._frozen_at = None

    def __repr__(self) -> str:
        state = "frozen" if self.frozen else "running"
        return f"<Clock {state} at {self.now().isoformat()}>"


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("the clock needs an aware datetime (with a time zone)")
    return value.astimezone(UTC)
