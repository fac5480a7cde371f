"""Finding uncertain sends on the account: which provider record, if any, is each message's send.

Why it must prove itself (:func:`is_this_attempt`): the account may hold other messages with the
same ``dataField`` to the same number (another app, the web console, an earlier install, our own
earlier send), above all when the caller chose the ``dataField``. Only a record with the same
number and text, not stored on another row, and accepted after this attempt's claim (within
``RECONCILE_CLOCK_SKEW``) counts; a ``dataField`` the caller chose is never enough on its own.

Why a chunk is looked up as a whole (:func:`find_chunk`): a chunk went out in one
``sms/send-bulk`` call, which the provider processes in order, refusing some items on their own
(a number it calls invalid, credit running out). Two probes (the first and the last message,
each by its ``dataField``) and one listing of the account's messages sent since the claim (paged,
narrowed by the chunk's campaign and text when they are the same for all), matched locally, tell
whether the call was processed: when none of them shows any of the chunk, nothing of it was
accepted (the common case: a 5xx before processing; three calls). The probes alone are no proof:
the provider may have refused the first and the last and accepted the others. When the call was
processed, only what the listing did not show is looked up one by one (messages accepted but not
sent yet). A listing cut at its page limit proves nothing, and neither does one by time sent for
a chunk the provider may hold unsent (paced, or scheduled with it): such a chunk is listed
without the time window, and the messages no listing settled are looked up one by one. API calls
grow with chunks, not with messages, but for those.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from django.utils import timezone

from ... import conf, phone
from ... import wire as api
from ...client import ZoomConnectClient
from ...exceptions import AuthenticationError, ZoomConnectError
from ...models import Batch, Message
from ..mapping import wire_data_field

__all__ = ["LOOKUP_LIMIT", "Sent", "find_chunk", "find_remote", "is_this_attempt", "listed"]

#: Remote messages read per lookup at most (a dataField the caller shares among many messages).
LOOKUP_LIMIT = 1000
#: A chunk smaller than this is looked up message by message (two probes would be no cheaper).
SMALLEST_PROBED_CHUNK = 3
#: Messages per page of the chunk's listing.
LISTING_PAGE_SIZE = 100
#: Pages of the chunk's listing read at most, per message of the chunk (a busy account's day).
LISTING_PAGES_PER_MESSAGE = 0.05


def _same_number(remote: str, stored: str) -> bool:
    # Stored numbers are E.164; the provider usually answers with the same spelling.
    return remote == stored or phone.same_number(remote, stored)


def _same_text(remote: str, stored: str) -> bool:
    # Tolerate what a store may do to a text's edges and line ends, nothing more.
    return remote == stored or remote.replace("\r\n", "\n").strip() == stored.replace("\r\n", "\n").strip()


class Sent(Protocol):
    """What :func:`is_this_attempt` reads of a message: a row, or a pull's lighter copy of one."""

    to_number: str
    body: str
    data_field: str


def is_this_attempt(remote: api.Message, message: Sent, *, claimed_at: datetime | None, skew: float) -> bool:
    """Whether ``remote`` can only be the current attempt of ``message``.

    Outbound, to the same number, with the same text, and accepted after the attempt's claim:
    every time the provider tells (its creation time carried in the message id, and
    ``dateTimeSent``) must be no earlier than ``claimed_at`` less ``skew`` seconds (the provider's
    clock and zone against ours). With the message's own reference as ``dataField`` the
    reference makes the record unique; with a ``dataField`` the caller chose, a record that tells
    no time at all is not taken as proof.
    """
    if remote.message_id is None or remote.to_number is None or remote.message is None:
        return False
    if remote.message_type not in (None, "OUTBOUND"):
        return False
    if not _same_number(remote.to_number, message.to_number) or not _same_text(remote.message, message.body):
        return False
    times = [t for t in (api.id_timestamp(remote.message_id), remote.sent_at) if t is not None]
    if claimed_at is not None:
        earliest = claimed_at - timedelta(seconds=skew)
        if any(t < earliest for t in times):
            return False
    own_reference = not message.data_field
    return own_reference or (bool(times) and claimed_at is not None)


def listed(client: ZoomConnectClient, message: Message, limit: int = LOOKUP_LIMIT) -> Iterator[api.Message]:
    """The provider's outbound messages with the ``dataField`` ``message`` was sent with."""
    listing = client.iter_messages(data_field=wire_data_field(message), type="OUTBOUND")
    return itertools.islice(listing, limit)


def find_remote(
    client: ZoomConnectClient, message: Message, *, limit: int = LOOKUP_LIMIT
) -> list[api.Message]:
    """The provider's records that can only be the current attempt of ``message``.

    Listed by the ``dataField`` it was sent with and checked by :func:`is_this_attempt`; a record
    whose remote id another row already holds is someone else's.
    """
    skew = float(conf.get("RECONCILE_CLOCK_SKEW"))
    found = [
        remote
        for remote in listed(client, message, limit)
        if is_this_attempt(remote, message, claimed_at=message.claimed_at, skew=skew)
    ]
    if not found:
        return found
    held = set(
        Message.objects.filter(account=message.account, remote_id__in=[r.message_id for r in found])
        .exclude(pk=message.pk)
        .values_list("remote_id", flat=True)
    )
    return [remote for remote in found if remote.message_id not in held]


