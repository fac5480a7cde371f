"""The admin of contacts, groups, memberships and opt-outs: every write goes through the services.

Saving or deleting a contact or a group, or changing its memberships, goes through
:mod:`~django_zoomconnect.services.contacts` and reaches the account once the admin's
transaction commits; a push that fails is shown as a warning and left for the next push.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from .. import phone
from ..exceptions import PhoneNumberError
from ..models import (
    Contact,
    Group,
    Membership,
    OptOut,
)
from ..services import contacts
from . import send
from .base import REMOTE_FIELDS, PushedAdmin, RowServices

if TYPE_CHECKING:
    _MembershipInline = admin.TabularInline[Membership, Any]
    _OptOutAdmin = admin.ModelAdmin[OptOut]
    _OptOutForm = forms.ModelForm[OptOut]
else:
    _MembershipInline = admin.TabularInline
    _OptOutAdmin = admin.ModelAdmin
    _OptOutForm = forms.ModelForm


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
    actions = (*PushedAdmin.actions, "send_sms_to_selected")  # type: ignore[assignment]  # one more

    @admin.action(description=_("Send SMS to the selected contacts"), permissions=["send_message"])
    def send_sms_to_selected(self, request: HttpRequest, queryset: QuerySet[Contact]) -> HttpResponse:
        return send.form_for_contacts(self.admin_site, queryset)

    def has_send_message_permission(self, request: HttpRequest) -> bool:
        return send.may_send(request)


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
