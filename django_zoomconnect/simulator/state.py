"""The simulated account: credentials, credit, contacts, groups, templates and messages over time.

Everything lives in memory behind one lock. Time comes from a :class:`Clock` that tests can
freeze and step, so a message's life (scheduled, sent, delivered) is decided by due times, not by
sleeping, and applied lazily whenever anybody looks.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .clock import Clock
from .errors import ApiError, empty_message, invalid_number, lookup, not_found
from .records import (
    DELIVERED,
    FAILED_REFUNDED,
    INBOUND,
    MAGIC_INVALID,
    MAGIC_OUTCOMES,
    MAGIC_REPLIES,
    MAX_PARTS,
    OUTBOUND,
    RECEIVED,
    REPLY_PREFIX,
    SCHEDULED,
    SEED_TEMPLATES,
    SENDER_NUMBER,
    SENT,
    Contact,
    Group,
    Message,
    Template,
    User,
    VoiceMessage,
    analyse_text,
    normalize_number,
)

# Event kinds on the lifecycle heap, in the order they happen to one message.
_EV_SEND, _EV_FINAL, _EV_REPLY, _EV_VOICE_SENT, _EV_VOICE_FINAL = 0, 1, 2, 3, 4
#: What one voice message costs, whatever its length (the provider publishes no voice rates).
VOICE_CREDITS = 1.0

#: ``notify(kind, message, at)`` with kind ``"delivery_report"`` or ``"reply"``.
Notify = Callable[[str, Message, datetime], None]


class AccountState:
    """The account and its messages. Every public method takes :attr:`lock` itself; callers
    that need several steps to be atomic (one HTTP request) hold it around them too."""

    def __init__(
        self,
        *,
        email: str,
        clock: Clock,
        timezone: ZoneInfo,
        balance: float,
        send_delay: float,
        delivery_delay: float,
        reply_delay: float,
        seed_templates: bool = True,
        notify: Notify | None = None,
        credits_per_part: float = 1.0,
        sender_number: str = SENDER_NUMBER,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.tz = timezone
        self.email = email
        self.initial_balance = float(balance)
        self.send_delay = float(send_delay)
        self.delivery_delay = float(delivery_delay)
        self.reply_delay = float(reply_delay)
        self.seed_templates = seed_templates
        self.notify = notify
        self.credits_per_part = float(credits_per_part)
        self.sender_number = sender_number
        self._id_prefix = os.urandom(5).hex()
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self.reset()

    # -- housekeeping

    def reset(self) -> None:
        """Back to a fresh account: initial balance, seeded templates, nothing else."""
        with self.lock:
            self.balance = self.initial_balance
            self.messages: dict[str, Message] = {}
            self.message_order: list[Message] = []
            self.by_data_field: dict[str, list[Message]] = {}
            self.contacts: dict[str, Contact] = {}
            self.contacts_by_number: dict[str, str] = {}
            self.groups: dict[str, Group] = {}
            self.templates: dict[int, Template] = {}
            self.users: dict[int, User] = {
                1: User(
                    user_id=1,
                    email_address=self.email,
                    first_name="Simulator",
                    last_name="Account",
                    contact_number="+27820000000",
                    company="Zoom Connect simulator",
                )
            }
            self.counters: Counter[str] = Counter()
            self.voice: dict[str, VoiceMessage] = {}
            self.voice_order: list[VoiceMessage] = []
            self._events: list[tuple[datetime, int, int, Any]] = []
            if self.seed_templates:
                for name, data in SEED_TEMPLATES:
                    self.seed_template(name, data)

    def new_id(self, now: datetime | None = None) -> str:
        """A 24-hex-digit id like the provider's: seconds, a per-simulator prefix, a counter."""
        seconds = int((now or self.clock.now()).timestamp()) & 0xFFFFFFFF
        return f"{seconds:08x}{self._id_prefix}{next(self._ids) & 0xFFFFFF:06x}"

    def main_user(self) -> User:
        user = self.users[1]
        user.credit_balance = self.balance
        user.email_address = self.email
        return user

    # -- lifecycle

    def tick(self, now: datetime | None = None) -> int:
        """Apply every transition due at ``now`` (default: the clock); how many were applied."""
        with self.lock:
            if now is None:
                now = self.clock.now()
            events = self._events
            applied = 0
            while events and events[0][0] <= now:
                due, _, kind, message = heapq.heappop(events)
                applied += 1
                if kind == _EV_SEND:
                    self._mark_sent(message, due)
                elif kind == _EV_FINAL:
                    self._mark_final(message, due)
                elif kind == _EV_REPLY:
                    self._reply(message, due)
                elif kind == _EV_VOICE_SENT:
                    message.status = SENT
                    message.sent_at = due
                    if message.outcome is not None:
                        self._schedule(due + timedelta(seconds=self.delivery_delay), _EV_VOICE_FINAL, message)
                else:
                    message.status = message.outcome
                    if message.outcome == FAILED_REFUNDED:
                        self.balance += message.credit_cost
            return applied

    def next_due(self) -> datetime | None:
        """When the next transition is due, if any is pending."""
        with self.lock:
            return self._events[0][0] if self._events else None

    def _schedule(self, due: datetime, kind: int, message: Message | VoiceMessage) -> None:
        heapq.heappush(self._events, (due, next(self._seq), kind, message))

    def _mark_sent(self, message: Message, due: datetime) -> None:
        message.status = SENT
        message.sent_at = due
        if message.outcome is not None:
            self._schedule(due + timedelta(seconds=self.delivery_delay), _EV_FINAL, message)

    def _mark_final(self, message: Message, due: datetime) -> None:
        assert message.outcome is not None
        message.status = message.outcome
        message.final_at = due
        self.counters[f"status.{message.outcome}"] += 1
        if message.outcome == FAILED_REFUNDED:
            self.balance += message.credit_cost
        if self.notify is not None:
            self.notify("delivery_report", message, due)
        if message.replies:
            self._schedule(due + timedelta(seconds=self.reply_delay), _EV_REPLY, message)

    def _reply(self, original: Message, due: datetime) -> None:
        self.receive(
            original.to_number or "",
            REPLY_PREFIX + original.message,
            to_number=original.from_number,
            reply_to_message_id=original.message_id,
            at=due,
        )

    # -- sending

    def send(
        self,
        recipient_number: object,
        text: object,
        *,
        date_to_send: datetime | None = None,
        campaign: object = None,
        data_field: object = None,
        release_delay: float = 0.0,
        now: datetime | None = None,
    ) -> Message:
        """Accept one outbound message, or raise :class:`ApiError` as the provider would refuse it.

        Checked in order: the number (code 2), the text (code 3), the length, the credit.
        """
        with self.lock:
            counters = self.counters
            number = normalize_number(recipient_number)
            if number is None or number == MAGIC_INVALID:
                counters["sends.refused"] += 1
                raise invalid_number(recipient_number)
            if not isinstance(text, str) or not text.strip():
                counters["sends.refused"] += 1
                raise empty_message()
            info = analyse_text(text)
            if info.parts > MAX_PARTS:
                counters["sends.refused"] += 1
                raise ApiError(
                    400,
                    "Message is too long",
                    developer_message=f"It needs {info.parts} parts; at most {MAX_PARTS} are allowed.",
                )
            cost = info.parts * self.credits_per_part
            if cost > self.balance + 1e-9:
                counters["sends.refused"] += 1
                raise ApiError(
                    400,
                    "Insufficient credits",
                    developer_message=f"The message costs {cost:g} credits; the balance is {self.balance:g}.",
                )
            if now is None:
                now = self.clock.now()
            self.balance -= cost
            data_value = _optional_text(data_field)
            message = Message(
                message_id=self.new_id(now),
                message_type=OUTBOUND,
                status=SCHEDULED,
                from_number=self.sender_number,
                to_number=number,
                message=text,
                campaign=_optional_text(campaign),
                data_field=data_value,
                credit_cost=cost,
                number_of_messages=info.parts,
                created_at=now,
                scheduled_at=date_to_send,
                contact_id=self.contacts_by_number.get(number),
                outcome=MAGIC_OUTCOMES.get(number, DELIVERED),
                replies=number == MAGIC_REPLIES,
            )
            self._store(message)
            release = now if date_to_send is None or date_to_send < now else date_to_send
            self._schedule(release + timedelta(seconds=release_delay + self.send_delay), _EV_SEND, message)
            counters["sends.accepted"] += 1
            if data_value is not None:
                counters["dataField:" + data_value] += 1
            return message

    def _store(self, message: Message) -> None:
        self.messages[message.message_id] = message
        self.message_order.append(message)
        if message.data_field is not None:
            self.by_data_field.setdefault(message.data_field, []).append(message)

    def receive(
        self,
        from_number: str,
        text: str,
        *,
        to_number: str | None = None,
        reply_to_message_id: str | None = None,
        link: bool = True,
        at: datetime | None = None,
    ) -> Message:
        """Record an inbound message, linked to the message it answers, and announce it.

        Without ``reply_to_message_id`` (and with ``link``), it answers the latest outbound
        message to the same number, as the provider links replies by number.
        """
        with self.lock:
            if at is None:
                at = self.clock.now()
            original: Message | None = None
            if reply_to_message_id is not None:
                original = self.messages.get(reply_to_message_id)
                if original is None:
                    raise not_found("Message", reply_to_message_id)
            sender = normalize_number(from_number) or from_number
            if original is None and link:
                for candidate in reversed(self.message_order):
                    if candidate.message_type == OUTBOUND and candidate.to_number == sender:
                        original = candidate
                        break
            if to_number is None:
                to_number = original.from_number if original is not None else self.sender_number
            info = analyse_text(text)
            message = Message(
                message_id=self.new_id(at),
                message_type=INBOUND,
                status=RECEIVED,
                from_number=sender,
                to_number=to_number,
                message=text,
                campaign=original.campaign if original is not None else None,
                data_field=original.data_field if original is not None else None,
                credit_cost=0.0,
                number_of_messages=max(info.parts, 1),
                created_at=at,
                received_at=at,
                contact_id=self.contacts_by_number.get(sender),
                replied_to_message_id=original.message_id if original is not None else None,
                outcome=None,
            )
            self._store(message)
            self.counters["inbound"] += 1
            if self.notify is not None:
                self.notify("reply", message, at)
            return message

    def send_voice(
        self,
        recipient_number: object,
        *,
        message: str | None = None,
        language: str | None = None,
        campaign: object = None,
        data_field: object = None,
        audio: bool = False,
    ) -> VoiceMessage:
        """Accept one voice message (text to speech, or an uploaded ``audio`` file)."""
        with self.lock:
            number = normalize_number(recipient_number)
            if number is None or number == MAGIC_INVALID:
                raise invalid_number(recipient_number)
            if not audio and (message is None or not message.strip()):
                raise empty_message()
            if self.balance + 1e-9 < VOICE_CREDITS:
                raise ApiError(400, "Insufficient credits")
            now = self.clock.now()
            self.balance -= VOICE_CREDITS
            voice_id = self.new_id(now)
            voice = VoiceMessage(
                voice_message_id=voice_id,
                to_number=number,
                message=message,
                language=language,
                campaign=_optional_text(campaign),
                data_field=_optional_text(data_field),
                audio_file_url=f"simulator://voice/{voice_id}" if audio else None,
                credit_cost=VOICE_CREDITS,
                created_at=now,
                outcome=MAGIC_OUTCOMES.get(number, DELIVERED),
            )
            self.voice[voice_id] = voice
            self.voice_order.append(voice)
            self._schedule(now + timedelta(seconds=self.send_delay), _EV_VOICE_SENT, voice)
            self.counters["voice.accepted"] += 1
            return voice

    def get_message(self, message_id: str) -> Message:
        return lookup(self.messages, message_id, "Message")

    # -- account

    def set_balance(self, credits: float) -> None:
        if isinstance(credits, bool) or not isinstance(credits, int | float) or credits < 0:
            raise ValueError(f"the balance must be a number, zero or more, not {credits!r}")
        with self.lock:
            self.balance = float(credits)

    # -- templates

    def seed_template(self, name: str, data: str, template_id: int | None = None) -> int:
        """Add (or replace, when ``template_id`` exists) a template; the API cannot create them."""
        if not isinstance(name, str) or not isinstance(data, str):
            raise ValueError("a template needs a name and data, both strings")
        with self.lock:
            if template_id is None:
                template_id = max(self.templates, default=0) + 1
            elif isinstance(template_id, bool) or not isinstance(template_id, int) or template_id < 1:
                raise ValueError(f"template ids are positive integers, not {template_id!r}")
            self.templates[template_id] = Template(template_id, name, data)
            return template_id

    # -- contacts and groups

    def index_contact(self, contact: Contact, old_number: str | None = None) -> None:
        if old_number is not None and self.contacts_by_number.get(old_number) == contact.contact_id:
            del self.contacts_by_number[old_number]
        self.contacts_by_number[contact.contact_number] = contact.contact_id

    def delete_contact(self, contact_id: str) -> None:
        with self.lock:
            contact = self.contacts.pop(contact_id, None)
            if contact is None:
                raise not_found("Contact", contact_id)
            if self.contacts_by_number.get(contact.contact_number) == contact_id:
                del self.contacts_by_number[contact.contact_number]
            for group in self.groups.values():
                group.members.discard(contact_id)

    def group_members(self, group_id: str) -> set[str]:
        """Contact ids in a group (the API cannot list them; tests can)."""
        with self.lock:
            return set(lookup(self.groups, group_id, "Group").members)


def _optional_text(value: object) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)