def _held_elsewhere(found: dict[int, list[api.Message]], account: str) -> dict[int, list[api.Message]]:
    """``found`` without the records another row of the account already holds (one query)."""
    ids = {remote.message_id for remotes in found.values() for remote in remotes}
    if not ids:
        return found
    holders = dict(Message.objects.filter(account=account, remote_id__in=ids).values_list("remote_id", "pk"))
    return {pk: [r for r in remotes if holders.get(r.message_id, pk) == pk] for pk, remotes in found.items()}


def _uniform(values: Sequence[str]) -> str | None:
    first = values[0] if values else ""
    return first if first and all(value == first for value in values) else None


def _held_unsent(messages: Sequence[Message]) -> bool:
    """Whether the provider may hold accepted messages of the chunk unsent: paced by its batch's
    ``messages_per_minute``, or scheduled with the provider (sent before their time: a message
    scheduled here goes out when it is due)."""
    if any(m.scheduled_at is not None and m.scheduled_at > (m.claimed_at or m.created_at) for m in messages):
        return True
    batch_id = messages[0].batch_id  # a chunk is one batch's
    return (
        batch_id is not None and Batch.objects.filter(pk=batch_id, messages_per_minute__isnull=False).exists()
    )


def _listing(
    client: ZoomConnectClient, messages: Sequence[Message], now: datetime, *, window: bool
) -> Iterator[api.Message]:
    """The account's outbound messages (sent since the chunk's claim, with ``window``), narrowed
    where the chunk allows, up to the chunk's page limit (:func:`_listing_limit`)."""
    filters: dict[str, object] = {"type": "OUTBOUND"}
    if window:
        skew = timedelta(seconds=float(conf.get("RECONCILE_CLOCK_SKEW")))
        claimed = min(m.claimed_at or m.created_at for m in messages) - skew
        filters.update(sent_from=claimed, sent_to=now + skew)
    campaign = _uniform([m.campaign for m in messages])
    if campaign is not None:
        filters["campaign"] = campaign
    text = _uniform([m.body for m in messages])
    if text is not None:
        filters["message"] = text
    listing = client.iter_messages(page_size=LISTING_PAGE_SIZE, **filters)  # type: ignore[arg-type]
    return itertools.islice(listing, _listing_limit(messages))


def _listing_limit(messages: Sequence[Message]) -> int:
    return max(1, int(len(messages) * LISTING_PAGES_PER_MESSAGE) + 1) * LISTING_PAGE_SIZE


def _match_listing(
    client: ZoomConnectClient,
    messages: Sequence[Message],
    found: dict[int, list[api.Message]],
    now: datetime,
    *,
    window: bool,
) -> bool:
    """Add to ``found`` what the chunk's listing shows of the messages not found yet; whether
    the listing was read to its end (not cut at its page limit)."""
    skew = float(conf.get("RECONCILE_CLOCK_SKEW"))
    by_data_field: dict[str, list[Message]] = {}
    for message in messages:
        if not found[message.pk]:
            by_data_field.setdefault(wire_data_field(message), []).append(message)
    read = 0
    for remote in _listing(client, messages, now, window=window):
        read += 1
        for message in by_data_field.get(remote.data_field or "", ()):
            claimed = message.claimed_at
            if not found[message.pk] and is_this_attempt(remote, message, claimed_at=claimed, skew=skew):
                found[message.pk] = [remote]
                break
    return read < _listing_limit(messages)


def find_chunk(
    client: ZoomConnectClient, messages: Sequence[Message], *, now: datetime | None = None
) -> Mapping[int, list[api.Message] | None]:
    """The records that can only be each message's current attempt, for the messages of one chunk
    (see the module's documentation): a list, empty when the provider has none, or ``None`` when
    that message could not be looked up this time. A failure of the probes or of the listing
    raises: nothing of the chunk is decided then."""
    if len(messages) < SMALLEST_PROBED_CHUNK:
        return {m.pk: find_remote(client, m) for m in messages}
    found: dict[int, list[api.Message]] = {m.pk: [] for m in messages}
    probes = {messages[0].pk, messages[-1].pk}
    for message in (messages[0], messages[-1]):
        found[message.pk] = find_remote(client, message)
    accepted = any(found[pk] for pk in probes)
    # The probes may have been refused on their own while others were accepted: the listing
    # decides. By time sent, unless the provider may hold accepted messages unsent.
    held = not accepted and _held_unsent(messages)
    read_whole = _match_listing(
        client, messages, found, timezone.now() if now is None else now, window=not held
    )
    if not accepted and read_whole and not any(found.values()):
        return found  # the call was not processed: nothing of the chunk was accepted
    checked: dict[int, list[api.Message] | None] = dict(_held_elsewhere(found, messages[0].account))
    for message in messages:
        if not checked[message.pk] and message.pk not in probes:
            # Accepted, perhaps, but not sent yet: looked up alone. A failure leaves this one
            # unknown (``None``), to be looked up again later, and the others decided.
            try:
                checked[message.pk] = find_remote(client, message)
            except AuthenticationError:
                raise
            except ZoomConnectError:
                checked[message.pk] = None
    return checked
