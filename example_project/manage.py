#!/usr/bin/env python
"""The example project's manage.py: ``python example_project/manage.py demo`` starts the demo."""

import os
import sys
from pathlib import Path


def main() -> None:
    # Runnable from anywhere (the README runs it from the repository's root).
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
