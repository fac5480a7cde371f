"""``manage.py zoomconnect_send``: send one SMS, or run the outbox once in this process.

``zoomconnect_send +27821234567 "Your code is 4711"`` queues a message exactly as
:func:`~django_zoomconnect.services.outbox.send_sms` does (a worker sends it, or this process with
``SEND_EAGERLY``). ``--due`` does what the beat tasks do, once, in this process: expired claims and
uncertain sends, then every message that is due is handed to the workers (sent here with
``SEND_EAGERLY``). ``--resume`` lifts a pause after refused
credentials. Every action only calls the sending and reconcile services; ``--json`` prints what
each action did as one JSON object.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from ... import conf
from ...models import Message, MessageStatus
from ...services import outbox
from ..arguments import iso_datetime, non_empty
from ..base import ZoomConnectCommand

PAUSED = "Sending is paused (refused credentials): fix them, then run with --resume."


class Command(ZoomConnectCommand):
    help = "Send one SMS through Zoom Connect, or run the outbox once (--due), or resume sending (--resume)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "to",
            nargs="?",
            type=non_empty,
            help="The recipient's number (E.164, or national in DEFAULT_REGION).",
        )
        parser.add_argument("body", nargs="?", type=non_empty, help="The text of the message.")
        parser.add_argument(
            "--at",
            metavar="DATETIME",
            type=iso_datetime,
            help="Send later: ISO 8601, e.g. 2030-01-31T09:00+02:00 (without an offset: TIME_ZONE).",
        )
        parser.add_argument("--campaign", type=non_empty, help="The campaign name to send with.")
        parser.add_argument(
            "--data-field", type=non_empty, help="Your own dataField (default: the message's reference)."
        )
        parser.add_argument(
            "--due",
            action="store_true",
            help="Do the beat's work once: sweep, reconcile, and hand what is due to the workers "
            "(sent here when SEND_EAGERLY is on).",
        )
        parser.add_argument(
            "--resume", action="store_true", help="Lift a pause caused by refused credentials."
        )
        self.add_account_option(
            parser, "The account that sends it (default: ACCOUNT_ROUTER's choice, else 'default')."
        )
        self.add_output_options(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if not (options["resume"] or options["to"] or options["body"] or options["due"]):
            raise CommandError("Give a number and a text to send, or --due, or --resume.")
        if (options["to"] or options["body"]) and not (options["to"] and options["body"]):
            raise CommandError("Give both the number and the text.")
        done: dict[str, Any] = {"resumed": None, "message": None, "outbox": None}
        if options["resume"]:
            done["resumed"] = self._resume(options.get("account"))
        if options["to"]:
            done["message"] = self._send(options)
        if options["due"]:
            done["outbox"] = self._due()
        paused = outbox.is_paused()
        if self.json_output:
            self.print_json({**done, "paused": paused})
        if paused and (options["to"] or options["due"]):
            self.stderr.write(PAUSED)

    def _resume(self, account: str | None) -> dict[str, Any]:
        """Lift the pause of ``account``, or of every account when none is named."""
        paused = list(outbox.pauses(None if account is None else conf.account_alias(account)))
        if not paused:
            self.say("Sending is not paused.")
            return {"was_paused": False, "tasks_enqueued": 0}
        enqueued = outbox.resume_sending(account=account)
        reason = outbox.pause_reason(paused)
        self.say(f"Sending resumed (it was paused: {reason}); {enqueued} task(s) enqueued.")
        return {"was_paused": True, "reason": reason, "tasks_enqueued": enqueued}

    def _send(self, options: dict[str, Any]) -> dict[str, Any]:
        send_at = options["at"]
        if send_at is not None and timezone.is_naive(send_at):
            send_at = timezone.make_aware(send_at)
        message = outbox.send_sms(
            options["to"],
            options["body"],
            send_at=send_at,
            campaign=options["campaign"],
            data_field=options["data_field"],
            account=options.get("account"),
        )
        message.refresh_from_db()
        self.say(describe(message))
        if (
            message.status == MessageStatus.QUEUED
            and message.dispatch_after is None
            and not outbox.is_paused(message.account)
        ):
            self.say(
                "A Celery worker sends it: without one it stays QUEUED (start `celery -A <project> worker`, "
                "or set ZOOMCONNECT['SEND_EAGERLY'] to send from the process that queues it)."
            )
        return message_json(message)

    def _due(self) -> dict[str, int]:
        swept = outbox.sweep()
        settled = outbox.reconcile_uncertain()
        enqueued = outbox.dispatch_due()
        self.say(
            f"Outbox: {swept['expired_claims']} expired claim(s), {settled.adopted} uncertain send(s) "
            f"found, {settled.requeued} to send again, {settled.failed} failed, "
            f"{swept['tasks_enqueued'] + enqueued} task(s) enqueued."
        )
        return {
            "expired_claims": swept["expired_claims"],
            "uncertain_found": settled.adopted,
            "uncertain_requeued": settled.requeued,
            "uncertain_failed": settled.failed,
            "tasks_enqueued": swept["tasks_enqueued"] + enqueued,
        }


def describe(message: Message) -> str:
    """One line about a message's state, as the command prints it."""
    text = f"Message {message.pk} to {message.to_number}: {message.status}"
    if message.remote_id:
        text += f" (Zoom Connect id {message.remote_id})"
    if message.status == MessageStatus.QUEUED and message.dispatch_after is not None:
        text += f", due {message.dispatch_after.isoformat()}"
    if message.last_error:
        text += f": {message.last_error}"
    return text


def message_json(message: Message) -> dict[str, Any]:
    """A message's state as the command's ``--json`` shows it."""
    return {
        "id": message.pk,
        "to": message.to_number,
        "status": message.status,
        "remote_id": message.remote_id or None,
        "due": message.dispatch_after if message.status == MessageStatus.QUEUED else None,
        "error": message.last_error or None,
    }
