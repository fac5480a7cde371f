"""A fresh ``startproject`` built from README.rst's installation steps alone runs its own tests.

The blocks with a ``:caption:`` naming a file are the steps: each one is written to that file
(``(add at the end)`` appends it), in a project ``django-admin startproject`` just made. Then the
project's ``check`` and ``migrate`` run, and its own pytest suite (the README's example test, a
plain ``django_db`` test) sends an SMS, receives the delivery report and a reply through its
webhook views, and sees its signal receiver run.
"""

import os
import subprocess
import sys

import pytest

from tests.readme import project_files

pytestmark = pytest.mark.slow

APPEND = " (add at the end)"


def run(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(cwd), "DJANGO_SETTINGS_MODULE": "mysite.settings"}
    env.pop("ZOOMCONNECT_TEST_DB", None)
    return subprocess.run(  # noqa: S603 - our own interpreter on files we just wrote
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_readme_names_every_file_of_the_installation():
    assert {block.caption for block in project_files()} >= {
        "mysite/settings.py (add at the end)",
        "mysite/urls.py",
        "mysite/celery.py",
        "mysite/__init__.py",
        "pytest.ini",
        "tests/test_booking.py",
    }


def test_a_fresh_project_built_from_the_readme_passes_its_own_tests(tmp_path):
    made = run("-m", "django", "startproject", "mysite", ".", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    for block in project_files():
        path = tmp_path / block.caption.removesuffix(APPEND)
        path.parent.mkdir(parents=True, exist_ok=True)
        if block.caption.endswith(APPEND):
            path.write_text(path.read_text() + "\n\n" + block.code)
        else:
            path.write_text(block.code)
    (tmp_path / "tests" / "__init__.py").touch()

    checked = run("manage.py", "check", "--fail-level", "WARNING", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    migrated = run("manage.py", "migrate", "--no-input", cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    tested = run("-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "1 passed" in tested.stdout
