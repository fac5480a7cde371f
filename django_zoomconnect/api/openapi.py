"""The REST API described for drf-spectacular (the ``openapi`` extra): what it cannot infer.

Imported by ``api/urls.py`` only when drf-spectacular is installed, which registers the
extensions below with it. The views themselves carry no ``@extend_schema``: on an ``@action``
that decorator stores a drf-spectacular schema class in the action's arguments, and DRF's own
``generateschema`` then crashes on it; it would also bind to whatever ``DEFAULT_SCHEMA_CLASS``
was set when the views were imported. Instead, while drf-spectacular generates a schema (and
only then), :class:`DescribedViewSet` hands it an annotated subclass of each viewset, built from
the :data:`OPERATIONS` table with drf-spectacular's own ``extend_schema``. An operation missing
from that table is a generator warning, and a filter without a description a failing test.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.drainage import isolate_view_method, warn
from drf_spectacular.extensions import OpenApiSerializerFieldExtension, OpenApiViewExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, build_choice_description_list
from drf_spectacular.utils import (
    Direction,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import fields
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from .. import __version__
from ..models import Direction as MessageDirection
from ..models import SyncState
from . import serializers, views
from .filters import ACCOUNT_FILTERS, CONTACT_FILTERS, GROUP_FILTERS, MESSAGE_FILTERS

__all__ = ["OPERATIONS", "SETTINGS", "only_this_api"]

#: drf-spectacular settings of the schema served by ``django_zoomconnect.api.schema``.
SETTINGS: dict[str, Any] = {
    "TITLE": "Zoom Connect SMS (django-zoomconnect)",
    "DESCRIPTION": (
        "Messages (send, bulk send, cancel, retry), batches, templates, contacts and groups of "
        "the Zoom Connect account, through the same services as the Django admin."
    ),
    "VERSION": __version__,
    "PREPROCESSING_HOOKS": ["django_zoomconnect.api.openapi.only_this_api"],
}


Endpoint = tuple[str, str, str, Any]  # path, path regex, method, view


def only_this_api(endpoints: list[Endpoint], **kwargs: Any) -> list[Endpoint]:
    """drf-spectacular's preprocessing hook of that schema: this API's endpoints, no others."""
    return [endpoint for endpoint in endpoints if issubclass(endpoint[3].cls, views.APIViewSet)]


# --- answers -------------------------------------------------------------------------------------

_DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
DENIED = OpenApiResponse(_DETAIL, description="Not logged in, or without the permissions this request needs.")
NOT_FOUND = OpenApiResponse(_DETAIL, description="No such row.")
BAD_REQUEST = OpenApiResponse(
    {
        "oneOf": [
            {"type": "object", "additionalProperties": {}},
            {"type": "array", "items": {"type": "string"}},
        ]
    },
    description=(
        "Invalid input: the messages by field, or a service's refusal in ``detail`` (code "
        "``send_refused``, ``insufficient_credit`` or ``provider_refused``). Nothing was written."
    ),
)


def _answers(ok: Mapping[int, Any], *, bad_request: bool = False, one_row: bool = False) -> dict[int, Any]:
    """``ok`` and the failures: 403 always, 400 for input, 404 for one row."""
    answers: dict[int, Any] = {**ok, 403: DENIED}
    if bad_request:
        answers[400] = BAD_REQUEST
    if one_row:
        answers[404] = NOT_FOUND
    return answers


# --- filters as query parameters -------------------------------------------------------------------

_IDS = "Ids separated by commas: any of them."
_SYNC_STATES = f"Any of {', '.join(SyncState.values)}, separated by commas."


def _strings(**descriptions: str) -> dict[str, OpenApiParameter]:
    return {name: OpenApiParameter(name, str, description=text) for name, text in descriptions.items()}


_ACCOUNT = "Account aliases (of ZOOMCONNECT['ACCOUNTS']) separated by commas, e.g. marketing."

#: Every filter of ``filters.py`` with its description (and its type, when not a string).
_FILTER_PARAMETERS: dict[str, dict[str, OpenApiParameter]] = {
    "messages": {
        "account": OpenApiParameter("account", str, description=_ACCOUNT),
        "direction": OpenApiParameter("direction", str, enum=MessageDirection.values),
        "read": OpenApiParameter("read", bool, description="Whether an inbound message was marked read."),
        **_strings(
            status="Statuses separated by commas, e.g. FAILED,REJECTED.",
            campaign="The campaign, exactly.",
            data_field="The data field given when sending, exactly.",
            reference="This app's reference of the message.",
            remote_id="Zoom Connect's id of the message.",
            number="Either party, written any way (082 123 4567).",
            batch=_IDS,
            contact=_IDS,
            template=_IDS,
            in_reply_to=_IDS,
            created_after="An ISO 8601 date or datetime (a date alone: from its start).",
            created_before="An ISO 8601 date or datetime (a date alone: to its end).",
        ),
    },
    "contacts": _strings(
        account=_ACCOUNT,
        group=f"Members of groups. {_IDS}",
        sync_state=_SYNC_STATES,
        number="The contact's number, written any way.",
        search="Words each found in a name, the title or the number.",
    ),
    "groups": _strings(account=_ACCOUNT, sync_state=_SYNC_STATES, search="Words each found in the name."),
    "batches": _strings(account=_ACCOUNT),
    "templates": _strings(account=_ACCOUNT),
}

_FILTERS = {
    "messages": MESSAGE_FILTERS,
    "contacts": CONTACT_FILTERS,
    "groups": GROUP_FILTERS,
    "batches": ACCOUNT_FILTERS,
    "templates": ACCOUNT_FILTERS,
}


def _filters(resource: str) -> list[OpenApiParameter]:
    """The query parameters of a list: every filter that ``filters.py`` applies to it.

    One added there without a description here is still listed (a test asks for the words).
    """
    described = _FILTER_PARAMETERS[resource]
    return [described.get(name) or OpenApiParameter(name, str) for name in _FILTERS[resource]]


# --- operations --------------------------------------------------------------------------------


def _cancelled(name: str, row: Any) -> Any:
    return inline_serializer(f"{name}Cancelled", {"cancelled": fields.IntegerField(), name.lower(): row})


def _queued(name: str, **rows: Any) -> Any:
    return inline_serializer(f"{name}Retried", {"queued": fields.IntegerField(), **rows})


def _reads(
    row: type[Any], *, detail: type[Any] | None = None, filters: str = ""
) -> dict[str, dict[str, Any]]:
    """``list`` (paginated; filtered by ``filters.py``'s table of that resource) and ``retrieve``."""
    listed: dict[str, Any] = {"responses": _answers({200: row(many=True)}, bad_request=bool(filters))}
    if filters:
        listed["parameters"] = _filters(filters)
    return {"list": listed, "retrieve": {"responses": _answers({200: detail or row}, one_row=True)}}


def _writes(row: type[Any], write: Any, patch: Any, **descriptions: str) -> dict[str, dict[str, Any]]:
    """``create``, ``update``, ``partial_update`` and ``destroy`` through the contacts service."""
    changed = _answers({200: row}, bad_request=True, one_row=True)
    deleted = {
        204: OpenApiResponse(description="Deleted here and in the account."),
        202: OpenApiResponse(row, "Not confirmed by the account yet: the row, in sync_state deleting."),
    }
    operations = {
        "create": {"request": write, "responses": _answers({201: row}, bad_request=True)},
        "update": {"request": write, "responses": changed},
        "partial_update": {"request": patch, "responses": changed},
        "destroy": {"responses": _answers(deleted, bad_request=True, one_row=True)},
    }
    for name, description in descriptions.items():
        operations[name]["description"] = description
    return operations


#: ``extend_schema`` arguments of each operation of each viewset.
OPERATIONS: dict[type[views.APIViewSet], dict[str, dict[str, Any]]] = {
    views.MessageViewSet: {
        **_reads(
            serializers.MessageSerializer, detail=serializers.MessageDetailSerializer, filters="messages"
        ),
        "send": {
            "summary": "Queue one SMS",
            "request": serializers.SendSerializer,
            "responses": _answers(
                {201: OpenApiResponse(serializers.MessageDetailSerializer, "Queued (REJECTED: opted out).")},
                bad_request=True,
            ),
        },
        "bulk": {
            "summary": "Queue a bulk send",
            "request": serializers.BulkSendSerializer,
            "responses": _answers({201: serializers.BatchSerializer}, bad_request=True),
        },
        "cancel": {
            "summary": "Cancel the message if it has not been sent yet",
            "request": None,
            "responses": _answers(
                {200: _cancelled("Message", serializers.MessageSerializer())}, one_row=True
            ),
        },
        "retry": {
            "summary": "Send a failed message again",
            "request": None,
            "responses": _answers({200: _queued("Message")}, one_row=True),
        },
    },
    views.BatchViewSet: {
        **_reads(serializers.BatchSerializer, filters="batches"),
        "cancel": {
            "summary": "Cancel the batch's messages not sent yet",
            "request": None,
            "responses": _answers({200: _cancelled("Batch", serializers.BatchSerializer())}, one_row=True),
        },
        "retry": {
            "summary": "Send the batch's failed messages again",
            "request": None,
            "responses": _answers({200: _queued("Batch", batch=serializers.BatchSerializer())}, one_row=True),
        },
    },
    views.TemplateViewSet: _reads(serializers.TemplateSerializer, filters="templates"),
    views.ContactViewSet: {
        **_reads(serializers.ContactSerializer, filters="contacts"),
        **_writes(
            serializers.ContactSerializer,
            serializers.ContactWriteSerializer,
            serializers.ContactWriteSerializer(partial=True),
        ),
    },
    views.GroupViewSet: {
        **_reads(serializers.GroupSerializer, filters="groups"),
        **_writes(
            serializers.GroupSerializer,
            serializers.GroupWriteSerializer,
            serializers.GroupWriteSerializer,
            partial_update="As PUT: ``name`` is a group's one writable field, required here too.",
            destroy="Deletes the group, not its members.",
        ),
        "members": {
            "summary": "The group's contacts",
            "responses": _answers({200: serializers.ContactSerializer(many=True)}, one_row=True),
        },
        "add_members": {
            "summary": "Add contacts to the group",
            "request": serializers.MembersSerializer,
            "responses": _answers({200: serializers.GroupSerializer}, bad_request=True, one_row=True),
        },
        "remove_member": {
            "summary": "Take one contact out of the group (the contact stays)",
            "parameters": [
                OpenApiParameter("contact_id", int, OpenApiParameter.PATH, description="The contact's id.")
            ],
            "request": None,
            "responses": _answers(
                {204: OpenApiResponse(description="Removed.")}, bad_request=True, one_row=True
            ),
        },
    },
}


def _schema_class() -> type[AutoSchema]:
    """The project's drf-spectacular schema class, or drf-spectacular's own when DRF's is set."""
    configured = api_settings.DEFAULT_SCHEMA_CLASS
    return configured if isinstance(configured, type) and issubclass(configured, AutoSchema) else AutoSchema


def described(viewset: type[views.APIViewSet]) -> type[APIView]:
    """``viewset`` as drf-spectacular should see it: a subclass annotated from :data:`OPERATIONS`.

    Built at generation time, so ``extend_schema`` builds on the schema class in force then.
    """
    schema_class = _schema_class()
    attributes = {"schema": schema_class(), "__module__": viewset.__module__}
    subclass = type(viewset.__name__, (viewset,), attributes)
    for name, arguments in OPERATIONS[viewset].items():
        method = isolate_view_method(subclass, name)
        # extend_schema subclasses the method's own schema class first: ours, not DRF's default.
        method.kwargs = {**getattr(method, "kwargs", {}), "schema": schema_class}
        extend_schema(**arguments)(method)
    return subclass


class DescribedViewSet(OpenApiViewExtension):
    """Hands drf-spectacular the annotated viewsets (see the module's docstring)."""

    target_class = views.APIViewSet
    match_subclasses = True

    def view_replacement(self) -> type[APIView]:
        viewset: type[views.APIViewSet] = self.target
        actions = getattr(self.target_callback, "actions", None) or {}
        missing = sorted(set(actions.values()) - set(OPERATIONS.get(viewset, {})))
        if missing:
            warn(f"{viewset.__name__}: {', '.join(missing)} not described in api/openapi.py's OPERATIONS")
        if viewset not in OPERATIONS:
            return viewset
        return described(viewset)


# --- fields drf-spectacular cannot read ---------------------------------------------------------


class RecipientFieldSchema(OpenApiSerializerFieldExtension):
    """A bulk recipient: a number, or a number with its own template context."""

    target_class = serializers.RecipientField

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> dict[str, Any]:
        return {
            "oneOf": [
                {"type": "string", "description": "A number."},
                {
                    "type": "object",
                    "properties": {
                        "to": {"type": "string"},
                        "context": {"type": "object", "additionalProperties": {}},
                    },
                    "required": ["to"],
                    "additionalProperties": False,
                },
            ]
        }


class ChoicesFieldSchema(OpenApiSerializerFieldExtension):
    """A :class:`~.serializers.ChoicesField`: a reference to its enum, one component per class."""

    target_class = serializers.ChoicesField

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> dict[str, Any]:
        field: serializers.ChoicesField = self.target
        values = [value for value in field.choices if value != ""]
        component = ResolvedComponent(
            name=field.enum_name,
            type=ResolvedComponent.SCHEMA,
            object=field.enum_name,
            schema={
                "type": "string",
                "enum": values,
                "description": build_choice_description_list(
                    (value, label) for value, label in field.choices.items() if value != ""
                ),
            },
        )
        auto_schema.registry.register_on_missing(component)
        if field.allow_blank:
            return {"oneOf": [component.ref, {"type": "string", "enum": [""]}]}
        return component.ref
