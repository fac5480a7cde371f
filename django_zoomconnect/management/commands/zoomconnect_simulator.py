"""``manage.py zoomconnect_simulator``: the simulator's CLI, with the project's credentials and webhooks.

The same program as ``python -m django_zoomconnect.simulator``, with two differences: the
account's email, API token and webhook secret default to the project's ``ZOOMCONNECT`` setting,
and webhooks go to the project's own ``zoomconnect:reply`` and ``zoomconnect:delivery-report``
URLs at ``--site`` (runserver's address by default). Pointing ``BASE_URL`` at the printed URL is
then the only change a project needs. It takes neither ``--quiet`` nor ``--json``: it is a server.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from ... import conf
from ...exceptions import ConfigurationError
from ...simulator.__main__ import CannotStart, add_arguments, run
from ...urls import WEBHOOK_OPTIONS, webhook_urls
from ..arguments import http_url
from ..base import ZoomConnectCommand

#: Where ``manage.py runserver`` serves a project.
DEFAULT_SITE = "http://127.0.0.1:8000"


class Command(ZoomConnectCommand):
    help = (
        "Serve a simulated Zoom Connect API on loopback (REST, webhooks, control API, faults). "
        "Credentials default to settings.ZOOMCONNECT; webhooks go to this project at --site."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)
        parser.add_argument(
            "--site",
            type=http_url,
            default=DEFAULT_SITE,
            help="where this project is served: webhooks go to its zoomconnect:reply and "
            "zoomconnect:delivery-report URLs there, unless --reply-url or --delivery-report-url "
            "say otherwise (default: %(default)s)",
        )

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
        urls = webhook_urls(options.get("site") or DEFAULT_SITE)
        for option in WEBHOOK_OPTIONS:
            if options.get(option) is None:
                options[option] = urls.get(option)
        if any(options.get(option) is None for option in WEBHOOK_OPTIONS):
            self.stderr.write(
                "The URLconf does not include django_zoomconnect.urls: webhooks it lacks are not sent "
                "(include them, or give --reply-url and --delivery-report-url).",
                style_func=self.style.WARNING,
            )
        try:
            run(options, self.stdout)
        except CannotStart as exc:
            raise CommandError(str(exc)) from exc
