"""The admin's "Send SMS" form: recipients, text or template, a live preview, confirmation, send.

The views parse the form, call :mod:`~django_zoomconnect.services.outbox.preview` (``preview``
to show what a send would do, ``send_checked`` to send it all or nothing) and render; the rules
live there. Sending needs the ``add_message`` and ``send_message`` permissions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext

from .. import conf
from ..exceptions import SendError, SendRefused
from ..models import Batch, Contact, Group, Message, Template
from ..services.outbox.preview import Preview, SendRequest, preview, send_checked
from .base import account_choice

if TYPE_CHECKING:
    from django.contrib.admin import AdminSite

__all__ = ["SendForm", "form_for_contacts", "may_send", "urls"]

#: Refusals listed on the form one by one; the rest are counted.
SHOWN_REFUSALS = 50
_SEPARATORS = re.compile(r"[,;\n]+")


def may_send(request: HttpRequest) -> bool:
    """Whether the user may send from the admin: ``add_message`` and ``send_message``."""
    label = Message._meta.app_label
    return request.user.has_perms([f"{label}.add_message", f"{label}.send_message"])


def form_for_contacts(admin_site: AdminSite, contacts: Iterable[Contact]) -> HttpResponseRedirect:
    """The send form with ``contacts`` already chosen (the contact list's action)."""
    url = reverse("admin:zoomconnect_message_send", current_app=admin_site.name)
    pks = ",".join(str(pk) for pk in sorted(contact.pk for contact in contacts))
    return HttpResponseRedirect(f"{url}?{urlencode({'contacts': pks})}")


def _when(moment: datetime | None) -> str:
    """A time as the user reads it: in the current time zone, which is named."""
    if moment is None:
        return _("now")
    local = timezone.localtime(moment)
    return f"{date_format(local, 'j M Y, H:i')} ({timezone.get_current_timezone_name()})"


class SendForm(forms.Form):
    """The fields of the send form; :meth:`send_request` is what the services take."""

    numbers = forms.CharField(
        label=_lazy("Numbers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40}),
        help_text=_lazy("One per line, or separated by commas."),
    )
    contacts = forms.ModelMultipleChoiceField(queryset=Contact.objects.all(), required=False)
    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.all(), required=False, help_text=_lazy("Every member of each group.")
    )
    body = forms.CharField(
        label=_lazy("Text"), required=False, strip=False, widget=forms.Textarea(attrs={"rows": 5, "cols": 60})
    )
    template = forms.ModelChoiceField(
        queryset=Template.objects.all(),
        required=False,
        empty_label=_lazy("(none: write the text)"),
        help_text=_lazy("Rendered for each recipient with its contact's fields; leave the text empty."),
    )
    campaign = forms.CharField(label=_lazy("Campaign"), required=False, max_length=255)
    send_at = forms.DateTimeField(
        label=_lazy("Send at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args: Any, admin_site: AdminSite, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, source in (("contacts", Message._meta.get_field("contact")), ("groups", Batch.group.field)):
            self.fields[name].widget = AutocompleteSelectMultiple(source, admin_site)
            self.fields[name].widget.choices = self.fields[name].choices  # type: ignore[attr-defined]
        if conf.has_several_accounts():  # a choice only when there is one to make
            self.fields["account"] = account_choice(
                _("Account"), _("The Zoom Connect account that sends it.")
            )
        zone = timezone.get_current_timezone_name()
        self.fields["send_at"].help_text = _("In your time zone, %(zone)s. Leave it empty to send now.") % {
            "zone": zone
        }

    @classmethod
    def initial_from(cls, query: Any) -> dict[str, list[str]]:
        """Choices named in the query string: ``?contacts=1,2,3`` (and ``groups``)."""
        named = {name: _SEPARATORS.split(query.get(name, "")) for name in ("contacts", "groups")}
        return {name: [pk for pk in pks if pk.strip().isdigit()] for name, pks in named.items()}

    def send_request(self) -> SendRequest:
        data = self.cleaned_data
        numbers = [number.strip() for number in _SEPARATORS.split(data["numbers"])]
        return SendRequest(
            numbers=tuple(number for number in numbers if number),
            contacts=tuple(data["contacts"]),
            groups=tuple(data["groups"]),
            body=data["body"] or None,
            template=data["template"],
            campaign=data["campaign"],
            send_at=data["send_at"],
            account=data.get("account") or None,
        )

    def refuse(self, refusals: Sequence[tuple[str, str]]) -> None:
        """Show the refusals as the form's errors, one line each (the first :data:`SHOWN_REFUSALS`)."""
        for who, why in refusals[:SHOWN_REFUSALS]:
            self.add_error(None, SendRefused.line(who, why))
        if len(refusals) > SHOWN_REFUSALS:
            more = len(refusals) - SHOWN_REFUSALS
            self.add_error(None, _("… and %(count)d more refused.") % {"count": more})


def summary(result: Preview) -> dict[str, str]:
    """The preview's lines as the page shows them (the form's panel and the confirmation)."""
    info = result.info
    encoding = "GSM-7" if info.encoding == "GSM7" else "UCS-2"
    parts = ngettext("%(count)d part", "%(count)d parts", info.parts) % {"count": info.parts}
    encoding_line = _("%(encoding)s, %(parts)s, %(characters)d characters") % {
        "encoding": encoding,
        "parts": parts,
        "characters": info.characters,
    }
    if result.ucs2_characters:
        encoding_line += " — " + _("UCS-2 because of: %(characters)s") % {
            "characters": " ".join(result.ucs2_characters)
        }
    recipients = ngettext("%(count)d message", "%(count)d messages", result.recipients) % {
        "count": result.recipients
    }
    left_out = []
    if result.duplicates:
        duplicates = ngettext("%(count)d duplicate", "%(count)d duplicates", result.duplicates)
        left_out.append(duplicates % {"count": result.duplicates})
    if result.opted_out:
        left_out.append(_("%(count)d opted out") % {"count": result.opted_out})
    if result.refused - result.opted_out:
        left_out.append(_("%(count)d refused") % {"count": result.refused - result.opted_out})
    if left_out:
        recipients += " " + _("(%(named)d named: %(left_out)s)") % {
            "named": result.named,
            "left_out": ", ".join(left_out),
        }
    credits = _("about %(cost)s credits") % {"cost": result.estimated_cost}
    reading = result.balance
    if reading is None:
        credits += "; " + _("the balance is not checked (BALANCE_CHECK is off)")
    else:
        read = {
            "balance": f"{reading.balance:g}" if reading.balance is not None else "",
            "time": date_format(timezone.localtime(reading.read_at), "H:i:s T"),
            "error": reading.error,
        }
        if reading.balance is None:
            credits += "; " + _("the balance could not be read at %(time)s: %(error)s") % read
        else:
            credits += "; " + _("balance %(balance)s (read at %(time)s)") % read
    text = result.text
    if result.first_recipient and result.text:
        text = _("To %(to)s: %(text)s") % {"to": result.first_recipient, "text": result.text}
    return {
        "text": text,
        "encoding": encoding_line,
        "recipients": recipients,
        "credits": credits,
        "when": _when(result.send_at),
    }


def as_json(result: Preview) -> dict[str, Any]:
    """The preview endpoint's answer: the lines, the refusals, and the numbers behind them."""
    return {
        "lines": summary(result),
        "refusals": [SendRefused.line(who, why) for who, why in result.refusals],
        "can_send": result.can_send,
        "encoding": result.info.encoding,
        "parts": result.info.parts,
        "ucs2_characters": result.ucs2_characters,
        "recipients": result.recipients,
        "estimated_cost": str(result.estimated_cost),
        "balance": None if result.balance is None else result.balance.balance,
    }


class SendViews:
    """The send form and its preview endpoint, on the message admin's URLs."""

    def __init__(self, model_admin: admin.ModelAdmin[Any]) -> None:
        self.model_admin = model_admin
        self.admin_site = model_admin.admin_site

    def _form(self, request: HttpRequest) -> SendForm:
        if not may_send(request):
            raise PermissionDenied
        if request.method == "POST":
            return SendForm(request.POST, admin_site=self.admin_site)
        return SendForm(initial=SendForm.initial_from(request.GET), admin_site=self.admin_site)

    def preview(self, request: HttpRequest) -> HttpResponse:
        """POST the form, get the preview as JSON (``send/preview/``)."""
        form = self._form(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not form.is_valid():
            errors = [f"{form[name].label}: {text}" for name, texts in form.errors.items() for text in texts]
            return JsonResponse({"lines": {}, "refusals": errors, "can_send": False}, status=400)
        return JsonResponse(as_json(preview(form.send_request())))

    def form(self, request: HttpRequest) -> HttpResponse:
        """The form; a POST previews it, then asks to confirm; a confirmed POST sends."""
        form = self._form(request)
        if request.method == "POST" and form.is_valid():
            send_request = form.send_request()
            if request.POST.get("confirmed"):
                try:
                    sent = send_checked(send_request)
                except SendRefused as exc:
                    form.refuse(exc.refusals)
                except SendError as exc:
                    form.add_error(None, str(exc))
                else:
                    return self._sent(request, sent)
            elif not request.POST.get("edit"):
                result = preview(send_request)
                if result.can_send:
                    return self._render(request, "send_confirm.html", form, result=result)
                form.refuse(result.refusals)
        return self._render(request, "send_form.html", form)

    def _render(self, request: HttpRequest, name: str, form: SendForm, **extra: Any) -> TemplateResponse:
        opts, site = self.model_admin.opts, self.admin_site.name
        fieldsets = [
            (_("Recipients"), {"fields": ["numbers", "contacts", "groups"]}),
            (_("Message"), {"fields": ["body", "template"]}),
            (
                _("When"),
                {"fields": ["campaign", "send_at", *(["account"] if "account" in form.fields else [])]},
            ),
        ]
        # AdminForm lays out any form; django-stubs say ModelForm.
        adminform = helpers.AdminForm(form, fieldsets, {}, model_admin=self.model_admin)  # type: ignore[arg-type]
        result = extra.get("result")
        context = {
            **self.admin_site.each_context(request),
            **extra,
            "title": _("Send SMS"),
            "opts": opts,
            "form": form,
            "adminform": adminform,
            "errors": form.errors,
            "media": self.model_admin.media + adminform.media,
            "preview_url": reverse("admin:zoomconnect_message_send_preview", current_app=site),
            "summary": summary(result) if result is not None else None,
            "has_view_permission": self.model_admin.has_view_permission(request),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, f"admin/zoomconnect/{name}", context)

    def _sent(self, request: HttpRequest, sent: Message | Batch) -> HttpResponseRedirect:
        if isinstance(sent, Message):
            name, scheduled = "message", sent.scheduled_at
            text = _("SMS to %(to)s: %(status)s.") % {
                "to": sent.to_number,
                "status": sent.get_status_display(),
            }
        else:
            name, scheduled, count = "batch", sent.send_at, sent.messages.count()
            text = ngettext(
                "%(batch)s: %(count)d message queued.", "%(batch)s: %(count)d messages queued.", count
            ) % {"batch": sent, "count": count}
        if scheduled is not None:
            text += " " + _("Sending at %(when)s.") % {"when": _when(scheduled)}
        messages.success(request, text)
        url = reverse(f"admin:zoomconnect_{name}_change", args=[sent.pk], current_app=self.admin_site.name)
        return HttpResponseRedirect(url)


def urls(model_admin: Any) -> list[URLPattern]:
    """The send form's URLs, added to the message admin's (``admin:zoomconnect_message_send``)."""
    views = SendViews(model_admin)
    wrap = model_admin.admin_site.admin_view
    return [
        path("send/", wrap(views.form), name="zoomconnect_message_send"),
        path("send/preview/", wrap(views.preview), name="zoomconnect_message_send_preview"),
    ]
