"""The Django admin for the mirrored account: thin classes, every write goes through the services.

Remote fields (``remote_id``, ``remote_data``, ``synced_at``, ``sync_state``, ``sync_error``) are
read-only everywhere: they say what the account holds, so only a push or a pull may change them.
No setting and no secret is ever shown here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from . import phone
from .exceptions import PhoneNumberError
from .models import (
    Batch,
    Contact,
    Group,
    Membership,
    Message,
    MessageStatusChange,
    OptOut,
    Template,
    WebhookEvent,
)
from .services import inbound

REMOTE_FIELDS = ("remote_id", "sync_state", "sync_error", "synced_at", "remote_data")

# django-stubs makes the admin classes generic; at run time they are not subscriptable.
if TYPE_CHECKING:
    _MembershipInline = admin.TabularInline[Membership, Any]
    _StatusChangeInline = admin.TabularInline[MessageStatusChange, Any]
    _ContactAdmin = admin.ModelAdmin[Contact]
    _GroupAdmin = admin.ModelAdmin[Group]
    _TemplateAdmin = admin.ModelAdmin[Template]
    _MessageAdmin = admin.ModelAdmin[Message]
    _BatchAdmin = admin.ModelAdmin[Batch]
else:
    _MembershipInline = _StatusChangeInline = admin.TabularInline
    _ContactAdmin = _GroupAdmin = _TemplateAdmin = _MessageAdmin = _BatchAdmin = admin.ModelAdmin


class MembershipInline(_MembershipInline):
    model = Membership
    extra = 0
    readonly_fields = ("sync_state", "sync_error", "synced_at")
    autocomplete_fields = ("contact", "group")


class ContactMembershipInline(MembershipInline):
    fields = ("group", "sync_state", "sync_error", "synced_at")
    verbose_name = _("group")
    verbose_name_plural = _("groups")


class GroupMembershipInline(MembershipInline):
    fields = ("contact", "sync_state", "sync_error", "synced_at")
    verbose_name = _("member")
    verbose_name_plural = _("members")


@admin.register(Contact)
class ContactAdmin(_ContactAdmin):
    list_display = ("phone_number", "first_name", "last_name", "title", "sync_state", "synced_at")
    list_filter = ("sync_state", "groups")
    search_fields = ("phone_number", "first_name", "last_name", "remote_id")
    readonly_fields = REMOTE_FIELDS
    fieldsets = (
        (None, {"fields": ("phone_number", "title", "first_name", "last_name")}),
        (_("Zoom Connect"), {"fields": REMOTE_FIELDS}),
    )
    inlines = (ContactMembershipInline,)


@admin.register(Group)
class GroupAdmin(_GroupAdmin):
    list_display = ("name", "member_count", "sync_state", "synced_at")
    list_filter = ("sync_state",)
    search_fields = ("name", "remote_id")
    readonly_fields = REMOTE_FIELDS
    fieldsets = (
        (None, {"fields": ("name",)}),
        (_("Zoom Connect"), {"fields": REMOTE_FIELDS}),
    )
    inlines = (GroupMembershipInline,)

    @admin.display(description=_("members"))
    def member_count(self, obj: Group) -> int:
        return obj.memberships.count()


@admin.register(Template)
class TemplateAdmin(_TemplateAdmin):
    list_display = ("name", "is_remote", "sync_state", "synced_at")
    list_filter = ("sync_state",)
    search_fields = ("name", "body", "remote_id")
    readonly_fields = REMOTE_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: Template | None = None) -> tuple[str, ...]:
        # The API cannot change a template: an edit of a remote one would be overwritten by a pull.
        if obj is not None and obj.is_remote:
            return ("name", "body", *REMOTE_FIELDS)
        return REMOTE_FIELDS


class StatusChangeInline(_StatusChangeInline):
    model = MessageStatusChange
    extra = 0
    fields = ("changed_at", "old_status", "new_status", "source", "detail")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(_MessageAdmin):
    list_display = ("__str__", "direction", "status", "campaign", "sent_at", "received_at", "sync_state")
    list_filter = ("direction", "status", "sync_state", "read")
    search_fields = ("remote_id", "reference", "to_number", "from_number", "body", "campaign", "data_field")
    date_hierarchy = "created_at"
    list_select_related = ()
    raw_id_fields = ("contact", "template", "batch", "in_reply_to")
    inlines = (StatusChangeInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: Message | None = None) -> list[str]:
        # Statuses only move forward and sends go through the sending service: nothing here
        # is edited by hand.
        return [field.name for field in Message._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Batch)
class BatchAdmin(_BatchAdmin):
    list_display = ("__str__", "status", "campaign", "group", "template", "send_at", "created_at")
    list_filter = ("status",)
    search_fields = ("campaign",)
    raw_id_fields = ("group", "template")

    def get_readonly_fields(self, request: HttpRequest, obj: Batch | None = None) -> list[str]:
        return [field.name for field in Batch._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Batch]:
        return super().get_queryset(request).select_related("group", "template")


# --- webhook events and opt-outs (services/inbound.py) ------------------------------------------

if TYPE_CHECKING:
    _WebhookEventAdmin = admin.ModelAdmin[WebhookEvent]
    _OptOutAdmin = admin.ModelAdmin[OptOut]
    _OptOutForm = forms.ModelForm[OptOut]
else:
    _WebhookEventAdmin = _OptOutAdmin = admin.ModelAdmin
    _OptOutForm = forms.ModelForm


@admin.register(WebhookEvent)
class WebhookEventAdmin(_WebhookEventAdmin):
    """The webhook log, read-only: what the provider sent is evidence, never edited."""

    list_display = (
        "received_at",
        "kind",
        "remote_message_id",
        "state",
        "attempts",
        "message",
        "processed_at",
    )
    list_filter = ("state", "kind")
    search_fields = ("remote_message_id", "nonce")
    date_hierarchy = "received_at"
    list_select_related = ("message",)
    actions = ("reprocess_selected",)

    def get_readonly_fields(self, request: HttpRequest, obj: WebhookEvent | None = None) -> list[str]:
        return [field.name for field in WebhookEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Reprocess selected webhook events"), permissions=["change"])
    def reprocess_selected(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        selected = queryset.count()
        states = inbound.reprocess_events(queryset.exclude(state=WebhookEvent.State.PROCESSED))
        summary = ", ".join(f"{count} {state}" for state, count in sorted(states.items())) or _("none")
        skipped = selected - sum(states.values())
        self.message_user(
            request,
            _("Reprocessed %(count)d event(s): %(summary)s. %(skipped)d already processed, left alone.")
            % {"count": sum(states.values()), "summary": summary, "skipped": skipped},
        )


class OptOutForm(_OptOutForm):
    class Meta:
        model = OptOut
        fields = ("phone_number", "detail")

    def clean_phone_number(self) -> str:
        try:
            return phone.normalize(self.cleaned_data["phone_number"])
        except PhoneNumberError as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(OptOut)
class OptOutAdmin(_OptOutAdmin):
    """Numbers not to send to. Added by hand here, or by STOP replies and FAILED_OPTOUT reports."""

    form = OptOutForm
    list_display = ("phone_number", "source", "detail", "created_at", "message")
    list_filter = ("source",)
    search_fields = ("phone_number", "detail")
    readonly_fields = ("source", "message", "created_at")
    list_select_related = ("message",)

    def save_model(self, request: HttpRequest, obj: OptOut, form: Any, change: bool) -> None:
        if not change:
            obj.source = OptOut.Source.MANUAL
        super().save_model(request, obj, form, change)
