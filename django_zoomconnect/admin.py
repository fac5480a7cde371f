"""The Django admin for the mirrored account: thin classes, every write goes through the services.

Remote fields (``remote_id``, ``remote_data``, ``synced_at``, ``sync_state``, ``sync_error``) are
read-only everywhere: they say what the account holds, so only a push or a pull may change them.
No setting and no secret is ever shown here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import Batch, Contact, Group, Membership, Message, MessageStatusChange, Template

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
