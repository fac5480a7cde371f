"""``manage.py zoomconnect_simulator``: the simulator's CLI, with the project's credentials.

The same program as ``python -m django_zoomconnect.simulator``; the only difference is that
the account's email, API token and webhook secret default to the project's ``ZOOMCONNECT``
setting, so pointing ``BASE_URL`` at the printed URL is the only change a project needs.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from ... import conf
from ...exceptions import ConfigurationError
from ...simulator.__main__ import CannotStart, add_arguments, run
from ..base import ZoomConnectCommand


class Command(ZoomConnectCommand):
    help = (
        "Serve a simulated Zoom Connect API on loopback (REST, webhooks, control API, faults). "
        "Credentials default to settings.ZOOMCONNECT."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        for option, key in (("email", "EMAIL"), ("token", "API_TOKEN")):
            if options.get(option) is None:
                try:
                    options[option] = conf.get(key)
                except ConfigurationError:
                    options[option] = None
        if options.get("secret") is None:
            try:
                secrets = conf.webhook_secrets()
            except ConfigurationError:
                secrets = ()
            options["secret"] = secrets[0] if secrets else None
        try:
            run(options, self.stdout)
        except CannotStart as exc:
            raise CommandError(str(exc)) from exc
