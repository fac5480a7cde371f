"""The REST client, unchanged, round-trips every operation against the simulator over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from django_zoomconnect import exceptions
from django_zoomconnect.client import ZoomConnectClient
from django_zoomconnect.simulator import Clock, Simulator
from django_zoomconnect.simulator.server import SimulatorServer
from django_zoomconnect.wire import SmsRequest

NUMBER = "+27821234567"
START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)  # 10:00 in Johannesburg


@pytest.fixture(params=["epoch", "iso"])
def sim(request: pytest.FixtureRequest) -> Simulator:
    # Both ways the simulator can write dates; the provider's own is unknown.
    return Simulator(clock=Clock(START, frozen=True), date_format=request.param)


@pytest.fixture
def server(sim: Simulator) -> Iterator[SimulatorServer]:
    with SimulatorServer(sim, background=False) as running:
        yield running


@pytest.fixture
def client(server: SimulatorServer, sim: Simulator) -> Iterator[ZoomConnectClient]:
    with ZoomConnectClient(email=sim.email, token=sim.token, base_url=server.url, get_retries=0) as built:
        yield built


@pytest.mark.parametrize("auth_method", ["headers", "basic", "query"])
def test_every_auth_method(server: SimulatorServer, sim: Simulator, auth_method: str) -> None:
    with ZoomConnectClient(
        email=sim.email,
        token=sim.token,
        base_url=server.url,
        auth_method=auth_method,  # type: ignore[arg-type]
    ) as client:
        assert client.get_balance() == 1000
        assert client.send_sms(NUMBER, "hi").message_id


def test_account(client: ZoomConnectClient, sim: Simulator) -> None:
    sim.set_balance(250.5)
    assert client.get_balance() == 250.5
    client.send_sms(NUMBER, "hello", campaign="spring")
    sim.advance(60)
    stats = client.get_statistics(
        date_from=date(2025, 3, 1),
        date_to=date(2025, 3, 2),
        campaign="spring",
        include_refunded_and_optout=True,
    )
    assert stats.grand_total is not None
    assert stats.grand_total.delivered == 1
    assert stats.grand_total.total == 1

    users = client.search_users(sim.email)
    assert [user.email_address for user in users] == [sim.email]
    created = client.create_user(
        email_address="team@example.com",
        first_name="Thandi",
        last_name="Mokoena",
        contact_number="+27831234567",
        password="pw-not-kept",
        company="Acme",
    )
    assert created.user_id is not None
    assert client.get_user(created.user_id).first_name == "Thandi"
    updated = client.update_user(created.user_id, last_name="Dlamini")
    assert updated.last_name == "Dlamini"
    transferred = client.transfer_credits(from_email=sim.email, to_email="team@example.com", credits=10)
    assert client.get_user(created.user_id).credit_balance == 10
    assert transferred is None or transferred.email_address in (sim.email, "team@example.com")
    with pytest.raises(exceptions.NotFoundError):
        client.get_user(999_999)


def test_sending(client: ZoomConnectClient, sim: Simulator) -> None:
    single = client.send_sms(NUMBER, "single", campaign="c1", data_field="ref-1")
    assert single.message_id
    assert single.error is None

    later = START + timedelta(days=1)
    scheduled = client.send_sms(NUMBER, "later", date_to_send=later)
    message = client.get_message(scheduled.message_id or "")
    assert message.status == "SCHEDULED"
    assert message.scheduled_at == later

    results = client.send_bulk(
        [
            SmsRequest(recipient_number=NUMBER, message="one", data_field="bulk-1"),
            SmsRequest(recipient_number="+27600000005", message="invalid"),
            SmsRequest(recipient_number="+27831234567", message="three", campaign="c2"),
        ],
        messages_per_minute=100,
    )
    assert [bool(result.message_id) for result in results] == [True, False, True]
    assert results[1].error

    via_url = client.send_sms_url_parameters(NUMBER, "by url", data_field="url-1")
    assert client.get_message(via_url).message == "by url"
    with pytest.raises(exceptions.InvalidNumberError):
        client.send_sms("+27600000005", "refused")
    with pytest.raises(exceptions.EmptyMessageError):
        client.send_sms(NUMBER, "")

    sim.advance(60)
    assert client.get_message(single.message_id or "").status == "DELIVERED"
    assert client.get_message(single.message_id or "").data_field == "ref-1"
    assert client.get_message(single.message_id or "").sent_at is not None


def test_contacts_and_groups(client: ZoomConnectClient) -> None:
    contact = client.create_contact(contact_number=NUMBER, first_name="Sipho", last_name="Nkosi", title="Mr")
    assert contact.contact_id
    assert client.get_contact(contact.contact_id).first_name == "Sipho"
    assert client.update_contact(contact.contact_id, first_name="Sibusiso").first_name == "Sibusiso"
    assert [c.contact_id for c in client.list_contacts()] == [contact.contact_id]

    group = client.create_group("Customers")
    assert group.group_id
    assert client.get_group(group.group_id).name == "Customers"
    assert client.update_group(group.group_id, name="Clients").name == "Clients"
    assert [g.name for g in client.list_groups()] == ["Clients"]

    client.add_contact_to_group(contact.contact_id, group.group_id)
    client.remove_contact_from_group(contact.contact_id, group.group_id)
    client.group_add_contact(group.group_id, contact.contact_id)
    client.group_remove_contact(group.group_id, contact.contact_id)

    client.delete_group(group.group_id)
    client.delete_contact(contact.contact_id)
    assert client.list_contacts() == []
    assert client.list_groups() == []
    with pytest.raises(exceptions.NotFoundError):
        client.get_contact(contact.contact_id)
    with pytest.raises(exceptions.NotFoundError):
        client.get_group(group.group_id)


@pytest.mark.parametrize("success_statuses", ["200", "201/204"])
def test_creates_and_deletes_with_either_success_status(
    client: ZoomConnectClient, sim: Simulator, success_statuses: str
) -> None:
    sim.configure(success_statuses=success_statuses)
    contact = client.create_contact(contact_number=NUMBER)
    group = client.create_group("Customers")
    user = client.create_user(
        email_address="team@example.com", first_name="T", last_name="M", contact_number=NUMBER, password="pw"
    )
    assert (contact.contact_id, group.group_id, user.user_id) == (
        sim.state.contacts[contact.contact_id or ""].contact_id,
        sim.state.groups[group.group_id or ""].group_id,
        2,
    )
    message_id = client.send_sms(NUMBER, "hi").message_id or ""
    client.delete_contact(contact.contact_id or "")
    client.delete_group(group.group_id or "")
    client.delete_template(1)
    client.delete_message(message_id)
    created, deleted = (201, 204) if success_statuses == "201/204" else (200, 200)
    statuses = {(r.method, r.path.rsplit("/", 1)[-1]): r.status for r in sim.requests}
    assert [statuses[("POST", "create")], statuses[("PUT", "user")]] == [created, created]
    assert {status for (method, _), status in statuses.items() if method == "DELETE"} == {deleted}
    assert (sim.state.contacts, sim.state.groups, 1 in sim.state.templates) == ({}, {}, False)
    assert sim.message(message_id).deleted


def test_messages(client: ZoomConnectClient, sim: Simulator) -> None:
    sent = [
        client.send_sms(NUMBER, f"message {n}", campaign="c", data_field=f"d{n}").message_id for n in range(5)
    ]
    sim.advance(60)
    reply_id = sim.simulate_inbound(NUMBER, "a reply", reply_to_message_id=sent[0])

    page = client.list_messages(page=1, page_size=2, type="OUTBOUND")
    assert (page.page, page.page_size, page.total_elements, page.total_pages) == (1, 2, 5, 3)
    assert len(page.messages) == 2
    assert len(list(client.iter_messages(page_size=2, type="OUTBOUND"))) == 5

    assert [m.message_id for m in client.list_messages(data_field="d3").messages] == [sent[3]]
    assert [m.message_id for m in client.list_messages(replies_to_message_id=sent[0]).messages] == [reply_id]
    assert client.list_messages(status="DELIVERED", campaign="c").total_elements == 5
    assert client.list_messages(sent_from=date(2025, 3, 1), sent_to=date(2025, 3, 1)).total_elements >= 5
    assert client.list_messages(from_number=NUMBER, type="INBOUND").total_elements == 1

    reply = client.get_message(reply_id)
    assert reply.message_type == "INBOUND"
    assert reply.replied_to_message_id == sent[0]
    client.mark_read(reply_id)
    assert client.get_message(reply_id).read is True
    client.mark_unread(reply_id)
    assert client.get_message(reply_id).read is False
    client.delete_message(sent[4] or "")
    assert client.list_messages(deleted=True).total_elements == 1
    with pytest.raises(exceptions.NotFoundError):
        client.get_message("0" * 24)


def test_analyse(client: ZoomConnectClient) -> None:
    text = "Hello " * 30  # 180 GSM-7 characters: two parts
    full = client.analyse_message(text, NUMBER)
    assert (full.message_length, full.number_of_messages, full.message_encoding) == (180, 2, "GSM7")
    assert full.message_credit_cost == 2
    assert client.message_credit_cost(text, NUMBER) == 2
    assert client.message_encoding("Salut 😀") == "UCS2"
    assert client.message_length("abc") == 3
    assert client.message_within_max_length("abc") is True
    assert client.number_of_messages(text) == 2


def test_templates(client: ZoomConnectClient, sim: Simulator) -> None:
    template_id = sim.seed_template("Welcome", "Welcome to {shop}!")
    assert template_id in [t.template_id for t in client.list_templates()]
    assert client.get_template(template_id).data == "Welcome to {shop}!"
    client.delete_template(template_id)
    with pytest.raises(exceptions.NotFoundError):
        client.get_template(template_id)


def test_bad_credentials(server: SimulatorServer) -> None:
    with (
        ZoomConnectClient(email="simulator@example.com", token="wrong", base_url=server.url) as client,
        pytest.raises(exceptions.AuthenticationError) as caught,
    ):
        client.get_balance()
    assert caught.value.status == 401


def test_insufficient_credit_is_refused(client: ZoomConnectClient, sim: Simulator) -> None:
    sim.set_balance(0)
    with pytest.raises(exceptions.ZoomConnectAPIError):
        client.send_sms(NUMBER, "no credit")
    assert sim.counters().get("sends.accepted", 0) == 0


def test_send_url_and_examples(client: ZoomConnectClient, sim: Simulator) -> None:
    message_id = client.send_sms_url(sim.url_sending_token, NUMBER, "by the sending URL")
    assert client.get_message(message_id).message == "by the sending URL"
    assert "recipientNumber" in client.get_send_sms_example()
    assert "sendSmsRequests" in client.get_send_bulk_example()


def test_voice(client: ZoomConnectClient, sim: Simulator) -> None:
    spoken = client.send_voice_text(NUMBER, "Your code is 4711", language="en", data_field="v1")
    assert spoken.voice_message_id
    audio = client.send_voice_audio(NUMBER, b"ID3 not really an mp3", campaign="calls")
    assert audio.voice_message_id
    fetched = client.get_voice_message(spoken.voice_message_id)
    assert (fetched.message, fetched.data_field) == ("Your code is 4711", "v1")
    listed = client.list_voice_messages(page=1, page_size=10)
    assert {m.voice_message_id for m in listed.messages} == {spoken.voice_message_id, audio.voice_message_id}
    client.delete_voice_message(audio.voice_message_id)
    assert client.get_voice_message(audio.voice_message_id).deleted is True
