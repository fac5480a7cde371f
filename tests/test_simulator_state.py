"""Tests for simulator/state.py: the account and the message lifecycle."""

import json
import random
import threading
from datetime import UTC, datetime, timedelta

import phonenumbers
import pytest

from django_zoomconnect.simulator import Clock, Simulator
from django_zoomconnect.simulator.errors import ApiError
from django_zoomconnect.simulator.records import normalize_number

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


# --- the account and the lifecycle ----------------------------------------------------------------

REST = "/app/api/rest/v1/"
AUTH = {"email": "simulator@example.com", "token": "simulator-token", "Accept": "application/json"}


@pytest.fixture
def sim() -> Simulator:
    return Simulator(clock=Clock(T0, frozen=True), send_delay=1, delivery_delay=2, reply_delay=1)


def send(sim: Simulator, number: str = "0821234567", text: str = "hello", **extra: object) -> str:
    body = json.dumps({"recipientNumber": number, "message": text, **extra}).encode()
    response = sim.handle("POST", REST + "sms/send", "", AUTH, body)
    assert response.status == 200, response.body
    return str(response.json()["messageId"])


def test_immediate_message_lifecycle(sim):
    message_id = send(sim)
    message = sim.message(message_id)
    assert message.status == "SCHEDULED"
    assert message.scheduled_at is None
    sim.advance(0.999)
    assert sim.message(message_id).status == "SCHEDULED"
    sim.advance(0.001)
    assert message.status == "SENT"
    assert message.sent_at == T0 + timedelta(seconds=1)
    sim.advance(2)
    assert message.status == "DELIVERED"
    assert message.final_at == T0 + timedelta(seconds=3)


def test_transitions_are_applied_lazily_at_their_due_times(sim):
    message_id = send(sim)
    sim.clock.advance(3600)  # nobody looks for an hour
    message = sim.message(message_id)  # looking applies what is due, at the due times
    assert message.status == "DELIVERED"
    assert message.sent_at == T0 + timedelta(seconds=1)


def test_scheduled_message_waits_for_date_to_send_in_johannesburg_time(sim):
    # T0 is 10:00 in Johannesburg: 11:30 there is 09:30 UTC, 90 minutes away.
    message_id = send(sim, dateToSend="202405011130")
    message = sim.message(message_id)
    assert message.scheduled_at == datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    sim.advance(90 * 60)
    assert message.status == "SCHEDULED"
    sim.advance(1)
    assert message.status == "SENT"
    assert message.sent_at == datetime(2024, 5, 1, 9, 30, 1, tzinfo=UTC)
    sim.advance(2)
    assert message.status == "DELIVERED"


def test_a_date_to_send_in_the_past_sends_now(sim):
    message_id = send(sim, dateToSend="202401010000")
    sim.advance(1)
    assert sim.message(message_id).status == "SENT"


def test_other_time_zones_are_honoured():
    sim = Simulator(clock=Clock(T0, frozen=True), timezone="UTC", send_delay=0)
    message_id = send(sim, dateToSend="202405010830")
    assert sim.message(message_id).scheduled_at == datetime(2024, 5, 1, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("number", "final"),
    [
        ("+27600000001", "FAILED"),
        ("0600000002", "FAILED_REFUNDED"),
        ("27600000003", "FAILED_OPTOUT"),
        ("+27600000004", "SENT"),
        ("+27600000006", "DELIVERED"),
        ("+27821234567", "DELIVERED"),
    ],
)
def test_magic_numbers(sim, number, final):
    message_id = send(sim, number)
    sim.advance(60)
    assert sim.message(message_id).status == final


def test_failed_refunded_gives_the_credit_back(sim):
    send(sim, "+27600000002", "x" * 200)
    assert sim.balance == 998.0
    sim.advance(3)
    assert sim.balance == 1000.0


def test_invalid_magic_number_is_refused(sim):
    body = json.dumps({"recipientNumber": "+27600000005", "message": "x"}).encode()
    response = sim.handle("POST", REST + "sms/send", "", AUTH, body)
    assert response.status == 400
    assert response.json()["code"] == 2
    assert sim.messages == []


def test_replying_number_answers_after_delivery(sim):
    message_id = send(sim, "+27600000006", "Are you coming?", campaign="party", dataField="inv-9")
    sim.advance(3)
    assert len(sim.messages) == 1
    sim.advance(1)
    inbound = sim.messages[-1]
    assert inbound.message_type == "INBOUND"
    assert inbound.status == "RECEIVED"
    assert inbound.message == "Reply to: Are you coming?"
    assert inbound.from_number == "+27600000006"
    assert inbound.replied_to_message_id == message_id
    assert inbound.received_at == T0 + timedelta(seconds=4)
    assert (inbound.campaign, inbound.data_field) == ("party", "inv-9")
    assert inbound.credit_cost == 0.0


def test_simulated_inbound_links_to_the_latest_message_to_that_number(sim):
    send(sim, "0821234567", "first")
    second = send(sim, "0821234567", "second")
    reply_id = sim.simulate_inbound("+27821234567", "yes")
    assert sim.message(reply_id).replied_to_message_id == second
    unlinked = sim.simulate_inbound("+27821234567", "also", link=False)
    assert sim.message(unlinked).replied_to_message_id is None
    stranger = sim.simulate_inbound("0829999999", "who is this?")
    assert sim.message(stranger).replied_to_message_id is None
    assert sim.message(stranger).from_number == "+27829999999"


def test_simulated_inbound_to_an_unknown_message_is_an_error(sim):
    with pytest.raises(ApiError) as caught:
        sim.simulate_inbound("0821234567", "hi", reply_to_message_id="nope")
    assert caught.value.status == 404


