"""Serializers of the REST API: explicit field lists, so outbox internals and payloads stay private.

Every serializer names its fields one by one: a field added to a model later is not exposed by
accident. Claim tokens, lease times and raw remote payloads are machinery, not interface, and
nothing here can hold a credential (the API token and webhook secret live only in settings).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from django.db.models import Count, Model, Q, QuerySet, TextChoices
from django.utils import timezone
from rest_framework import serializers

from .. import conf, storable
from ..exceptions import ConfigurationError
from ..models import (
    Batch,
    Contact,
    Group,
    Membership,
    Message,
    MessageStatus,
    MessageStatusChange,
    SyncState,
    Template,
)
from ..services.outbox import Recipient
from .filters import MAX_ID

RowT = TypeVar("RowT", bound=Model)

__all__ = [
    "MAX_RECIPIENTS",
    "BatchSerializer",
    "BulkSendSerializer",
    "ChoicesField",
    "ContactSerializer",
    "ContactWriteSerializer",
    "GroupSerializer",
    "GroupWriteSerializer",
    "MembersSerializer",
    "MessageDetailSerializer",
    "MessageSerializer",
    "SendSerializer",
    "StatusChangeSerializer",
    "TemplateSerializer",
    "status_counts",
    "with_status_counts",
]

#: Recipients one bulk request may list; larger sends go through a group or ``send_bulk`` itself.
MAX_RECIPIENTS = 10_000


class AwareDateTimeField(serializers.DateTimeField):
    """A datetime that must carry its UTC offset: the zone decides when an SMS goes out.

    DRF would read a naive time in the server's ``TIME_ZONE``; guessing is wrong for a send time.
    """

    default_error_messages = {
        "naive": "Give a UTC offset, e.g. 2030-01-31T09:00:00+02:00 or 2030-01-31T07:00:00Z.",
    }

    def enforce_timezone(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            self.fail("naive")
        result: datetime = super().enforce_timezone(value)
        return result


class ChoicesField(serializers.ChoiceField):
    """A read-only value of a ``TextChoices`` class, which names its enum in the OpenAPI schema.

    Message and batch statuses are both ``status`` fields with different values, and the message
    statuses are also ``old_status`` and ``new_status``: named after their class
    (``MessageStatusEnum``, ``BatchStatusEnum``), each set of values is one schema component
    whatever the project's drf-spectacular settings (``api/openapi.py`` reads ``enum_name``).
    """

    def __init__(self, choices: type[TextChoices], **kwargs: Any) -> None:
        self.enum_name = choices.__qualname__.replace(".", "") + "Enum"
        super().__init__(choices=choices.choices, read_only=True, **kwargs)


class StatusChangeSerializer(serializers.ModelSerializer[MessageStatusChange]):
    old_status = ChoicesField(MessageStatus, allow_blank=True)
    new_status = ChoicesField(MessageStatus)

    class Meta:
        model = MessageStatusChange
        fields = ("old_status", "new_status", "source", "detail", "changed_at")
        read_only_fields = fields


MESSAGE_FIELDS = (
    "id",
    "account",
    "direction",
    "status",
    "to_number",
    "from_number",
    "body",
    "campaign",
    "data_field",
    "reference",
    "remote_id",
    "contact",
    "template",
    "batch",
    "in_reply_to",
    "encoding",
    "parts",
    "credit_cost",
    "attempts",
    "last_error",
    "error_code",
    "read",
    "scheduled_at",
    "sent_at",
    "delivered_at",
    "received_at",
    "created_at",
    "updated_at",
)


class MessageSerializer(serializers.ModelSerializer[Message]):
    """A message as listed; ``contact``, ``template``, ``batch`` and ``in_reply_to`` are ids."""

    status = ChoicesField(MessageStatus)

    class Meta:
        model = Message
        fields: tuple[str, ...] = MESSAGE_FIELDS
        read_only_fields: tuple[str, ...] = fields


class MessageDetailSerializer(MessageSerializer):
    """A message with its status history, oldest step first."""

    status_history = StatusChangeSerializer(source="status_changes", many=True, read_only=True)

    class Meta(MessageSerializer.Meta):
        fields = (*MESSAGE_FIELDS, "status_history")
        read_only_fields = fields


class TemplateSerializer(serializers.ModelSerializer[Template]):
    class Meta:
        model = Template
        fields = (
            "id",
            "account",
            "remote_id",
            "name",
            "body",
            "placeholders",
            "is_remote",
            "sync_state",
            "synced_at",
            "updated_at",
        )
        read_only_fields = fields


class BatchSerializer(serializers.ModelSerializer[Batch]):
    """A bulk send; ``status_counts`` maps each message status present to its count."""

    status = ChoicesField(Batch.Status)
    status_counts = serializers.SerializerMethodField()
    message_count = serializers.SerializerMethodField()

    class Meta:
        model = Batch
        fields = (
            "id",
            "account",
            "status",
            "campaign",
            "template",
            "group",
            "send_at",
            "message_count",
            "status_counts",
            "estimated_cost",
            "chunk_size",
            "chunk_count",
            "messages_per_minute",
            "created_at",
            "finished_at",
        )
        read_only_fields = fields

    def get_status_counts(self, batch: Batch) -> dict[str, int]:
        return status_counts(batch)

    def get_message_count(self, batch: Batch) -> int:
        return sum(status_counts(batch).values())


def _count_name(status: str) -> str:
    return f"n_{status.lower()}"


def with_status_counts(queryset: QuerySet[Batch]) -> QuerySet[Batch]:
    """``queryset`` annotated with its messages counted by status: one query for a whole page.

    Ordered explicitly: Django drops ``Meta.ordering`` from queries with a ``GROUP BY``.
    """
    return queryset.order_by("-created_at", "-pk").annotate(
        **{
            _count_name(status): Count("messages", filter=Q(messages__status=status))
            for status in MessageStatus.values
        }
    )


def status_counts(batch: Batch) -> dict[str, int]:
    """The batch's message counts by status (only those present), from annotations when there."""
    counts = {status: getattr(batch, _count_name(status), None) for status in MessageStatus.values}
    if any(count is None for count in counts.values()):
        counts = dict(batch.messages.order_by().values_list("status").annotate(n=Count("pk")))
    return {status: int(count) for status, count in counts.items() if count}


