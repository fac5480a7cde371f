"""Sphinx configuration of the django-zoomconnect documentation (``sphinx-build -W docs docs/_build``)."""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path[:0] = [str(DOCS.parent), str(DOCS / "_ext")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

from django_zoomconnect import __version__  # noqa: E402

project = "django-zoomconnect"
author = "The django-zoomconnect developers"
copyright = "2026, the django-zoomconnect developers"
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = ["zoomconnect_docs"]
root_doc = "index"
exclude_patterns = ["_build"]
html_theme = "furo"
html_title = f"django-zoomconnect {release}"
# Nothing here may reach the network: the docs build offline, and linkcheck is not run.
linkcheck_ignore = [r".*"]
nitpicky = False
