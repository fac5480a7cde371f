"""Tests for client.py: the exact request of every operation on the wire, and what it parses."""

import logging
from datetime import UTC, date, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest

from django_zoomconnect import _http
from django_zoomconnect import client as client_module
from django_zoomconnect.client import SmsRequest, ZoomConnectClient
from django_zoomconnect.exceptions import InvalidRequestError, InvalidResponseError
from tests.wire import API, SAST, TOKEN, assert_json_headers, make_client, wire


@pytest.fixture
def client(sleeps):
    with make_client(get_retries=2, retry_backoff=0.5, sleep=sleeps.append) as zc:
        yield zc


def test_the_documented_names_are_importable_from_client():
    assert set(client_module.__all__) <= set(vars(client_module))
    for name in ("DEFAULT_BASE_URL", "MAX_RETRY_AFTER", "USER_AGENT", "mount_transport", "unmount_transport"):
        assert getattr(client_module, name) is getattr(_http, name)
    assert issubclass(ZoomConnectClient, _http.HttpClient)


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda zc: zc.send_sms("+27821234567", "Hi", campain="c"), "unexpected keyword argument 'campain'"),
        (lambda zc: zc.send_sms_url_parameters("+27821234567", "Hi", when=1), "unexpected keyword argument"),
        (
            lambda zc: zc.create_contact(contact_number="+27821234567", nickname="T"),
            "ContactFields: unexpected",
        ),
        (lambda zc: zc.update_contact("c-1", phone="+27821234567"), "ContactFields: unexpected keyword"),
        (lambda zc: zc.create_user(email_address="a@example.com", first_name="A"), "UserFields: missing"),
        (lambda zc: zc.update_user(7, email_address="b@example.com"), "UserChanges: unexpected keyword"),
        (lambda zc: zc.send_voice_text("+27821234567", "Hi", filename="x"), "VoiceOptions: unexpected"),
        (lambda zc: zc.send_voice_audio("+27821234567", b"", language="en"), "VoiceOptions: unexpected"),
        (lambda zc: zc.list_voice_messages(read=True), "unknown message filter"),
    ],
)
def test_an_unknown_or_missing_option_is_a_type_error_and_sends_nothing(api, client, call, text):
    with pytest.raises(TypeError, match=text):
        call(client)
    assert len(api.calls) == 0


# --- operations: account ------------------------------------------------------------------------

USER = {
    "userId": 7,
    "emailAddress": "sub@example.com",
    "firstName": "Sipho",
    "lastName": "Dlamini",
    "contactNumber": "+27821234567",
    "company": "Acme",
    "creditBalance": 12.5,
    "password": None,
}


def test_get_balance_accepts_a_bare_number(api, client):
    api.get(API + "account/balance", body="33.5")
    assert client.get_balance() == 33.5


def test_get_balance_without_a_balance_is_invalid(api, client):
    api.get(API + "account/balance", json={"creditBalance": None})
    with pytest.raises(InvalidResponseError, match="no creditBalance"):
        client.get_balance()


def test_get_statistics(api, client):
    api.get(
        API + "account/statistics",
        json={
            "from": "01-04-2024",
            "to": "30-04-2024",
            "grandTotal": {
                "sent": 3,
                "delivered": 2,
                "failed": 1,
                "failedRefunded": 0,
                "failedOptout": 0,
                "total": 3,
            },
            "showingCreditValue": True,
            "users": [
                {"user": USER, "total": {"total": 3}, "campaigns": [{"campaign": "otp", "statistics": {}}]}
            ],
        },
    )
    stats = client.get_statistics(
        date_from=date(2024, 4, 1),
        date_to=datetime(2024, 4, 30, 22, 30, tzinfo=UTC),  # already 1 May in South Africa
        user_email="sub@example.com",
        campaign="otp",
        include_refunded_and_optout=True,
        calculate_credit_value=False,
    )
    assert wire(api.calls[0]) == (
        "GET",
        "account/statistics",
        [
            ("from", "01-04-2024"),
            ("to", "01-05-2024"),
            ("userEmailAddress", "sub@example.com"),
            ("campaign", "otp"),
            ("includeRefundedAndOptout", "true"),
            ("calculateCreditValue", "false"),
        ],
        None,
    )
    assert_json_headers(api.calls[0].request)
    assert stats.date_from == date(2024, 4, 1)
    assert stats.grand_total.delivered == 2
    assert stats.showing_credit_value is True
    assert stats.users[0].user.user_id == 7
    assert stats.users[0].campaigns[0].campaign == "otp"


def test_get_statistics_without_filters(api, client):
    api.get(API + "account/statistics", json={"users": []})
    assert client.get_statistics().users == []
    assert wire(api.calls[0])[2] == []


def test_get_statistics_refuses_naive_datetimes(api, client):
    with pytest.raises(ValueError, match="date_from must be a timezone-aware datetime"):
        client.get_statistics(date_from=datetime(2024, 4, 1))
    assert len(api.calls) == 0


