"""``manage.py zoomconnect_balance``: print the account's credit balance (and lift a sending pause).

A successful balance check proves that the credentials work again, so a pause that refused
credentials caused is lifted by it (:func:`~django_zoomconnect.services.outbox.check_balance`).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ...exceptions import ConfigurationError, ZoomConnectError
from ...services import outbox


class Command(BaseCommand):
    help = "Print the Zoom Connect credit balance; a paused outbox resumes when the check succeeds."

    def handle(self, *args: Any, **options: Any) -> None:
        was_paused = outbox.is_paused()
        try:
            balance = outbox.check_balance()
        except (ConfigurationError, ZoomConnectError) as exc:
            raise CommandError(f"Could not read the balance: {exc}") from None
        self.stdout.write(f"Credit balance: {balance:g}")
        if was_paused:
            self.stdout.write("The credentials work again: sending resumed.")
