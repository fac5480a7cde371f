"""Named leases in the database: at most one process runs a piece of work at a time.

Why the database: every worker process, on every machine, sees it, and no broker or cache has
to be shared. A lease is taken with one conditional UPDATE (or one INSERT that the primary key
decides, the first time), held for ``seconds``, renewed while the work goes on, and released at
the end by expiring it in place, so that the next run takes it with that one UPDATE again; a
holder that dies loses it when it expires.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Lease

__all__ = ["Held", "held"]


class Held:
    """A lease this process holds; :meth:`renew` keeps it while the work goes on."""

    def __init__(self, name: str, token: str, seconds: float) -> None:
        self.name, self.token, self.seconds = name, token, seconds

    def renew(self) -> bool:
        """Extend the lease from now; ``False`` if it was lost (it expired and another took it)."""
        until = timezone.now() + timedelta(seconds=self.seconds)
        return bool(Lease.objects.filter(name=self.name, token=self.token).update(expires_at=until))


def _take(name: str, token: str, seconds: float) -> bool:
    now = timezone.now()
    until = now + timedelta(seconds=seconds)
    if Lease.objects.filter(name=name, expires_at__lte=now).update(token=token, expires_at=until):
        return True
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, token=token, expires_at=until)
    except IntegrityError:
        return False  # another holder's, and not expired
    return True


@contextmanager
def held(name: str, *, seconds: float) -> Iterator[Held | None]:
    """The lease ``name`` for the block, or ``None`` when another process holds it."""
    token = uuid.uuid4().hex
    if not _take(name, token, seconds):
        yield None
        return
    try:
        yield Held(name, token, seconds)
    finally:
        Lease.objects.filter(name=name, token=token).update(token="", expires_at=timezone.now())
