"""``manage.py zoomconnect_send``: send one SMS, or run the outbox once in this process.

``zoomconnect_send +27821234567 "Your code is 4711"`` queues a message exactly as
:func:`~django_zoomconnect.services.outbox.send_sms` does (a worker sends it, or this process with
``SEND_EAGERLY``). ``--due`` does what the beat tasks do, once and without a worker: expired claims,
uncertain sends, then every message that is due. ``--resume`` lifts a pause after refused
credentials. Every action only calls the sending and reconcile services.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ...exceptions import ConfigurationError, ZoomConnectError
from ...models import Message, MessageStatus, SendingPause
from ...services import outbox


class Command(BaseCommand):
    help = "Send one SMS through Zoom Connect, or run the outbox once (--due), or resume sending (--resume)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "to", nargs="?", help="The recipient's number (E.164, or national in DEFAULT_REGION)."
        )
        parser.add_argument("body", nargs="?", help="The text of the message.")
        parser.add_argument(
            "--at",
            metavar="DATETIME",
            help="Send later: ISO 8601, e.g. 2030-01-31T09:00+02:00 (without an offset: TIME_ZONE).",
        )
        parser.add_argument("--campaign", help="The campaign name to send with.")
        parser.add_argument("--data-field", help="Your own dataField (default: the message's reference).")
        parser.add_argument(
            "--due", action="store_true", help="Run the outbox once here: sweep, reconcile, send what is due."
        )
        parser.add_argument(
            "--resume", action="store_true", help="Lift a pause caused by refused credentials."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["resume"]:
            self._resume()
        if options["to"] or options["body"]:
            self._send(options)
        if options["due"]:
            self._due()
        if not (options["resume"] or options["to"] or options["body"] or options["due"]):
            raise CommandError("Give a number and a text to send, or --due, or --resume.")

    def _resume(self) -> None:
        pause = SendingPause.objects.first()
        if pause is None:
            self.stdout.write("Sending is not paused.")
            return
        enqueued = outbox.resume_sending()
        self.stdout.write(f"Sending resumed (it was paused: {pause.reason}); {enqueued} task(s) enqueued.")

    def _send(self, options: dict[str, Any]) -> None:
        if not (options["to"] and options["body"]):
            raise CommandError("Give both the number and the text.")
        send_at = None
        if options["at"]:
            send_at = parse_datetime(options["at"])
            if send_at is None:
                raise CommandError(f"--at {options['at']!r} is not an ISO 8601 date and time.")
            if timezone.is_naive(send_at):
                send_at = timezone.make_aware(send_at)
        try:
            message = outbox.send_sms(
                options["to"],
                options["body"],
                send_at=send_at,
                campaign=options["campaign"],
                data_field=options["data_field"],
            )
        except (ConfigurationError, ZoomConnectError) as exc:
            raise CommandError(str(exc)) from None
        message.refresh_from_db()
        self.stdout.write(describe(message))
        if message.status == MessageStatus.QUEUED and outbox.is_paused():
            self.stderr.write("Sending is paused (refused credentials): fix them, then run with --resume.")
        elif message.status == MessageStatus.QUEUED and message.dispatch_after is None:
            self.stdout.write("A Celery worker sends it (or run this command with --due).")

    def _due(self) -> None:
        swept = outbox.sweep()
        settled = outbox.reconcile_uncertain()
        enqueued = outbox.dispatch_due()
        self.stdout.write(
            f"Outbox: {swept['expired_claims']} expired claim(s), {settled.adopted} uncertain send(s) "
            f"found, {settled.requeued} to send again, {settled.failed} failed, "
            f"{swept['tasks_enqueued'] + enqueued} task(s) enqueued."
        )
        if settled.paused or outbox.is_paused():
            self.stderr.write("Sending is paused (refused credentials): fix them, then run with --resume.")


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
