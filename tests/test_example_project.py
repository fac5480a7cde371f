"""Tests for example_project/: its settings, ``manage.py check``, and ``manage.py demo --once`` end to end.

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
        "django_zoomconnect.tasks.push_pending_changes",
        "django_zoomconnect.tasks.sync_account",
    } <= tasks


def test_the_demo_sends_to_the_simulators_magic_numbers_for_what_they_do():
    from django_zoomconnect.simulator import MAGIC_NUMBERS

    spec = importlib.util.spec_from_file_location("demo_data_under_test", PROJECT / "demo" / "data.py")
    data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(data)
    assert MAGIC_NUMBERS[data.FAILS].startswith("FAILED")
    assert MAGIC_NUMBERS[data.OPTS_OUT].startswith("FAILED_OPTOUT")
    assert "replies" in MAGIC_NUMBERS[data.REPLIES]
    people = [number for *_, number in data.CONTACTS if number not in MAGIC_NUMBERS]
    assert people == [data.THANDI, data.SIPHO, data.AYESHA, data.JOHAN]


@pytest.mark.slow
def test_manage_py_check_passes():
    result = manage("check")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


#: The scenario's steps, each with the state it must reach.
EXPECTED_STEPS = {
    "start page, admin, API root": "200 200 200",
    "send form, dashboard (logged in)": "200 200",
    "send through the REST API": "DELIVERED",
    "scheduled send (+3 s)": "DELIVERED, on time",
    "failure (magic number)": "FAILED",
    "automatic reply (magic number)": "DELIVERED, reply stored",
    "STOP reply": "opted out",
    "bulk send to a group (template)": "done: 2 DELIVERED, 1 REJECTED",
    "send to the opted-out number": "REJECTED",
    "send through the marketing account": "DELIVERED on marketing",
}


@pytest.mark.slow
def test_demo_once_completes_the_scenario(tmp_path):
    result = manage("demo", "--once", timeout=300, DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    output = result.stdout
    assert result.returncode == 0, output + result.stderr
    assert "user: admin   password: demo-password" in output
    rows = [line for line in output.splitlines() if line[:1].isdigit()]
    assert len(rows) == len(EXPECTED_STEPS), output
    for row, (step, expected) in zip(rows, EXPECTED_STEPS.items(), strict=True):
        assert step in row
        assert row.count(expected) == 2, row  # expected, then actual
        assert row.endswith("ok"), row
    assert "Scenario completed" in output
    assert output.rstrip().endswith("Stopped.")
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_demo_refuses_a_named_database_with_data_unless_reset(tmp_path):
    url = f"sqlite:///{tmp_path / 'kept.sqlite3'}"
    setup = manage(
        "shell",
        "-c",
        "from django.core.management import call_command; call_command('migrate', verbosity=0); "
        "from django_zoomconnect.models import Contact; Contact.objects.create(phone_number='+27821234567')",
        DATABASE_URL=url,
    )
    assert setup.returncode == 0, setup.stderr
    result = manage("demo", "--once", DATABASE_URL=url)
    assert result.returncode != 0
    assert "--reset" in result.stderr
    assert "Scenario" not in result.stdout
