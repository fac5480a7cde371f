"""The API client a service uses: the caller's own, or one built from the settings and closed after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..client import ZoomConnectClient

__all__ = ["client_for"]


@contextmanager
def client_for(client: ZoomConnectClient | None = None) -> Iterator[ZoomConnectClient]:
    """``client`` as it is, or a client from the settings whose ``requests`` session is closed
    when the block ends: a service that builds a client never leaves a connection pool open.
    """
    if client is not None:
        yield client
        return
    with ZoomConnectClient.from_settings() as built:
        yield built
