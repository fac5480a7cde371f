"""Reconciliation: API calls per uncertain chunk (they must grow with chunks, not with messages).

A bulk send of four chunks against the in-process simulator (calls are counted, not timed): the
first chunk's ``sms/send-bulk`` answers a 500 *after* the provider accepted it (the answer is
lost), the second's a 500 before anything was accepted, the last two go out. ``reconcile_uncertain``
then settles both uncertain chunks; the ``messages/all`` calls it made are counted, probes (by
``dataField``) apart from listings (walks of pages from the first). The aim: two probes and at
most one paged listing per chunk, where looking messages up one by one cost a call a message.
"""

from __future__ import annotations

from typing import Any
from unittest import mock
from urllib.parse import parse_qs

from . import plumbing
from .plumbing import TEXT, numbers
from .table import Row


def first_page(query: str) -> bool:
    return parse_qs(query).get("page", ["1"])[0] == "1"


def run(db: str) -> list[Row]:
    from django.conf import settings
    from django.test.utils import override_settings

    from django_zoomconnect.models import Message, MessageStatus
    from django_zoomconnect.services.outbox import dispatch, reconcile, send_bulk, wake
    from django_zoomconnect.testing import in_process_simulator

    chunk = plumbing.size("reconcile_chunk")
    held: list[Any] = []
    with (
        in_process_simulator({"balance": 1_000_000_000.0}) as sim,
        override_settings(
            ZOOMCONNECT={
                **settings.ZOOMCONNECT,
                "SEND_EAGERLY": False,
                "BULK_CHUNK_SIZE": chunk,
                "RECONCILE_AFTER": 0,
                "BALANCE_CHECK": "off",
            }
        ),
        mock.patch.object(wake, "enqueue_message", lambda pk: held.append(pk)),
        mock.patch.object(wake, "enqueue_chunk", lambda batch, number: held.append((batch, number))),
    ):
        sim.set_balance(1_000_000_000.0)
        batch = send_bulk(recipients=numbers(4 * chunk, 1_000_000), body=TEXT, campaign="bench")
        sim.inject_fault("500", path="sms/send-bulk", after_processing=True)  # accepted, answer lost
        dispatch.dispatch_chunk(batch.pk, 0)
        sim.inject_fault("500", path="sms/send-bulk")  # refused before anything was accepted
        dispatch.dispatch_chunk(batch.pk, 1)
        dispatch.dispatch_chunk(batch.pk, 2)
        dispatch.dispatch_chunk(batch.pk, 3)
        uncertain = Message.objects.filter(batch=batch, status=MessageStatus.UNCERTAIN).count()
        if uncertain != 2 * chunk:
            raise RuntimeError(f"{uncertain} messages uncertain, not {2 * chunk}")
        sim.advance(5)  # the provider sends what it accepted
        sim.clear_requests()
        result = reconcile.reconcile_uncertain()
        calls = [r for r in sim.requests if r.path.endswith("messages/all")]
    if (result.adopted, result.requeued) != (chunk, chunk):
        raise RuntimeError(f"reconcile: {result.as_dict()}, expected {chunk} adopted and {chunk} requeued")
    probes = sum(1 for r in calls if "dataField" in parse_qs(r.query))
    pages = len(calls) - probes
    # A listing is a walk of pages from the first: how many pages it takes depends on what the
    # account sent in the chunk's time window (here the batch's other chunks too), not on the chunk.
    listings = sum(1 for r in calls if "dataField" not in parse_qs(r.query) and first_page(r.query))
    chunks = 2
    met = probes <= 2 * chunks and listings <= chunks
    return [
        Row(
            "reconcile: lookups per uncertain chunk",
            db,
            len(calls) / chunks,
            "calls",
            [("messages per chunk", float(chunk))],
            len(calls) / chunks / chunk,
            "<= 2 probes + 1 listing a chunk",
            met=met,
            note=f"{probes} probes, {listings} listing(s) of {pages} pages; 2 uncertain chunks of {chunk}",
        )
    ]
