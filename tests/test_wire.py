"""Tests for wire.py: the result dataclasses and the inputs of the REST client."""

import dataclasses
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from django_zoomconnect.wire import (
    AccountStatistics,
    Contact,
    Group,
    Message,
    MessageAnalysis,
    MessagePage,
    SendResult,
    SmsRequest,
    Template,
    User,
    VoiceMessage,
    VoiceMessagePage,
    VoiceSendResult,
)

SAST = ZoneInfo("Africa/Johannesburg")
WHEN_UTC = datetime(2014, 4, 28, 19, 49, tzinfo=UTC)  # 21:49 in South Africa


# --- results -----------------------------------------------------------------------------------

MESSAGE = {
    "messageId": "5d6f0c9a1b2c3d4e5f607182",
    "messageType": "OUTBOUND",
    "messageStatus": "DELIVERED",
    "fromNumber": "+27820000000",
    "toNumber": "+27821234567",
    "message": "Your code is 4711",
    "campaign": "otp",
    "userDataField": "ref-42",
    "creditCost": 1.0,
    "numberOfMessages": 1,
    "dateTimeScheduled": None,
    "dateTimeSent": 1398714540000,
    "dateTimeReceived": "201404282150",
    "read": False,
    "deleted": "false",
    "contact": {"contactId": "c-1", "links": []},
    "repliedToMessage": {"messageId": "5d6f0c9a1b2c3d4e5f600000"},
    "links": [{"rel": "self", "href": "https://example.invalid/"}],
    "somethingNew": "ignored",
}


def test_message_from_api_reads_every_field():
    message = Message.from_api(MESSAGE, SAST)
    assert message.message_id == "5d6f0c9a1b2c3d4e5f607182"
    assert message.message_type == "OUTBOUND"
    assert message.status == "DELIVERED"
    assert (message.from_number, message.to_number) == ("+27820000000", "+27821234567")
    assert message.message == "Your code is 4711"
    assert message.campaign == "otp"
    assert message.data_field == "ref-42"
    assert message.credit_cost == 1.0
    assert message.number_of_messages == 1
    assert message.scheduled_at is None
    assert message.sent_at == WHEN_UTC
    assert message.received_at == WHEN_UTC + timedelta(minutes=1)
    assert message.read is False
    assert message.deleted is False
    assert message.contact_id == "c-1"
    assert message.replied_to_message_id == "5d6f0c9a1b2c3d4e5f600000"
    assert message.raw == MESSAGE


def test_message_missing_fields_are_none_and_bare_link_ids_are_accepted():
    message = Message.from_api({"messageId": "m", "dataField": "d", "contact": "c-9"}, SAST)
    assert message.data_field == "d"
    assert message.contact_id == "c-9"
    assert message.status is None
    assert message.sent_at is None
    assert message.replied_to_message_id is None


def test_results_are_frozen_and_raw_stays_out_of_repr_and_equality():
    one = Contact.from_api({"contactId": "c", "firstName": "Thandi", "links": [1]})
    two = Contact.from_api({"contactId": "c", "firstName": "Thandi"})
    assert one == two
    assert "links" not in repr(one)
    assert "Thandi" in repr(one)
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.first_name = "x"


def test_message_page_requires_its_list():
    page = MessagePage.from_api(
        {
            "elements": 1,
            "page": 2,
            "pageSize": 1,
            "totalElements": 3,
            "totalPages": 3,
            "webServiceMessages": [MESSAGE],
        },
        SAST,
    )
    assert (page.elements, page.page, page.page_size, page.total_elements, page.total_pages) == (
        1,
        2,
        1,
        3,
        3,
    )
    assert [m.message_id for m in page.messages] == [MESSAGE["messageId"]]
    assert MessagePage.from_api({"webServiceMessages": None}, SAST).messages == []
    with pytest.raises(ValueError, match="webServiceMessages"):
        MessagePage.from_api({"elements": 0}, SAST)


def test_user_never_keeps_a_password():
    user = User.from_api(
        {
            "userId": 7,
            "emailAddress": "sub@example.com",
            "firstName": "Sipho",
            "lastName": "Dlamini",
            "contactNumber": "+27821234567",
            "company": "Acme",
            "creditBalance": 12.5,
            "password": "hunter2",
        }
    )
    assert (user.user_id, user.email_address, user.credit_balance, user.company) == (
        7,
        "sub@example.com",
        12.5,
        "Acme",
    )
    assert "password" not in user.raw
    assert "hunter2" not in repr(user)


