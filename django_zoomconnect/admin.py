"""The Django admin for the mirrored account: thin classes, every write goes through the services.

Remote fields (``remote_id``, ``remote_data``, ``synced_at``, ``sync_state``, ``sync_error``) are
read-only everywhere: they say what the account holds, so only a push or a pull may change them.
Saving or deleting a contact or a group, or changing its memberships, goes through
:mod:`~django_zoomconnect.services.contacts` and reaches the account once the admin's
transaction commits; a push that fails is shown as a warning and left for the next push.
Every mirrored model's list has a "Sync now from Zoom Connect" button (and action); contacts
and groups have a "Push to Zoom Connect" action. No setting and no secret is ever shown here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from . import phone
from .exceptions import ConfigurationError, PhoneNumberError, ZoomConnectError
from .models import (
    Batch,
    Contact,
    Group,
    Membership,
    Message,
    MessageStatusChange,
    OptOut,
    SyncState,
    Template,
    WebhookEvent,
)
from .redaction import REDACTED
from .services import contacts, inbound
from .services.pull import pull
from .services.reports import SyncReport
from .signing import CHECKSUM_PARAMETER

REMOTE_FIELDS = ("remote_id", "sync_state", "sync_error", "synced_at", "remote_data")


def shown_params(params: Any) -> Any:
    """Webhook parameters as the admin shows them: the ``checksum`` masked.

    Whoever holds a parameter set with its checksum holds a request the provider signed; the
    admin is read by more people than the webhook secret is, so the value never appears there.
    """
    if not isinstance(params, dict):
        return params
    return {key: REDACTED if key == CHECKSUM_PARAMETER else value for key, value in params.items()}


def _json_block(data: Any) -> str:
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre class="readonly">{}</pre>', text)


# django-stubs makes the admin classes generic; at run time they are not subscriptable.
if TYPE_CHECKING:
    _MembershipInline = admin.TabularInline[Membership, Any]
    _StatusChangeInline = admin.TabularInline[MessageStatusChange, Any]
    _SyncedAdmin = admin.ModelAdmin[Any]
    _BatchAdmin = admin.ModelAdmin[Batch]
else:
    _MembershipInline = _StatusChangeInline = admin.TabularInline
    _SyncedAdmin = _BatchAdmin = admin.ModelAdmin


# --- pulling and pushing from the admin ----------------------------------------------------------


def _summary(report: SyncReport, kind: str) -> str:
    counts = report.kinds.get(kind)
    if counts is None:
        return ""
    parts = [f"{value:,} {name}" for name, value in counts.as_dict().items() if value]
    return ", ".join(parts) or "nothing to do"


def _show_report(request: HttpRequest, report: SyncReport, kinds: Iterable[str]) -> None:
    verb = _("Pulled from") if report.direction == "pull" else _("Pushed to")
    for kind in kinds:
        if kind in report.errors:
            messages.error(request, f"{verb} Zoom Connect: {kind} failed: {report.errors[kind]}")
        elif kind in report.kinds:
            messages.success(request, f"{verb} Zoom Connect: {kind}: {_summary(report, kind)}.")
    for issue in report.issues[:10]:
        messages.warning(request, str(issue))
    more = len(report.issues) - 10 + report.issues_left_out
    if more > 0:
        messages.warning(request, f"... and {more:,} more; the zoomconnect_sync command lists them.")


class SyncedAdmin(_SyncedAdmin):
    """What every mirrored model's admin shares: remote fields read-only, "Sync now" button and action."""

    #: The kind :func:`services.pull.pull` brings in for this model.
    sync_kind = ""
    change_list_template = "admin/zoomconnect/sync_change_list.html"
    actions: tuple[str, ...] = ("pull_from_zoomconnect",)

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_sync_now"
        sync_now = path("sync-now/", self.admin_site.admin_view(self.sync_now_view), name=name)
        return [sync_now, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = dict(extra_context or {})
        if self.has_change_permission(request):
            extra["zoomconnect_sync_now_url"] = reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_sync_now",
                current_app=self.admin_site.name,
            )
        return super().changelist_view(request, extra)

    def _pull(self, request: HttpRequest) -> None:
        try:
            report = pull(kinds=[self.sync_kind])
        except ConfigurationError as exc:  # a pull reports the API's failures in its report
            messages.error(request, str(exc))
            return
        _show_report(request, report, [self.sync_kind])

    def sync_now_view(self, request: HttpRequest) -> HttpResponse:
        """POST only: pull this model's kind, then back to the list (the API lists whole kinds)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        self._pull(request)
        return HttpResponseRedirect(
            reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist",
                current_app=self.admin_site.name,
            )
        )

    @admin.action(description=_("Sync now from Zoom Connect"), permissions=["change"])
    def pull_from_zoomconnect(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # The API only lists whole address books, so the whole kind is pulled, not just the selection.
        self._pull(request)


@dataclass(frozen=True)
class RowServices:
    """The :mod:`~django_zoomconnect.services.contacts` functions behind one pushed model's admin."""

    save: Callable[..., object]
    delete: Callable[..., None]
    push_one: Callable[[int], Contact | Group | None]
    push_many: Callable[[Iterable[Any]], SyncReport]