def test_transfer_credits(api, client):
    api.post(API + "account/transfer", json=USER)
    api.post(API + "account/transfer", status=201)
    user = client.transfer_credits(from_email="ops@example.com", to_email="sub@example.com", credits=10)
    assert wire(api.calls[0]) == (
        "POST",
        "account/transfer",
        [],
        {
            "transferFromEmailAddress": "ops@example.com",
            "transferToEmailAddress": "sub@example.com",
            "numberOfCreditsToTransfer": 10,
        },
    )
    assert_json_headers(api.calls[0].request)
    assert user.email_address == "sub@example.com"
    assert user.credit_balance == 12.5
    assert client.transfer_credits(from_email="a@example.com", to_email="b@example.com", credits=1) is None


def test_search_users(api, client):
    api.get(API + "account/user", json={"webServiceUserList": [USER]})
    users = client.search_users("sub@example.com")
    assert wire(api.calls[0]) == ("GET", "account/user", [("searchEmail", "sub@example.com")], None)
    assert [u.user_id for u in users] == [7]


def test_create_user(api, client):
    api.put(API + "account/user", json=USER)
    user = client.create_user(
        email_address="sub@example.com",
        first_name="Sipho",
        last_name="Dlamini",
        contact_number="+27821234567",
        password="pa55word",
    )
    assert wire(api.calls[0]) == (
        "PUT",
        "account/user",
        [],
        {
            "emailAddress": "sub@example.com",
            "firstName": "Sipho",
            "lastName": "Dlamini",
            "contactNumber": "+27821234567",
            "password": "pa55word",
        },
    )
    assert_json_headers(api.calls[0].request)
    assert user.user_id == 7
    assert "password" not in user.raw


def test_create_user_without_a_body_looks_the_user_up(api, client):
    api.put(API + "account/user", status=201)
    api.get(
        API + "account/user",
        json={"webServiceUserList": [{**USER, "emailAddress": "other@example.com"}, USER]},
    )
    user = client.create_user(
        email_address="SUB@example.com",
        first_name="S",
        last_name="D",
        contact_number="1",
        password="p",
        company="Acme",
    )
    assert user.user_id == 7
    assert wire(api.calls[0])[3]["company"] == "Acme"
    assert wire(api.calls[1])[2] == [("searchEmail", "SUB@example.com")]


def test_create_user_not_found_afterwards_is_invalid_response(api, client):
    api.put(API + "account/user", status=201)
    api.get(API + "account/user", json={"webServiceUserList": []})
    with pytest.raises(InvalidResponseError, match="may or may not have been created") as info:
        client.create_user(
            email_address="sub@example.com", first_name="S", last_name="D", contact_number="1", password="p"
        )
    assert info.value.may_have_been_sent


def test_user_password_is_scrubbed_from_errors(api, client):
    api.put(API + "account/user", status=400, json={"message": "password pa55word is too weak"})
    with pytest.raises(InvalidRequestError) as info:
        client.create_user(
            email_address="sub@example.com",
            first_name="S",
            last_name="D",
            contact_number="1",
            password="pa55word",
        )
    assert "pa55word" not in str(info.value)
    assert info.value.provider_message == "password ******** is too weak"


def test_an_empty_password_is_not_a_secret_to_scrub(api, client):
    api.put(API + "account/user", status=400, json={"message": "password is required"})
    with pytest.raises(InvalidRequestError) as info:
        client.create_user(
            email_address="sub@example.com", first_name="S", last_name="D", contact_number="1", password=""
        )
    assert info.value.provider_message == "password is required"


def test_get_user(api, client):
    api.get(API + "account/user/7", json=USER)
    assert client.get_user(7).first_name == "Sipho"
    assert wire(api.calls[0]) == ("GET", "account/user/7", [], None)
    with pytest.raises(TypeError, match="user_id must be an int"):
        client.get_user("7")


def test_update_user(api, client):
    api.post(API + "account/user/7", json={**USER, "firstName": "Sip"})
    user = client.update_user(7, first_name="Sip", password="n3w")
    assert wire(api.calls[0]) == (
        "POST",
        "account/user/7",
        [],
        {"userId": 7, "firstName": "Sip", "password": "n3w"},
    )
    assert user.first_name == "Sip"


def test_update_user_without_a_body_reads_the_user_back(api, client):
    api.post(API + "account/user/7", status=201)
    api.get(API + "account/user/7", json=USER)
    assert client.update_user(7, contact_number="+27820000000", last_name="D").user_id == 7
    assert wire(api.calls[0])[3] == {"userId": 7, "lastName": "D", "contactNumber": "+27820000000"}


# --- operations: sms ----------------------------------------------------------------------------

MESSAGE_ID = "5d6f0c9a1b2c3d4e5f607182"


def test_send_sms(api, client):
    api.post(API + "sms/send", json={"messageId": MESSAGE_ID, "error": None})
    result = client.send_sms("+27821234567", "Your code is 4711")
    assert wire(api.calls[0]) == (
        "POST",
        "sms/send",
        [],
        {"recipientNumber": "+27821234567", "message": "Your code is 4711"},
    )
    assert_json_headers(api.calls[0].request)
    assert result.message_id == MESSAGE_ID
    assert result.error is None
    assert result.ok


