"""``python -m django_zoomconnect.simulator``: serve a simulated Zoom Connect API on loopback.

The argument parsing and the run loop live here as functions so that the management command
``zoomconnect_simulator`` is the same program with Django around it. No Django settings are
needed to run this module. A bad option or a port it cannot listen on is one line on stderr and
exit status 2 or 1, never a traceback (the argument types are the commands' own,
:mod:`django_zoomconnect.management.arguments`).
"""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from ..management.arguments import (
    OneLineParser,
    http_url,
    non_empty,
    non_negative_float,
    one_line_error,
    port,
    time_zone,
)
from .server import ServedSimulator, SimulatorServer

__all__ = ["CannotStart", "add_arguments", "build_simulator", "main", "run", "settings_snippet"]

PROG = "python -m django_zoomconnect.simulator"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


class _Writer(Protocol):
    def write(self, text: str, /) -> Any: ...


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's options to ``parser`` (shared by the CLI and the management command)."""
    where = parser.add_argument_group("where it listens")
    where.add_argument(
        "--host", type=non_empty, default=DEFAULT_HOST, help="address to listen on (default: %(default)s)"
    )
    where.add_argument(
        "--port", type=port, default=DEFAULT_PORT, help="port, 0 for any free one (default: %(default)s)"
    )
    where.add_argument(
        "--no-control",
        dest="control",
        action="store_false",
        help="do not answer the control API under /_simulator/",
    )
    where.add_argument("--log-requests", action="store_true", help="print one line per request received")

    account = parser.add_argument_group("the simulated account")
    account.add_argument("--email", type=non_empty, default=None, help="account email accepted by the API")
    account.add_argument("--token", type=non_empty, default=None, help="API token accepted by the API")
    account.add_argument(
        "--secret", default=None, help='webhook secret used to sign webhooks ("": unsigned webhooks)'
    )
    account.add_argument("--balance", type=non_negative_float, default=None, help="starting credit balance")
    account.add_argument(
        "--timezone",
        type=time_zone,
        default=None,
        help="the provider's time zone (default: Africa/Johannesburg)",
    )
    account.add_argument(
        "--no-templates",
        dest="seed_templates",
        action="store_false",
        help="start without the seeded message templates",
    )
    account.add_argument(
        "--date-format",
        choices=("epoch", "iso"),
        default=None,
        help="how dates are written in JSON answers (default: epoch milliseconds)",
    )
    account.add_argument(
        "--default-format",
        choices=("xml", "json", "406"),
        default=None,
        help="the answer to a request naming no format (no Accept header, no .json or .xml "
        "suffix): XML like the provider, JSON, or 406 (default: xml)",
    )
    account.add_argument(
        "--success-statuses",
        choices=("200", "201/204"),
        default=None,
        help="how creates and deletes answer: 200 like the provider, or 201 and 204 (default: 200)",
    )

    timing = parser.add_argument_group("message lifecycle (seconds)")
    for option, meaning in (
        ("--send-delay", "SCHEDULED/accepted to SENT"),
        ("--delivery-delay", "SENT to DELIVERED or FAILED"),
        ("--reply-delay", "delivery to the auto-reply"),
    ):
        timing.add_argument(option, type=non_negative_float, default=None, help=meaning)

    hooks = parser.add_argument_group("webhooks")
    hooks.add_argument("--reply-url", type=http_url, default=None, help="where inbound replies are POSTed")
    hooks.add_argument(
        "--delivery-report-url", type=http_url, default=None, help="where delivery reports are POSTed"
    )
    hooks.add_argument(
        "--webhook-signing",
        choices=("raw", "form"),
        default=None,
        help="how the checksum is computed (default: raw)",
    )
    hooks.add_argument(
        "--webhook-params-in",
        choices=("body", "query", "both"),
        default=None,
        help="where webhook parameters travel (default: body)",
    )
    hooks.add_argument(
        "--nonce-date-digits",
        choices=("14", "16", "mixed"),
        default=None,
        help="nonce-date as yyyyMMddHHmmss, with two more digits as in the provider's examples, "
        "or every second event with them (default: mixed)",
    )


#: Option name -> Simulator keyword, for the options that are passed through when given.
_SIMULATOR_OPTIONS = {
    "email": "email",
    "token": "token",
    "secret": "secret",
    "balance": "balance",
    "timezone": "timezone",
    "seed_templates": "seed_templates",
    "date_format": "date_format",
    "default_format": "default_format",
    "success_statuses": "success_statuses",
    "nonce_date_digits": "nonce_date_digits",
    "send_delay": "send_delay",
    "delivery_delay": "delivery_delay",
    "reply_delay": "reply_delay",
    "reply_url": "reply_url",
    "delivery_report_url": "delivery_report_url",
    "webhook_signing": "webhook_signing",
    "webhook_params_in": "webhook_params_in",
    "control": "control",
}


class CannotStart(Exception):
    """The simulator cannot start as asked (an option it refuses, a port it cannot listen on);
    the message is one line for the person who asked."""


