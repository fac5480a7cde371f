"""A fresh ``startproject`` built from README.rst's installation steps alone runs its own tests.

The blocks of the "Installation" and "Testing your app" sections with a ``:caption:`` naming a
file are the steps: each one is written to that file (``(add at the end)`` or ``(add while
developing)`` appends it), in a project ``django-admin startproject`` just made. Then the
project's ``check`` and ``migrate`` run, and its own pytest suite (the README's example test, a
plain ``django_db`` test) sends an SMS, receives the delivery report and a reply through its
webhook views, and sees its signal receiver run. The other sections' project files (extra beat
entries) are added afterwards, and the project still checks clean.
"""

import os
import re
import subprocess
import sys

import pytest

from tests.readme import ROOT, installation_files, project_files

pytestmark = pytest.mark.slow

#: "mysite/settings.py (add at the end)": the file, and whether the block is appended to it.
CAPTION = re.compile(r"^(?P<path>\S+)(?P<append> \(add [^)]*\))?$")


def run(*args, cwd):
    # The project first; then this checkout's package, as an editable install would give it.
    path = os.pathsep.join((str(cwd), str(ROOT)))
    env = {**os.environ, "PYTHONPATH": path, "DJANGO_SETTINGS_MODULE": "mysite.settings"}
    env.pop("ZOOMCONNECT_TEST_DB", None)
    return subprocess.run(  # noqa: S603 - our own interpreter on files we just wrote
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def write(block, root):
    caption = CAPTION.match(block.caption)
    assert caption, f"{block}: a caption names a file, optionally followed by (add ...)"
    path = root / caption["path"]
    path.parent.mkdir(parents=True, exist_ok=True)
    if caption["append"]:
        path.write_text(path.read_text() + "\n\n" + block.code)
    else:
        path.write_text(block.code)


def test_the_readme_names_every_file_of_the_installation():
    assert {block.caption for block in installation_files()} >= {
        "mysite/settings.py (add at the end)",
        "mysite/urls.py",
        "mysite/celery.py",
        "mysite/__init__.py",
        "pytest.ini",
        "tests/test_booking.py",
    }
    assert [block.caption for block in installation_files()][:4] == [
        "mysite/settings.py (add at the end)",
        "mysite/urls.py",
        "mysite/celery.py",
        "mysite/__init__.py",
    ]


def test_a_fresh_project_built_from_the_readme_passes_its_own_tests(tmp_path):
    made = run("-m", "django", "startproject", "mysite", ".", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    steps = installation_files()
    for block in steps:
        write(block, tmp_path)
    (tmp_path / "tests" / "__init__.py").touch()

    checked = run("manage.py", "check", "--fail-level", "WARNING", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout == "System check identified no issues (0 silenced).\n"
    migrated = run("manage.py", "migrate", "--no-input", cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    tested = run("-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "1 passed" in tested.stdout

    later = [block for block in project_files() if block not in steps]
    assert later, "the README's other sections add beat entries to the project's settings"
    for block in later:
        write(block, tmp_path)
    checked = run("manage.py", "check", "--fail-level", "WARNING", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
