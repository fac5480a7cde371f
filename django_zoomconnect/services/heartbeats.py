"""Heartbeats of the beat tasks: each run is recorded, so that a stopped beat or worker shows.

The outbox's periodic tasks (``dispatch_due``, ``sweep_outbox``, ``reconcile_uncertain``,
``refresh_statuses``) call :func:`record` with what they return; it keeps one
:class:`~django_zoomconnect.models.BeatRun` row per task. :func:`beat_health` tells the dashboard
when each last ran and whether that is too long ago: more than :data:`LATE_AFTER_INTERVALS` of
its usual interval (read from the project's Celery beat schedule when the task is in it), and
never less than :data:`LATE_AT_LEAST` seconds. Only a run that finished is recorded: a task that
raises every time looks as stopped as one that never runs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import BeatRun

__all__ = [
    "LATE_AFTER_INTERVALS",
    "LATE_AT_LEAST",
    "WATCHED",
    "BeatHealth",
    "beat_health",
    "record",
    "scheduled_intervals",
]

logger = logging.getLogger("django_zoomconnect.services.heartbeats")

#: The tasks the dashboard watches, with the interval in seconds that README's beat schedule
#: gives each; a task found in the project's ``beat_schedule`` with a fixed interval uses that.
WATCHED: dict[str, float] = {
    "dispatch_due": 10.0,
    "sweep_outbox": 60.0,
    "reconcile_uncertain": 30.0,
    "refresh_statuses": 600.0,
}
#: A task is late after this many of its intervals without a finished run...
LATE_AFTER_INTERVALS = 3
#: ... and never sooner than this many seconds: a busy worker or a restart is not an alarm.
LATE_AT_LEAST = 120.0

_TASK_PREFIX = "django_zoomconnect.tasks."

Result = TypeVar("Result")


def record(task: str, result: Result, *, now: datetime | None = None) -> Result:
    """Record that ``task`` just finished with ``result``; ``result``, unchanged.

    Never raises: a heartbeat that cannot be written (the database is away, the table is not
    migrated yet) is logged as a warning and the task's own work stands. The write is in a
    savepoint of its own, so a failure cannot break the caller's transaction either.
    """
    try:
        _write(task, _json_safe(result), timezone.now() if now is None else now)
    except Exception:
        logger.warning("Could not record the run of the beat task %s.", task, exc_info=True)
    return result


def _json_safe(result: Any) -> Any:
    return json.loads(json.dumps(result, default=str))


def _write(task: str, result: Any, now: datetime) -> None:
    fields = {"last_run_at": now, "last_result": result}
    with transaction.atomic():
        if BeatRun.objects.filter(task=task).update(**fields):
            return
        try:
            with transaction.atomic():
                BeatRun.objects.create(task=task, **fields)
        except IntegrityError:  # the first run of another worker won the insert
            BeatRun.objects.filter(task=task).update(**fields)


@dataclass(frozen=True)
class BeatHealth:
    """When one watched task last finished, and whether that is too long ago."""

    task: str
    #: The usual interval in seconds, and whether it was read from the beat schedule.
    interval: float
    scheduled: bool
    last_run_at: datetime | None
    last_result: Any
    #: Seconds since the last run (``None``: never ran).
    age: float | None
    late: bool

    @property
    def never_ran(self) -> bool:
        return self.last_run_at is None


def beat_health(*, now: datetime | None = None) -> list[BeatHealth]:
    """Each watched task's last run and whether it is late, in :data:`WATCHED`'s order (one query)."""
    now = timezone.now() if now is None else now
    runs = {run.task: run for run in BeatRun.objects.filter(task__in=list(WATCHED))}
    scheduled = scheduled_intervals()
    health = []
    for task, default in WATCHED.items():
        interval = scheduled.get(task, default)
        run = runs.get(task)
        age = None if run is None else max((now - run.last_run_at).total_seconds(), 0.0)
        health.append(
            BeatHealth(
                task=task,
                interval=interval,
                scheduled=task in scheduled,
                last_run_at=None if run is None else run.last_run_at,
                last_result=None if run is None else run.last_result,
                age=age,
                late=age is None or age > max(LATE_AFTER_INTERVALS * interval, LATE_AT_LEAST),
            )
        )
    return health


def scheduled_intervals(schedule: Mapping[str, Any] | None = None) -> dict[str, float]:
    """The fixed intervals, in seconds, that the beat schedule gives the watched tasks.

    ``schedule`` defaults to the current Celery app's ``beat_schedule`` (the project's
    ``CELERY_BEAT_SCHEDULE``). Entries with a crontab or another schedule without a fixed
    interval are left out: the dashboard then uses :data:`WATCHED`'s interval.
    """
    if schedule is None:
        from celery import current_app

        schedule = current_app.conf.beat_schedule or {}
    intervals: dict[str, float] = {}
    for entry in schedule.values():
        if not isinstance(entry, Mapping):
            continue
        name = str(entry.get("task", ""))
        task = name.removeprefix(_TASK_PREFIX)
        seconds = _seconds(entry.get("schedule"))
        if name.startswith(_TASK_PREFIX) and task in WATCHED and seconds:
            intervals[task] = min(seconds, intervals.get(task, seconds))
    return intervals


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value > 0 else None
    if isinstance(value, timedelta):
        return value.total_seconds() or None
    from celery.schedules import schedule as every  # a crontab or a solar schedule is no interval

    if isinstance(value, every):
        return float(value.seconds) or None
    return None
