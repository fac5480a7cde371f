"""What the ``zoomconnect_*`` commands share: one-line errors, ``--quiet`` and ``--json``, plain progress.

A command parses, calls a service and renders. Whatever goes wrong reaches the person as one
line on stderr and a non-zero exit: a bad argument is refused by the parser (no usage block, see
:mod:`.arguments`), and a failure the command cannot go on after (the provider unreachable, the
credentials refused, a setting missing or wrong, the database not migrated) becomes a
:class:`~django.core.management.base.CommandError` worded by :func:`describe_failure`, with a hint.
``--traceback`` still shows where it came from.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.core.management.base import BaseCommand, CommandError, OutputWrapper, SystemCheckError
from django.core.management.base import CommandParser as DjangoCommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError

from .. import conf
from ..exceptions import (
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    ConnectTimeoutError,
    ZoomConnectError,
)
from .arguments import one_line_error

__all__ = ["CommandParser", "PlainText", "ZoomConnectCommand", "describe_failure"]


class CommandParser(DjangoCommandParser):
    """Django's parser, except that from a shell a bad argument is one line, without the usage."""

    def error(self, message: str) -> Any:
        if self.called_from_command_line:
            self.exit(2, one_line_error(self.prog, message))
        return super().error(message)  # called from code: CommandError("Error: ...")


class PlainText:
    """Text for the terminal in its normal colour: written as given, not in the error style."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, style_func=_unstyled, ending="")

    def flush(self) -> None:
        self.out.flush()


def _unstyled(text: str) -> str:
    return text


class ZoomConnectCommand(BaseCommand):
    """The base of the ``zoomconnect_*`` commands.

    A subclass calls :meth:`add_output_options` to take ``--quiet`` and ``--json``, then renders
    with :meth:`say` (human text, left out by ``--quiet`` and ``--json``) and :meth:`print_json`.
    """

    #: Loggers whose warnings say what this command prints itself (a kind that failed, a push
    #: that stopped): they are held back unless ``--verbosity`` is 2 or more, so that the person
    #: reads each failure once.
    reported_loggers: Sequence[str] = ()

    quiet = False
    json_output = False

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> DjangoCommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = CommandParser  # same parser, one-line errors (Django names its class)
        _share_django_options(parser)
        return parser

    @staticmethod
    def add_account_option(parser: DjangoCommandParser, help_text: str) -> None:
        """``--account ALIAS``: an entry of ``ZOOMCONNECT["ACCOUNTS"]`` (an unknown one is a
        one-line error naming the closest configured alias)."""
        from .arguments import account_alias

        parser.add_argument("--account", type=account_alias, metavar="ALIAS", help=help_text)

    @staticmethod
    def add_output_options(parser: DjangoCommandParser) -> None:
        """``--quiet`` and ``--json``, on the command's parser or one of its subcommands'."""
        parser.add_argument(
            "-q", "--quiet", action="store_true", help="Print nothing but errors (as --verbosity 0)."
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print one JSON object on stdout, for scripts (errors still go to stderr).",
        )

    def execute(self, *args: Any, **options: Any) -> Any:
        self.quiet = bool(options.get("quiet")) or options.get("verbosity") == 0
        self.json_output = bool(options.get("json"))
        shown = () if options.get("verbosity", 1) >= 2 else self.reported_loggers
        try:
            with _held_back(shown):
                return super().execute(*args, **options)
        except (ConfigurationError, ZoomConnectError, DatabaseError) as exc:
            raise CommandError(describe_failure(exc)) from exc
        except KeyboardInterrupt:
            raise CommandError("Interrupted.", returncode=130) from None

    def check(self, *args: Any, **kwargs: Any) -> None:
        """Django's system checks before the command; from a shell, a failing one is one line
        (the first error with its id and hint, and how many more ``manage.py check`` lists)."""
        try:
            super().check(*args, **kwargs)
        except SystemCheckError:
            if not getattr(self, "_called_from_command_line", False):
                raise
            raise CommandError(_first_check_error()) from None

    def say(self, text: str) -> None:
        """A line for the person at the terminal (not with ``--quiet`` or ``--json``)."""
        if not (self.quiet or self.json_output):
            self.stdout.write(text)

    def print_json(self, data: Any) -> None:
        """The command's one JSON object, on stdout."""
        self.stdout.write(json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False))

    def progress_stream(self, *, wanted: bool = True) -> PlainText | None:
        """Where to draw progress: stderr in its normal colour, only on a terminal, not ``--quiet``."""
        if not wanted or self.quiet or not self.stderr.isatty():
            return None
        return PlainText(self.stderr)


