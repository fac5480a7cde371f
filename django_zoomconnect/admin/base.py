"""What the admin classes share: the remote fields read-only, "Sync now", pushes through the services.

Remote fields (``remote_id``, ``remote_data``, ``synced_at``, ``sync_state``, ``sync_error``) are
read-only everywhere: they say what the account holds, so only a push or a pull may change them.
No setting and no secret is ever shown in the admin.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial, wraps
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

    StrOrPromise = str | _StrPromise
else:
    StrOrPromise = str

from .. import conf
from ..exceptions import ConfigurationError, ZoomConnectError
from ..models import (
    Contact,
    Group,
    Membership,
    Message,
    MessageStatus,
    SyncState,
)
from ..redaction import REDACTED
from ..services import contacts, progress
from ..services.pull import pull
from ..services.reports import SyncReport
from ..signing import CHECKSUM_PARAMETER

REMOTE_FIELDS = ("account", "remote_id", "sync_state", "sync_error", "synced_at", "remote_data")


def shown_params(params: Any) -> Any:
    """Webhook parameters as the admin shows them: the ``checksum`` masked.

    Whoever holds a parameter set with its checksum holds a request the provider signed; the
    admin is read by more people than the webhook secret is, so the value never appears there.
    """
    if not isinstance(params, dict):
        return params
    return {key: REDACTED if key == CHECKSUM_PARAMETER else value for key, value in params.items()}


def json_block(data: Any) -> str:
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre class="readonly">{}</pre>', text)


# django-stubs makes the admin classes generic; at run time they are not subscriptable.
if TYPE_CHECKING:
    _SyncedAdmin = admin.ModelAdmin[Any]
else:
    _SyncedAdmin = admin.ModelAdmin


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


def account_choice(label: Any, help_text: Any = "", *, required: bool = True) -> forms.ChoiceField:
    """A choice among the configured accounts (read now), the default account first and chosen."""
    return forms.ChoiceField(
        label=label,
        choices=[(alias, alias) for alias in conf.account_aliases()],
        initial=conf.DEFAULT_ACCOUNT,
        help_text=help_text,
        required=required,
    )


class AccountFilter(admin.SimpleListFilter):
    """Rows by account (``?account=marketing``); shown only when several accounts are configured."""

    title = _("account")
    parameter_name = "account"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        try:
            aliases = conf.account_aliases()
        except ConfigurationError:
            return []  # the system checks say why
        return [(alias, alias) for alias in aliases] if len(aliases) > 1 else []

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(account=value) if value else queryset


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
        """Pull this kind from every configured account, each into its own rows."""
        try:
            aliases = conf.account_aliases()
            for alias in aliases:
                report = pull(kinds=[self.sync_kind], account=alias)
                if len(aliases) > 1:
                    messages.info(request, _("Account %(alias)s:") % {"alias": alias})
                _show_report(request, report, [self.sync_kind])
        except ConfigurationError as exc:  # a pull reports the API's failures in its report
            messages.error(request, str(exc))

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

    actions: tuple[str, ...] = ("pull_from_zoomconnect", "push_to_zoomconnect")
    readonly_fields = REMOTE_FIELDS
    services: ClassVar[RowServices]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        """The remote fields; a new row's account is chosen when several are configured (a row
        never moves to another account: its remote id is that account's)."""
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is None and conf.has_several_accounts():
            return tuple(name for name in fields if name != "account")
        return fields

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "account":
            return account_choice(
                _("account"), _("The Zoom Connect account it is created on; it cannot change later.")
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

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


# --- actions with a confirmation page -------------------------------------------------------------


#: What an action did: a count for each result, e.g. ``{"retried": 12, "skipped: not failed": 3}``.
Outcome = Mapping[str, int]
#: Rows listed by name on a confirmation page; the rest are counted.
_SHOWN = 20


def outcome_text(outcome: Outcome) -> str:
    """One line from an action's counts: ``"12 retried, 3 skipped: not failed"``."""
    parts = [f"{count:,} {result}" for result, count in outcome.items() if count]
    return ", ".join(parts) or str(_("nothing to do"))


def confirmed(
    *,
    description: StrOrPromise,
    question: StrOrPromise,
    confirm_label: StrOrPromise,
    permissions: Sequence[str],
    preview: Callable[[Any, QuerySet[Any]], Sequence[str]] | None = None,
) -> Callable[[Callable[[Any, HttpRequest, QuerySet[Any]], Outcome]], Callable[..., HttpResponse | None]]:
    """An admin action that asks first: a confirmation page, then the work, then one message.

    The decorated method does the work (through a service) and returns its :data:`Outcome`;
    this wrapper renders ``confirm_action.html`` on the first POST (with ``question`` and, from
    ``preview``, lines saying what will happen) and reports the outcome in one message once the
    operator confirms. ``permissions`` are the admin's ``has_<name>_permission`` checks; Django
    offers the action when any one of them passes, so an action that needs several names one
    check that asks for all (``SendPermission.has_change_and_send_permission``).
    """

    def decorate(
        work: Callable[[Any, HttpRequest, QuerySet[Any]], Outcome],
    ) -> Callable[..., HttpResponse | None]:
        @admin.action(description=description, permissions=list(permissions))
        @wraps(work)
        def action(model_admin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
            if request.POST.get("post") == "yes":
                outcome = work(model_admin, request, queryset)
                model_admin.message_user(request, f"{description}: {outcome_text(outcome)}.")
                return None
            rows = list(queryset[: _SHOWN + 1])
            context = {
                **model_admin.admin_site.each_context(request),
                "title": description,
                "opts": model_admin.opts,
                "question": question,
                "confirm_label": confirm_label,
                "preview": preview(model_admin, queryset) if preview is not None else (),
                "queryset": queryset,
                "shown": rows[:_SHOWN],
                "more": max(queryset.count() - _SHOWN, 0),
                "action": work.__name__,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "media": model_admin.media,
            }
            request.current_app = model_admin.admin_site.name
            return TemplateResponse(request, "admin/zoomconnect/confirm_action.html", context)

        return action

    return decorate


def by_status(messages: QuerySet[Message]) -> list[str]:
    """A confirmation page's lines for ``messages``: how many there are in each status."""
    counts = progress.progress_of(messages).counts
    return [f"{count:,} {MessageStatus(status).label}" for status, count in counts.items()]


class SendPermission:
    """For actions that send SMS (again): ``permissions=["change_and_send"]``.

    Django offers an action when *any* of its permissions passes, so an action that needs two
    names one check that asks for both: the model's change permission and ``send_message``.
    """

    def has_change_and_send_permission(self, request: HttpRequest) -> bool:
        return bool(
            self.has_change_permission(request)  # type: ignore[attr-defined]
            and request.user.has_perm(f"{Message._meta.app_label}.send_message")
        )


class ReadOnlyPage:
    """A change page that only shows: no Save buttons, and a POST to it is refused (403).

    Its actions, which Django checks without an object, still ask for the change permission.
    """

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and bool(super().has_change_permission(request))  # type: ignore[misc]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        # Nothing on the list is changed by hand: "Select message to change" would say otherwise.
        title = capfirst(self.opts.verbose_name_plural)  # type: ignore[attr-defined]
        extra = {"title": title, **(extra_context or {})}
        return super().changelist_view(request, extra)  # type: ignore[misc]