def build_simulator(options: Mapping[str, Any]) -> ServedSimulator:
    """A simulator configured from parsed options; unset ones keep the :class:`Simulator`'s
    defaults. (A :class:`ServedSimulator`: a refusal armed over the control API then reaches
    clients holding a keep-alive connection.)"""
    kwargs = {
        keyword: options[name]
        for name, keyword in _SIMULATOR_OPTIONS.items()
        if options.get(name) is not None
    }
    return ServedSimulator(**kwargs)


def settings_snippet(base_url: str, email: str, token: str, secret: str | None) -> str:
    """The ``ZOOMCONNECT`` setting that points a project at a running simulator."""
    lines = [
        "ZOOMCONNECT = {",
        f'    "BASE_URL": "{base_url}",',
        f'    "EMAIL": "{email}",',
        f'    "API_TOKEN": "{token}",',
    ]
    if secret:
        lines.append(f'    "WEBHOOK_SECRET": "{secret}",')
    lines.append("}")
    return "\n".join(lines)


def _describe(server: SimulatorServer, options: Mapping[str, Any]) -> str:
    email = options.get("email") or "simulator@example.com"
    token = options.get("token") or "simulator-token"
    secret = options.get("secret") if options.get("secret") is not None else "simulator-secret"
    control = server.control_url if options.get("control", True) else "disabled (--no-control)"
    reply = options.get("reply_url") or "not sent (no --reply-url)"
    report = options.get("delivery_report_url") or "not sent (no --delivery-report-url)"
    return "\n".join(
        [
            f"Zoom Connect simulator listening on {server.url}",
            f"  control API:      {control}",
            f"  email:            {email}",
            f"  API token:        {token}",
            f"  webhook secret:   {secret or '(none: webhooks are not signed)'}",
            f"  replies to:       {reply}",
            f"  reports to:       {report}",
            "",
            "Point your project at it (settings.py):",
            "",
            settings_snippet(server.url, email, token, secret),
            "",
            "Press Ctrl-C to stop.",
            "",
        ]
    )


def run(
    options: Mapping[str, Any],
    out: _Writer,
    *,
    ready: Callable[[SimulatorServer], None] | None = None,
) -> int:
    """Serve until Ctrl-C (or SIGTERM); ``ready`` is called once it listens (for tests).

    Raises :class:`CannotStart` when an option is refused or the address cannot be listened on.
    """
    try:
        simulator = build_simulator(options)
    except ValueError as exc:
        raise CannotStart(f"The simulator refused an option: {exc}.") from exc
    host = options.get("host") or DEFAULT_HOST
    server = SimulatorServer(simulator, host=host, port=options["port"])
    request_log = logging.getLogger("django_zoomconnect.simulator.server")
    lines, level = _Lines(out), request_log.level
    if options.get("log_requests"):
        request_log.addHandler(lines)
        request_log.setLevel(logging.DEBUG)
    previous = previous_int = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _interrupt)
        # Ctrl-C must stop the server even when this process was started with SIGINT ignored
        # (a background job of a non-interactive shell, nohup): Python then leaves it ignored.
        previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _listen(server, f"{host}:{options['port']}")
        out.write(_describe(server, options))
        flush = getattr(out, "flush", None)
        if flush is not None:
            flush()
        if ready is not None:
            ready(server)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        request_log.removeHandler(lines)
        request_log.setLevel(level)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if previous_int is not None:
            signal.signal(signal.SIGINT, previous_int)
    out.write("Simulator stopped.\n")
    return 0


def _listen(server: SimulatorServer, where: str) -> None:
    try:
        server.start()
    except (OSError, OverflowError) as exc:
        raise CannotStart(f"Could not listen on {where}: {_why_not(exc)}.") from exc


def _why_not(exc: BaseException) -> str:
    """Why a socket could not listen, in words that say what to do."""
    if isinstance(exc, socket.gaierror):
        return "the host name is not known; use --host 127.0.0.1"
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return "the port is in use (is a simulator already running?); choose another --port, or --port 0"
    if isinstance(exc, OSError) and exc.errno == errno.EADDRNOTAVAIL:
        return "that address is not one of this machine's; use --host 127.0.0.1"
    if isinstance(exc, OSError) and exc.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges); choose a --port above 1023"
    return " ".join(str(getattr(exc, "strerror", None) or exc).split())


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class _Lines(logging.Handler):
    """Request log lines, written where the banner went."""

    def __init__(self, out: _Writer) -> None:
        super().__init__(logging.DEBUG)
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        self.out.write(self.format(record) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(
        prog=PROG,
        description="Serve a simulated Zoom Connect SMS API (REST, webhooks, faults) for "
        "development and tests. Never use it to reach real phones: nothing is ever sent.",
    )
    add_arguments(parser)
    options = vars(parser.parse_args(argv))
    try:
        return run(options, sys.stdout)
    except CannotStart as exc:
        sys.stderr.write(one_line_error(PROG, str(exc)))
        return 1


if __name__ == "__main__":
    sys.exit(main())
