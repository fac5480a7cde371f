"""The simulator's HTTP surface: one request in, one answer out, for every transport.

A REST request meets, in order: an injected fault, the state lock and the due transitions,
authentication, routing, content negotiation, its operation (``handlers/``), the XML rendering
and the request record. A control request (``/_simulator/…``) is routed to the control API.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .control import ControlApi
from .errors import ApiError
from .faults import HTTP_FAULTS, TransportFault, TransportKind
from .formats import negotiate, split_suffix
from .http import (
    RecordedRequest,
    Request,
    SimulatorResponse,
    authenticate,
    error_response,
    fault_response,
    method_not_allowed,
    not_found_response,
    render,
    unauthorized,
)
from .routes import CONTROL_PREFIX, REST_PREFIX, match_control, match_rest

if TYPE_CHECKING:
    from .core import Simulator


class HttpSurface:
    """Answers one request for a :class:`~django_zoomconnect.simulator.core.Simulator`."""

    def __init__(self, simulator: Simulator) -> None:
        self.sim = simulator
        self.state = simulator.state

    def handle(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> SimulatorResponse:
        if "?" in path and not query:
            path, _, query = path.partition("?")
        request = Request(method, path, query, headers, body)
        if path.startswith(CONTROL_PREFIX) or path == CONTROL_PREFIX.rstrip("/"):
            if not self.sim.control:
                return not_found_response(f"No resource at {path}")
            request.route = path[len(CONTROL_PREFIX) :].strip("/")
            return self._control(request)
        return self._rest(request)

    def _rest(self, request: Request) -> SimulatorResponse:
        sim = self.sim
        lock = self.state.lock
        suffix = split_suffix(request.path.rstrip("/"))[1]
        request.negotiation = negotiate(suffix, request.headers.get("accept"), sim.default_format)
        with lock:
            rule = sim.faults.take(request.method, request.path)
            if rule is not None:
                sim.state.counters["faults." + rule.kind] += 1
                if rule.kind == "refuse":
                    return SimulatorResponse(503, [("Content-Length", "0")], b"", TransportFault("refuse"))
                if rule.kind in HTTP_FAULTS and not rule.after_processing:
                    response = render(request, fault_response(rule))
                    self._record(request, response, rule.kind)
                    return response
        if request.method in ("POST", "PUT") and request.body:
            # Parse outside the lock (most of a bulk request's cost); errors are answered when the
            # operation reads its body.
            with contextlib.suppress(ApiError):
                request.json()
        with lock:
            self.state.tick()
            response = self._dispatch(request)
            if rule is not None:
                if rule.kind in HTTP_FAULTS:
                    response = fault_response(rule)
                else:
                    seconds = rule.seconds or 0.0
                    kind: TransportKind = "delay" if rule.kind == "delay" else "drop"
                    response = SimulatorResponse(
                        response.status, response.headers, response.body, TransportFault(kind, seconds)
                    )
            response = render(request, response)
            self._record(request, response, rule.kind if rule is not None else None)
            return response

    def _record(self, request: Request, response: SimulatorResponse, fault: str | None) -> None:
        self.sim._record_request(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=request.recorded_query(),
                headers=request.recorded_headers(),
                body=request.body,
                at=self.sim.clock.now(),
                status=response.status,
                fault=fault,
            )
        )

    def _dispatch(self, request: Request) -> SimulatorResponse:
        sim = self.sim
        path = request.path
        if not path.startswith(REST_PREFIX):
            return not_found_response(f"No resource at {path}: the REST API lives under {REST_PREFIX}")
        route = split_suffix(path[len(REST_PREFIX) :].strip("/"))[0]
        request.route = route
        negotiation = request.negotiation or negotiate(None, None, sim.default_format)
        found = match_rest(route)
        methods, args = found if found is not None else ({}, [])
        operation = methods.get(request.method)
        request.operation = operation
        if operation is None or operation.auth:
            problem = authenticate(request, sim.email, sim.token)
            if problem is not None:
                return unauthorized(problem)
        if found is None:
            return not_found_response(f"No operation at {path}")
        if operation is None:
            return method_not_allowed(request, methods)
        if negotiation.format is None and not operation.plain_text:
            accept = request.headers.get("accept") or "no Accept header"
            return error_response(
                ApiError(
                    406,
                    "Not Acceptable",
                    developer_message=f"Cannot answer {accept}: ask for application/json or "
                    "application/xml, or use a .json or .xml path",
                )
            )
        content_type = request.headers.get("content-type", "")
        if request.body and "xml" in content_type:
            return error_response(
                ApiError(415, "Unsupported media type", developer_message="Send JSON, not XML")
            )
        try:
            return operation(sim, request, *args)
        except ApiError as error:
            return error_response(error)

    def _control(self, request: Request) -> SimulatorResponse:
        found = match_control(request.route)
        if found is None:
            return not_found_response(f"No control operation at {request.path}")
        methods, args = found
        handler = methods.get(request.method)
        if handler is None:
            return method_not_allowed(request, methods)
        try:
            return handler(ControlApi(self.sim), request, *args)
        except ApiError as error:
            return error_response(error)
        except (ValueError, TypeError, KeyError) as error:
            return error_response(ApiError(400, "Bad control request", developer_message=str(error)))
