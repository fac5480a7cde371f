"""The admin of contacts, groups, memberships and opt-outs: every write goes through the services.

Saving or deleting a contact or a group, or changing its memberships, goes through
:mod:`~django_zoomconnect.services.contacts` and reaches the account once the admin's
transaction commits; a push that fails is shown as a warning and left for the next push.
Opting numbers out and back in, from the contacts or the opt-out list, goes through
:mod:`~django_zoomconnect.services.optouts`, which keeps the history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from .. import phone
from ..exceptions import PhoneNumberError
from ..models import (
    Contact,
    Group,
    Membership,
    OptOut,
    OptOutChange,
)
from ..services import contacts, erasure, optouts
from ..services.reports import Tally
from . import send
from .base import REMOTE_FIELDS, AccountFilter, Outcome, PushedAdmin, RowServices, confirmed

if TYPE_CHECKING:
    _MembershipInline = admin.TabularInline[Membership, Any]
    _OptOutAdmin = admin.ModelAdmin[OptOut]
    _OptOutChangeAdmin = admin.ModelAdmin[OptOutChange]
    _OptOutForm = forms.ModelForm[OptOut]
else:
    _MembershipInline = admin.TabularInline
    _OptOutAdmin = admin.ModelAdmin
    _OptOutChangeAdmin = admin.ModelAdmin
    _OptOutForm = forms.ModelForm


def _by(request: HttpRequest) -> str:
    """The ``detail`` of an opt-out or opt-in an operator made: who, and where."""
    return f"by {request.user.get_username()} in the admin"


def _by_hand(change: Callable[..., Tally], request: HttpRequest, rows: QuerySet[Any]) -> Outcome:
    """``optouts.opt_out_numbers`` or ``opt_in_numbers`` on the numbers of ``rows``, by this operator."""
    numbers = rows.values_list("phone_number", flat=True)
    return change(numbers, source=optouts.Source.MANUAL, detail=_by(request)).as_dict()


@confirmed(
    description=_("Opt the selected numbers back in"),
    question=_(
        "Send SMS to these numbers again? Only do this with their consent: each asked not to be "
        "sent to. The history keeps their opt-out and this step, with your name."
    ),
    confirm_label=_("Yes, opt them back in"),
    permissions=["opt_in"],
)
def opt_in_selected(model_admin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> Outcome:
    """The contacts' and the opt-out list's action (``has_opt_in_permission`` of each decides)."""
    return _by_hand(optouts.opt_in_numbers, request, queryset)


def _history_url(number: str) -> str:
    url = reverse("admin:zoomconnect_optoutchange_changelist")
    return f"{url}?{urlencode({'phone_number': number})}"


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
    list_display = (
        "phone_number",
        "first_name",
        "last_name",
        "title",
        "opted_out",
        "sync_state",
        "synced_at",
    )
    list_filter = (AccountFilter, "sync_state", "groups")
    search_fields = ("phone_number", "first_name", "last_name", "remote_id")
    fieldsets = (
        (None, {"fields": ("phone_number", "title", "first_name", "last_name", "opt_out_state")}),
        (_("Zoom Connect"), {"fields": REMOTE_FIELDS}),
    )
    inlines = (ContactMembershipInline,)
    services = RowServices(
        contacts.save_contact, contacts.delete_contact, contacts.push_contact, contacts.push_contacts
    )
    actions = (
        *PushedAdmin.actions,
        "send_sms_to_selected",
        "opt_out_selected",
        "opt_in_selected",
        "erase_selected",
    )
    opt_in_selected = opt_in_selected

    @admin.action(description=_("Send SMS to the selected contacts"), permissions=["send_message"])
    def send_sms_to_selected(self, request: HttpRequest, queryset: QuerySet[Contact]) -> HttpResponse:
        return send.form_for_contacts(self.admin_site, queryset)

    def has_send_message_permission(self, request: HttpRequest) -> bool:
        return send.may_send(request)

    def get_readonly_fields(self, request: HttpRequest, obj: Contact | None = None) -> tuple[str, ...]:
        return (*super().get_readonly_fields(request, obj), "opt_out_state")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Contact]:
        stopped = OptOut.objects.filter(phone_number=OuterRef("phone_number"))
        rows: QuerySet[Contact] = super().get_queryset(request)
        return rows.annotate(is_opted_out=Exists(stopped))

    @admin.display(description=_("opted out"), boolean=True, ordering="is_opted_out")
    def opted_out(self, obj: Contact) -> bool:
        return bool(getattr(obj, "is_opted_out", False))

    @admin.display(description=_("opt-out"))
    def opt_out_state(self, obj: Contact) -> str:
        if obj.pk is None:
            return "-"
        found = OptOut.objects.filter(phone_number=obj.phone_number).first()
        state = str(_("Not opted out"))
        if found is not None:
            how = str(found.get_source_display())
            if found.detail:
                how = f"{how}: {found.detail}"
            state = f"Opted out since {found.created_at:%Y-%m-%d %H:%M} ({how})"
        history = _history_url(obj.phone_number)
        return format_html('{} &middot; <a href="{}">{}</a>', state, history, _("history"))

    def has_opt_out_permission(self, request: HttpRequest) -> bool:
        return self.has_change_permission(request) and request.user.has_perm(
            f"{OptOut._meta.app_label}.add_optout"
        )

    def has_opt_in_permission(self, request: HttpRequest) -> bool:
        return self.has_change_permission(request) and request.user.has_perm(
            f"{OptOut._meta.app_label}.delete_optout"
        )

    @confirmed(
        description=_("Opt the selected contacts out"),
        question=_(
            "Stop sending SMS to these contacts' numbers? Sends to them are refused until they are "
            "opted back in; the opt-out is kept in the history with your name."
        ),
        confirm_label=_("Yes, opt them out"),
        permissions=["opt_out"],
    )
    def opt_out_selected(self, request: HttpRequest, queryset: QuerySet[Contact]) -> Outcome:
        return _by_hand(optouts.opt_out_numbers, request, queryset)

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return self.has_delete_permission(request)

    @confirmed(
        description=_("Erase the selected people's numbers everywhere"),
        question=_(
            "Erase every trace of these numbers: the contacts are deleted, their messages both ways "
            "and webhook events are kept for the statistics but emptied of the number and the text, "
            "their opt-out history is deleted and an opt-out is kept only as a hash, so that they "
            "are still not sent to. This cannot be undone. The contacts stay on Zoom Connect."
        ),
        confirm_label=_("Yes, erase them"),
        permissions=["erase"],
    )
    def erase_selected(self, request: HttpRequest, queryset: QuerySet[Contact]) -> Outcome:
        return erasure.erase_numbers(queryset.values_list("phone_number", flat=True)).as_dict()


@admin.register(Group)
class GroupAdmin(PushedAdmin):
    sync_kind = "groups"
    list_display = ("name", "member_count", "sync_state", "synced_at")
    list_filter = (
        AccountFilter,
        "sync_state",
    )
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
    """Numbers not to send to. Added by hand here, or by STOP replies and FAILED_OPTOUT reports.

    Adding and deleting go through :mod:`~django_zoomconnect.services.optouts`, so each is kept
    in the opt-out history; deleting one is opting the number back in.
    """

    form = OptOutForm
    list_display = ("phone_number", "source", "detail", "created_at", "message")
    list_filter = ("source",)
    search_fields = ("phone_number", "detail")
    readonly_fields = ("source", "message", "created_at")
    list_select_related = ("message",)
    actions = ("opt_in_selected",)
    opt_in_selected = opt_in_selected

    def get_readonly_fields(self, request: HttpRequest, obj: OptOut | None = None) -> tuple[str, ...]:
        # Another number is another opt-out: only the detail of an existing one may change.
        return ("phone_number", *self.readonly_fields) if obj is not None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: OptOut, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        optouts.opt_out(obj.phone_number, source=optouts.Source.MANUAL, detail=obj.detail or _by(request))
        stored = OptOut.objects.get(phone_number=obj.phone_number)
        obj.pk, obj.source, obj.created_at = stored.pk, stored.source, stored.created_at

    def delete_model(self, request: HttpRequest, obj: OptOut) -> None:
        optouts.opt_in(obj.phone_number, source=optouts.Source.MANUAL, detail=_by(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[OptOut]) -> None:
        _by_hand(optouts.opt_in_numbers, request, queryset)

    def has_opt_in_permission(self, request: HttpRequest) -> bool:
        return self.has_delete_permission(request)


@admin.register(OptOutChange)
class OptOutChangeAdmin(_OptOutChangeAdmin):
    """The opt-out history, read-only: every opt-out and opt-in, by what and why."""

    list_display = ("at", "phone_number", "action", "source", "detail", "message")
    list_filter = ("action", "source")
    search_fields = ("phone_number", "detail")
    date_hierarchy = "at"
    list_select_related = ("message",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OptOutChange | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OptOutChange | None = None) -> bool:
        return False
