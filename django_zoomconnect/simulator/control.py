"""The control API: ``/_simulator/…``, the :class:`Simulator`'s own methods over HTTP, JSON in and out.

For the live server and the CLI, where a test cannot call Python: time, balance, inbound
messages, faults, webhooks and records. No authentication; ``control=False`` switches it off.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .config import CONFIG_FIELDS
from .handlers.messages import filter_messages, message_json
from .handlers.templates import TEMPLATES
from .http import Request, SimulatorResponse, int_param, json_response, required_str, str_field

if TYPE_CHECKING:
    from .core import Simulator


def _number(body: Mapping[str, Any], name: str, default: float | None = None) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, not {value!r}")
    return float(value)


class ControlApi:
    """``/_simulator/…``: the Python control methods over HTTP, JSON in and out, no auth."""

    def __init__(self, simulator: Simulator) -> None:
        self.sim = simulator

    def _ok(self, payload: Any = None, status: int = 200) -> SimulatorResponse:
        return json_response(status, {"ok": True} if payload is None else payload)

    def c_state(self, request: Request) -> SimulatorResponse:
        """A summary: time, balance, counts of everything, the configuration."""
        return self._ok(self.sim.describe())

    def c_config(self, request: Request) -> SimulatorResponse:
        """The run-time configuration (webhook URLs, signing, delays, formats)."""
        return self._ok(self.sim.config())

    def c_configure(self, request: Request) -> SimulatorResponse:
        """Change the configuration: {replyUrl?, deliveryReportUrl?, secret?, sendDelay?, ...}."""
        body = request.json_object()
        options = {CONFIG_FIELDS[key]: value for key, value in body.items() if key in CONFIG_FIELDS}
        unknown = sorted(set(body) - set(CONFIG_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown config fields: {', '.join(unknown)}; known: {', '.join(CONFIG_FIELDS)}"
            )
        self.sim.configure(**options)
        return self._ok(self.sim.config())

    def c_inbound(self, request: Request) -> SimulatorResponse:
        """Receive an SMS from a phone: {from, message, to?, replyToMessageId?, link?}."""
        body = request.json_object()
        message_id = self.sim.simulate_inbound(
            required_str(body, "from"),
            required_str(body, "message"),
            to_number=str_field(body, "to"),
            reply_to_message_id=str_field(body, "replyToMessageId"),
            link=bool(body.get("link", True)),
        )
        return self._ok({"messageId": message_id}, 201)

    def c_balance(self, request: Request) -> SimulatorResponse:
        """The credit balance."""
        return self._ok({"creditBalance": self.sim.state.balance})

    def c_set_balance(self, request: Request) -> SimulatorResponse:
        """Set the credit balance: {credits}."""
        self.sim.set_balance(_number(request.json_object(), "credits"))
        return self.c_balance(request)

    def c_templates(self, request: Request) -> SimulatorResponse:
        """The message templates."""
        with self.sim.lock:
            templates = TEMPLATES.all_json(self.sim)
        return self._ok({"webServiceTemplates": templates})

    def c_seed_template(self, request: Request) -> SimulatorResponse:
        """Add a message template: {name, data, templateId?}."""
        body = request.json_object()
        template_id = body.get("templateId")
        if template_id is not None and (isinstance(template_id, bool) or not isinstance(template_id, int)):
            raise ValueError(f"templateId must be an integer, not {template_id!r}")
        new_id = self.sim.seed_template(required_str(body, "name"), required_str(body, "data"), template_id)
        return self._ok({"templateId": new_id}, 201)

    def c_clock(self, request: Request) -> SimulatorResponse:
        """The simulated time, and whether the clock is frozen."""
        clock = self.sim.clock
        return self._ok({"now": clock.now().isoformat(), "frozen": clock.frozen})

    def c_advance(self, request: Request) -> SimulatorResponse:
        """Move the simulated time forward: {seconds}."""
        self.sim.advance(_number(request.json_object(), "seconds"))
        return self.c_clock(request)

    def c_freeze(self, request: Request) -> SimulatorResponse:
        """Stop the clock, now or at {at} (ISO 8601)."""
        at = str_field(request.json_object(), "at")
        self.sim.clock.freeze(datetime.fromisoformat(at) if at else None)
        return self.c_clock(request)

    def c_unfreeze(self, request: Request) -> SimulatorResponse:
        """Let the clock run again."""
        self.sim.clock.unfreeze()
        return self.c_clock(request)

    def c_tick(self, request: Request) -> SimulatorResponse:
        """Apply the message transitions that are due."""
        self.sim.tick()
        return self.c_clock(request)

    def c_faults(self, request: Request) -> SimulatorResponse:
        """The armed faults."""
        with self.sim.lock:
            return self._ok({"faults": [rule.as_dict() for rule in self.sim.faults.rules]})

    def c_inject_fault(self, request: Request) -> SimulatorResponse:
        """Arm a fault: {kind, count?, method?, path?, rate?, retryAfter?, seconds?, ...}, or {seed}."""
        body = request.json_object()
        if "seed" in body:
            self.sim.seed_faults(int(body["seed"]))
        if "kind" in body:
            count = body.get("count", 1)
            rate = body.get("rate")
            retry_after = body.get("retryAfter")
            seconds = body.get("seconds")
            self.sim.inject_fault(
                str(body["kind"]),
                count=count,
                method=str_field(body, "method"),
                path=str_field(body, "path"),
                rate=None if rate is None else _number(body, "rate"),
                retry_after=None if retry_after is None else int(_number(body, "retryAfter")),
                seconds=None if seconds is None else _number(body, "seconds"),
                after_processing=bool(body.get("afterProcessing", False)),
            )
        return self.c_faults(request)

    def c_clear_faults(self, request: Request) -> SimulatorResponse:
        """Disarm every fault."""
        self.sim.clear_faults()
        return self.c_faults(request)

    def c_requests(self, request: Request) -> SimulatorResponse:
        """The REST requests received (?path=...&limit=N)."""
        query = request.query()
        recorded = self.sim.requests
        path = query.get("path")
        if path:
            recorded = [r for r in recorded if path in r.path]
        limit = int_param(query, "limit", len(recorded) or 1)
        return self._ok({"requests": [r.as_dict() for r in recorded[-limit:]]})

    def c_clear_requests(self, request: Request) -> SimulatorResponse:
        """Forget the requests received."""
        self.sim.clear_requests()
        return self._ok()

    def c_messages(self, request: Request) -> SimulatorResponse:
        """The messages, filtered as messages/all filters them."""
        sim = self.sim
        with sim.lock:
            sim.tick()
            found = filter_messages(sim, request.query())
            return self._ok({"messages": [message_json(sim, m) for m in found]})

    def c_webhooks(self, request: Request) -> SimulatorResponse:
        """The webhook deliveries attempted, and how many wait."""
        attempts = self.sim.webhook_attempts
        with self.sim.lock:
            pending = len(self.sim.webhooks.pending)
        return self._ok({"attempts": [a.as_dict() for a in attempts], "pending": pending})

    def c_flush_webhooks(self, request: Request) -> SimulatorResponse:
        """Deliver the pending webhooks now."""
        return self._ok({"attempts": self.sim.flush_webhooks()})

    def c_group_members(self, request: Request, group_id: str) -> SimulatorResponse:
        """The contact ids of a group (the REST API cannot list them)."""
        return self._ok({"contactIds": sorted(self.sim.state.group_members(group_id))})

    def c_counters(self, request: Request) -> SimulatorResponse:
        """Counts: sends accepted and refused, final statuses, inbound, faults, webhooks, dataFields."""
        return self._ok(dict(self.sim.counters()))

    def c_reset(self, request: Request) -> SimulatorResponse:
        """Empty the account and the records; keep the configuration and the clock."""
        self.sim.reset()
        return self._ok()
