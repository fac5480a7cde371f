"""System checks for the ``ZOOMCONNECT`` setting; they read settings only, never the database."""

from __future__ import annotations

from typing import Any

from django.core import checks

from . import conf
from .exceptions import ConfigurationError

#: The check id for each key whose value is invalid; other keys share ``zoomconnect.E004``.
_INVALID_IDS = {
    "BASE_URL": ("zoomconnect.E002", "Use an absolute URL such as 'https://www.zoomconnect.com/app/'."),
    "API_TIMEZONE": ("zoomconnect.E003", "Use an IANA name such as 'Africa/Johannesburg'."),
}


@checks.register(checks.Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        conf.user_settings()
    except ConfigurationError as exc:
        return [checks.Error(str(exc), hint="Set ZOOMCONNECT = {...} in settings.", id="zoomconnect.E005")]

    messages: list[checks.CheckMessage] = []
    for key in conf.DEFAULTS:
        if key in conf.ACCOUNT_KEYS:
            continue  # per account, below
        try:
            conf.get(key)
        except ConfigurationError as exc:
            messages.append(_invalid(key, exc))
    try:
        aliases = conf.account_aliases()
    except ConfigurationError:
        aliases = []  # ACCOUNTS itself is reported above (each account's keys would repeat it)
    for alias in aliases:
        messages.extend(_check_account(alias, several=len(aliases) > 1))
    messages.extend(_check_router())
    try:
        insecure = conf.get("INSECURE_SKIP_WEBHOOK_VERIFICATION")
    except ConfigurationError:
        insecure = False  # reported as an invalid value above
    if insecure:
        messages.append(
            checks.Warning(
                "INSECURE_SKIP_WEBHOOK_VERIFICATION is True: webhook checksums are not checked, so "
                "anyone who can reach the webhook URLs can forge replies and delivery reports.",
                hint="Use it only on a development machine; set WEBHOOK_SECRET instead.",
                id="zoomconnect.W004",
            )
        )
    for key, close in conf.unknown_keys():
        messages.append(
            checks.Warning(
                f"settings.ZOOMCONNECT has an unknown key {key!r}.",
                hint=f"Did you mean {close!r}?" if close else "See the settings table in the README.",
                id="zoomconnect.W002",
            )
        )
    try:
        lease, (connect_timeout, read_timeout) = conf.get("CLAIM_LEASE_SECONDS"), conf.timeout()
    except ConfigurationError:
        lease = None  # reported as an invalid value above
    if lease is not None and lease <= connect_timeout + read_timeout:
        messages.append(
            checks.Warning(
                f"CLAIM_LEASE_SECONDS ({lease:g}) is not longer than one API call may take "
                f"(TIMEOUT {connect_timeout:g} + {read_timeout:g} s): the sweeper could take back a "
                "claim whose worker is still waiting for the answer.",
                hint="Make CLAIM_LEASE_SECONDS several times the sum of TIMEOUT.",
                id="zoomconnect.W005",
            )
        )
    return messages


def _where(alias: str, key: str, several: bool) -> str:
    if alias == conf.DEFAULT_ACCOUNT and not several:
        return f"settings.ZOOMCONNECT[{key!r}]"
    return f"settings.ZOOMCONNECT['ACCOUNTS'][{alias!r}][{key!r}]"


def _invalid(key: str, exc: ConfigurationError) -> checks.CheckMessage:
    """The error of a setting with an invalid value, under the check id of its key."""
    check_id, hint = _INVALID_IDS.get(key, ("zoomconnect.E004", "See the settings table in the README."))
    return checks.Error(str(exc), hint=hint, id=check_id)


def _check_account(alias: str, *, several: bool) -> list[checks.CheckMessage]:
    """The checks of one account's keys (:data:`conf.ACCOUNT_KEYS`): each says which account."""
    messages: list[checks.CheckMessage] = []
    for key in ("EMAIL", "API_TOKEN"):
        try:
            missing = conf.get(key, alias) is None
        except ConfigurationError:
            missing = False  # reported as an invalid value below
        if missing:
            messages.append(
                checks.Error(
                    f"{_where(alias, key, several)} is not set.",
                    hint="Copy the account email and API token from the Zoom Connect "
                    "'Developer settings' page (or point BASE_URL at the simulator).",
                    id="zoomconnect.E001",
                )
            )
    for key in ("EMAIL", "API_TOKEN"):
        try:
            value = conf.get(key, alias)
        except ConfigurationError:
            continue  # reported as an invalid value below
        bad = conf.unsendable(value) if isinstance(value, str) else None
        if bad is not None:
            messages.append(
                checks.Error(
                    f"{_where(alias, key, several)} holds a space or a character other than "
                    f"printable ASCII ({bad!r}): it cannot travel in an HTTP "
                    "request, so every call to Zoom Connect would fail.",
                    hint="Paste the value again from the Zoom Connect 'Developer settings' page "
                    "(not a placeholder such as '…', and without spaces or line breaks).",
                    id="zoomconnect.E008",
                )
            )
    for key in conf.ACCOUNT_KEYS:
        try:
            conf.get(key, alias)
        except ConfigurationError as exc:
            messages.append(_invalid(key, exc))
    try:
        no_secret = not conf.webhook_secrets(alias)
    except ConfigurationError:
        no_secret = False
    if no_secret:
        messages.append(
            checks.Warning(
                f"{_where(alias, 'WEBHOOK_SECRET', several)} is not set: every webhook "
                + ("will be refused." if not several else f"of the {alias!r} account will be refused."),
                hint="Copy the secret key from the Zoom Connect 'Developer settings' page.",
                id="zoomconnect.W001",
            )
        )
    try:
        query = conf.get("AUTH_METHOD", alias) == "query"
    except ConfigurationError:
        query = False
    if query:
        messages.append(
            checks.Warning(
                "AUTH_METHOD 'query' puts the API token in every URL, where proxies and logs keep it"
                + (f" (account {alias!r})." if several else "."),
                hint="Use 'headers' (the default) or 'basic' outside of quick tests.",
                id="zoomconnect.W003",
            )
        )
    return messages


def _check_router() -> list[checks.CheckMessage]:
    try:
        conf.get("ACCOUNT_ROUTER")
    except ConfigurationError:
        return []  # reported as an invalid value
    try:
        conf.account_router()
    except ConfigurationError as exc:
        return [
            checks.Error(
                str(exc),
                hint="Name a function taking keyword arguments and returning an account alias, "
                "e.g. 'myproject.sms.pick_account'.",
                id="zoomconnect.E007",
            )
        ]
    return []


# --- wiring: the REST API's app, the beat schedule, the broker ------------------------------------

#: The beat tasks without which queued messages wait for ever (``SEND_EAGERLY`` off).
OUTBOX_BEAT_TASKS = (
    "django_zoomconnect.tasks.dispatch_due",
    "django_zoomconnect.tasks.sweep_outbox",
    "django_zoomconnect.tasks.reconcile_uncertain",
)
_DATABASE_SCHEDULERS = ("django_celery_beat",)
APPLY_TASK = "django_zoomconnect.tasks.apply_webhook_events"
RETENTION_TASK = "django_zoomconnect.tasks.apply_retention"
RETENTION_SETTINGS = ("MESSAGE_BODY_RETENTION_DAYS", "STATUS_HISTORY_RETENTION_DAYS")


def _includes(patterns: Any, module: str) -> bool:
    """Whether the URL patterns include ``module`` (``include("...")``), at any depth."""
    from django.urls import URLResolver

    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            included = pattern.urlconf_name
            name = included if isinstance(included, str) else getattr(included, "__name__", "")
            if name == module or _includes(pattern.url_patterns, module):
                return True
    return False


def _celery_conf() -> Any:
    from celery import current_app

    return current_app.conf


def _scheduled_tasks() -> set[str] | None:
    """The tasks the project's Celery beat schedule runs; ``None`` for a database scheduler
    (``django_celery_beat``), whose entries only the database knows: it is trusted."""
    from django.conf import settings

    celery = _celery_conf()
    scheduler = str(getattr(settings, "CELERY_BEAT_SCHEDULER", "") or celery.beat_scheduler or "")
    if scheduler.startswith(_DATABASE_SCHEDULERS):
        return None
    schedule = {**(celery.beat_schedule or {}), **(getattr(settings, "CELERY_BEAT_SCHEDULE", None) or {})}
    return {str(entry.get("task", "")) for entry in schedule.values() if isinstance(entry, dict)}


def _retains() -> list[str]:
    """The retention settings that are set (to a number of days)."""
    try:
        return [name for name in RETENTION_SETTINGS if conf.get(name) is not None]
    except ConfigurationError:
        return []  # reported by check_settings


def _applies_in_batches() -> bool:
    try:
        return bool(conf.get("WEBHOOK_PROCESSING") == "batch")
    except ConfigurationError:
        return False  # reported by check_settings


def _sends_eagerly() -> bool:
    try:
        eager = bool(conf.get("SEND_EAGERLY"))
    except ConfigurationError:
        return True  # reported by check_settings
    return eager or bool(_celery_conf().task_always_eager)


@checks.register(checks.Tags.compatibility)
def check_wiring(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """What a project must wire up around the app: each check names the step that is missing."""
    from django.apps import apps
    from django.conf import settings
    from django.urls import get_resolver

    messages: list[checks.CheckMessage] = []
    try:
        api_included = _includes(get_resolver().url_patterns, "django_zoomconnect.api.urls")
    except Exception:  # the URLconf does not import: Django's own checks say why
        api_included = False
    if api_included and not apps.is_installed("rest_framework"):
        messages.append(
            checks.Error(
                "django_zoomconnect.api.urls is included in the URLconf, but 'rest_framework' is not "
                "in INSTALLED_APPS: the browsable API cannot find its templates and answers 500.",
                hint="Add 'rest_framework' to INSTALLED_APPS (the REST API is built on Django REST "
                "framework), or remove the API's include.",
                id="zoomconnect.E006",
            )
        )
    scheduled = _scheduled_tasks()
    if _applies_in_batches() and scheduled is not None and APPLY_TASK not in scheduled:
        messages.append(
            checks.Warning(
                "ZOOMCONNECT['WEBHOOK_PROCESSING'] is 'batch', but no Celery beat schedule runs "
                "apply_webhook_events: webhooks are stored and never applied.",
                hint="Add the 'zoomconnect-webhook-apply' entry from the README to CELERY_BEAT_SCHEDULE, "
                "or run `manage.py zoomconnect_webhooks apply` from cron and silence zoomconnect.W008.",
                id="zoomconnect.W008",
            )
        )
    retained = _retains()
    if retained and scheduled is not None and RETENTION_TASK not in scheduled:
        messages.append(
            checks.Warning(
                f"ZOOMCONNECT[{retained[0]!r}] is set, but no Celery beat schedule runs "
                "apply_retention: nothing is pruned.",
                hint="Add the 'zoomconnect-retention' entry from the README to CELERY_BEAT_SCHEDULE, "
                "or run `manage.py zoomconnect_retention` from cron and silence zoomconnect.W009.",
                id="zoomconnect.W009",
            )
        )
    if _sends_eagerly():
        return messages
    celery = _celery_conf()
    missing = [task for task in OUTBOX_BEAT_TASKS if scheduled is not None and task not in scheduled]
    if missing:
        messages.append(
            checks.Warning(
                "No Celery beat schedule runs "
                + ", ".join(task.rsplit(".", 1)[1] for task in missing)
                + ": scheduled messages never go out, and messages whose task was lost or whose send "
                "was uncertain wait for ever.",
                hint="Copy the beat schedule from the README (CELERY_BEAT_SCHEDULE) and run "
                "`celery -A <project> beat`, or set ZOOMCONNECT['SEND_EAGERLY'] = True to send "
                "without a worker.",
                id="zoomconnect.W006",
            )
        )
    broker_given = getattr(settings, "CELERY_BROKER_URL", None) or celery.broker_url
    if not broker_given:
        messages.append(
            checks.Warning(
                "Celery's broker is left at its default (amqp://guest@localhost//) while "
                "ZOOMCONNECT['SEND_EAGERLY'] is off: messages are handed to a broker this project "
                "may not run.",
                hint="Set CELERY_BROKER_URL (and configure your Celery app from the settings), or "
                "set ZOOMCONNECT['SEND_EAGERLY'] = True to send without a worker.",
                id="zoomconnect.W007",
            )
        )
    return messages