def test_account_statistics_nested_and_without_passwords():
    stats = AccountStatistics.from_api(
        {
            "from": "01-04-2024",
            "to": "30-04-2024",
            "showingCreditValue": False,
            "grandTotal": {
                "sent": 10,
                "delivered": 8,
                "failed": 1,
                "failedRefunded": 1,
                "failedOptout": 0,
                "total": 10,
            },
            "users": [
                {
                    "user": {"userId": 1, "emailAddress": "ops@example.com", "password": "x"},
                    "total": {"total": 10},
                    "campaigns": [{"campaign": "otp", "statistics": {"sent": 4}}, {"campaign": None}],
                }
            ],
        },
        SAST,
    )
    assert (stats.date_from, stats.date_to) == (date(2024, 4, 1), date(2024, 4, 30))
    assert stats.showing_credit_value is False
    assert stats.grand_total is not None
    assert (stats.grand_total.delivered, stats.grand_total.failed_refunded, stats.grand_total.total) == (
        8,
        1,
        10,
    )
    assert stats.users[0].user.email_address == "ops@example.com"
    assert stats.users[0].total.total == 10
    assert stats.users[0].campaigns[0].campaign == "otp"
    assert stats.users[0].campaigns[0].statistics.sent == 4
    assert stats.users[0].campaigns[1].statistics is None
    assert "password" not in stats.raw["users"][0]["user"]
    empty = AccountStatistics.from_api({}, SAST)
    assert (empty.users, empty.grand_total, empty.date_from) == ([], None, None)


def test_small_results():
    assert Group.from_api({"groupId": "g1", "name": "Customers"}) == Group("g1", "Customers")
    assert Template.from_api({"templateId": "12", "name": "Welcome", "data": "Hi"}).template_id == 12
    analysis = MessageAnalysis.from_api(
        {
            "messageLength": 5,
            "numberOfMessages": 1,
            "messageEncoding": "GSM7",
            "messageCreditCost": 1.0,
            "messageLengthWithinMaximumAllowed": True,
            "characterAnalysis": [["H", "GSM7"]],
        }
    )
    assert analysis.within_max_length is True
    assert analysis.character_analysis == [["H", "GSM7"]]
    sent = SendResult.from_api({"messageId": "m1", "error": None})
    assert sent.ok
    assert not SendResult.from_api({"messageId": None, "error": "Invalid number"}).ok


def test_voice_results():
    voice = VoiceMessage.from_api(
        {
            "voiceMessageId": "v1",
            "messageStatus": "SENT",
            "toNumber": "+27821234567",
            "message": "Hello",
            "language": "en",
            "audioFileUrl": None,
            "campaign": "c",
            "userDataField": "d",
            "dateTimeSent": "201404282149",
            "deleted": False,
        },
        SAST,
    )
    assert (voice.voice_message_id, voice.data_field, voice.sent_at) == ("v1", "d", WHEN_UTC)
    page = VoiceMessagePage.from_api({"messages": [voice.raw], "totalPages": 1}, SAST)
    assert page.messages == [voice]
    with pytest.raises(ValueError, match="messages"):
        VoiceMessagePage.from_api({}, SAST)
    assert VoiceSendResult.from_api({"voiceMessageId": "v1"}).ok
    assert not VoiceSendResult.from_api({"error": "no"}).ok


def test_sms_request_to_api_leaves_out_absent_options():
    request = SmsRequest("+27821234567", "Hi")
    assert request.to_api(SAST) == {"recipientNumber": "+27821234567", "message": "Hi"}
    full = SmsRequest(
        "+27821234567",
        "Hi",
        date_to_send=datetime(2014, 4, 28, 19, 49, tzinfo=UTC),
        campaign="c",
        data_field="d",
    )
    assert full.to_api(SAST) == {
        "recipientNumber": "+27821234567",
        "message": "Hi",
        "dateToSend": "201404282149",
        "campaign": "c",
        "dataField": "d",
    }
    with pytest.raises(ValueError, match="timezone-aware"):
        SmsRequest("+27821234567", "Hi", date_to_send=datetime(2014, 4, 28)).to_api(SAST)
