"""The admin's "Team" page: the account's users and their balances, a new sub-user, credit transfers.

Three URLs on the message admin: the page (``admin:zoomconnect_team``, GET; ``?email=`` searches
one address, ``?account=`` picks an account), "Create sub-user" (POST) and "Transfer credit"
(POST, asked on a confirmation page first). They parse the forms, call
:mod:`~django_zoomconnect.services.team` and render; the rules live there.

Only superusers see them: creating users with a password and moving credit administer the
account itself, and no model permission says that (a new one would need a migration).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.debug import sensitive_post_parameters

from .. import conf
from ..exceptions import ConfigurationError, TeamError, ZoomConnectError
from ..models import Message
from ..services import team
from ..services.team import Team, Transfer, TransferPreview
from .base import account_choice

__all__ = ["CreateForm", "TransferForm", "may_manage_team", "urls"]

#: The ``<datalist>`` of the team's addresses, offered by the transfer form's two fields.
EMAILS_LIST = "zc-team-emails"


def may_manage_team(request: HttpRequest) -> bool:
    """Whether the user may see the team and change it: an active superuser."""
    user = request.user
    return bool(user.is_active and user.is_superuser)


class _AccountForm(forms.Form):
    """The account a form acts on: a choice when there are several, hidden when there is one."""

    account = forms.ChoiceField(
        label=_lazy("Account"), required=False
    )  # first; its choices are read per form

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"] = account_choice(_lazy("Account"), required=False)
        if not conf.has_several_accounts():
            self.fields["account"].widget = forms.HiddenInput()


class CreateForm(_AccountForm):
    """A new sub-user: what the provider requires, and a company."""

    email = forms.EmailField(label=_lazy("Email address"))
    first_name = forms.CharField(label=_lazy("First name"), max_length=100)
    last_name = forms.CharField(label=_lazy("Last name"), max_length=100)
    contact_number = forms.CharField(label=_lazy("Contact number"), max_length=32)
    company = forms.CharField(label=_lazy("Company"), max_length=100, required=False)
    password = forms.CharField(
        label=_lazy("Password"),
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_lazy("Sent to Zoom Connect only: never stored here, never shown again."),
    )


class TransferForm(_AccountForm):
    """Credits from one user of the team to another."""

    from_email = forms.EmailField(
        label=_lazy("From"), widget=forms.EmailInput(attrs={"list": EMAILS_LIST, "autocomplete": "off"})
    )
    to_email = forms.EmailField(
        label=_lazy("To"), widget=forms.EmailInput(attrs={"list": EMAILS_LIST, "autocomplete": "off"})
    )
    credits = forms.IntegerField(label=_lazy("Credits"), min_value=1)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        source, target = data.get("from_email"), data.get("to_email")
        if source and target and source.casefold() == target.casefold():
            raise forms.ValidationError(_("Credits go from one user to another: both are %s.") % source)
        return data


_Form = TypeVar("_Form", bound=_AccountForm)


class TeamViews:
    """The page and its two forms, on the message admin's URLs and site."""

    def __init__(self, model_admin: Any) -> None:
        self.model_admin = model_admin
        self.site = model_admin.admin_site

    def page(self, request: HttpRequest) -> HttpResponse:
        self._check(request)
        account = str(request.GET.get("account", "")) or None
        initial = {"account": account or conf.DEFAULT_ACCOUNT}
        transfer = {
            **initial,
            "from_email": request.GET.get("from", ""),
            "to_email": request.GET.get("to", ""),
        }
        return self._render(request, account, CreateForm(initial=initial), TransferForm(initial=transfer))

    def create(self, request: HttpRequest) -> HttpResponse:
        """POST: create the sub-user, then back to the page; refused, the form says why."""
        form, data, account = self._posted(request, CreateForm)
        if data is not None:
            try:
                member = team.create_sub_user(
                    email=data["email"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    contact_number=data["contact_number"],
                    password=data["password"],
                    company=data["company"] or None,
                    account=account,
                )
            except (TeamError, ZoomConnectError, ConfigurationError) as exc:
                form.add_error(None, str(exc))
            else:
                text = _("Created the sub-user %(email)s (%(name)s, user %(id)s).") % {
                    "email": member.email,
                    "name": member.name,
                    "id": member.user_id,
                }
                messages.success(request, text)
                return self._back(account)
        return self._render(request, account, form, TransferForm(initial={"account": account}))

    def transfer(self, request: HttpRequest) -> HttpResponse:
        """POST: ask on a confirmation page, then transfer (``confirmed``) or edit (``edit``)."""
        form, data, account = self._posted(request, TransferForm)
        if data is not None:
            args = (data["from_email"], data["to_email"], data["credits"])
            try:
                if request.POST.get("confirmed"):
                    if not _first_use(request.POST.get("once", "")):
                        messages.warning(
                            request, _("That transfer was already asked for: it was not sent again.")
                        )
                        return self._back(account)
                    done = team.transfer_credit(*args, account=account)
                    messages.success(request, _transferred(done))
                    return self._back(account)
                if not request.POST.get("edit"):
                    preview = team.preview_transfer(*args, account=account)
                    if preview.sufficient:
                        return self._confirm(request, form, preview)
                    form.add_error(
                        "credits",
                        _("%(email)s holds %(balance)s credits, fewer than %(credits)s.")
                        % {
                            "email": preview.source.email,
                            "balance": f"{preview.source.balance:g}",
                            "credits": preview.credits,
                        },
                    )
            except (TeamError, ZoomConnectError, ConfigurationError) as exc:
                form.add_error(None, str(exc))
        return self._render(request, account, CreateForm(initial={"account": account}), form)

    # -- rendering ----------------------------------------------------------------------------

    def _check(self, request: HttpRequest) -> None:
        if not may_manage_team(request):
            raise PermissionDenied

    def _posted(
        self, request: HttpRequest, form_class: type[_Form]
    ) -> tuple[_Form, dict[str, Any] | None, str | None]:
        """The posted form after the permission check: its data (None when invalid) and account."""
        self._check(request)
        form = form_class(request.POST)
        if not form.is_valid():
            return form, None, None
        return form, form.cleaned_data, form.cleaned_data["account"] or None

    def _context(self, request: HttpRequest, title: str) -> dict[str, Any]:
        request.current_app = self.site.name
        return {
            **self.site.each_context(request),
            "title": title,
            "opts": Message._meta,
            "dashboard_url": reverse("admin:zoomconnect_dashboard", current_app=self.site.name),
            "team_url": reverse("admin:zoomconnect_team", current_app=self.site.name),
        }

    def _render(
        self, request: HttpRequest, account: str | None, create: CreateForm, transfer: TransferForm
    ) -> TemplateResponse:
        search = str(request.GET.get("email", "")).strip() or None
        found: Team | None = None
        error = ""
        try:
            found = team.list_sub_users(email=search, account=account)
        except (TeamError, ZoomConnectError, ConfigurationError) as exc:
            error = str(exc)
        aliases = team.account_aliases()
        context = {
            **self._context(request, _("Team")),
            "team": found,
            "team_error": error,
            "search": search or "",
            "account": account or aliases[0],
            "aliases": aliases if len(aliases) > 1 else (),
            "create_form": create,
            "transfer_form": transfer,
            "emails_list": EMAILS_LIST,
            "media": create.media + transfer.media,
        }
        return TemplateResponse(request, "admin/zoomconnect/team.html", context)

    def _confirm(
        self, request: HttpRequest, form: TransferForm, preview: TransferPreview
    ) -> TemplateResponse:
        context = {
            **self._context(request, _("Transfer credit")),
            "form": form,
            "preview": preview,
            "source_after": _minus(preview.source.balance, preview.credits),
            "target_after": _minus(preview.target.balance, -preview.credits),
            "several_accounts": conf.has_several_accounts(),
            "confirming": True,
            "once": secrets.token_urlsafe(18),
        }
        return TemplateResponse(request, "admin/zoomconnect/team_transfer_confirm.html", context)

    def _back(self, account: str | None) -> HttpResponseRedirect:
        url = reverse("admin:zoomconnect_team", current_app=self.site.name)
        if account and account != conf.DEFAULT_ACCOUNT:
            url += "?" + urlencode({"account": account})
        return HttpResponseRedirect(url)


#: How long a confirmation page's one-time token is remembered once used.
_ONCE_SECONDS = 24 * 3600


def _first_use(token: str) -> bool:
    """Whether this confirmation page's token is used for the first time (a double click on
    "Yes, transfer", or the page posted again from the browser's history, would send credit twice).
    ``cache.add`` is atomic in Django's cache backends, so two racing posts cannot both win."""
    if not 16 <= len(token) <= 64:
        return False
    return bool(cache.add(f"django_zoomconnect:transfer-once:{token}", True, _ONCE_SECONDS))


def _minus(balance: float | None, credits: int) -> float | None:
    return None if balance is None else balance - credits


def _transferred(done: Transfer) -> str:
    """The one line after a transfer, with the receiver's balance when the provider said it."""
    names = {"credits": f"{done.credits:,}", "source": done.from_email, "target": done.to_email}
    if done.target is None or done.target.balance is None:
        return _("Transferred %(credits)s credits from %(source)s to %(target)s.") % names
    balance = f"{done.target.balance:,g}"
    return _("Transferred %(credits)s credits from %(source)s to %(target)s, who now holds %(balance)s.") % {
        **names,
        "balance": balance,
    }


def _post_only(view: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    def only_post(request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return view(request)

    return only_post


def urls(model_admin: Any) -> list[URLPattern]:
    """The team's URLs, added to the message admin's (``admin:zoomconnect_team``)."""
    views = TeamViews(model_admin)
    wrap = model_admin.admin_site.admin_view
    return [
        path("team/", wrap(views.page), name="zoomconnect_team"),
        path(
            "team/create/",
            wrap(sensitive_post_parameters("password")(_post_only(views.create))),
            name="zoomconnect_team_create",
        ),
        path("team/transfer/", wrap(_post_only(views.transfer)), name="zoomconnect_team_transfer"),
    ]