def test_send_sms_scheduled_with_all_options(api, client):
    api.post(API + "sms/send", json={"messageId": MESSAGE_ID, "error": None})
    client.send_sms(
        "+27821234567",
        "Reminder",
        date_to_send=datetime(2024, 5, 1, 7, 0, 30, tzinfo=UTC),
        campaign="reminders",
        data_field="ref-1",
    )
    assert wire(api.calls[0])[3] == {
        "recipientNumber": "+27821234567",
        "message": "Reminder",
        "dateToSend": "202405010900",  # 07:00 UTC is 09:00 in South Africa
        "campaign": "reminders",
        "dataField": "ref-1",
    }


def test_send_sms_in_another_api_time_zone(api):
    api.post(API + "sms/send", json={"messageId": "m", "error": None})
    make_client(timezone="Europe/London").send_sms(
        "+27821234567", "Hi", date_to_send=datetime(2024, 7, 1, 9, 0, tzinfo=SAST)
    )
    assert wire(api.calls[0])[3]["dateToSend"] == "202407010800"  # BST


def test_send_sms_refuses_a_naive_date_to_send(api, client):
    with pytest.raises(ValueError, match="date_to_send must be a timezone-aware datetime"):
        client.send_sms("+27821234567", "Hi", date_to_send=datetime(2024, 5, 1, 9, 0))
    assert len(api.calls) == 0


def test_send_sms_provider_error_in_the_body(api, client):
    api.post(API + "sms/send", json={"messageId": None, "error": "Insufficient credits"})
    result = client.send_sms("+27821234567", "Hi")
    assert (result.message_id, result.error, result.ok) == (None, "Insufficient credits", False)


def test_send_sms_with_an_empty_answer_may_have_been_sent(api, client):
    api.post(API + "sms/send", status=201)
    with pytest.raises(InvalidResponseError) as info:
        client.send_sms("+27821234567", "Hi")
    assert info.value.may_have_been_sent
    assert info.value.status == 201


def test_send_bulk(api, client):

    api.post(
        API + "sms/send-bulk",
        json={
            "sendSmsResponses": [{"messageId": "m1", "error": None}, {"messageId": None, "error": "Invalid"}]
        },
    )
    results = client.send_bulk(
        [
            SmsRequest("+27821234567", "One", data_field="b-1"),
            SmsRequest("+27829999999", "Two", date_to_send=datetime(2024, 5, 1, 8, tzinfo=UTC), campaign="c"),
        ],
        default_date_to_send=datetime(2024, 5, 1, 7, tzinfo=UTC),
        messages_per_minute=60,
    )
    assert wire(api.calls[0]) == (
        "POST",
        "sms/send-bulk",
        [],
        {
            "sendSmsRequests": [
                {"recipientNumber": "+27821234567", "message": "One", "dataField": "b-1"},
                {
                    "recipientNumber": "+27829999999",
                    "message": "Two",
                    "dateToSend": "202405011000",
                    "campaign": "c",
                },
            ],
            "defaultDateToSend": "202405010900",
            "messagesPerMinute": 60,
        },
    )
    assert_json_headers(api.calls[0].request)
    assert [(r.message_id, r.error) for r in results] == [("m1", None), (None, "Invalid")]


def test_send_bulk_result_count_must_match(api, client):

    api.post(API + "sms/send-bulk", json={"sendSmsResponses": [{"messageId": "m1"}]})
    with pytest.raises(InvalidResponseError, match="1 results for 2 requests"):
        client.send_bulk([SmsRequest("1", "a"), SmsRequest("2", "b")])


def test_send_bulk_checks_its_input(api, client):
    with pytest.raises(ValueError, match="at least one"):
        client.send_bulk([])
    with pytest.raises(TypeError, match="SmsRequest items, not dict"):
        client.send_bulk([{"recipientNumber": "1", "message": "a"}])
    assert len(api.calls) == 0


@pytest.mark.parametrize(
    "body", [MESSAGE_ID, f'"{MESSAGE_ID}"', f" {MESSAGE_ID}\n", f'{{"messageId": "{MESSAGE_ID}"}}']
)
def test_send_sms_url_parameters(api, client, body):
    api.post(API + "sms/send-url-parameters", body=body, content_type="text/plain")
    message_id = client.send_sms_url_parameters(
        "+27821234567",
        "Hi there",
        date_to_send=datetime(2024, 5, 1, 7, tzinfo=UTC),
        campaign="c",
        data_field="d",
    )
    assert message_id == MESSAGE_ID
    assert wire(api.calls[0]) == (
        "POST",
        "sms/send-url-parameters",
        [
            ("recipientNumber", "+27821234567"),
            ("message", "Hi there"),
            ("dateToSend", "202405010900"),
            ("campaign", "c"),
            ("dataField", "d"),
        ],
        None,
    )
    assert_json_headers(api.calls[0].request)


def test_send_sms_url_parameters_empty_answer_is_invalid(api, client):
    api.post(API + "sms/send-url-parameters", body="")
    with pytest.raises(InvalidResponseError, match="no message id"):
        client.send_sms_url_parameters("+27821234567", "Hi")


