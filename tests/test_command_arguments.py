"""Tests for management/arguments.py: the argument types every command and the simulator's CLI share."""

from __future__ import annotations

import argparse
from datetime import date, datetime, timedelta, timezone

import pytest

from django_zoomconnect.management import arguments


@pytest.mark.parametrize(
    ("parse", "text", "value"),
    [
        (arguments.iso_date, "2026-01-31", date(2026, 1, 31)),
        (arguments.iso_date, " 2026-01-31 ", date(2026, 1, 31)),
        (arguments.iso_datetime, "2030-01-31T09:00", datetime(2030, 1, 31, 9, 0)),
        (
            arguments.iso_datetime,
            "2030-01-31T09:00+02:00",
            datetime(2030, 1, 31, 9, 0, tzinfo=timezone(timedelta(hours=2))),
        ),
        (arguments.positive_int, "500", 500),
        (arguments.day_count, "0", 0),
        (arguments.day_count, "36500", 36500),
        (arguments.port, "0", 0),
        (arguments.port, "65535", 65535),
        (arguments.non_negative_float, "0", 0.0),
        (arguments.non_negative_float, "2.5", 2.5),
        (arguments.time_zone, "Africa/Johannesburg", "Africa/Johannesburg"),
        (arguments.time_zone, "UTC", "UTC"),
        (arguments.http_url, "http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        (arguments.http_url, "https://example.com/hooks/", "https://example.com/hooks/"),
        (arguments.non_empty, "tok", "tok"),
        (arguments.comma_separated(("a", "b", "c")), "c, a,,a", ["c", "a"]),
    ],
)
def test_good_values_are_read(parse, text, value):
    assert parse(text) == value


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (arguments.iso_date, "yesterday", "'yesterday' is not a date: write it as YYYY-MM-DD"),
        (arguments.iso_date, "31/01/2026", "is not a date"),
        (arguments.iso_datetime, "tomorrow", "'tomorrow' is not an ISO 8601 date and time"),
        (arguments.positive_int, "0", "'0' is not a whole number of 1 or more"),
        (arguments.positive_int, "-3", "'-3' is not a whole number of 1 or more"),
        (arguments.positive_int, "1.5", "'1.5' is not a whole number"),
        (arguments.day_count, "-1", "'-1' is not a number of days from 0 to 36500"),
        (arguments.day_count, "99999999", "'99999999' is not a number of days from 0 to 36500"),
        (arguments.port, "-5", "'-5' is not a port: give a number from 1 to 65535, or 0"),
        (arguments.port, "70000", "'70000' is not a port"),
        (arguments.port, "http", "'http' is not a port"),
        (arguments.non_negative_float, "-1", "'-1' is not a number of 0 or more"),
        (arguments.non_negative_float, "abc", "'abc' is not a number"),
        (arguments.non_negative_float, "nan", "'nan' is not a number"),
        (arguments.non_negative_float, "inf", "'inf' is not a number"),
        (arguments.time_zone, "Mars/Base", "'Mars/Base' is not a known time zone: give an IANA name"),
        (arguments.time_zone, "../etc", "is not a known time zone"),
        (arguments.http_url, "notaurl", "'notaurl' is not a URL: give an http:// or https:// address"),
        (arguments.http_url, "localhost:8000", "is not a URL"),
        (arguments.http_url, "ftp://example.com", "is not a URL"),
        (arguments.http_url, "http://host:99999", "is not a URL"),
        (arguments.non_empty, "  ", "must not be empty"),
        (arguments.comma_separated(("a", "b")), "a,x", "choose among a, b (unknown 'x')"),
        (arguments.comma_separated(("a", "b")), ",", "choose among a, b (nothing given)"),
    ],
)
def test_bad_values_are_refused_with_what_to_type(parse, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(text)


def test_a_parser_error_is_one_line_without_the_usage(capsys):
    parser = arguments.OneLineParser(prog="prog")
    parser.add_argument("--since", type=arguments.iso_date)
    parser.add_argument("--mode", choices=("a", "b"))
    for argv in (["--since", "yesterday"], ["--mode", "c"], ["--bogus"]):
        with pytest.raises(SystemExit) as exited:
            parser.parse_args(argv)
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert err.startswith("prog: error: ")
        assert "usage" not in err
    with pytest.raises(SystemExit):
        parser.parse_args(["--since", "yesterday"])
    assert capsys.readouterr().err == (
        "prog: error: argument --since: 'yesterday' is not a date: write it as YYYY-MM-DD, e.g. 2026-01-31\n"
    )
