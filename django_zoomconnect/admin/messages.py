"""The admin of templates, messages and batches: what was sent, how it went, and the levers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import URLPattern
from django.utils.translation import gettext_lazy as _

from ..models import (
    Batch,
    Message,
    MessageStatusChange,
    Template,
)
from . import dashboard, send
from .base import REMOTE_FIELDS, SyncedAdmin, json_block, shown_params

if TYPE_CHECKING:
    _StatusChangeInline = admin.TabularInline[MessageStatusChange, Any]
    _BatchAdmin = admin.ModelAdmin[Batch]
else:
    _StatusChangeInline = admin.TabularInline
    _BatchAdmin = admin.ModelAdmin


@admin.register(Template)
class TemplateAdmin(SyncedAdmin):
    sync_kind = "templates"
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
class MessageAdmin(SyncedAdmin):
    """Messages, and the console's own pages: the send form and the dashboard."""

    def get_urls(self) -> list[URLPattern]:
        return [*send.urls(self), *dashboard.urls(self), *super().get_urls()]

    sync_kind = "messages"
    change_list_template = "admin/zoomconnect/message/change_list.html"
    list_display = ("__str__", "direction", "status", "campaign", "sent_at", "received_at", "sync_state")
    list_filter = ("direction", "status", "sync_state", "read")
    search_fields = ("remote_id", "reference", "to_number", "from_number", "body", "campaign", "data_field")
    date_hierarchy = "created_at"
    raw_id_fields = ("contact", "template", "batch", "in_reply_to")
    inlines = (StatusChangeInline,)
    exclude = ("remote_data",)  # shown by remote_payload(), a webhook checksum masked

    def get_readonly_fields(self, request: HttpRequest, obj: Message | None = None) -> list[str]:
        # Statuses only move forward and sends go through the sending service: nothing here
        # is edited by hand. An inbound message's remote data are its webhook's parameters,
        # which held the checksum before it was left out: shown masked.
        return [
            "remote_payload" if field.name == "remote_data" else field.name for field in Message._meta.fields
        ]

    @admin.display(description=_("remote data"))
    def remote_payload(self, obj: Message) -> str:
        return json_block(shown_params(obj.remote_data))

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