def test_send_sms_url_uses_only_the_url_token_and_hides_it(api, client, caplog):
    url_token = "url/t0ken+x"
    api.post(API + "sms/send-url/url%2Ft0ken%2Bx", body=MESSAGE_ID)
    api.post(API + "sms/send-url/url%2Ft0ken%2Bx", status=400, json={"message": f"bad token {url_token}"})
    with caplog.at_level(logging.DEBUG, logger="django_zoomconnect.client"):
        assert client.send_sms_url(url_token, "+27821234567", "Hi", campaign="c") == MESSAGE_ID
        with pytest.raises(InvalidRequestError) as info:
            client.send_sms_url(url_token, "+27821234567", "Hi")
    request = api.calls[0].request
    assert urlsplit(request.url).path == "/app/api/rest/v1/sms/send-url/url%2Ft0ken%2Bx"
    assert parse_qsl(urlsplit(request.url).query) == [
        ("recipientNumber", "+27821234567"),
        ("message", "Hi"),
        ("campaign", "c"),
    ]
    assert "token" not in request.headers
    assert "email" not in request.headers
    assert str(info.value) == "Zoom Connect refused POST sms/send-url/******** (400): bad token ********"
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "sms/send-url/******** -> 200" in logged
    assert "t0ken" not in logged
    with pytest.raises(ValueError, match="URL sending token"):
        client.send_sms_url("", "+27821234567", "Hi")


def test_send_examples(api, client):
    api.get(API + "sms/send", json={"recipientNumber": "27000000000", "message": "example"})
    api.get(API + "sms/send-bulk", json={"sendSmsRequests": [], "messagesPerMinute": 0})
    assert client.get_send_sms_example() == {"recipientNumber": "27000000000", "message": "example"}
    assert client.get_send_bulk_example()["messagesPerMinute"] == 0
    assert wire(api.calls[0])[:2] == ("GET", "sms/send")
    assert wire(api.calls[1])[:2] == ("GET", "sms/send-bulk")


# --- operations: contacts -----------------------------------------------------------------------

CONTACT = {
    "contactId": "c-100",
    "title": "Ms",
    "firstName": "Thandi",
    "lastName": "Nkosi",
    "contactNumber": "+27821234567",
    "links": [],
}


def test_list_contacts(api, client):
    api.get(API + "contacts/all", json={"webServiceContacts": [CONTACT, {**CONTACT, "contactId": "c-101"}]})
    contacts = client.list_contacts()
    assert wire(api.calls[0]) == ("GET", "contacts/all", [], None)
    assert [c.contact_id for c in contacts] == ["c-100", "c-101"]
    assert contacts[0].first_name == "Thandi"


def test_list_contacts_accepts_a_bare_array_and_null(api, client):
    api.get(API + "contacts/all", json=[CONTACT])
    api.get(API + "contacts/all", json={"webServiceContacts": None})
    api.get(API + "contacts/all", body="")
    assert [c.contact_id for c in client.list_contacts()] == ["c-100"]
    assert client.list_contacts() == []
    with pytest.raises(InvalidResponseError):
        client.list_contacts()


def test_create_contact(api, client):
    api.post(API + "contacts/create", status=201, json=CONTACT)
    contact = client.create_contact(
        contact_number="+27821234567", first_name="Thandi", last_name="Nkosi", title="Ms"
    )
    assert wire(api.calls[0]) == (
        "POST",
        "contacts/create",
        [],
        {"title": "Ms", "firstName": "Thandi", "lastName": "Nkosi", "contactNumber": "+27821234567"},
    )
    assert_json_headers(api.calls[0].request)
    assert contact.contact_id == "c-100"


def test_create_contact_minimal(api, client):
    api.post(API + "contacts/create", json=CONTACT)
    client.create_contact(contact_number="+27821234567")
    assert wire(api.calls[0])[3] == {"contactNumber": "+27821234567"}


def test_get_contact_quotes_the_id(api, client):
    api.get(API + "contacts/a%2F..%2Fb", json=CONTACT)
    assert client.get_contact("a/../b").last_name == "Nkosi"
    with pytest.raises(ValueError, match="must not be empty"):
        client.get_contact("")


def test_update_contact(api, client):
    api.post(API + "contacts/c-100", json={**CONTACT, "firstName": "Thandiwe"})
    contact = client.update_contact("c-100", first_name="Thandiwe")
    assert wire(api.calls[0]) == (
        "POST",
        "contacts/c-100",
        [],
        {"contactId": "c-100", "firstName": "Thandiwe"},
    )
    assert contact.first_name == "Thandiwe"


def test_update_contact_without_a_body_reads_it_back(api, client):
    api.post(API + "contacts/c-100", status=201)
    api.get(API + "contacts/c-100", json=CONTACT)
    contact = client.update_contact("c-100", contact_number="+27820000000", last_name="N", title="Dr")
    assert wire(api.calls[0])[3] == {
        "contactId": "c-100",
        "title": "Dr",
        "lastName": "N",
        "contactNumber": "+27820000000",
    }
    assert wire(api.calls[1])[:2] == ("GET", "contacts/c-100")
    assert contact.contact_id == "c-100"


