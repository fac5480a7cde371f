"""The benchmarks' Django project: the settings of a new ``startproject``, the database from the environment.

``BENCH_DB`` is ``sqlite`` (``BENCH_DB_NAME`` is the file) or ``postgres`` (``BENCH_DB_NAME``
is the database on ``PGHOST``/``PGPORT`` as ``PGUSER``); ``BENCH_PROCESSING`` is
``WEBHOOK_PROCESSING``; ``BENCH_SIMULATOR`` is the simulator's base URL. Connections persist
(``CONN_MAX_AGE``), as production sites run them.
"""

import os

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "bench.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING_CONFIG = None

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_zoomconnect",
]

# The middleware of a new `startproject`: the floor and the real view both go through all of it.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

_DB = os.environ.get("BENCH_DB", "sqlite")
_NAME = os.environ.get("BENCH_DB_NAME", "bench.sqlite3")
if _DB == "postgres":
    _DATABASE: dict[str, object] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _NAME,
        "USER": os.environ.get("PGUSER", "postgres"),
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
    }
elif _DB == "sqlite":
    _DATABASE = {"ENGINE": "django.db.backends.sqlite3", "NAME": _NAME}
else:
    raise RuntimeError(f"BENCH_DB={_DB!r}: use sqlite or postgres")
DATABASES = {"default": {**_DATABASE, "CONN_MAX_AGE": 600}}

ZOOMCONNECT = {
    "EMAIL": "bench@example.com",  # the simulator's account (bench.plumbing)
    "API_TOKEN": "bench-token",
    # Only ever the bundled simulator on loopback; nothing reaches a real host.
    "BASE_URL": os.environ.get("BENCH_SIMULATOR", "http://127.0.0.1:9/app/"),
    "WEBHOOK_SECRET": "bench-webhook-secret",
    "WEBHOOK_PROCESSING": os.environ.get("BENCH_PROCESSING", "sync"),
    "SEND_EAGERLY": True,
}
