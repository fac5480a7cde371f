"""Tests for the packaging metadata: what a wheel will hold, checked cheaply without building one."""

import ast
import configparser
import glob
import re
import sys
import tomllib
from pathlib import Path

import pytest
from setuptools import find_packages

import django_zoomconnect

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "django_zoomconnect"

# PEP 440, appendix B: the canonical public version.
PEP440 = re.compile(
    r"^([1-9][0-9]*!)?(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*((a|b|rc)(0|[1-9][0-9]*))?"
    r"(\.post(0|[1-9][0-9]*))?(\.dev(0|[1-9][0-9]*))?$"
)

# Import names of third-party modules, and the distribution in install_requires that provides them.
PROVIDED_BY = {
    "django": "django",
    "asgiref": "django",
    "rest_framework": "djangorestframework",
    "requests": "requests",
    "urllib3": "requests",
    "celery": "celery",
    "kombu": "celery",
    "phonenumbers": "phonenumberslite",
    "drf_spectacular": "drf-spectacular",
}
# Modules that may import a test-only package, because only a test run imports them.
TEST_ONLY_IMPORTS = {"testing/__init__.py": {"pytest", "responses"}}
# Modules imported only when an extra is installed (api/urls.py asks find_spec), and that extra.
EXTRA_IMPORTS = {"api/openapi.py": "openapi"}


@pytest.fixture(scope="module")
def setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "setup.cfg", encoding="utf-8")
    return parser


def lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def test_version_is_pep440_and_is_the_metadata_version(setup_cfg):
    assert PEP440.match(django_zoomconnect.__version__), django_zoomconnect.__version__
    assert setup_cfg["metadata"]["version"].strip() == "attr: django_zoomconnect.__version__"


@pytest.mark.parametrize("version", ["0.1.0.dev0", "1.0", "1.2.3rc1", "2.0.post1", "1!2.0", "0.1.0a2.dev3"])
def test_pep440_pattern_accepts(version):
    assert PEP440.match(version)


@pytest.mark.parametrize("version", ["0.1.0-dev", "v1.0", "1.0.0.beta", "01.0", ""])
def test_pep440_pattern_refuses(version):
    assert not PEP440.match(version)


def test_package_data_globs(setup_cfg):
    globs = lines(setup_cfg["options.package_data"]["django_zoomconnect"])
    for pattern in ("py.typed", "templates/**/*", "static/**/*", "locale/**/*"):
        assert pattern in globs
    assert setup_cfg.getboolean("options", "include_package_data")
    assert (PACKAGE / "py.typed").is_file()


def test_package_data_globs_reach_nested_and_top_level_files(setup_cfg, tmp_path):
    # setuptools expands package_data with glob(recursive=True): check the patterns do what we mean
    # on a tree shaped like the templates and static files the app will ship.
    for name in (
        "templates/django_zoomconnect/message_form.html",
        "templates/admin/django_zoomconnect/message/confirm.html",
        "templates/top.txt",
        "static/django_zoomconnect/css/admin.css",
        "locale/af/LC_MESSAGES/django.mo",
        "py.typed",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    found = set()
    for pattern in lines(setup_cfg["options.package_data"]["django_zoomconnect"]):
        found.update(
            Path(path).relative_to(tmp_path).as_posix()
            for path in glob.glob(str(tmp_path / pattern), recursive=True)
            if Path(path).is_file()
        )
    assert found == {
        "templates/django_zoomconnect/message_form.html",
        "templates/admin/django_zoomconnect/message/confirm.html",
        "templates/top.txt",
        "static/django_zoomconnect/css/admin.css",
        "locale/af/LC_MESSAGES/django.mo",
        "py.typed",
    }


def test_manifest_matches_package_data():
    manifest = (ROOT / "MANIFEST.in").read_text(encoding="utf-8")
    assert "include django_zoomconnect/py.typed" in manifest
    for folder in ("templates", "static", "locale"):
        assert f"recursive-include django_zoomconnect/{folder} *" in manifest


def test_every_folder_with_python_code_is_a_package():
    # packages = find: only finds folders with an __init__.py: a "migrations" or
    # "management/commands" folder without one would silently be left out of the wheel.
    found = set(find_packages(str(ROOT), include=["django_zoomconnect", "django_zoomconnect.*"]))
    with_code = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in PACKAGE.rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert with_code - found == set()
    assert {"django_zoomconnect", "django_zoomconnect.migrations"} <= found


def test_build_backend_understands_recursive_globs():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["build-system"]["build-backend"] == "setuptools.build_meta"
    (requirement,) = [r for r in pyproject["build-system"]["requires"] if r.startswith("setuptools")]
    minimum = tuple(int(part) for part in requirement.split(">=")[1].split("."))
    assert minimum >= (62, 3), "package_data '**' globs need setuptools 62.3"


def _declared(setup_cfg: configparser.ConfigParser, extra: str | None = None) -> set[str]:
    names = set()
    section = (
        setup_cfg["options.extras_require"][extra] if extra else setup_cfg["options"]["install_requires"]
    )
    for requirement in lines(section):
        match = re.match(r"[A-Za-z0-9._-]+", requirement)
        assert match, requirement
        names.add(match.group().lower().replace("_", "-"))
    return names


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether an import sits under ``if TYPE_CHECKING:`` or in a ``try`` that catches ImportError."""
    while node in parents:
        parent = parents[node]
        if isinstance(parent, ast.If) and "TYPE_CHECKING" in ast.unparse(parent.test):
            return True
        if isinstance(parent, ast.Try) and node in parent.body:
            caught = " ".join(ast.unparse(h.type) for h in parent.handlers if h.type is not None)
            if "ImportError" in caught or "ModuleNotFoundError" in caught:
                return True
        node = parent
    return False


def third_party_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        if _guarded(node, parents):
            continue
        for module in modules:
            top = module.partition(".")[0]
            if top not in sys.stdlib_module_names and top != "django_zoomconnect":
                names.add(top)
    return names


def test_every_third_party_import_is_an_install_requirement(setup_cfg):
    declared = _declared(setup_cfg)
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        allowed = TEST_ONLY_IMPORTS.get(relative, set())
        extra = _declared(setup_cfg, EXTRA_IMPORTS[relative]) if relative in EXTRA_IMPORTS else set()
        for module in sorted(third_party_imports(path) - allowed):
            if PROVIDED_BY.get(module) not in declared | extra:
                problems.append(f"{path.relative_to(ROOT)} imports {module}")
    assert problems == [], (
        "add these to install_requires (and PROVIDED_BY here), or guard optional ones with "
        "try/except ImportError"
    )


def test_import_checker_sees_through_guards(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        "from __future__ import annotations\n"
        "import json, requests.adapters\n"
        "from typing import TYPE_CHECKING\n"
        "from . import conf\n"
        "from django_zoomconnect import phone\n"
        "if TYPE_CHECKING:\n"
        "    import celery\n"
        "try:\n"
        "    import redis\n"
        "except ImportError:\n"
        "    redis = None\n"
        "def later():\n"
        "    import yaml\n"
    )
    assert third_party_imports(source) == {"requests", "yaml"}