@pytest.mark.parametrize("status", [200, 204])
def test_delete_contact(api, client, status):
    api.delete(API + "contacts/c-100", status=status)
    assert client.delete_contact("c-100") is None
    assert wire(api.calls[0]) == ("DELETE", "contacts/c-100", [], None)
    assert_json_headers(api.calls[0].request)


@pytest.mark.parametrize(
    ("method_name", "args", "path"),
    [
        ("add_contact_to_group", ("c-100", "g-1"), "contacts/c-100/addToGroup/g-1"),
        ("remove_contact_from_group", ("c-100", "g-1"), "contacts/c-100/addFromGroup/g-1"),
        ("group_add_contact", ("g-1", "c-100"), "groups/g-1/addContact/c-100"),
        ("group_remove_contact", ("g-1", "c-100"), "groups/g-1/removeContact/c-100"),
    ],
)
def test_group_membership_operations(api, client, method_name, args, path):
    api.post(API + path, body="")
    assert getattr(client, method_name)(*args) is None
    assert wire(api.calls[0]) == ("POST", path, [], None)
    assert_json_headers(api.calls[0].request)


def test_remove_contact_from_group_says_it_removes():
    doc = ZoomConnectClient.remove_contact_from_group.__doc__
    assert "REMOVE" in doc
    assert "addFromGroup" in doc


# --- operations: groups -------------------------------------------------------------------------


def test_list_groups(api, client):
    api.get(
        API + "groups/all", json={"webServiceGroups": [{"groupId": "g-1", "name": "Customers", "links": []}]}
    )
    groups = client.list_groups()
    assert wire(api.calls[0]) == ("GET", "groups/all", [], None)
    assert [(g.group_id, g.name) for g in groups] == [("g-1", "Customers")]


def test_create_group(api, client):
    api.post(API + "groups/create", json={"groupId": "g-1", "name": "Customers"})
    group = client.create_group("Customers")
    assert wire(api.calls[0]) == ("POST", "groups/create", [], {"name": "Customers"})
    assert_json_headers(api.calls[0].request)
    assert group.group_id == "g-1"


def test_get_group(api, client):
    api.get(API + "groups/g-1", json={"groupId": "g-1", "name": "Customers"})
    assert client.get_group("g-1").name == "Customers"
    assert wire(api.calls[0]) == ("GET", "groups/g-1", [], None)


def test_update_group(api, client):
    api.post(API + "groups/g-1", json={"groupId": "g-1", "name": "VIP"})
    api.post(API + "groups/g-1", status=201)
    api.get(API + "groups/g-1", json={"groupId": "g-1", "name": "VIP2"})
    assert client.update_group("g-1", name="VIP").name == "VIP"
    assert wire(api.calls[0]) == ("POST", "groups/g-1", [], {"groupId": "g-1", "name": "VIP"})
    assert client.update_group("g-1", name="VIP2").name == "VIP2"
    assert wire(api.calls[2])[:2] == ("GET", "groups/g-1")


def test_delete_group(api, client):
    api.delete(API + "groups/g-1", status=204)
    client.delete_group("g-1")
    assert wire(api.calls[0]) == ("DELETE", "groups/g-1", [], None)


# --- operations: messages -----------------------------------------------------------------------


def message(message_id, **extra):
    return {
        "messageId": message_id,
        "messageType": "INBOUND",
        "messageStatus": "RECEIVED",
        "fromNumber": "+27821234567",
        "toNumber": "+27820000000",
        "message": "Yes ",
        "campaign": "reminders",
        "userDataField": "ref-1",
        "creditCost": 0.0,
        "numberOfMessages": 1,
        "dateTimeReceived": "2024-05-01T09:01:00+02:00",
        "read": False,
        "deleted": False,
        "contact": {"contactId": "c-100"},
        "repliedToMessage": {"messageId": MESSAGE_ID},
        **extra,
    }


def page(messages, number, total_pages, size=2):
    return {
        "elements": len(messages),
        "page": number,
        "pageSize": size,
        "totalElements": 5,
        "totalPages": total_pages,
        "webServiceMessages": messages,
    }


def test_list_messages_with_every_filter(api, client):
    api.get(API + "messages/all", json=page([message("a" * 24)], 2, 3))
    result = client.list_messages(
        page=2,
        page_size=50,
        type="INBOUND",
        status="DELIVERED",
        sent_from=date(2024, 5, 1),
        sent_to=datetime(2024, 5, 31, 22, 30, tzinfo=UTC),  # 1 June in South Africa
        received_from=date(2024, 4, 1),
        received_to=date(2024, 4, 30),
        from_number="+27821234567",
        to_number="+27820000000",
        message="Yes",
        campaign="reminders",
        data_field="ref-1",
        deleted=False,
        read=True,
        replies_to_message_id=MESSAGE_ID,
    )
    assert wire(api.calls[0]) == (
        "GET",
        "messages/all",
        [
            ("page", "2"),
            ("pageSize", "50"),
            ("type", "INBOUND"),
            ("status", "DELIVERED"),
            ("fromDateTimeSent", "20240501"),
            ("toDateTimeSent", "20240601"),
            ("fromDateTimeReceived", "20240401"),
            ("toDateTimeReceived", "20240430"),
            ("fromNumber", "+27821234567"),
            ("toNumber", "+27820000000"),
            ("message", "Yes"),
            ("campaign", "reminders"),
            ("dataField", "ref-1"),
            ("deleted", "false"),
            ("read", "true"),
            ("repliesToMessageId", MESSAGE_ID),
        ],
        None,
    )
    assert_json_headers(api.calls[0].request)
    assert (result.page, result.page_size, result.total_pages, result.total_elements) == (2, 2, 3, 5)
    received = result.messages[0]
    assert received.message == "Yes "
    assert received.received_at == datetime(2024, 5, 1, 7, 1, tzinfo=UTC)
    assert received.replied_to_message_id == MESSAGE_ID
    assert received.data_field == "ref-1"


