"""The :class:`Simulator` facade: one object that the server, the adapter and tests all drive.

Everything a transport needs is :meth:`Simulator.handle`; everything a test needs (time,
balance, inbound messages, faults, webhooks, what was received) is a method here, mirrored over
HTTP under ``/_simulator/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from .api import RecordedRequest, SimulatorResponse
from .faults import TransportFault
from .state import Clock

__all__ = ["Clock", "RecordedRequest", "Simulator", "SimulatorResponse", "TransportFault"]

#: The account the simulator answers for unless told otherwise: well-known, not secret.
DEFAULT_EMAIL = "simulator@example.com"
DEFAULT_TOKEN = "simulator-token"  # noqa: S105 (a published test credential)
DEFAULT_SECRET = "simulator-secret"  # noqa: S105 (a published test credential)

#: ``poster(url, query_params, form_params) -> HTTP status``; raising means the attempt failed.
WebhookPoster = Callable[[str, dict[str, str], dict[str, str]], int]
StartResponse = Callable[..., Any]


class Simulator:
    """A fake Zoom Connect account that answers the REST API like the provider would."""

    def __init__(
        self,
        *,
        email: str = DEFAULT_EMAIL,
        token: str = DEFAULT_TOKEN,
        secret: str | None = DEFAULT_SECRET,
        reply_url: str | None = None,
        delivery_report_url: str | None = None,
        timezone: str = "Africa/Johannesburg",
        balance: float = 1000.0,
        clock: Clock | None = None,
        send_delay: float = 1.0,
        delivery_delay: float = 2.0,
        reply_delay: float = 1.0,
        webhook_signing: Literal["raw", "form"] = "raw",
        webhook_params_in: Literal["body", "query", "both"] = "body",
        webhook_poster: WebhookPoster | None = None,
        date_format: Literal["epoch", "iso"] = "epoch",
        seed_templates: bool = True,
        control: bool = True,
        webhook_max_attempts: int = 5,
        webhook_backoff: float = 1.0,
        fault_seed: int = 0,
    ) -> None:
        self.clock = clock if clock is not None else Clock()
        self.control = control

    def handle(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> SimulatorResponse:
        body_out = b'{"status": "NOT_IMPLEMENTED", "code": 501, "message": "being written"}'
        return SimulatorResponse(
            501,
            [("Content-Type", "application/json;charset=UTF-8"), ("Content-Length", str(len(body_out)))],
            body_out,
        )

    def wsgi_app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raise NotImplementedError

    def simulate_inbound(
        self,
        from_number: str,
        message: str,
        *,
        to_number: str | None = None,
        reply_to_message_id: str | None = None,
    ) -> str:
        raise NotImplementedError

    def set_balance(self, credits: float) -> None:
        raise NotImplementedError

    def seed_template(self, name: str, data: str, template_id: int | None = None) -> int:
        raise NotImplementedError

    def advance(self, seconds: float) -> None:
        raise NotImplementedError

    def tick(self) -> None:
        raise NotImplementedError

    def inject_fault(
        self,
        kind: str,
        *,
        count: int = 1,
        method: str | None = None,
        path: str | None = None,
        rate: float | None = None,
        retry_after: int | None = None,
        seconds: float | None = None,
        after_processing: bool = False,
    ) -> None:
        raise NotImplementedError

    def flush_webhooks(self) -> int:
        raise NotImplementedError

    def start_background(self, interval: float = 0.1) -> None:
        raise NotImplementedError

    def stop_background(self) -> None:
        raise NotImplementedError

    def counters(self) -> Mapping[str, int]:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError
