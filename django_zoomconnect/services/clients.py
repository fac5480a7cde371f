"""The API client a service uses: the caller's own, or one built from the settings and closed after."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..client import ZoomConnectClient

__all__ = ["client_for", "clients_for"]


@contextmanager
def client_for(
    client: ZoomConnectClient | None = None, *, account: str | None = None
) -> Iterator[ZoomConnectClient]:
    """``client`` as it is, or a client from the settings of ``account`` (an alias of
    ``ZOOMCONNECT["ACCOUNTS"]``; ``None``: ``"default"``) whose ``requests`` session is closed
    when the block ends: a service that builds a client never leaves a connection pool open.
    """
    if client is not None:
        yield client
        return
    with ZoomConnectClient.from_settings(account=account) as built:
        yield built


@contextmanager
def clients_for(client: ZoomConnectClient | None = None) -> Iterator[Callable[[str], ZoomConnectClient]]:
    """A function from an account alias to its client, for work that spans accounts (the sweeper,
    the status poller): each account's client is built on first use and closed when the block
    ends. A caller's ``client`` answers for every account."""
    built: dict[str, ZoomConnectClient] = {}

    def of(account: str) -> ZoomConnectClient:
        if client is not None:
            return client
        if account not in built:
            built[account] = ZoomConnectClient.from_settings(account=account)
        return built[account]

    try:
        yield of
    finally:
        for each in built.values():
            each.close()