def test_list_messages_defaults(api, client):
    api.get(API + "messages/all", json=page([], 1, 0))
    assert client.list_messages().messages == []
    assert wire(api.calls[0])[2] == [("page", "1"), ("pageSize", "100")]


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"page": 0}, ValueError, "page counts from 1"),
        ({"page_size": 0}, ValueError, "page_size must be a positive int"),
        ({"page": True}, ValueError, "page counts from 1"),
        ({"colour": "red"}, TypeError, "unknown message filter"),
        ({"sent_from": datetime(2024, 5, 1)}, ValueError, "sent_from must be a timezone-aware"),
    ],
)
def test_list_messages_checks_its_arguments(api, client, kwargs, error, text):
    with pytest.raises(error, match=text):
        client.list_messages(**kwargs)
    assert len(api.calls) == 0


def test_iter_messages_walks_pages_lazily(api, client):
    api.get(API + "messages/all", json=page([message("m1"), message("m2")], 1, 3))
    api.get(API + "messages/all", json=page([message("m2"), message("m3")], 2, 3))  # m2 shifted over
    api.get(API + "messages/all", json=page([message("m4")], 3, 3))
    walk = client.iter_messages(page_size=2, campaign="reminders")
    assert len(api.calls) == 0
    assert next(walk).message_id == "m1"
    assert len(api.calls) == 1
    assert [m.message_id for m in walk] == ["m2", "m3", "m4"]
    assert [wire(c)[2] for c in api.calls] == [
        [("page", str(n)), ("pageSize", "2"), ("campaign", "reminders")] for n in (1, 2, 3)
    ]


def test_iter_messages_without_total_pages_stops_on_a_short_page(api, client):
    first = page([message("m1"), message(None), message("m2")], 1, None, size=3)
    second = page([message("m3")], 2, None, size=3)
    api.get(API + "messages/all", json=first)
    api.get(API + "messages/all", json=second)
    assert [m.message_id for m in client.iter_messages(page_size=3)] == ["m1", None, "m2", "m3"]
    full = page([message("m1"), message("m2"), message("m3")], 1, None, size=3)
    api.get(API + "messages/all", json=full)
    api.get(API + "messages/all", json=full)  # a server ignoring "page": nothing new ends the walk
    assert [m.message_id for m in client.iter_messages(page_size=3)] == ["m1", "m2", "m3"]
    api.get(API + "messages/all", json=page([], 1, None))
    assert list(client.iter_messages()) == []


def test_iter_messages_checks_its_arguments_at_once(api, client):
    with pytest.raises(TypeError, match="unknown message filter"):
        client.iter_messages(colour="red")


def test_get_message(api, client):
    api.get(
        API + f"messages/{MESSAGE_ID}",
        json=message(MESSAGE_ID, messageType="OUTBOUND", dateTimeSent=1714546800000),
    )
    result = client.get_message(MESSAGE_ID)
    assert wire(api.calls[0]) == ("GET", f"messages/{MESSAGE_ID}", [], None)
    assert result.message_type == "OUTBOUND"
    assert result.sent_at == datetime(2024, 5, 1, 7, 0, tzinfo=UTC)


def test_delete_message(api, client):
    api.delete(API + f"messages/{MESSAGE_ID}", status=204)
    assert client.delete_message(MESSAGE_ID) is None
    assert wire(api.calls[0]) == ("DELETE", f"messages/{MESSAGE_ID}", [], None)


@pytest.mark.parametrize(
    ("method_name", "action"), [("mark_read", "markRead"), ("mark_unread", "markUnread")]
)
def test_mark_read_and_unread(api, client, method_name, action):
    api.post(API + f"messages/{MESSAGE_ID}/{action}", json=message(MESSAGE_ID, read=action == "markRead"))
    api.post(API + f"messages/{MESSAGE_ID}/{action}", status=201)
    result = getattr(client, method_name)(MESSAGE_ID)
    assert wire(api.calls[0]) == ("POST", f"messages/{MESSAGE_ID}/{action}", [], None)
    assert_json_headers(api.calls[0].request)
    assert result.read is (action == "markRead")
    assert getattr(client, method_name)(MESSAGE_ID) is None


def test_a_message_with_an_unreadable_date_is_an_invalid_response(api, client):
    api.get(API + "messages/m1", json=message("m1", dateTimeSent="last tuesday"))
    with pytest.raises(InvalidResponseError, match="'last tuesday' is not a date and time"):
        client.get_message("m1")


