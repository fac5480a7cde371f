"""The start page: what the demo runs, where to log in, and what to try."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_zoomconnect.models import Group, Template

from . import data, runtime


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "demo/home.html",
        {
            "running": runtime.RUNNING,
            "magic": [
                (data.FAILS, "fails (FAILED)"),
                (data.OPTS_OUT, "opts out (FAILED_OPTOUT)"),
                (data.REPLIES, "is delivered, then replies"),
            ],
            "people": data.CONTACTS[:4],
            "group": Group.objects.filter(name="Customers").values_list("pk", flat=True).first() or 1,
            "template": Template.objects.filter(name="Welcome").values_list("pk", flat=True).first() or 1,
        },
    )