SYNC_FIELDS = ("sync_state", "sync_error", "synced_at", "created_at", "updated_at")


class ContactSerializer(serializers.ModelSerializer[Contact]):
    """A contact; ``groups`` are the ids of its groups (memberships being removed excluded)."""

    groups = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = (
            "id",
            "account",
            "remote_id",
            "title",
            "first_name",
            "last_name",
            "phone_number",
            "groups",
            *SYNC_FIELDS,
        )
        read_only_fields = fields

    def get_groups(self, contact: Contact) -> list[int]:
        # From the view's prefetch of current memberships: no query per contact.
        return sorted(m.group_id for m in contact.memberships.all() if m.sync_state != SyncState.DELETING)


class GroupSerializer(serializers.ModelSerializer[Group]):
    """A group; ``member_count`` counts its current members (annotated by the view)."""

    member_count = serializers.SerializerMethodField()

    class Meta:
        model = Group
        fields = ("id", "account", "remote_id", "name", "member_count", *SYNC_FIELDS)
        read_only_fields = fields

    def get_member_count(self, group: Group) -> int:
        count = getattr(group, "member_count", None)
        if count is None:
            count = current_memberships().filter(group=group).count()
        return int(count)


def current_memberships() -> QuerySet[Membership]:
    """Memberships that hold (or are being pushed); those being removed are no longer counted."""
    return Membership.objects.exclude(sync_state=SyncState.DELETING)


def with_member_counts(queryset: QuerySet[Group]) -> QuerySet[Group]:
    return queryset.order_by("name", "pk").annotate(
        member_count=Count("memberships", filter=~Q(memberships__sync_state=SyncState.DELETING))
    )


# --- input --------------------------------------------------------------------------------------