# --- operations: analyse ------------------------------------------------------------------------


def test_analyse_message(api, client):
    api.post(
        API + "messages/analyse/full",
        json={
            "messageLength": 17,
            "numberOfMessages": 1,
            "messageEncoding": "GSM7",
            "messageCreditCost": 1.0,
            "messageLengthWithinMaximumAllowed": True,
            "characterAnalysis": [],
        },
    )
    analysis = client.analyse_message("Your code is 4711", "+27821234567")
    assert wire(api.calls[0]) == (
        "POST",
        "messages/analyse/full",
        [],
        {"message": "Your code is 4711", "recipientNumber": "+27821234567"},
    )
    assert_json_headers(api.calls[0].request)
    assert (analysis.message_length, analysis.number_of_messages, analysis.message_encoding) == (
        17,
        1,
        "GSM7",
    )
    assert (analysis.message_credit_cost, analysis.within_max_length) == (1.0, True)


@pytest.mark.parametrize(
    ("method_name", "operation", "body", "expected"),
    [
        ("message_credit_cost", "message-credit-cost", "2", 2.0),
        ("message_credit_cost", "message-credit-cost", "1.5", 1.5),
        ("message_credit_cost", "message-credit-cost", '"3"', 3.0),
        ("message_credit_cost", "message-credit-cost", '{"messageCreditCost": 4}', 4.0),
        ("message_encoding", "message-encoding", '"GSM7"', "GSM7"),
        ("message_encoding", "message-encoding", "UCS2", "UCS2"),
        ("message_encoding", "message-encoding", '{"messageEncoding": "GSM7"}', "GSM7"),
        ("message_length", "message-length", "17", 17),
        ("message_length", "message-length", '"17"', 17),
        ("message_within_max_length", "message-length-within-max-allowed", "true", True),
        ("message_within_max_length", "message-length-within-max-allowed", "false", False),
        ("message_within_max_length", "message-length-within-max-allowed", '"TRUE"', True),
        ("number_of_messages", "number-of-messages", "2", 2),
        ("number_of_messages", "number-of-messages", '{"numberOfMessages": 3}', 3),
    ],
)
def test_analyse_scalars_are_read_leniently(api, client, method_name, operation, body, expected):
    api.post(API + f"messages/analyse/{operation}", body=body)
    assert getattr(client, method_name)("Hello") == expected
    assert wire(api.calls[0]) == ("POST", f"messages/analyse/{operation}", [], {"message": "Hello"})


@pytest.mark.parametrize("body", ["", "[1]", '{"other": 1}', "many", "null"])
def test_analyse_scalars_refuse_what_they_cannot_read(api, client, body):
    api.post(API + "messages/analyse/number-of-messages", body=body)
    with pytest.raises(InvalidResponseError):
        client.number_of_messages("Hello", "+27821234567")
    assert wire(api.calls[0])[3] == {"message": "Hello", "recipientNumber": "+27821234567"}


# --- operations: templates ----------------------------------------------------------------------


def test_list_templates(api, client):
    api.get(
        API + "templates/all",
        json={"webServiceTemplates": [{"templateId": 12, "name": "Welcome", "data": "Welcome to {shop}"}]},
    )
    templates = client.list_templates()
    assert wire(api.calls[0]) == ("GET", "templates/all", [], None)
    assert [(t.template_id, t.name, t.data) for t in templates] == [(12, "Welcome", "Welcome to {shop}")]


def test_get_template(api, client):
    api.get(API + "templates/12", json={"templateId": 12, "name": "Welcome", "data": "Hi"})
    assert client.get_template(12).data == "Hi"
    assert wire(api.calls[0]) == ("GET", "templates/12", [], None)
    with pytest.raises(TypeError, match="template_id must be an int"):
        client.get_template("12")


def test_delete_template(api, client):
    api.delete(API + "templates/12")
    client.delete_template(12)
    assert wire(api.calls[0]) == ("DELETE", "templates/12", [], None)


# --- operations: voice (beta) -------------------------------------------------------------------

VOICE = {
    "voiceMessageId": "v-1",
    "messageStatus": "SENT",
    "toNumber": "+27821234567",
    "message": "Hello",
    "language": "en",
    "campaign": "c",
    "userDataField": "d",
    "dateTimeSent": "202405010900",
    "deleted": False,
}


def test_list_voice_messages(api, client):
    api.get(API + "voice/all", json={"messages": [VOICE], "page": 1, "pageSize": 10, "totalPages": 1})
    result = client.list_voice_messages(
        page_size=10,
        status="SENT",
        sent_from=date(2024, 5, 1),
        sent_to=date(2024, 5, 2),
        to_number="+27821234567",
        message="Hello",
        campaign="c",
        data_field="d",
        deleted=False,
    )
    assert wire(api.calls[0]) == (
        "GET",
        "voice/all",
        [
            ("page", "1"),
            ("pageSize", "10"),
            ("status", "SENT"),
            ("fromDateTimeSent", "20240501"),
            ("toDateTimeSent", "20240502"),
            ("toNumber", "+27821234567"),
            ("message", "Hello"),
            ("campaign", "c"),
            ("dataField", "d"),
            ("deleted", "false"),
        ],
        None,
    )
    assert result.messages[0].sent_at == datetime(2024, 5, 1, 7, tzinfo=UTC)


