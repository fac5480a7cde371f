"""Benchmark: a bulk pull of contacts and messages against a naive ``update_or_create`` loop.

Seeds the in-process simulator directly (no sockets: the transport is the same for both
contenders), then times, on a fresh test database each:

* ``pull()``: the first pull (every row new), a second pull (nothing changed) and a third
  after every message was delivered (every message updated, with status history);
* the naive loop: the same client calls, then ``update_or_create`` per contact (numbers
  normalised the same way) and per message, run first on an empty and then on a full database.

Run from the repository root (not a test: it takes a while and prints figures)::

    python bench/sync_pull.py                        # 50,000 contacts, 100,000 messages, SQLite
    ZOOMCONNECT_TEST_DB=postgres python bench/sync_pull.py --contacts 5000 --messages 10000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from django_zoomconnect import phone  # noqa: E402
from django_zoomconnect.client import ZoomConnectClient, mount_transport, unmount_transport  # noqa: E402
from django_zoomconnect.models import Contact, Direction, Message, MessageStatusChange, SyncState  # noqa: E402
from django_zoomconnect.services.pull import pull as pull_account  # noqa: E402
from django_zoomconnect.simulator import Clock, Simulator  # noqa: E402
from django_zoomconnect.simulator.adapter import SimulatorAdapter  # noqa: E402
from django_zoomconnect.simulator.state import Contact as SimContact  # noqa: E402
from django_zoomconnect.testing import SIMULATOR_BASE_URL, SIMULATOR_ORIGIN, simulator_settings  # noqa: E402

#: Big pages, because the simulator scans its whole history for every page it serves: with the
#: provider's default of 100, serving 100,000 messages would dominate both contenders' time.
PAGE_SIZE = 50_000


def seed(simulator: Simulator, contacts: int, messages: int) -> None:
    state = simulator.state
    state.set_balance(10.0 * messages + 10)
    for i in range(contacts):
        contact = SimContact(
            contact_id=f"c{i:07d}", contact_number=f"+2782{i:07d}", first_name=f"First {i}", last_name="Last"
        )
        state.contacts[contact.contact_id] = contact
        state.index_contact(contact)
    for i in range(messages):
        state.send(f"+2782{i % max(contacts, 1):07d}", f"Message {i % 100}", campaign="bench")
    simulator.advance(1.5)  # sent, not delivered yet


@contextmanager
def timed(results: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    results[name] = time.perf_counter() - started
    print(f"  {name:<40} {results[name]:8.2f}s", flush=True)


def wipe() -> None:
    with transaction.atomic():
        MessageStatusChange.objects.all().delete()
        Message.objects.all().delete()
        Contact.objects.all().delete()


def naive_pull(client: ZoomConnectClient, page_size: int) -> None:
    """What a first implementation would do: one ``update_or_create`` per remote object."""
    for item in client.list_contacts():
        try:
            number = phone.normalize(item.contact_number or "")
        except phone.PhoneNumberError:
            continue
        Contact.objects.update_or_create(
            remote_id=item.contact_id,
            defaults={
                "phone_number": number,
                "title": item.title or "",
                "first_name": item.first_name or "",
                "last_name": item.last_name or "",
                "remote_data": item.raw,
                "sync_state": SyncState.SYNCED,
            },
        )
    contacts = dict(Contact.objects.values_list("remote_id", "pk"))
    for kind, direction in (("OUTBOUND", Direction.OUTBOUND), ("INBOUND", Direction.INBOUND)):
        for m in client.iter_messages(page_size=page_size, type=kind):
            Message.objects.update_or_create(
                remote_id=m.message_id,
                defaults={
                    "direction": direction,
                    "status": m.status or "UNKNOWN",
                    "from_number": m.from_number or "",
                    "to_number": m.to_number or "",
                    "body": m.message or "",
                    "campaign": m.campaign or "",
                    "data_field": m.data_field or "",
                    "scheduled_at": m.scheduled_at,
                    "sent_at": m.sent_at,
                    "received_at": m.received_at,
                    "parts": m.number_of_messages,
                    "credit_cost": None if m.credit_cost is None else Decimal(str(m.credit_cost)),
                    "contact_id": contacts.get(m.contact_id or ""),
                    "remote_data": m.raw,
                    "sync_state": SyncState.SYNCED,
                },
            )


def fetch_only(client: ZoomConnectClient, page_size: int) -> None:
    client.list_contacts()
    for kind in ("OUTBOUND", "INBOUND"):
        for _ in client.iter_messages(page_size=page_size, type=kind):
            pass


def run(contacts: int, messages: int, page_size: int) -> dict[str, float]:
    simulator = Simulator(clock=Clock(frozen=True), seed_templates=False)
    print(f"Seeding the simulator with {contacts:,} contacts and {messages:,} messages...", flush=True)
    seed(simulator, contacts, messages)
    results: dict[str, float] = {}
    mount_transport(SIMULATOR_ORIGIN, SimulatorAdapter(simulator))
    try:
        with override_settings(ZOOMCONNECT=simulator_settings(simulator, SIMULATOR_BASE_URL)):
            client = ZoomConnectClient.from_settings()
            pull: Callable[[], Any] = lambda: pull_account(  # noqa: E731
                kinds=["contacts", "messages"], client=client, page_size=page_size
            )
            print(f"Database: {connection.vendor}", flush=True)
            with timed(results, "fetch only (client + simulator)"):
                fetch_only(client, page_size)
            with timed(results, "bulk pull, empty database"):
                report = pull()
            assert report.ok, report.errors
            assert report.kinds["contacts"].created == contacts, report.as_table()
            assert report.kinds["messages"].created == messages, report.as_table()
            with timed(results, "bulk pull, nothing changed"):
                report = pull()
            assert report.kinds["messages"].unchanged == messages, report.as_table()
            simulator.advance(60)  # every message delivered
            with timed(results, "bulk pull, every message delivered"):
                report = pull()
            assert report.kinds["messages"].updated == messages, report.as_table()
            wipe()
            simulator.state.tick()
            with timed(results, "naive loop, empty database"):
                naive_pull(client, page_size)
            with timed(results, "naive loop, nothing changed"):
                naive_pull(client, page_size)
            assert Message.objects.count() == messages
    finally:
        unmount_transport(SIMULATOR_ORIGIN)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=PAGE_SIZE)
    args = parser.parse_args()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        results = run(args.contacts, args.messages, args.page_size)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    print()
    for case in ("empty database", "nothing changed"):
        bulk, naive = results[f"bulk pull, {case}"], results[f"naive loop, {case}"]
        fetch = results["fetch only (client + simulator)"]
        print(
            f"{case:>16}: bulk {bulk:7.2f}s, naive {naive:7.2f}s: {naive / bulk:5.1f}x faster"
            f" ({(naive - fetch) / max(bulk - fetch, 1e-9):5.1f}x on the database side,"
            f" after the {fetch:.2f}s both spend fetching)"
        )


if __name__ == "__main__":
    main()
