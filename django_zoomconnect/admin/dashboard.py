"""The admin's dashboard: balance, pause, the outbox, deliveries per day, campaigns, beat tasks.

Three URLs on the message admin: the page (``admin:zoomconnect_dashboard``, needs
``view_message``), "Refresh" of an account's balance (POST ``account``, ``view_message``) and
"Resume sending" (POST, ``change_message``); each account has its balance card. Each view
parses its input, calls :mod:`...services.dashboard` and renders; the figures and their rules
live there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from .. import conf, storable
from ..exceptions import ConfigurationError, ZoomConnectError
from ..models import Message, MessageStatus
from ..services import dashboard
from ..services.stats import HANDED_OVER
from .charts import Bar, Series, stacked_bars
from .team import may_manage_team

__all__ = ["COLOURS", "urls"]

#: The chart's colour for each status it stacks (a colour-blind-safe palette).
COLOURS = {
    MessageStatus.DELIVERED: "#1b7837",
    MessageStatus.SENT: "#4393c3",
    MessageStatus.UNKNOWN: "#999999",
    MessageStatus.FAILED: "#d6604d",
    MessageStatus.FAILED_REFUNDED: "#f4a582",
    MessageStatus.FAILED_OPTOUT: "#762a83",
}


def urls(model_admin: Any) -> list[URLPattern]:
    """The dashboard's URLs, added to the message admin's (``admin:zoomconnect_dashboard``)."""
    wrap: Callable[..., Any] = model_admin.admin_site.admin_view
    views = DashboardViews(model_admin)
    return [
        path("dashboard/", wrap(views.page), name="zoomconnect_dashboard"),
        path("dashboard/balance/", wrap(views.refresh_balance), name="zoomconnect_dashboard_balance"),
        path("dashboard/resume/", wrap(views.resume), name="zoomconnect_dashboard_resume"),
    ]


class DashboardViews:
    """The dashboard's three views, with the message admin's permissions and site."""

    def __init__(self, model_admin: Any) -> None:
        self.model_admin = model_admin

    def page(self, request: HttpRequest) -> HttpResponse:
        if not self.model_admin.has_view_permission(request):
            raise PermissionDenied
        campaign = self._campaign(request, request.GET)
        board = dashboard.overview(tz=timezone.get_current_timezone(), campaign=campaign)
        series = [Series(str(s), str(MessageStatus(s).label), COLOURS[s]) for s in HANDED_OVER]
        title = _("Messages sent per day, by status now")
        chart = stacked_bars(
            [
                Bar(formats.date_format(day.day, "j M"), formats.date_format(day.day, "D j M Y"), day.counts)
                for day in board.deliveries.days
            ],
            series,
            title=title,
            empty_text=_("No messages sent in these days"),
        )
        site = self.model_admin.admin_site
        context = {
            **site.each_context(request),
            "title": _("Dashboard"),
            "opts": Message._meta,
            "board": board,
            "chart": chart,
            "chart_title": title,
            "legend": [(one, board.deliveries.totals.get(one.key, 0)) for one in series],
            "beats": [(beat, _result_text(beat.last_result)) for beat in board.beats],
            "can_resume": self.model_admin.has_change_permission(request),
            "several_accounts": len(board.balances) > 1,
            "team_url": (
                reverse("admin:zoomconnect_team", current_app=site.name) if may_manage_team(request) else None
            ),
            "messages_url": reverse("admin:zoomconnect_message_changelist", current_app=site.name),
        }
        request.current_app = site.name
        return TemplateResponse(request, "admin/zoomconnect/dashboard.html", context)

    def refresh_balance(self, request: HttpRequest) -> HttpResponse:
        """POST: read an account's balance now (the default's lifts a pause: the credentials work)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.model_admin.has_view_permission(request):
            raise PermissionDenied
        account = str(request.POST.get("account", "")) or None
        try:
            refreshed = dashboard.refresh_balance(account=account)
        except (ZoomConnectError, ConfigurationError) as exc:
            messages.error(request, _("The balance could not be read: %s") % exc)
        else:
            balance = formats.number_format(refreshed.reading.balance, 2, use_l10n=True, force_grouping=True)
            if conf.has_several_accounts():
                text = _("Balance of %(account)s: %(balance)s credits.")
            else:
                text = _("Balance: %(balance)s credits.")
            messages.success(request, text % {"account": refreshed.account, "balance": balance})
            if refreshed.resumed:
                messages.success(request, _("The credentials work again: sending has resumed."))
        return self._back(request)

    def resume(self, request: HttpRequest) -> HttpResponse:
        """POST: lift the pause and dispatch what is due."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.model_admin.has_change_permission(request):
            raise PermissionDenied
        enqueued = dashboard.resume()
        if enqueued is None:
            messages.info(request, _("Sending was not paused."))
        else:
            messages.success(request, _("Sending resumed; %d due messages or chunks handed over.") % enqueued)
        return self._back(request)

    def _campaign(self, request: HttpRequest, data: Any) -> str | None:
        """The campaign filter (``?campaign=``); empty, or text no database can take, is none."""
        campaign = str(data.get("campaign", ""))
        problem = storable.problem(campaign)
        if problem:
            messages.warning(request, _("The campaign filter was ignored: it contains %s.") % problem)
            return None
        return campaign or None

    def _back(self, request: HttpRequest) -> HttpResponseRedirect:
        url = reverse("admin:zoomconnect_dashboard", current_app=self.model_admin.admin_site.name)
        campaign = self._campaign(request, request.POST)
        return HttpResponseRedirect(f"{url}?{urlencode({'campaign': campaign})}" if campaign else url)


def _result_text(result: Any) -> str:
    """A beat task's result in a line: ``"tasks enqueued 2, paused"``; zeros are left out."""
    if isinstance(result, dict):
        parts = [
            name.replace("_", " ") if value is True else f"{name.replace('_', ' ')} {value}"
            for name, value in result.items()
            if value not in (0, False, None, "", [], {})
        ]
        return ", ".join(parts) or _("nothing to do")
    if result is None:
        return ""
    return str(result)
