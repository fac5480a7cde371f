"""The admin of templates and messages: what was sent, how it went, and the levers.

A message's page is its timeline (:mod:`.timeline`), read-only: statuses only move forward and
sends go through the sending service, so nothing on it is edited by hand. The levers (retry,
cancel, refresh) are actions with a confirmation page, each one call to
:mod:`~django_zoomconnect.services.outbox.selection`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from ..models import (
    Direction,
    Message,
    Template,
)
from ..services.outbox import selection
from . import dashboard, send, team, timeline
from .base import (
    REMOTE_FIELDS,
    AccountFilter,
    Outcome,
    ReadOnlyPage,
    SendPermission,
    SyncedAdmin,
    by_status,
    confirmed,
    json_block,
    shown_params,
)

#: The message page's collapsed section: the outbox's bookkeeping and the raw remote payload.
TECHNICAL_FIELDS = (
    "reference",
    "data_field",
    "remote_id",
    "from_number",
    "to_number",
    "encoding",
    "attempts",
    "chunk",
    "claim_token",
    "claimed_at",
    "dispatch_after",
    "enqueued_at",
    "polled_at",
    "sent_at",
    "delivered_at",
    "received_at",
    "read",
    "in_reply_to",
    "mirror",
    "created_at",
    "updated_at",
    "remote_payload",
)


def _by_status(model_admin: Any, queryset: QuerySet[Message]) -> list[str]:
    """A message action's confirmation page: the selection counted by status."""
    return by_status(queryset)


