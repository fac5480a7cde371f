"""Tests for example_project/: its settings and ``manage.py check``.

The project runs in subprocesses, as a newcomer runs it: its own settings, its own Celery app,
nothing of this test suite's configuration leaking in through the environment.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent / "example_project"
MANAGE = PROJECT / "manage.py"

#: Environment variables of this suite (or of CI) that would change what the example project does.
LEAKY = (
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "DJANGO_DEBUG",
)


def project_env(**extra):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in LEAKY and not key.startswith("ZOOMCONNECT_")
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def manage(*args, timeout=120, **env):
    return subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, str(MANAGE), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=project_env(**env),
        cwd=PROJECT.parent,
        check=False,
    )


def load_settings():
    # Loaded from its file under another name: importing the ``example`` package would create
    # its Celery app and make it this process's current app.
    spec = importlib.util.spec_from_file_location(
        "example_settings_under_test", PROJECT / "example" / "settings.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_database_url_forms():
    settings = load_settings()
    default = settings.database(None)
    assert default["ENGINE"] == "django.db.backends.sqlite3"
    assert default["NAME"] == PROJECT / "db.sqlite3"
    assert default["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert settings.database("sqlite:////tmp/x/demo.sqlite3")["NAME"] == Path("/tmp/x/demo.sqlite3")
    postgres = settings.database("postgres://zc:p%40ss@127.0.0.1:5432/zoomconnect")
    assert postgres == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "zoomconnect",
        "USER": "zc",
        "PASSWORD": "p@ss",
        "HOST": "127.0.0.1",
        "PORT": "5432",
    }
    mysql = settings.database("mysql://root@localhost/example")
    assert (mysql["ENGINE"], mysql["NAME"], mysql["PORT"], mysql["OPTIONS"]) == (
        "django.db.backends.mysql",
        "example",
        "",
        {"charset": "utf8mb4"},
    )
    with pytest.raises(ValueError, match="unknown scheme 'oracle'"):
        settings.database("oracle://x/y")


def test_settings_are_the_readme_setup_and_point_at_the_simulator_by_default():
    settings = load_settings()
    assert "django_zoomconnect" in settings.INSTALLED_APPS
    assert "rest_framework" in settings.INSTALLED_APPS
    assert settings.ZOOMCONNECT["BASE_URL"] == "http://127.0.0.1:8765/app/"
    assert settings.ZOOMCONNECT["WEBHOOK_SECRET"]
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "django_zoomconnect.tasks.dispatch_due",
        "django_zoomconnect.tasks.sweep_outbox",
        "django_zoomconnect.tasks.reconcile_uncertain",
        "django_zoomconnect.tasks.sweep_webhook_events",
    } <= tasks


@pytest.mark.slow
def test_manage_py_check_passes():
    result = manage("check")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
