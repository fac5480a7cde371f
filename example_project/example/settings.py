"""Settings of the example project: django_zoomconnect set up as the README says, nothing to install.

By default everything runs on one machine with only Python: SQLite (``example_project/db.sqlite3``),
Celery's in-memory broker (so the worker must run in the same process: ``manage.py demo`` embeds
one) and the bundled simulator instead of Zoom Connect. Environment variables switch to real
services:

``DATABASE_URL``
    ``postgres://user:password@host:5432/name``, ``mysql://user:password@host:3306/name`` or
    ``sqlite:////absolute/path.sqlite3``.
``CELERY_BROKER_URL``
    e.g. ``redis://127.0.0.1:6379/0``; then ``celery -A example worker -B`` (run from
    example_project/) can work for ``runserver`` in other processes.
``ZOOMCONNECT_EMAIL``, ``ZOOMCONNECT_API_TOKEN``, ``ZOOMCONNECT_WEBHOOK_SECRET``, ``ZOOMCONNECT_BASE_URL``
    the account; they default to the simulator's published test credentials. (``manage.py demo``
    always talks to the simulator it starts, whatever these say.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-only-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_zoomconnect",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example.urls"
WSGI_APPLICATION = "example.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

#: The demo's own database file: ``manage.py demo`` starts it afresh on every run.
DEMO_SQLITE_PATH = BASE_DIR / "db.sqlite3"


def database(url: str | None) -> dict[str, Any]:
    """``DATABASES["default"]`` for a ``DATABASE_URL`` (SQLite in example_project/ without one)."""
    if not url:
        return sqlite(DEMO_SQLITE_PATH)
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return sqlite(Path(unquote(parts.path[1:] if parts.path.startswith("//") else parts.path)))
    engines = {
        "postgres": "django.db.backends.postgresql",
        "postgresql": "django.db.backends.postgresql",
        "mysql": "django.db.backends.mysql",
        "mariadb": "django.db.backends.mysql",
    }
    if parts.scheme not in engines:
        raise ValueError(f"DATABASE_URL: unknown scheme {parts.scheme!r} (use postgres, mysql or sqlite)")
    config: dict[str, Any] = {
        "ENGINE": engines[parts.scheme],
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }
    if config["ENGINE"].endswith("mysql"):
        config["OPTIONS"] = {"charset": "utf8mb4"}
    return config


def sqlite(path: Path) -> dict[str, Any]:
    # The demo's web server, Celery worker and webhook requests share the file from several
    # threads: WAL lets reads go on during a write, IMMEDIATE transactions take the write lock
    # up front (no deadlock between two readers upgrading), and writers wait instead of failing.
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


DATABASES = {"default": database(os.environ.get("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-za"
TIME_ZONE = "Africa/Johannesburg"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"

# --- django_zoomconnect ---------------------------------------------------------------------------

ZOOMCONNECT = {
    # Defaults: the simulator's published test account (python -m django_zoomconnect.simulator).
    "EMAIL": os.environ.get("ZOOMCONNECT_EMAIL", "simulator@example.com"),
    "API_TOKEN": os.environ.get("ZOOMCONNECT_API_TOKEN", "simulator-token"),
    "WEBHOOK_SECRET": os.environ.get("ZOOMCONNECT_WEBHOOK_SECRET", "example-webhook-secret"),
    "BASE_URL": os.environ.get("ZOOMCONNECT_BASE_URL", "http://127.0.0.1:8765/app/"),
    # A second account, "marketing", with its own credentials, webhook secret and simulator: its
    # webhooks arrive at /zoomconnect/webhooks/marketing/..., and send_sms(..., account="marketing")
    # sends through it (see the README's "Several accounts").
    "ACCOUNTS": {
        "marketing": {
            "EMAIL": os.environ.get("ZOOMCONNECT_MARKETING_EMAIL", "marketing@example.com"),
            "API_TOKEN": os.environ.get("ZOOMCONNECT_MARKETING_API_TOKEN", "marketing-token"),
            "WEBHOOK_SECRET": os.environ.get(
                "ZOOMCONNECT_MARKETING_WEBHOOK_SECRET", "example-marketing-secret"
            ),
            "BASE_URL": os.environ.get("ZOOMCONNECT_MARKETING_BASE_URL", "http://127.0.0.1:8766/app/"),
        }
    },
}

# --- Celery ---------------------------------------------------------------------------------------

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://")
if CELERY_BROKER_URL.startswith("memory://"):
    # Look for new tasks often: the embedded worker polls the in-memory queue.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"polling_interval": 0.1}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE

#: The periodic tasks django_zoomconnect needs: every task is cheap when there is nothing to do.
CELERY_BEAT_SCHEDULE = {
    # Scheduled messages that came due, and messages whose task the broker lost.
    "zoomconnect-dispatch-due": {"task": "django_zoomconnect.tasks.dispatch_due", "schedule": 5.0},
    # Claims of crashed workers, finished batches.
    "zoomconnect-sweep-outbox": {"task": "django_zoomconnect.tasks.sweep_outbox", "schedule": 60.0},
    # Sends whose outcome was ambiguous (timeout, 5xx): looked up before anything is resent.
    "zoomconnect-reconcile": {"task": "django_zoomconnect.tasks.reconcile_uncertain", "schedule": 30.0},
    # Sent messages no delivery report settled.
    "zoomconnect-refresh-statuses": {"task": "django_zoomconnect.tasks.refresh_statuses", "schedule": 600.0},
    # Contact, group and membership changes whose push failed (the provider was unreachable).
    "zoomconnect-push-pending": {"task": "django_zoomconnect.tasks.push_pending_changes", "schedule": 300.0},
    # Changes made on the account itself (its web site, other apps): push ours, then pull.
    "zoomconnect-sync-account": {"task": "django_zoomconnect.tasks.sync_account", "schedule": 3600.0},
    # Webhook events left pending or deferred.
    "zoomconnect-sweep-webhooks": {"task": "django_zoomconnect.tasks.sweep_webhook_events", "schedule": 60.0},
    "zoomconnect-cleanup-webhooks": {
        "task": "django_zoomconnect.tasks.cleanup_webhook_events",
        "schedule": 24 * 3600.0,
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django_zoomconnect": {"handlers": ["console"], "level": "WARNING"},
    },
}