@admin.register(Template)
class TemplateAdmin(SyncedAdmin):
    sync_kind = "templates"
    list_display = ("name", "is_remote", "sync_state", "synced_at")
    list_filter = (
        AccountFilter,
        "sync_state",
    )
    search_fields = ("name", "body", "remote_id")
    readonly_fields = REMOTE_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: Template | None = None) -> tuple[str, ...]:
        # The API cannot change a template: an edit of a remote one would be overwritten by a pull.
        if obj is not None and obj.is_remote:
            return ("name", "body", *REMOTE_FIELDS)
        return REMOTE_FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        # The provider's API cannot create templates: one added here could never be sent by name.
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyPage, SendPermission, SyncedAdmin):
    """Messages, and the console's own pages: the send form and the dashboard."""

    def get_urls(self) -> list[URLPattern]:
        return [*send.urls(self), *dashboard.urls(self), *team.urls(self), *super().get_urls()]

    sync_kind = "messages"
    change_list_template = "admin/zoomconnect/message/change_list.html"
    # No sync state here: a message is never pushed, so "waiting to be pushed" would only mislead.
    list_display = ("__str__", "direction", "status", "campaign", "when")
    list_filter = (AccountFilter, "direction", "status", "read")
    search_fields = ("remote_id", "reference", "to_number", "from_number", "body", "campaign", "data_field")
    date_hierarchy = "created_at"
    raw_id_fields = ("contact", "template", "batch", "in_reply_to")
    exclude = ("remote_data",)  # shown by remote_payload(), a webhook checksum masked
    change_form_template = "admin/zoomconnect/message/change_form.html"
    actions = ("pull_from_zoomconnect", "retry_selected", "cancel_selected", "refresh_selected")

    class Media:
        css = {"all": ("zoomconnect/admin/messages.css",)}

    def get_readonly_fields(self, request: HttpRequest, obj: Message | None = None) -> list[str]:
        # Statuses only move forward and sends go through the sending service: nothing here
        # is edited by hand. An inbound message's remote data are its webhook's parameters,
        # which held the checksum before it was left out: shown masked.
        return flatten_fieldsets(self.get_fieldsets(request, obj))

    @admin.display(description=_("remote data"))
    def remote_payload(self, obj: Message) -> str:
        return json_block(shown_params(obj.remote_data))

    @admin.display(description=_("when"), ordering=Coalesce("sent_at", "received_at", "created_at"))
    def when(self, obj: Message) -> Any:
        """Sent, received, or (not sent yet) created: one column, so the text has room."""
        return obj.sent_at or obj.received_at or obj.created_at

    @admin.display(description=_("Zoom Connect's copy"))
    def mirror(self, obj: Message) -> str:
        """Whether a sync read the message back; a message is never pushed, so no "waiting to be pushed"."""
        if obj.synced_at is None:
            return str(_("Not read back from Zoom Connect's message list yet"))
        read = _("%(state)s, last read %(when)s") % {
            "state": obj.get_sync_state_display(),
            "when": date_format(localtime(obj.synced_at), "DATETIME_FORMAT"),
        }
        return f"{read}; {obj.sync_error}" if obj.sync_error else str(read)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    # --- the message page ------------------------------------------------------------------------

    def get_fieldsets(self, request: HttpRequest, obj: Message | None = None) -> Any:
        who = "sender" if obj is not None and obj.direction == Direction.INBOUND else "recipient"
        summary = ("body", who, "direction", "status_and_reason", "cost_and_parts")
        return (
            (None, {"fields": (*summary, "campaign_link", "batch", "template", "scheduled_at")}),
            (
                _("Technical"),
                {
                    "classes": ("collapse",),
                    "fields": TECHNICAL_FIELDS,
                    "description": _("The outbox's bookkeeping and what Zoom Connect last said."),
                },
            ),
        )

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Message | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context["timeline"] = timeline.steps(obj, self._url_of("webhookevent"))
            context["thread"] = timeline.thread(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _url_of(self, model_name: str) -> Any:
        def url(pk: int) -> str:
            name = f"admin:{self.opts.app_label}_{model_name}_change"
            return reverse(name, args=[pk], current_app=self.admin_site.name)

        return url

    def _number(self, number: str, obj: Message) -> str:
        if obj.contact is None:
            return number or "-"
        return format_html('<a href="{}">{}</a>', self._url_of("contact")(obj.contact.pk), obj.contact)

    @admin.display(description=_("recipient"))
    def recipient(self, obj: Message) -> str:
        return self._number(obj.to_number, obj)

    @admin.display(description=_("sender"))
    def sender(self, obj: Message) -> str:
        return self._number(obj.from_number, obj)

    @admin.display(description=_("status"))
    def status_and_reason(self, obj: Message) -> str:
        reasons = [obj.last_error] if obj.last_error else []
        if obj.error_code is not None:
            reasons.append(f"provider error code {obj.error_code}")
        return format_html(
            "<strong>{}</strong>{}",
            obj.get_status_display(),
            format_html_join("", '<br><span class="zc-reason">{}</span>', ((r,) for r in reasons)),
        )

    @admin.display(description=_("cost and parts"))
    def cost_and_parts(self, obj: Message) -> str:
        cost = f"{obj.credit_cost} credits" if obj.credit_cost is not None else "cost not known yet"
        if obj.parts is None:
            return cost
        encoding = f" ({obj.encoding})" if obj.encoding else ""
        return f"{cost}, {obj.parts} part{'s' if obj.parts != 1 else ''}{encoding}"

    @admin.display(description=_("campaign"))
    def campaign_link(self, obj: Message) -> str:
        if not obj.campaign:
            return "-"
        url = reverse(f"admin:{self.opts.app_label}_message_changelist", current_app=self.admin_site.name)
        return format_html('<a href="{}?{}">{}</a>', url, urlencode({"campaign": obj.campaign}), obj.campaign)

    # --- the levers ------------------------------------------------------------------------------

    @confirmed(
        description=_("Retry the selected failed messages"),
        question=_(
            "Send the failed ones among these messages again? Each is a new SMS, charged again. "
            "One that Zoom Connect accepted and then failed to deliver is copied into a new message, "
            "so that its own history stays; numbers that opted out are left alone, as are messages "
            "that did not fail."
        ),
        confirm_label=_("Yes, send them again"),
        permissions=["change_and_send"],
        preview=_by_status,
    )
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[Message]) -> Outcome:
        return selection.retry_selected(queryset).as_dict()

    @confirmed(
        description=_("Cancel the selected messages not sent yet"),
        question=_(
            "Cancel these messages? Queued ones are never sent; ones Zoom Connect holds for later are "
            "deleted there. Messages being sent, or already sent, are left alone."
        ),
        confirm_label=_("Yes, cancel them"),
        permissions=["change"],
        preview=_by_status,
    )
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Message]) -> Outcome:
        return selection.cancel_selected(queryset).as_dict()

    @confirmed(
        description=_("Refresh the selected messages' status from Zoom Connect"),
        question=_(
            "Ask Zoom Connect now for the status of these messages? Only sent messages without a "
            "final status are asked about (one request each); statuses only move forward."
        ),
        confirm_label=_("Yes, ask Zoom Connect"),
        permissions=["change"],
        preview=_by_status,
    )
    def refresh_selected(self, request: HttpRequest, queryset: QuerySet[Message]) -> Outcome:
        return selection.refresh_selected(queryset).as_dict()
