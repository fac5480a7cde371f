"""REST API views: parse the request, call one service, render the rows; no business rules here.

Sending goes through :func:`~django_zoomconnect.services.outbox.send_sms` and
:func:`~django_zoomconnect.services.outbox.send_bulk` exactly as app code would, so the API
gets the same validation, opt-out rules and exactly-once outbox. Contacts, groups and
memberships change through :mod:`~django_zoomconnect.services.contacts`, which stores the row and
pushes it to the account, as the admin does. A refusal by a service is a 400 whose ``detail`` is
the service's own explanation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from ..exceptions import InvalidRequestError, PhoneNumberError
from ..models import Batch, Contact, Group, Membership, Message, Template
from ..services import contacts, outbox
from . import serializers
from .filters import filter_by_account, filter_contacts, filter_groups, filter_messages
from .permissions import SettingsPermissionsMixin

__all__ = [
    "BatchViewSet",
    "ContactViewSet",
    "GroupViewSet",
    "MessageViewSet",
    "Pagination",
    "TemplateViewSet",
]


class Pagination(PageNumberPagination):
    """Pages of 50 by default; ``?page_size=`` up to 500. Lists of messages grow without bound."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class SendRefused(APIException):
    """The sending service refused the request (nothing was written)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "send_refused"


class InsufficientCredit(SendRefused):
    default_code = "insufficient_credit"


class ProviderRefused(APIException):
    """Zoom Connect refused the change (e.g. an invalid mobile number); it was undone here."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "provider_refused"


@contextmanager
def account_changes() -> Iterator[None]:
    """Turn the contacts service's refusals into 400s with the service's own explanation."""
    try:
        yield
    except PhoneNumberError as exc:
        raise ValidationError({"phone_number": [str(exc)]}) from None
    except DjangoValidationError as exc:  # DuplicatePhoneNumberError included
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        raise ValidationError(detail) from None
    except InvalidRequestError as exc:
        raise ProviderRefused(f"Zoom Connect refused it, so nothing was changed: {exc}") from None


def refused(exc: outbox.SendError) -> APIException:
    if isinstance(exc, outbox.InsufficientCreditError):
        return InsufficientCredit(str(exc))
    return SendRefused(str(exc))


