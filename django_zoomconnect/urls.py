"""The webhook URLs; include them under any prefix, e.g. ``path("zoomconnect/", include(...))``.

Each URL also takes an ``account`` argument (``webhooks/<account>/reply/``): the account whose
secret verifies it; the unqualified URLs are the ``"default"`` account's.
"""

from django.urls import NoReverseMatch, path, reverse

from . import views

app_name = "zoomconnect"

urlpatterns = [
    path("webhooks/reply/", views.reply, name="reply"),
    path("webhooks/delivery-report/", views.delivery_report, name="delivery-report"),
    path("webhooks/<slug:account>/reply/", views.reply, name="reply"),
    path("webhooks/<slug:account>/delivery-report/", views.delivery_report, name="delivery-report"),
]

#: The simulator's webhook options and the URL names they point at.
WEBHOOK_OPTIONS = {"reply_url": "zoomconnect:reply", "delivery_report_url": "zoomconnect:delivery-report"}


def webhook_urls(site: str = "", account: str | None = None) -> dict[str, str]:
    """The project's webhook URLs at ``site`` (``"http://127.0.0.1:8000"``; ``""``: the paths),
    by the simulator option that sends webhooks there (``reply_url``, ``delivery_report_url``).
    ``account`` gives that account's URLs (``None`` or ``"default"``: the unqualified ones).
    Only those the project's URLconf includes: none when it does not include these URLs."""
    urls = {}
    kwargs = {"account": account} if account not in (None, "default") else {}
    for option, name in WEBHOOK_OPTIONS.items():
        try:
            urls[option] = site.rstrip("/") + reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            continue
    return urls