def test_send_voice_text(api, client):
    api.post(API + "voice/single-text", json={"voiceMessageId": "v-1", "error": None})
    result = client.send_voice_text(
        "+27821234567",
        "Your code is 4 7 1 1",
        language="en",
        campaign="c",
        data_field="d",
        retry_count=2,
        retry_minimum_interval=5,
        retry_maximum_interval=10,
    )
    assert wire(api.calls[0]) == (
        "POST",
        "voice/single-text",
        [],
        {
            "recipientNumber": "+27821234567",
            "message": "Your code is 4 7 1 1",
            "language": "en",
            "campaign": "c",
            "dataField": "d",
            "retryCount": 2,
            "retryMinimumInterval": 5,
            "retryMaximumInterval": 10,
        },
    )
    assert result.ok


@pytest.mark.parametrize(("filename", "kind"), [("message.mp3", "audio/mpeg"), ("hello.WAV", "audio/wav")])
def test_send_voice_audio_is_a_multipart_upload(api, client, filename, kind):
    api.post(API + "voice/single-audio", json={"voiceMessageId": "v-2", "error": None})
    result = client.send_voice_audio(
        "+27821234567", b"ID3-audio", filename=filename, campaign="c", retry_count=1
    )
    request = api.calls[0].request
    parts = urlsplit(request.url)
    assert (request.method, parts.path) == ("POST", "/app/api/rest/v1/voice/single-audio")
    assert parse_qsl(parts.query) == [
        ("recipientNumber", "+27821234567"),
        ("campaign", "c"),
        ("retryCount", "1"),
    ]
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert request.headers["Accept"] == "application/json"
    assert request.headers["token"] == TOKEN
    assert f'name="file"; filename="{filename}"'.encode() in request.body
    assert f"Content-Type: {kind}".encode() in request.body
    assert b"ID3-audio" in request.body
    assert result.voice_message_id == "v-2"


def test_get_and_delete_voice_message(api, client):
    api.get(API + "voice/v-1", json=VOICE)
    api.delete(API + "voice/v-1", status=204)
    assert client.get_voice_message("v-1").language == "en"
    client.delete_voice_message("v-1")
    assert [wire(c)[:2] for c in api.calls] == [("GET", "voice/v-1"), ("DELETE", "voice/v-1")]


# --- success statuses: creates and deletes answered 200, 201 or 204 ---------------------------------

SUB_ACCOUNT = {
    "email_address": "sub@example.com",
    "first_name": "Sipho",
    "last_name": "Dlamini",
    "contact_number": "+27821234567",
    "password": "pa55word",
}
CREATES = [
    ("create_contact", {"contact_number": "+27821234567"}, "post", "contacts/create", CONTACT, "contact_id"),
    (
        "create_group",
        {"name": "Customers"},
        "post",
        "groups/create",
        {"groupId": "g-1", "name": "C"},
        "group_id",
    ),
    ("create_user", SUB_ACCOUNT, "put", "account/user", USER, "user_id"),
]


@pytest.mark.parametrize("status", [200, 201])
@pytest.mark.parametrize(("method_name", "kwargs", "verb", "path", "answer", "attribute"), CREATES)
def test_creates_accept_200_and_201_with_the_resource(
    api, client, method_name, kwargs, verb, path, answer, attribute, status
):
    getattr(api, verb)(API + path, status=status, json=answer)
    created = getattr(client, method_name)(**kwargs)
    assert getattr(created, attribute) is not None


@pytest.mark.parametrize(("method_name", "kwargs", "verb", "path", "answer", "attribute"), CREATES[:2])
def test_a_create_answered_204_succeeded_but_names_no_id(
    api, client, method_name, kwargs, verb, path, answer, attribute
):
    # Not a refusal: the resource may well exist now; without its id the client cannot say more.
    getattr(api, verb)(API + path, status=204)
    with pytest.raises(InvalidResponseError) as info:
        getattr(client, method_name)(**kwargs)
    assert info.value.status == 204
    assert info.value.may_have_been_sent


def test_a_user_create_answered_204_is_looked_up(api, client):
    api.put(API + "account/user", status=204)
    api.get(API + "account/user", json={"webServiceUserList": [USER]})
    assert client.create_user(**SUB_ACCOUNT).user_id == 7


@pytest.mark.parametrize("status", [200, 201, 204])
@pytest.mark.parametrize(
    ("method_name", "argument", "path"),
    [
        ("delete_contact", "c-100", "contacts/c-100"),
        ("delete_group", "g-1", "groups/g-1"),
        ("delete_message", MESSAGE_ID, f"messages/{MESSAGE_ID}"),
        ("delete_template", 3, "templates/3"),
        ("delete_voice_message", "v-1", "voice/v-1"),
    ],
)
def test_deletes_accept_200_201_and_204(api, client, method_name, argument, path, status):
    api.delete(API + path, status=status, body="")
    assert getattr(client, method_name)(argument) is None
    assert wire(api.calls[0])[:2] == ("DELETE", path)
