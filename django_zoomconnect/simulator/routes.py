"""The route tables: which handler answers each method and path, on the REST and control APIs."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, TypeVar

from .control import ControlApi
from .handlers import account, analysis, contacts, groups, messages, sms, templates, voice
from .http import Handler, Operation, Request, SimulatorResponse, json_response

REST_PREFIX = "/app/api/rest/v1/"
CONTROL_PREFIX = "/_simulator/"

T = TypeVar("T")
#: A route table: (path pattern, {method: handler}); "{}" in a pattern matches one segment and
#: hands it to the handler. Static segments win by coming first.
Routes = Sequence[tuple[str, dict[str, T]]]

#: The REST API, by path relative to :data:`REST_PREFIX`.
REST_ROUTES: list[tuple[str, dict[str, Operation]]] = [
    ("account/balance", {"GET": account.get_balance}),
    ("account/statistics", {"GET": account.get_statistics}),
    ("account/transfer", {"POST": account.transfer}),
    ("account/user", {"GET": account.search_users, "PUT": account.create_user}),
    ("account/user/{}", {"GET": account.get_user, "POST": account.update_user}),
    ("contacts/all", {"GET": contacts.list_contacts}),
    ("contacts/create", {"POST": contacts.create_contact}),
    (
        "contacts/{}",
        {"GET": contacts.get_contact, "POST": contacts.update_contact, "DELETE": contacts.delete_contact},
    ),
    ("contacts/{}/addToGroup/{}", {"GET": groups.contact_add_to_group, "POST": groups.contact_add_to_group}),
    (
        "contacts/{}/addFromGroup/{}",
        {"GET": groups.contact_remove_from_group, "POST": groups.contact_remove_from_group},
    ),
    ("groups/all", {"GET": groups.list_groups}),
    ("groups/create", {"POST": groups.create_group}),
    ("groups/{}", {"GET": groups.get_group, "POST": groups.update_group, "DELETE": groups.delete_group}),
    ("groups/{}/addContact/{}", {"GET": groups.group_add_contact, "POST": groups.group_add_contact}),
    ("groups/{}/removeContact/{}", {"GET": groups.group_remove_contact, "POST": groups.group_remove_contact}),
    ("messages/all", {"GET": messages.list_messages}),
    ("messages/analyse/full", {"POST": analysis.analyse_full}),
    ("messages/analyse/message-credit-cost", {"POST": analysis.analyse_credit_cost}),
    ("messages/analyse/message-encoding", {"POST": analysis.analyse_encoding}),
    ("messages/analyse/message-length", {"POST": analysis.analyse_length}),
    ("messages/analyse/message-length-within-max-allowed", {"POST": analysis.analyse_within_max}),
    ("messages/analyse/number-of-messages", {"POST": analysis.analyse_number_of_messages}),
    ("messages/{}", {"GET": messages.get_message, "DELETE": messages.delete_message}),
    ("messages/{}/markRead", {"POST": messages.mark_read, "PUT": messages.mark_read}),
    ("messages/{}/markUnread", {"POST": messages.mark_unread, "PUT": messages.mark_unread}),
    ("sms/send", {"GET": sms.send_example, "POST": sms.send}),
    ("sms/send-bulk", {"GET": sms.send_bulk_example, "POST": sms.send_bulk}),
    ("sms/send-url-parameters", {"GET": sms.send_url_parameters, "POST": sms.send_url_parameters}),
    ("sms/send-url/{}", {"GET": sms.send_url_token, "POST": sms.send_url_token}),
    ("templates/all", {"GET": templates.list_templates}),
    ("templates/{}", {"GET": templates.get_template, "DELETE": templates.delete_template}),
    ("voice/all", {"GET": voice.list_voice}),
    ("voice/single-text", {"POST": voice.send_voice_text}),
    ("voice/single-audio", {"POST": voice.send_voice_audio}),
    ("voice/{}", {"GET": voice.get_voice, "DELETE": voice.delete_voice}),
]


def control_index(api: ControlApi, request: Request) -> SimulatorResponse:
    """This list: every control operation, with its method, path and what it does."""
    return json_response(200, {"restApi": REST_PREFIX, "operations": describe_control_routes()})


#: The control API, by path relative to :data:`CONTROL_PREFIX`; handlers are
#: :class:`ControlApi` methods (and :func:`control_index`, which lists them).
CONTROL_ROUTES: list[tuple[str, dict[str, Handler]]] = [
    ("", {"GET": control_index}),
    ("state", {"GET": ControlApi.c_state}),
    ("config", {"GET": ControlApi.c_config, "POST": ControlApi.c_configure}),
    ("inbound", {"POST": ControlApi.c_inbound}),
    ("balance", {"GET": ControlApi.c_balance, "POST": ControlApi.c_set_balance}),
    ("templates", {"GET": ControlApi.c_templates, "POST": ControlApi.c_seed_template}),
    ("clock", {"GET": ControlApi.c_clock}),
    ("clock/advance", {"POST": ControlApi.c_advance}),
    ("clock/freeze", {"POST": ControlApi.c_freeze}),
    ("clock/unfreeze", {"POST": ControlApi.c_unfreeze}),
    ("tick", {"POST": ControlApi.c_tick}),
    (
        "faults",
        {"GET": ControlApi.c_faults, "POST": ControlApi.c_inject_fault, "DELETE": ControlApi.c_clear_faults},
    ),
    ("requests", {"GET": ControlApi.c_requests, "DELETE": ControlApi.c_clear_requests}),
    ("messages", {"GET": ControlApi.c_messages}),
    ("webhooks", {"GET": ControlApi.c_webhooks}),
    ("webhooks/flush", {"POST": ControlApi.c_flush_webhooks}),
    ("groups/{}/members", {"GET": ControlApi.c_group_members}),
    ("counters", {"GET": ControlApi.c_counters}),
    ("reset", {"POST": ControlApi.c_reset}),
]


def describe_control_routes() -> list[dict[str, Any]]:
    """``{"method", "path", "description"}`` for each method of each control route, read from
    :data:`CONTROL_ROUTES`: the path names each ``{}`` after its handler's parameter, and the
    description is the first line of the handler's docstring."""
    described = []
    for pattern, methods in CONTROL_ROUTES:
        for method, handler in methods.items():
            names = iter(list(inspect.signature(handler).parameters)[2:])  # after (api, request)
            path = "/".join(f"{{{next(names)}}}" if part == "{}" else part for part in pattern.split("/"))
            doc = inspect.getdoc(handler) or ""
            described.append(
                {"method": method, "path": CONTROL_PREFIX + path, "description": doc.split("\n", 1)[0]}
            )
    return described


def _compile(routes: Routes[T]) -> list[tuple[tuple[str, ...], dict[str, T]]]:
    return [(tuple(pattern.split("/")), methods) for pattern, methods in routes]


_REST = _compile(REST_ROUTES)
_CONTROL = _compile(CONTROL_ROUTES)


def _match(
    routes: list[tuple[tuple[str, ...], dict[str, T]]], route: str
) -> tuple[dict[str, T], list[str]] | None:
    parts = route.split("/")
    for pattern, methods in routes:
        if len(pattern) != len(parts):
            continue
        args: list[str] = []
        for expected, actual in zip(pattern, parts, strict=True):
            if expected == "{}":
                if not actual:
                    break
                args.append(actual)
            elif expected != actual:
                break
        else:
            return methods, args
    return None


def match_rest(route: str) -> tuple[dict[str, Operation], list[str]] | None:
    """The REST route matching ``route`` (relative to the prefix): its methods and arguments."""
    return _match(_REST, route)


def match_control(route: str) -> tuple[dict[str, Handler], list[str]] | None:
    """The control route matching ``route`` (relative to the prefix): its methods and arguments."""
    return _match(_CONTROL, route)
