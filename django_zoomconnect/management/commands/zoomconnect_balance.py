"""``manage.py zoomconnect_balance``: print the account's credit balance (and lift a sending pause).

A successful balance check proves that the credentials work again, so a pause that refused
credentials caused is lifted by it (:func:`~django_zoomconnect.services.outbox.check_balance`).
With ``--quiet`` it is a health check: nothing printed, exit status 0 when the account answers.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from ... import conf
from ...services import outbox
from ..base import ZoomConnectCommand


class Command(ZoomConnectCommand):
    help = "Print the Zoom Connect credit balance; a paused outbox resumes when the check succeeds."

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_account_option(parser, "The account whose balance to read (default: 'default').")
        self.add_output_options(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        account = options.get("account")
        was_paused = outbox.is_paused(conf.account_alias(account))
        # A failure becomes one line with a hint (ZoomConnectCommand).
        balance = outbox.check_balance(account=account)
        if self.json_output:
            self.print_json(
                {"balance": balance, "resumed": was_paused, **({"account": account} if account else {})}
            )
        self.say(f"Credit balance: {balance:g}" + (f" (account {account!r})" if account else ""))
        if was_paused:
            self.say("The credentials work again: sending resumed.")
