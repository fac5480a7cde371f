"""Tests for events.py: normalized webhook events that keep their raw parameters."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from django_zoomconnect.events import DeliveryReport, InboundReply, event_from_params, parse_nonce_date

SAST = ZoneInfo("Africa/Johannesburg")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20140516100501", datetime(2014, 5, 16, 8, 5, 1, tzinfo=UTC)),
        ("2014051610050102", datetime(2014, 5, 16, 8, 5, 1, tzinfo=UTC)),  # the PDF's extra digits
        ("201405161005", None),
        ("20141316100501", None),
        ("2014051610050a", None),
        (" 20140516100501", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_nonce_date(value, expected):
    assert parse_nonce_date(value, SAST) == expected


def test_delivery_report_from_params():
    params = {
        "messageId": "R1",
        "status": " delivered ",
        "dataField": "cli:1691,app:13478,",
        "nonce": "n",
        "nonce-date": "20300101000000",
        "checksum": "abc",
    }
    report = event_from_params("report", params, SAST, event_id=7)
    assert isinstance(report, DeliveryReport)
    assert report.kind == "report"
    assert (report.message_id, report.status, report.campaign, report.data_field) == (
        "R1",
        "DELIVERED",
        "",
        "cli:1691,app:13478,",
    )
    assert report.nonce_date == datetime(2029, 12, 31, 22, 0, tzinfo=UTC)
    assert report.event_id == 7
    assert report.params == params
    params["status"] = "changed"
    assert report.params["status"] == " delivered "  # a copy, and read-only
    with pytest.raises(TypeError):
        report.params["status"] = "x"  # type: ignore[index]
    assert "checksum" not in repr(report)


def test_inbound_reply_keeps_values_exactly():
    params = {
        "messageId": "IN1",
        "repliedToMessageId": "R1",
        "from": "27821234567",
        "to": "INF-WnV8e3c2tsHTQKDb",
        "message": "Yes ",
        "date": "201405161005",
    }
    reply = event_from_params("reply", params, SAST)
    assert isinstance(reply, InboundReply)
    assert reply.kind == "reply"
    assert (reply.from_number, reply.to_number, reply.text) == ("27821234567", "INF-WnV8e3c2tsHTQKDb", "Yes ")
    assert reply.replied_to_message_id == "R1"
    assert reply.date == datetime(2014, 5, 16, 8, 5, tzinfo=UTC)
    assert reply.nonce == ""
    assert reply.nonce_date is None
    assert event_from_params("reply", {"date": "not a date"}, SAST).date is None


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown webhook kind"):
        event_from_params("other", {}, SAST)


@pytest.mark.parametrize("value", ["00010101000000", "0001010100000000"])
def test_a_nonce_date_before_year_1_in_utc_is_unreadable_not_an_overflow(value):
    assert parse_nonce_date(value, SAST) is None
    assert parse_nonce_date(value, UTC) == datetime(1, 1, 1, tzinfo=UTC)


def test_a_reply_dated_before_year_1_in_utc_has_no_date():
    reply = InboundReply.from_params({"date": "000101010000"}, SAST)
    assert reply.date is None
