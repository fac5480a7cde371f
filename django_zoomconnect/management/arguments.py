"""Argument types of the ``zoomconnect_*`` commands and the simulator's command line, and one-line errors.

Each ``type=`` function turns the text typed into a value or raises
:class:`argparse.ArgumentTypeError` with a sentence that says what to type instead; argparse then
reports ``prog: error: argument --since: 'yesterday' is not a date ...`` and exits with status 2.
:class:`OneLineParser` (and the commands' parser, :mod:`..management.base`) print that one line
without the usage block, so that a mistake is one line, never a traceback. Standard library
only: ``python -m django_zoomconnect.simulator`` uses them without Django.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import NoReturn
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .. import conf

__all__ = [
    "OneLineParser",
    "comma_separated",
    "day_count",
    "http_url",
    "iso_date",
    "iso_datetime",
    "non_empty",
    "non_negative_float",
    "one_line_error",
    "port",
    "positive_int",
    "time_zone",
]

MAX_PORT = 65535
#: A century: more days than anyone keeps webhook events for, fewer than the calendar has.
MAX_DAYS = 36500


def one_line_error(prog: str, message: str) -> str:
    """The line a parser prints for a bad argument: ``prog: error: message``, with its newline."""
    return f"{prog}: error: {' '.join(message.split())}\n"


class OneLineParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose errors are one line on stderr (no usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, one_line_error(self.prog, message))


def iso_date(value: str) -> date:
    """A date written ``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-01-31"
        ) from None


def iso_datetime(value: str) -> datetime:
    """A date and time in ISO 8601 (``2030-01-31T09:00``, ``…+02:00``, ``…Z``); without an offset
    it stays naive and the command decides its time zone."""
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 date and time: write it as 2030-01-31T09:00 "
            "(or with an offset, 2030-01-31T09:00+02:00)"
        ) from None


def _whole(value: str, minimum: int, maximum: int | None, what: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        number = None
    if number is None or number < minimum or (maximum is not None and number > maximum):
        raise argparse.ArgumentTypeError(f"{value!r} is not {what}")
    return number


def positive_int(value: str) -> int:
    """A whole number of 1 or more (a page size, an id)."""
    return _whole(value, 1, None, "a whole number of 1 or more")


def day_count(value: str) -> int:
    """A number of days, 0 to :data:`MAX_DAYS` (a date that far back still exists)."""
    return _whole(value, 0, MAX_DAYS, f"a number of days from 0 to {MAX_DAYS}")


def port(value: str) -> int:
    """A TCP port: 0 (any free one) to 65535."""
    return _whole(value, 0, MAX_PORT, f"a port: give a number from 1 to {MAX_PORT}, or 0 for any free port")


def non_negative_float(value: str) -> float:
    """A finite number of 0 or more (seconds, credits)."""
    try:
        number = float(value.strip())
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of 0 or more")
    return number


def time_zone(value: str) -> str:
    """An IANA time zone name that this machine knows (``Africa/Johannesburg``, ``UTC``)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a known time zone: give an IANA name such as Africa/Johannesburg or UTC"
        ) from None
    return value


def http_url(value: str) -> str:
    """An absolute ``http://`` or ``https://`` URL with a host."""
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a URL: give an http:// or https:// address, e.g. http://127.0.0.1:8000"
        )
    return value.strip()


def account_alias(value: str) -> str:
    """An account alias as ``ZOOMCONNECT["ACCOUNTS"]`` names them (whether it is configured is
    the settings' to say, with the closest configured one)."""
    value = value.strip()
    if not conf.ALIAS.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not an account alias (letters, digits, '_' or '-')")
    return value


def non_empty(value: str) -> str:
    """Any text but an empty one."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return value


def comma_separated(choices: Iterable[str]) -> Callable[[str], list[str]]:
    """A type for ``--kinds a,b``: the names given, each one of ``choices``, in the order given."""
    known = tuple(choices)

    def parse(value: str) -> list[str]:
        names = [name.strip() for name in value.split(",") if name.strip()]
        unknown = [name for name in names if name not in known]
        if unknown or not names:
            got = f"unknown {', '.join(map(repr, unknown))}" if unknown else "nothing given"
            raise argparse.ArgumentTypeError(f"choose among {', '.join(known)} ({got})")
        return list(dict.fromkeys(names))

    return parse
