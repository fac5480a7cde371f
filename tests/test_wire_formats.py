"""Tests for wire_formats.py: the wire formats of dates and the lenient readers."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from django_zoomconnect.wire_formats import (
    format_date,
    format_datetime,
    parse_date,
    parse_datetime,
    read_bool,
    read_float,
    read_int,
    read_list,
    read_object,
    read_str,
)

SAST = ZoneInfo("Africa/Johannesburg")
WHEN_UTC = datetime(2014, 4, 28, 19, 49, tzinfo=UTC)  # 21:49 in South Africa

# --- parse_datetime ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        1398714540000,  # epoch milliseconds, as a JSON number
        "1398714540000",  # ... and as a string
        1398714540000.0,
        "201404282149",  # yyyyMMddHHmm, naive: South African time
        "20140428214900",  # yyyyMMddHHmmss
        "2014-04-28 21:49:00",  # yyyy-MM-dd HH:mm:ss
        "2014-04-28T21:49:00",  # ISO 8601 without an offset
        "2014-04-28T21:49:00+02:00",
        "2014-04-28T21:49:00.000+0200",
        "2014-04-28T19:49:00Z",
        " 201404282149 ",
    ],
)
def test_parse_datetime_accepts_every_known_format(value):
    parsed = parse_datetime(value, SAST)
    assert parsed == WHEN_UTC
    assert parsed.tzinfo is UTC


def test_parse_datetime_naive_values_are_in_the_given_zone():
    assert parse_datetime("201404282149", UTC) == datetime(2014, 4, 28, 21, 49, tzinfo=UTC)
    assert parse_datetime("20140428", SAST) == datetime(2014, 4, 27, 22, 0, tzinfo=UTC)


def test_parse_datetime_epoch_keeps_milliseconds_exact():
    assert parse_datetime(1398714540123, SAST) == WHEN_UTC + timedelta(milliseconds=123)
    assert parse_datetime("-1000", SAST) == datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert parse_datetime("1398714540123.0", SAST) == WHEN_UTC + timedelta(milliseconds=123)


def test_parse_datetime_12_digits_that_are_no_date_are_epoch_milliseconds():
    # 999999999999 is not a valid yyyyMMddHHmm (month 99), so it is read as milliseconds.
    assert parse_datetime("999999999999", SAST) == datetime(2001, 9, 9, 1, 46, 39, 999000, tzinfo=UTC)


@pytest.mark.parametrize("value", [None, ""])
def test_parse_datetime_missing_is_none(value):
    assert parse_datetime(value, SAST) is None


@pytest.mark.parametrize("value", ["yesterday", True, [2014], {"at": 1}, "2014-13-45T00:00", 10**20])
def test_parse_datetime_refuses_what_it_cannot_read(value):
    with pytest.raises(ValueError, match="date"):
        parse_datetime(value, SAST)


def test_parse_date_forms():
    assert parse_date("28-04-2014", SAST) == date(2014, 4, 28)
    assert parse_date("2014-04-28", SAST) == date(2014, 4, 28)
    assert parse_date("20140428", SAST) == date(2014, 4, 28)
    # With a time of day the date is taken in the API zone: 23:30 UTC is the next day in SAST.
    assert parse_date("2014-04-28T23:30:00Z", SAST) == date(2014, 4, 29)
    assert parse_date(1398714540000, SAST) == date(2014, 4, 28)
    assert parse_date(None, SAST) is None
    with pytest.raises(ValueError, match="date"):
        parse_date("someday", SAST)


# --- format_datetime / format_date -------------------------------------------------------------


def test_format_datetime_converts_to_the_api_zone_and_drops_seconds():
    assert format_datetime(datetime(2014, 4, 28, 19, 49, 59, tzinfo=UTC), SAST) == "201404282149"
    assert format_datetime(datetime(2014, 4, 28, 21, 49, tzinfo=SAST), SAST) == "201404282149"
    new_york = datetime(2014, 4, 28, 15, 49, tzinfo=ZoneInfo("America/New_York"))  # EDT, UTC-4
    assert format_datetime(new_york, SAST) == "201404282149"


def test_format_datetime_refuses_naive_datetimes():
    with pytest.raises(ValueError, match=r"date_to_send must be a timezone-aware datetime"):
        format_datetime(datetime(2014, 4, 28, 21, 49), SAST)
    with pytest.raises(ValueError, match=r"^when must be"):
        format_datetime(datetime(2014, 4, 28, 21, 49), SAST, what="when")


def test_format_date():
    assert format_date(date(2014, 4, 28), SAST, "%d-%m-%Y") == "28-04-2014"
    assert format_date(datetime(2014, 4, 28, 23, 0, tzinfo=UTC), SAST, "%Y%m%d") == "20140429"
    with pytest.raises(ValueError, match="sent_from must be a timezone-aware"):
        format_date(datetime(2014, 4, 28), SAST, "%Y%m%d", what="sent_from")
    with pytest.raises(TypeError, match="must be a date"):
        format_date("2014-04-28", SAST, "%Y%m%d")


# --- lenient readers ---------------------------------------------------------------------------


def test_readers_accept_strings_for_numbers_and_booleans():
    assert read_int("42") == 42
    assert read_int(42.0) == 42
    assert read_int(None) is None
    assert read_float("2.5") == 2.5
    assert read_float(3) == 3.0
    assert read_float("") is None
    assert read_bool("TRUE") is True
    assert read_bool("false") is False
    assert read_bool(0) is False
    assert read_bool(None) is None
    assert read_str(12) == "12"
    assert read_str(None) is None
    assert read_list(None, "x") == []


@pytest.mark.parametrize(
    ("reader", "value"),
    [
        (read_int, "4.5"),
        (read_int, 4.5),
        (read_int, True),
        (read_int, [1]),
        (read_float, "many"),
        (read_float, False),
        (read_float, {}),
        (read_bool, "yes"),
        (read_bool, 2),
        (read_str, True),
        (read_str, {"a": 1}),
    ],
)
def test_readers_refuse_the_wrong_type(reader, value):
    with pytest.raises(ValueError, match="not"):
        reader(value)


def test_read_object_and_read_list_refuse_other_types():
    with pytest.raises(ValueError, match="JSON object"):
        read_object([1], "a contact")
    with pytest.raises(ValueError, match="JSON array"):
        read_list({"a": 1}, "messages")


@pytest.mark.parametrize(
    "value",
    ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "000101010000", "00010101000000", "00010101"],
)
def test_a_date_outside_the_utc_range_is_a_value_error_not_an_overflow(value):
    # Year 1 east of UTC (and Africa/Johannesburg is east) is before year 1 in UTC.
    with pytest.raises(ValueError, match="out of range"):
        parse_datetime(value, SAST)
