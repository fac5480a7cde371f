"""``manage.py zoomconnect_team``: the account's team: list its users, create a sub-user, transfer credit.

``list`` prints every user with its balance (the statistics report: the whole team for an
administrator's credentials), or the one ``--email`` names; ``create`` makes a sub-user, its
password typed at a prompt or read from stdin with ``--password-stdin`` (never an argument,
which ``ps`` and the shell's history would show); ``transfer FROM TO CREDITS`` moves credits.
They only call :mod:`django_zoomconnect.services.team`; each takes ``--account``, ``--quiet``
and ``--json``, and a refusal is one line on stderr.
"""

from __future__ import annotations

import getpass
import sys
from dataclasses import asdict
from typing import Any

from django.core.management.base import CommandError, CommandParser

from ... import conf
from ...services import team
from ...services.team import TeamMember
from ..arguments import non_empty, positive_int
from ..base import CommandParser as OneLineCommandParser
from ..base import ZoomConnectCommand


class Command(ZoomConnectCommand):
    help = "List the Zoom Connect account's users and balances, create a sub-user, or transfer credit."
    #: Where ``--password-stdin`` reads (``call_command(..., stdin=...)`` in tests).
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="{list,create,transfer}", parser_class=OneLineCommandParser
        )
        listing = actions.add_parser("list", help="The team's users and their balances.")
        listing.add_argument("--email", type=non_empty, help="Only the user with this email address.")
        create = actions.add_parser("create", help="Create a sub-user (the password is asked for).")
        create.add_argument("--email", type=non_empty, required=True)
        create.add_argument("--first-name", type=non_empty, required=True)
        create.add_argument("--last-name", type=non_empty, required=True)
        create.add_argument("--contact-number", type=non_empty, required=True)
        create.add_argument("--company")
        create.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from the first line of stdin instead of asking for it.",
        )
        transfer = actions.add_parser("transfer", help="Move credits from one user of the team to another.")
        transfer.add_argument("from_email", metavar="FROM", type=non_empty, help="The giver's email address.")
        transfer.add_argument("to_email", metavar="TO", type=non_empty, help="The receiver's email address.")
        transfer.add_argument(
            "credits", metavar="CREDITS", type=positive_int, help="A whole number, 1 or more."
        )
        for sub in (listing, create, transfer):
            self.add_account_option(sub, "The account's alias (default: the default account).")
            self.add_output_options(sub)

    def handle(self, *args: Any, **options: Any) -> None:
        account = options.get("account")
        action = options["action"]
        if action == "list":
            found = team.list_sub_users(email=options.get("email"), account=account)
            if self.json_output:
                self.print_json({"account": found.account, "users": [_member(m) for m in found.members]})
            for member in found.members:
                self.say(_line(member))
            if not found.members:
                self.say(
                    f"No user has the email address {found.searched}." if found.searched else "No users."
                )
        elif action == "create":
            password = self._password(options)
            member = team.create_sub_user(
                email=options["email"],
                first_name=options["first_name"],
                last_name=options["last_name"],
                contact_number=options["contact_number"],
                company=options.get("company"),
                password=password,
                account=account,
            )
            if self.json_output:
                self.print_json({"account": conf.account_alias(account), "user": _member(member)})
            self.say(f"Created the sub-user {member.email} (user {member.user_id}).")
        else:
            done = team.transfer_credit(
                options["from_email"], options["to_email"], options["credits"], account=account
            )
            if self.json_output:
                self.print_json(
                    {
                        "account": done.account,
                        "from": done.from_email,
                        "to": done.to_email,
                        "credits": done.credits,
                        "to_balance": None if done.target is None else done.target.balance,
                    }
                )
            held = (
                ""
                if done.target is None or done.target.balance is None
                else f" (now {done.target.balance:g})"
            )
            self.say(f"Transferred {done.credits:,} credits from {done.from_email} to {done.to_email}{held}.")

    def _password(self, options: dict[str, Any]) -> str:
        stdin = options.get("stdin") or sys.stdin
        if options.get("password_stdin"):
            password = stdin.readline().rstrip("\r\n")
        elif stdin.isatty():
            password = getpass.getpass("Password for the new sub-user: ")
        else:
            raise CommandError("No password: type it at the prompt, or pipe it in with --password-stdin.")
        if not password:
            raise CommandError("The password is empty.")
        return password


def _member(member: TeamMember) -> dict[str, Any]:
    return {**asdict(member), "name": member.name}


def _line(member: TeamMember) -> str:
    balance = "?" if member.balance is None else f"{member.balance:,.2f}"
    you = "  (this account)" if member.is_account else ""
    return f"{member.email}  {member.name}  {member.contact_number}  {balance} credits{you}"