def test_ids_are_24_hex_digits_and_unique(sim):
    ids = {send(sim) for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 24 and int(i, 16) >= 0 for i in ids)


def test_templates_are_seeded_and_can_be_added_or_replaced(sim):
    assert sorted(sim.state.templates) == [1, 2, 3]
    assert sim.seed_template("Promo", "50% off") == 4
    assert sim.seed_template("PIN", "Code: 1", template_id=2) == 2
    assert sim.state.templates[2].name == "PIN"
    assert Simulator(seed_templates=False).state.templates == {}
    with pytest.raises(ValueError, match="positive"):
        sim.seed_template("x", "y", template_id=0)


def test_balance_can_be_set_but_not_negative(sim):
    sim.set_balance(5)
    assert sim.balance == 5.0
    with pytest.raises(ValueError, match="zero or more"):
        sim.set_balance(-1)


def test_reset_restores_a_fresh_account_and_keeps_configuration():
    sim = Simulator(clock=Clock(T0, frozen=True), balance=10, delivery_report_url="http://x/dr")
    send(sim)
    sim.seed_template("Extra", "x")
    sim.inject_fault("500")
    sim.reset()
    assert sim.balance == 10.0
    assert sim.messages == []
    assert sim.requests == []
    assert sorted(sim.state.templates) == [1, 2, 3]
    assert sim.faults.rules == []
    assert sim.delivery_report_url == "http://x/dr"


def test_counters_count_accepted_sends_per_data_field(sim):
    send(sim, dataField="a")
    send(sim, dataField="a")
    send(sim, dataField="b")
    counts = sim.counters()
    assert counts["dataField:a"] == 2
    assert counts["dataField:b"] == 1
    assert counts["sends.accepted"] == 3
    assert counts["requests"] == 3


def test_concurrent_sends_are_counted_exactly(sim):
    threads_count, per_thread = 8, 40
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            for n in range(per_thread):
                send(sim, f"08212{index:02d}{n:03d}", f"message {n}", dataField=f"t{index}")
            sim.simulate_inbound("0821234567", "ping")
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    total = threads_count * per_thread
    counts = sim.counters()
    assert counts["sends.accepted"] == total
    assert all(counts[f"dataField:t{i}"] == per_thread for i in range(threads_count))
    assert sim.balance == 1000.0 - total
    assert len(sim.messages) == total + threads_count
    assert len({m.message_id for m in sim.messages}) == total + threads_count
    assert len(sim.requests) == total


def test_normalize_number_matches_phonenumbers():
    rng = random.Random(5)
    for _ in range(3000):
        number = rng.choice(["+27", "27", "0"]) + str(rng.randint(100_000_000, 999_999_999))
        parsed = phonenumbers.parse(number, "ZA")
        expected = (
            phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            if phonenumbers.is_valid_number(parsed)
            else None
        )
        assert normalize_number(number) == expected, number
    assert normalize_number("+44 20 7946 0958") == "+442079460958"
    assert normalize_number("0027821234567") == "+27821234567"
    assert normalize_number(821234567) is None
    assert normalize_number("") is None


def bulk(sim: Simulator, requests: list[dict[str, object]], **options: object) -> list[str]:
    body = json.dumps({"sendSmsRequests": requests, **options}).encode()
    response = sim.handle("POST", REST + "sms/send-bulk", "", AUTH, body)
    assert response.status == 200, response.body
    return [r["messageId"] for r in response.json()["sendSmsResponses"]]


def test_bulk_default_date_to_send_and_per_message_override(sim):
    first, second = bulk(
        sim,
        [
            {"recipientNumber": "0821234567", "message": "default"},
            {"recipientNumber": "0821234568", "message": "own", "dateToSend": "202405011200"},
        ],
        defaultDateToSend="202405011100",
    )
    assert sim.message(first).scheduled_at == datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    assert sim.message(second).scheduled_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def test_bulk_messages_per_minute_paces_the_release(sim):
    requests: list[dict[str, object]] = [
        {"recipientNumber": "0821234567", "message": f"m{i}"} for i in range(5)
    ]
    ids = bulk(sim, requests, messagesPerMinute=2)
    sim.advance(1)
    assert [sim.message(i).status for i in ids] == ["SENT", "SENT", "SCHEDULED", "SCHEDULED", "SCHEDULED"]
    sim.advance(60)
    assert [sim.message(i).status for i in ids][2:] == ["SENT", "SENT", "SCHEDULED"]
    sim.advance(60)
    assert sim.message(ids[4]).sent_at == T0 + timedelta(seconds=121)


@pytest.mark.parametrize("pacing", [{"messagesPerMinute": 0}, {"messagesPerMinute": None}, {}])
def test_bulk_messages_per_minute_zero_or_absent_is_no_pacing(sim, pacing):
    # 0 is what clients written against the provider send by default (zoomconnect-sdk does).
    requests: list[dict[str, object]] = [
        {"recipientNumber": "0821234567", "message": f"m{i}"} for i in range(5)
    ]
    ids = bulk(sim, requests, **pacing)
    sim.advance(1)
    assert [sim.message(i).status for i in ids] == ["SENT"] * 5


@pytest.mark.parametrize("pacing", [-1, 1.5, "10", True])
def test_bulk_messages_per_minute_must_be_a_whole_number_not_below_zero(sim, pacing):
    body = json.dumps({"sendSmsRequests": [], "messagesPerMinute": pacing}).encode()
    response = sim.handle("POST", REST + "sms/send-bulk", "", AUTH, body)
    assert response.status == 400
    assert response.json()["message"] == "Invalid messagesPerMinute"