def _id_field() -> serializers.IntegerField:
    """A row id: positive, and small enough for every backend (a larger one is a driver error)."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID)


def _storable(value: Any) -> Any:
    """``value``, unless a string in it (keys included) holds what no database can store."""
    found = storable.find_problem(value)
    if found:
        raise serializers.ValidationError(f"Must not contain {found}.")
    return value


class _SendFields(serializers.Serializer[Any]):
    """What a single and a bulk send share."""

    body = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)
    template = serializers.PrimaryKeyRelatedField(
        queryset=Template.objects.all(), required=False, allow_null=True
    )
    # The metaclass moves declared fields off the class, so ``Serializer.context`` still works;
    # the name is the one send_sms() and send_bulk() use.
    context = serializers.DictField(required=False, allow_null=True)  # type: ignore[assignment]
    send_at = AwareDateTimeField(required=False, allow_null=True)
    campaign = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=255)
    #: The alias of the account that sends it; without it the services choose (the contact's or
    #: group's account, else ``ACCOUNT_ROUTER``, else ``"default"``).
    account = serializers.CharField(required=False, allow_null=True, max_length=conf.ALIAS_MAX_LENGTH)

    def validate_account(self, account: str | None) -> str | None:
        if account is None:
            return None
        try:
            return conf.account_alias(account)
        except ConfigurationError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_context(self, context: dict[str, Any] | None) -> dict[str, Any] | None:
        # A DictField checks nothing inside: a NUL would reach the rendered body, and the database.
        result: dict[str, Any] | None = _storable(context)
        return result


class SendSerializer(_SendFields):
    """``POST messages/send/``: one SMS to ``to`` (or to ``contact``'s number)."""

    to = serializers.CharField(required=False, allow_null=True, max_length=64)
    contact = serializers.PrimaryKeyRelatedField(
        queryset=Contact.objects.all(), required=False, allow_null=True
    )
    data_field = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=255)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("to") and attrs.get("contact") is None:
            raise serializers.ValidationError({"to": "Give a recipient number, or a contact id."})
        return attrs


def _by_id(model: type[RowT], ids: list[int]) -> list[RowT]:
    """Rows by id in one query, in the order given, once each; unknown ids are a validation error
    naming them (the first twenty)."""
    found = model._default_manager.in_bulk(set(ids))
    missing = sorted(set(ids) - set(found))
    if missing:
        what = model._meta.model_name
        raise serializers.ValidationError(f"No {what} with id {', '.join(map(str, missing[:20]))}.")
    return [found[pk] for pk in dict.fromkeys(ids)]


class ContactWriteSerializer(serializers.Serializer[Any]):
    """Creating or changing a contact; ``groups`` (ids) is the full list of its groups."""

    phone_number = serializers.CharField(max_length=64)
    title = serializers.CharField(max_length=32, required=False, allow_blank=True)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    groups = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False
    )

    def validate_groups(self, ids: list[int]) -> list[Group]:
        return _by_id(Group, ids)


class GroupWriteSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=255)


class MembersSerializer(serializers.Serializer[Any]):
    """``POST groups/{id}/members/``: contacts (ids) to put in the group."""

    contacts = serializers.ListField(child=_id_field(), min_length=1, max_length=10_000)

    def validate_contacts(self, ids: list[int]) -> list[Contact]:
        return _by_id(Contact, ids)


class RecipientField(serializers.Field[Recipient, Any, Any, Any]):
    """A number, or ``{"to": number, "context": {...}}`` for a per-recipient template context."""

    default_error_messages = {
        "invalid": 'A recipient is a number, or an object {{"to": "<number>", "context": {{...}}}}.',
    }

    def to_internal_value(self, data: Any) -> Recipient:
        if isinstance(data, str) and data.strip():
            return Recipient(_storable(data))
        if isinstance(data, Mapping) and set(data) <= {"to", "context"}:
            to, context = data.get("to"), data.get("context")
            if isinstance(to, str) and to.strip() and (context is None or isinstance(context, Mapping)):
                return Recipient(_storable(to), _storable(context))
        self.fail("invalid")

    def to_representation(self, value: Recipient) -> Any:
        return {"to": value.to, "context": dict(value.context or {})}


class BulkSendSerializer(_SendFields):
    """``POST messages/bulk/``: one batch to ``recipients``, ``contacts`` and ``group`` together."""

    recipients = serializers.ListField(child=RecipientField(), required=False, max_length=MAX_RECIPIENTS)
    contacts = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=MAX_RECIPIENTS,
    )
    group = serializers.PrimaryKeyRelatedField(queryset=Group.objects.all(), required=False, allow_null=True)

    def validate_contacts(self, ids: list[int]) -> list[Contact]:
        # One query for the whole list (a related field would fetch each id on its own).
        return _by_id(Contact, ids)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("recipients") and not attrs.get("contacts") and attrs.get("group") is None:
            raise serializers.ValidationError(
                {"recipients": "Give recipients, contacts or a group (or several of them)."}
            )
        return attrs
