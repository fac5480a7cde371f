"""Sphinx glue for the docs: README sections included as pages, the settings table generated."""

from __future__ import annotations

from typing import Any

from docutils.parsers.rst import Directive
from sphinx.application import Sphinx


class SettingsTable(Directive):
    """``.. zoomconnect-settings::``: the settings table, from the defaults and their meanings."""

    has_content = False

    def run(self) -> list[Any]:
        from django_zoomconnect.settings_docs import settings_table

        source = self.state_machine.input_lines.source(self.lineno - self.state_machine.input_offset - 1)
        self.state_machine.insert_input(settings_table().splitlines(), source)
        return []


def _readme_paths(app: Sphinx, relative_path: Any, parent_docname: str, content: list[str]) -> None:
    """README.rst's images are written for the repository's root (``docs/img/...``): in the docs
    they are in ``img/`` beside the pages."""
    content[0] = content[0].replace("docs/img/", "/img/")


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("zoomconnect-settings", SettingsTable)
    app.connect("include-read", _readme_paths)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
