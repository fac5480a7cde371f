"""The README documents every setting and every system check: a setting not documented does not exist."""

import re
from pathlib import Path

from django_zoomconnect import conf

README = (Path(__file__).resolve().parent.parent / "README.rst").read_text(encoding="utf-8")
CHECKS = (Path(__file__).resolve().parent.parent / "django_zoomconnect" / "checks.py").read_text(
    encoding="utf-8"
)


def settings_table_keys() -> set[str]:
    table = README.split("Settings\n========\n", 1)[1].split("System checks\n", 1)[0]
    return set(re.findall(r"^   \* - ``([A-Z_]+)``$", table, flags=re.MULTILINE))


def test_every_setting_is_in_the_readme_settings_table():
    assert settings_table_keys() == set(conf.DEFAULTS)


def test_every_system_check_id_is_in_the_readme():
    ids = set(re.findall(r"zoomconnect\.[EW]\d{3}", CHECKS))
    assert ids
    assert {check_id for check_id in ids if f"``{check_id}``" not in README} == set()


def test_the_readme_opens_with_the_two_commands():
    quickstart = README.split("Quickstart\n==========\n", 1)[1].split("\nInstallation\n", 1)[0]
    assert 'python -m pip install -e ".[example]" && python example_project/manage.py demo' in quickstart
    assert 'python -m pip install -e ".[test]" && python -m pytest' in quickstart


def test_the_readme_settings_table_is_the_generated_one():
    from django_zoomconnect.settings_docs import DESCRIPTIONS, settings_table

    assert set(DESCRIPTIONS) == set(conf.DEFAULTS)
    table = README.split("Settings\n========\n", 1)[1].split("System checks\n", 1)[0]
    assert settings_table() in table, "run `python -m django_zoomconnect.settings_docs` and paste it"


def included(page: str) -> str:
    """A docs page's text with its ``.. include::`` directives (and their ``:start-after:`` and
    ``:end-before:``) replaced by the text they include, as Sphinx reads it."""
    docs = Path(__file__).resolve().parent.parent / "docs"
    text = (docs / page).read_text(encoding="utf-8")
    directive = re.compile(r"^\.\. include:: (\S+)\n((?:   :[\w-]+:.*\n)*)", re.MULTILINE)

    def expand(match: re.Match[str]) -> str:
        body = (docs / match[1]).read_text(encoding="utf-8")
        options = dict(re.findall(r":([\w-]+):\s*(.*)", match[2]))
        if "start-after" in options:
            body = body.split(options["start-after"], 1)[1]
        if "end-before" in options:
            body = body.split(options["end-before"], 1)[0]
        return body

    return directive.sub(expand, text)


def test_every_system_check_id_is_on_the_troubleshooting_page_with_its_fix():
    ids = sorted(set(re.findall(r"zoomconnect\.[EW]\d{3}", CHECKS)))
    page = included("troubleshooting.rst")
    assert len(ids) >= 17
    table = page.split(".. list-table::", 1)[1]
    for check_id in ids:
        assert f"   * - ``{check_id}``\n" in table, check_id
        row = table.split(f"``{check_id}``", 1)[1].split("   * - ", 1)[0]
        problem, fix = row.split("\n     - ")[1:3]
        assert problem.strip(), check_id
        assert fix.strip(), check_id


def test_every_signal_is_documented_with_its_payload():
    from django.dispatch import Signal

    from django_zoomconnect import signals

    names = {name for name, value in vars(signals).items() if isinstance(value, Signal)}
    section = README.split("\nSignals\n-------\n", 1)[1].split("\n.. _readme-", 1)[0]
    documented = set(re.findall(r"^``(\w+)\((?:\w+(?:, )?)+\)``", section, flags=re.MULTILINE))
    documented |= set(re.findall(r"^``\w+\(\w+\)`` / ``(\w+)\(", section, flags=re.MULTILINE))
    assert names == documented
    assert "Every signal also carries ``account``" in section


def test_the_docs_include_the_readmes_sections_and_copy_none():
    docs = Path(__file__).resolve().parent.parent / "docs"
    readme = " ".join(README.split())
    including = set()
    for page in sorted(docs.glob("*.rst")):
        text = page.read_text(encoding="utf-8")
        if ".. include:: ../README.rst" in text:
            including.add(page.stem)
        paragraphs = [
            p for p in re.split(r"\n\s*\n", text) if len(p.split()) > 12 and ".. include::" not in p
        ]
        copied = [p[:60] for p in paragraphs if " ".join(p.split()) in readme]
        assert copied == [], f"{page.name} copies README.rst: include the section instead"
    assert including >= {"quickstart", "installation", "settings", "sending", "webhooks", "security", "admin"}
    assert including >= {"rest-api", "testing", "troubleshooting"}