#: Django's options of every command (``--settings``, ``-v``...), by their destination.
_DJANGO_OPTIONS = (
    "verbosity",
    "settings",
    "pythonpath",
    "traceback",
    "no_color",
    "force_color",
    "skip_checks",
)


def _share_django_options(parser: argparse.ArgumentParser) -> None:
    """Let Django's own options follow a subcommand too (``zoomconnect_team list --settings x``):
    each subcommand's parser takes them, and leaves the command's value when they are not given."""
    common = [action for action in parser._actions if action.dest in _DJANGO_OPTIONS]
    for group in parser._actions:
        if not isinstance(group, argparse._SubParsersAction):
            continue
        for sub in dict.fromkeys(group.choices.values()):  # an alias names the same parser twice
            taken = {option for action in sub._actions for option in action.option_strings}
            for action in common:
                if not taken.intersection(action.option_strings):
                    shared = copy.copy(action)
                    shared.default, shared.help = argparse.SUPPRESS, argparse.SUPPRESS
                    sub._add_action(shared)


class _Shown(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno != logging.WARNING


@contextmanager
def _held_back(names: Sequence[str]) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in names]
    shown = _Shown()
    for logger in loggers:
        logger.addFilter(shown)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(shown)


def _first_check_error() -> str:
    """The system checks' first serious message, in one line: "<text> (<id>) <hint>"."""
    from django.core import checks

    serious = [
        message for message in checks.run_checks() if message.is_serious() and not message.is_silenced()
    ]
    if not serious:  # they passed on a second run: nothing to name
        return "The system checks failed: run manage.py check."
    first = serious[0]
    line = " ".join(f"{first.msg} ({first.id}) {first.hint or ''}".split())
    if len(serious) > 1:
        line += f" ({len(serious) - 1} more: run manage.py check.)"
    return line


def describe_failure(exc: BaseException) -> str:
    """One line for a failure a command stops at, with a hint where the cause is on our side."""
    if isinstance(exc, ConnectError | ConnectTimeoutError):
        return (
            f"Could not reach Zoom Connect at {_base_url()}: {_connect_reason(exc)}. "
            "Is BASE_URL right, and is the service up?"
        )
    if isinstance(exc, AuthenticationError):
        if exc.status == 403:
            return (
                "Zoom Connect refused access (403): check ZOOMCONNECT['EMAIL'] and ['API_TOKEN'], "
                "and that the account may use the API."
            )
        return "Zoom Connect refused the credentials (401): check ZOOMCONNECT['EMAIL'] and ['API_TOKEN']."
    text = " ".join(str(exc).split())
    if isinstance(exc, DatabaseError):
        return f"The database failed: {text}. Has manage.py migrate run, and is the database up?"
    return text


def _base_url() -> str:
    try:
        return conf.base_url()
    except ConfigurationError:
        return "BASE_URL"


#: Words of the low-level error -> what they mean, for "Could not reach Zoom Connect at …: …".
_CONNECT_REASONS = (
    ("refused", "connection refused"),
    ("name or service not known", "its host name is not known"),
    ("nodename nor servname", "its host name is not known"),
    ("name resolution", "its host name is not known"),
    ("getaddrinfo", "its host name is not known"),
    ("failed to resolve", "its host name is not known"),
    ("certificate", "its TLS certificate was not accepted"),
    ("ssl", "the TLS handshake failed"),
    ("proxy", "the proxy failed"),
    ("unreachable", "the network is unreachable"),
    ("no route", "the network is unreachable"),
)


def _connect_reason(exc: ZoomConnectError) -> str:
    if isinstance(exc, ConnectTimeoutError):
        return "no connection within the connect timeout"
    text = str(exc).lower()
    return next((reason for words, reason in _CONNECT_REASONS if words in text), "could not connect")
