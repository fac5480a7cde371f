"""``sms/…``: sending one message, a bulk of them, or one by URL parameters, and their examples."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from ..http import (
    Request,
    SimulatorResponse,
    json_response,
    operation,
    text_response,
    token_matches,
    unauthorized,
)
from ..records import Message, parse_date_to_send

if TYPE_CHECKING:
    from ..core import Simulator

_EXAMPLE_REQUEST: dict[str, Any] = {
    "recipientNumber": "+27821234567",
    "message": "Hello from Zoom Connect",
    "dateToSend": None,
    "campaign": "example",
    "dataField": "reference-1",
}


def _send_one(sim: Simulator, fields: Mapping[str, Any]) -> Message:
    return sim.state.send(
        fields.get("recipientNumber"),
        fields.get("message"),
        date_to_send=parse_date_to_send(fields.get("dateToSend"), sim.tz),
        campaign=fields.get("campaign"),
        data_field=fields.get("dataField"),
    )


@operation("webServiceSendSmsResponse")
def send(sim: Simulator, request: Request) -> SimulatorResponse:
    message = _send_one(sim, request.json_object())
    return json_response(200, {"messageId": message.message_id, "error": None})


@operation("webServiceSendSmsRequest")
def send_example(sim: Simulator, request: Request) -> SimulatorResponse:
    return json_response(200, _EXAMPLE_REQUEST)


@operation("webServiceSendSmsRequests")
def send_bulk_example(sim: Simulator, request: Request) -> SimulatorResponse:
    return json_response(
        200,
        {
            "sendSmsRequests": [
                _EXAMPLE_REQUEST,
                {**_EXAMPLE_REQUEST, "recipientNumber": "+27821234568"},
            ],
            "defaultDateToSend": None,
            "messagesPerMinute": None,
        },
    )


@operation("webServiceSendSmsResponses")
def send_bulk(sim: Simulator, request: Request) -> SimulatorResponse:
    body = request.json_object()
    items = body.get("sendSmsRequests") or []
    if not isinstance(items, list):
        raise ApiError(400, "Malformed request", developer_message="sendSmsRequests must be a list")
    tz = sim.tz
    default_date = parse_date_to_send(body.get("defaultDateToSend"), tz)
    per_minute = body.get("messagesPerMinute")
    # Absent, null or 0 means "no pacing" (0 is what clients send by default).
    if per_minute is not None and (
        isinstance(per_minute, bool) or not isinstance(per_minute, int) or per_minute < 0
    ):
        raise ApiError(
            400,
            "Invalid messagesPerMinute",
            developer_message="messagesPerMinute must be a whole number: 0 (no pacing) or more",
        )
    state_send = sim.state.send
    now = sim.clock.now()
    responses: list[dict[str, str | None]] = []
    append = responses.append
    accepted = 0
    for item in items:
        if not isinstance(item, dict):
            append({"messageId": None, "error": "Malformed request"})
            continue
        try:
            when = item.get("dateToSend")
            message = state_send(
                item.get("recipientNumber"),
                item.get("message"),
                date_to_send=parse_date_to_send(when, tz) if when else default_date,
                campaign=item.get("campaign"),
                data_field=item.get("dataField"),
                release_delay=(accepted // per_minute) * 60.0 if per_minute else 0.0,
                now=now,
            )
        except ApiError as error:
            append({"messageId": None, "error": error.message})
            continue
        accepted += 1
        append({"messageId": message.message_id, "error": None})
    return json_response(200, {"sendSmsResponses": responses})


def _send_by_url(sim: Simulator, request: Request) -> SimulatorResponse:
    """Send the message the query (and a form body) describe; answer its id as plain text, or
    as a JSON string when JSON was asked for."""
    fields = {**request.form(), **request.query()}
    fields.pop("email", None)
    fields.pop("token", None)
    message_id = _send_one(sim, fields).message_id
    negotiation = request.negotiation
    if negotiation is not None and negotiation.explicit and negotiation.format == "json":
        return json_response(200, message_id)
    return text_response(200, message_id)


@operation("messageId", plain_text=True)
def send_url_parameters(sim: Simulator, request: Request) -> SimulatorResponse:
    return _send_by_url(sim, request)


@operation("messageId", auth=False, plain_text=True)
def send_url_token(sim: Simulator, request: Request, token: str) -> SimulatorResponse:
    if not token_matches(token, sim.url_sending_token):
        return unauthorized("The URL sending token is wrong")
    return _send_by_url(sim, request)