class PushedAdmin(SyncedAdmin):
    """Contacts and groups: saves, deletions and membership changes go through the services."""

    actions = ("pull_from_zoomconnect", "push_to_zoomconnect")
    readonly_fields = REMOTE_FIELDS
    services: ClassVar[RowServices]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        self.services.save(obj, push=False)
        self._push_after_commit(request, [obj.pk])

    def _push_after_commit(self, request: HttpRequest, pks: list[int]) -> None:
        transaction.on_commit(partial(self._push_and_report, request, pks), robust=True)

    def _push_and_report(self, request: HttpRequest, pks: list[int]) -> None:
        for pk in pks:
            try:
                row = self.services.push_one(pk)
            except (ConfigurationError, ZoomConnectError) as exc:
                messages.error(request, f"Not pushed to Zoom Connect: {exc}")
                return
            if row is not None and row.sync_state in (SyncState.FAILED, SyncState.DELETING):
                messages.warning(
                    request, f"{row} is not on Zoom Connect yet (it will be retried): {row.sync_error}"
                )

    @admin.action(description=_("Push to Zoom Connect"), permissions=["change"])
    def push_to_zoomconnect(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        try:
            report = self.services.push_many(queryset)
        except (ConfigurationError, ZoomConnectError) as exc:
            messages.error(request, str(exc))
            return
        _show_report(request, report, [self.sync_kind, "memberships"])

    def save_formset(
        self, request: HttpRequest, form: Any, formset: BaseInlineFormSet[Any, Any, Any], change: bool
    ) -> None:
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        wanted = formset.save(commit=False)
        for membership in formset.deleted_objects:
            contacts.remove_from_group(membership.contact, membership.group, push=False)
        for membership in wanted:
            if membership.pk is not None:  # an existing row now names another contact or group
                old = Membership.objects.select_related("contact", "group").get(pk=membership.pk)
                contacts.remove_from_group(old.contact, old.group, push=False)
            contacts.add_to_group(membership.contact, membership.group, push=False)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        pks = []
        for row in queryset:
            self.services.delete(row, push=False)
            pks.append(row.pk)
        self._push_after_commit(request, pks)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.services.delete(obj, push=False)
        self._push_after_commit(request, [obj.pk])


# --- contacts and groups -------------------------------------------------------------------------


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
class ContactAdmin(PushedAdmin):
    sync_kind = "contacts"
    list_display = ("phone_number", "first_name", "last_name", "title", "sync_state", "synced_at")
    list_filter = ("sync_state", "groups")
    search_fields = ("phone_number", "first_name", "last_name", "remote_id")
    fieldsets = (
        (None, {"fields": ("phone_number", "title", "first_name", "last_name")}),
        (_("Zoom Connect"), {"fields": REMOTE_FIELDS}),
    )
    inlines = (ContactMembershipInline,)
    services = RowServices(
        contacts.save_contact, contacts.delete_contact, contacts.push_contact, contacts.push_contacts
    )


@admin.register(Group)
class GroupAdmin(PushedAdmin):
    sync_kind = "groups"
    list_display = ("name", "member_count", "sync_state", "synced_at")
    list_filter = ("sync_state",)
    search_fields = ("name", "remote_id")
    fieldsets = (
        (None, {"fields": ("name",)}),
        (_("Zoom Connect"), {"fields": REMOTE_FIELDS}),
    )
    inlines = (GroupMembershipInline,)
    services = RowServices(
        contacts.save_group, contacts.delete_group, contacts.push_group, contacts.push_groups
    )

    @admin.display(description=_("members"))
    def member_count(self, obj: Group) -> int:
        return obj.memberships.count()


# --- templates, messages, batches ----------------------------------------------------------------


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
    sync_kind = "messages"
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
        return _json_block(shown_params(obj.remote_data))

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
    # Never "params": a search by checksum would tell whoever guesses one that it exists.
    search_fields = ("remote_message_id", "nonce")
    exclude = ("params",)  # shown by parameters(), checksum masked
    date_hierarchy = "received_at"
    list_select_related = ("message",)
    actions = ("reprocess_selected",)

    def get_readonly_fields(self, request: HttpRequest, obj: WebhookEvent | None = None) -> list[str]:
        # Every field, with the raw parameters replaced by a copy whose checksum is masked.
        return ["parameters" if field.name == "params" else field.name for field in WebhookEvent._meta.fields]

    @admin.display(description=_("parameters"))
    def parameters(self, obj: WebhookEvent) -> str:
        return _json_block(shown_params(obj.params))

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