class APIViewSet(SettingsPermissionsMixin, viewsets.GenericViewSet[Any]):
    """What every viewset of the API shares: permissions from settings, pagination."""

    pagination_class = Pagination

    def list_filters(self) -> Mapping[str, Any] | None:
        """The query parameters that filter this request's list; ``None`` when it does not list.

        A schema generator instantiates the views with no request (DRF) or a stand-in one
        (drf-spectacular sets ``swagger_fake_view``): there is nothing to filter then.
        """
        request = getattr(self, "request", None)
        if self.action != "list" or request is None or getattr(self, "swagger_fake_view", False):
            return None
        params: Mapping[str, Any] = request.query_params
        return params

    def valid_data(self, request: Request, *, partial: bool = False) -> dict[str, Any]:
        """The request's data as this action's serializer validates it (a 400 when it does not)."""
        serializer = self.get_serializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def rendered(self, pk: int) -> Any:
        """The row ``pk`` as a read shows it: ``serializer_class`` over ``get_queryset()``."""
        serializer_class = self.serializer_class
        assert serializer_class is not None
        return serializer_class(self.get_queryset().get(pk=pk)).data

    def deleted(self, row: Contact | Group) -> Response:
        """204 once the account confirmed a delete; 202 with the row (``deleting``) while it has not."""
        if type(row)._default_manager.filter(pk=row.pk).exists():
            return Response(self.rendered(row.pk), status=status.HTTP_202_ACCEPTED)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, APIViewSet):
    """``messages/``: list and filter, detail with status history, send, bulk send, cancel, retry."""

    queryset = Message.objects.all()
    #: What the default permission class asks for each action that sends or changes (see
    #: ``permissions.required_permissions``); reads need ``view_message``.
    action_permissions = {
        "send": ("add", "send_message"),
        "bulk": ("add", "add_batch", "send_message"),
        "cancel": ("change",),
        "retry": ("change", "send_message"),
    }

    def get_queryset(self) -> QuerySet[Message]:
        queryset = Message.objects.all()
        params = self.list_filters()
        if params is not None:
            return filter_messages(queryset, params)
        if self.action == "retrieve":
            return queryset.prefetch_related("status_changes")
        return queryset

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        classes: dict[str | None, type[BaseSerializer[Any]]] = {
            "retrieve": serializers.MessageDetailSerializer,
            "send": serializers.SendSerializer,
            "bulk": serializers.BulkSendSerializer,
        }
        return classes.get(self.action, serializers.MessageSerializer)

    @action(detail=False, methods=["post"])
    def send(self, request: Request) -> Response:
        """Queue one SMS; 201 with the message (``REJECTED`` when the number opted out)."""
        data = self.valid_data(request)  # the serializer's fields are send_sms's arguments
        try:
            message = outbox.send_sms(data.pop("to", None) or None, **data)
        except outbox.SendError as exc:
            raise refused(exc) from None
        message.refresh_from_db()
        return Response(serializers.MessageDetailSerializer(message).data, status=status.HTTP_201_CREATED)

    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        """Queue one batch; 201 with the batch and its counts by status."""
        data = self.valid_data(request)  # the serializer's fields are send_bulk's arguments
        try:
            batch = outbox.send_bulk(**data)
        except outbox.SendError as exc:
            raise refused(exc) from None
        batch = serializers.with_status_counts(Batch.objects.filter(pk=batch.pk)).get()
        return Response(serializers.BatchSerializer(batch).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel the message if it has not been sent yet; ``{"cancelled": 0 or 1, ...}``."""
        message = self.get_object()
        count = outbox.cancel(message)
        message.refresh_from_db()
        return Response({"cancelled": count, "message": serializers.MessageSerializer(message).data})

    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Send a failed message again (a copy when the provider had accepted it); ``{"queued": n}``."""
        message = self.get_object()
        return Response({"queued": outbox.retry(message)})


class BatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, APIViewSet):
    """``batches/``: bulk sends with their counts by status; cancel and retry."""

    queryset = Batch.objects.all()
    serializer_class = serializers.BatchSerializer
    action_permissions = {"cancel": ("change",), "retry": ("change", "send_message")}

    def get_queryset(self) -> QuerySet[Batch]:
        params = self.list_filters()
        batches = Batch.objects.all() if params is None else filter_by_account(Batch.objects.all(), params)
        return serializers.with_status_counts(batches)

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel the batch's messages not sent yet; ``{"cancelled": n, "batch": {...}}``."""
        batch = self.get_object()
        count = outbox.cancel(batch)
        return Response({"cancelled": count, "batch": self.rendered(batch.pk)})

    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Send the batch's failed messages again; ``{"queued": n, "batch": {...}}``."""
        batch = self.get_object()
        count = outbox.retry(batch)
        return Response({"queued": count, "batch": self.rendered(batch.pk)})


class TemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, APIViewSet):
    """``templates/``: read only (the provider's API cannot create or change templates)."""

    queryset = Template.objects.all()
    serializer_class = serializers.TemplateSerializer

    def get_queryset(self) -> QuerySet[Template]:
        params = self.list_filters()
        templates = Template.objects.all()
        return templates if params is None else filter_by_account(templates, params)


class ContactViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, APIViewSet):
    """``contacts/``: CRUD through the contacts service, so every change reaches the account.

    A write answers with the row as stored after its push: ``sync_state`` ``synced`` when the
    account took it, ``failed`` with ``sync_error`` when the provider could not be reached (the
    change is kept and pushed again later), ``pending`` when the request ran in a transaction.
    """

    queryset = Contact.objects.all()
    serializer_class = serializers.ContactSerializer

    def get_queryset(self) -> QuerySet[Contact]:
        queryset = Contact.objects.prefetch_related(
            Prefetch(
                "memberships", queryset=Membership.objects.only("pk", "contact_id", "group_id", "sync_state")
            )
        )
        params = self.list_filters()
        return queryset if params is None else filter_contacts(queryset, params)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action in ("create", "update", "partial_update"):
            return serializers.ContactWriteSerializer
        return serializers.ContactSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.valid_data(request)
        with account_changes():
            contact = contacts.create_contact(
                data["phone_number"],
                title=data.get("title", ""),
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
                groups=data.get("groups", ()),
            )
        return Response(self.rendered(contact.pk), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        contact = self.get_object()
        partial = bool(kwargs.get("partial"))
        data = self.valid_data(request, partial=partial)
        groups = data.pop("groups", None)
        with account_changes():
            contacts.update_contact(contact, **data)
            if groups is not None:
                self._set_groups(contact, groups)
        return Response(self.rendered(contact.pk))

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """204 once the account confirmed; 202 with the row (``deleting``) while it has not."""
        contact = self.get_object()
        with account_changes():
            contacts.delete_contact(contact)
        return self.deleted(contact)

    @staticmethod
    def _set_groups(contact: Contact, groups: list[Group]) -> None:
        wanted = {group.pk for group in groups}
        current = set(
            serializers.current_memberships().filter(contact=contact).values_list("group_id", flat=True)
        )
        for group in groups:
            if group.pk not in current:
                contacts.add_to_group(contact, group)
        for group in Group.objects.filter(pk__in=current - wanted):
            contacts.remove_from_group(contact, group)


class GroupViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, APIViewSet):
    """``groups/``: CRUD through the contacts service, and the members (``groups/{id}/members/``)."""

    queryset = Group.objects.all()
    serializer_class = serializers.GroupSerializer
    action_permissions = {
        "members": ("view", "view_contact"),
        "add_members": ("change",),
        "remove_member": ("change",),
    }

    def get_queryset(self) -> QuerySet[Group]:
        queryset = serializers.with_member_counts(Group.objects.all())
        params = self.list_filters()
        return queryset if params is None else filter_groups(queryset, params)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action in ("create", "update", "partial_update"):
            return serializers.GroupWriteSerializer
        if self.action == "add_members":
            return serializers.MembersSerializer
        if self.action == "members":
            return serializers.ContactSerializer
        return serializers.GroupSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        name = self.valid_data(request)["name"]
        with account_changes():
            group = contacts.create_group(name)
        return Response(self.rendered(group.pk), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        group = self.get_object()
        name = self.valid_data(request)["name"]
        with account_changes():
            contacts.rename_group(group, name)
        return Response(self.rendered(group.pk))

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Deletes the group, not its members. 204 once the account confirmed, else 202."""
        group = self.get_object()
        with account_changes():
            contacts.delete_group(group)
        return self.deleted(group)

    @action(detail=True, methods=["get"])
    def members(self, request: Request, pk: str | None = None) -> Response:
        """The group's contacts (paginated); a POST here adds some (``add_members``)."""
        group = self.get_object()
        members = Contact.objects.filter(
            pk__in=serializers.current_memberships().filter(group=group).values("contact_id")
        ).prefetch_related("memberships")
        page = self.paginate_queryset(members)
        return self.get_paginated_response(serializers.ContactSerializer(page, many=True).data)

    @members.mapping.post
    def add_members(self, request: Request, pk: str | None = None) -> Response:
        """Add contacts to the group: ``{"contacts": [ids]}`` (an action of its own: its permission)."""
        group = self.get_object()
        added = self.valid_data(request)["contacts"]
        with account_changes():
            for contact in added:
                contacts.add_to_group(contact, group)
        return Response(self.rendered(group.pk))

    @action(detail=True, methods=["delete"], url_path=r"members/(?P<contact_id>[0-9]+)")
    def remove_member(self, request: Request, pk: str | None = None, contact_id: str = "") -> Response:
        """Take one contact out of the group (the contact itself stays)."""
        group = self.get_object()
        contact = Contact.objects.filter(pk=contact_id).first()
        if contact is None:
            raise ValidationError({"contact": f"No contact with id {contact_id}."})
        with account_changes():
            contacts.remove_from_group(contact, group)
        return Response(status=status.HTTP_204_NO_CONTENT)
