"""Models that mirror the Zoom Connect account: contacts, groups, templates and messages.

Every mirrored model has a local primary key, the ``account`` it belongs to (an alias of
``ZOOMCONNECT["ACCOUNTS"]``, ``"default"`` for a project with one account) and a nullable
``remote_id`` unique within that account (``None`` until the object exists remotely), the last
remote payload in ``remote_data``, ``synced_at`` and a ``sync_state`` with the last sync error: a
row is the source of truth for what this side wants, and ``sync_state`` says whether the account
agrees yet. The rules that move these fields live in
``services/``; the models only describe and validate.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import phone
from .exceptions import PhoneNumberError, ZoomConnectError


def validate_phone_number(value: str) -> None:
    """Field validator: the number must parse and be valid (stored values are E.164)."""
    try:
        phone.normalize(value)
    except PhoneNumberError as exc:
        raise ValidationError(str(exc), code="invalid_phone_number") from None


def new_reference() -> str:
    """A fresh message reference: 32 hex digits, unique enough to look a send up by ``dataField``.

    Time-ordered, like a UUIDv7: the milliseconds since the epoch (12 digits), then 80 random
    bits. A bulk send's new rows then go to the end of the unique index on ``reference``, where
    random references landed all over it (on SQLite the insert of 10,000 messages took almost
    twice as long).
    """
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


class SyncState(models.TextChoices):
    """Whether a mirrored row and the Zoom Connect account agree."""

    SYNCED = "synced", _("In sync")
    PENDING = "pending", _("Local change waiting to be pushed")
    DELETING = "deleting", _("Local deletion waiting to be pushed")
    FAILED = "failed", _("Last push failed; will be retried")
    REMOTE_DELETED = "remote_deleted", _("Deleted on Zoom Connect")


def account_field() -> models.CharField:  # type: ignore[type-arg]
    """The alias of the account a row belongs to (no index of its own: the unique constraints and
    indexes that need it start with it)."""
    return models.CharField(
        _("account"),
        max_length=32,
        default="default",
        help_text=_("The alias of the Zoom Connect account in ZOOMCONNECT['ACCOUNTS']."),
    )


def unique_remote_id(model: str) -> models.UniqueConstraint:
    """A remote id is unique within its account: two accounts may use the same id."""
    return models.UniqueConstraint(fields=("account", "remote_id"), name=f"zoomconnect_{model}_remote_id")


class RemoteObject(models.Model):
    """Fields shared by every model mirrored from the account."""

    account = account_field()
    #: ``None`` until the object exists on the account, unique within the account (each
    #: model's Meta says so). Ids are opaque strings, except a template's, which the API writes as
    #: an integer (:class:`Template` says so).
    remote_id = models.CharField(_("remote id"), max_length=64, null=True, blank=True)  # noqa: DJ001 - NULLs never clash
    remote_data = models.JSONField(
        _("remote data"), default=dict, blank=True, help_text=_("The last payload read from Zoom Connect.")
    )
    synced_at = models.DateTimeField(
        _("synced at"), null=True, blank=True, help_text=_("When this row last matched the account.")
    )
    sync_state = models.CharField(
        _("sync state"), max_length=16, choices=SyncState.choices, default=SyncState.PENDING, db_index=True
    )
    sync_error = models.TextField(_("last sync error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class Group(RemoteObject):
    name = models.CharField(_("name"), max_length=255)

    class Meta:
        verbose_name = _("group")
        verbose_name_plural = _("groups")
        ordering = ("name", "pk")
        constraints = [unique_remote_id("group")]

    def __str__(self) -> str:
        return self.name


class Contact(RemoteObject):
    title = models.CharField(_("title"), max_length=32, blank=True)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    #: Unique within the account (Meta): the same person may be a contact of several accounts.
    phone_number = models.CharField(
        _("phone number"),
        max_length=20,
        validators=[validate_phone_number],
        help_text=_("Stored in E.164, e.g. +27821234567."),
    )
    groups = models.ManyToManyField(
        Group, through="Membership", related_name="contacts", blank=True, verbose_name=_("groups")
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ("last_name", "first_name", "pk")
        constraints = [
            unique_remote_id("contact"),
            models.UniqueConstraint(fields=("account", "phone_number"), name="zoomconnect_contact_phone"),
        ]

    def __str__(self) -> str:
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return f"{name} ({self.phone_number})" if name else self.phone_number

    def clean(self) -> None:
        super().clean()
        if self.phone_number:
            try:
                self.phone_number = phone.normalize(self.phone_number)
            except PhoneNumberError as exc:
                raise ValidationError({"phone_number": str(exc)}) from None

    def validate_constraints(self, exclude: Any = None) -> None:
        """The number is unique within the account; a form without the account (most are) still
        checks it, as an error of the number."""
        super().validate_constraints(exclude)
        if exclude and "account" in exclude and "phone_number" not in exclude and self.phone_number:
            taken = Contact.objects.filter(account=self.account, phone_number=self.phone_number)
            if taken.exclude(pk=self.pk).exists():
                raise ValidationError(
                    {"phone_number": _("A contact of this account already has this number.")}, code="unique"
                )


class Membership(models.Model):
    """A contact in a group. The API cannot list members, so memberships are pushed, never pulled."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="memberships")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    sync_state = models.CharField(
        _("sync state"), max_length=16, choices=SyncState.choices, default=SyncState.PENDING, db_index=True
    )
    sync_error = models.TextField(_("last sync error"), blank=True)
    synced_at = models.DateTimeField(_("synced at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("group membership")
        verbose_name_plural = _("group memberships")
        constraints = [
            models.UniqueConstraint(fields=("contact", "group"), name="zoomconnect_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.contact} in {self.group}"

    def clean(self) -> None:
        """A contact joins only a group of its own account (each account has its own address book)."""
        super().clean()
        contact, group = getattr(self, "contact", None), getattr(self, "group", None)
        if contact is not None and group is not None and contact.account != group.account:
            raise ValidationError(
                _("%(contact)s (account %(a)s) cannot join %(group)s (account %(b)s).")
                % {"contact": contact, "a": contact.account, "group": group, "b": group.account},
                code="account",
            )


class TemplateContextError(ZoomConnectError, KeyError):
    """A template placeholder has no value in the context given to :meth:`Template.render`."""

    def __init__(self, template: str, missing: list[str]) -> None:
        self.missing = missing
        names = ", ".join(missing)
        super().__init__(f"Template {template!r} needs a value for: {names}.")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


#: ``{{ name }}`` placeholders; names are letters, digits, underscores and dots.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")


class Template(RemoteObject):
    """A message template: pulled from the account, or local (the API cannot create templates).

    Placeholders are written ``{{ name }}``; :meth:`render` fills them from a context and refuses
    to send a message with a hole in it. Its ``remote_id`` is the one integer among the mirrored
    models' ids: the API numbers templates.
    """

    remote_id = models.BigIntegerField(  # type: ignore[assignment]
        _("remote id"), null=True, blank=True
    )
    name = models.CharField(_("name"), max_length=255)
    body = models.TextField(_("body"), help_text=_("Placeholders are written {{ name }}."))

    class Meta:
        verbose_name = _("template")
        verbose_name_plural = _("templates")
        ordering = ("name", "pk")
        constraints = [unique_remote_id("template")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_remote(self) -> bool:
        return self.remote_id is not None

    @property
    def placeholders(self) -> list[str]:
        """The placeholder names in order of first appearance."""
        return list(dict.fromkeys(PLACEHOLDER.findall(self.body)))

    def render(self, context: Mapping[str, Any] | None = None) -> str:
        """The body with every placeholder replaced; :class:`TemplateContextError` names any missing."""
        context = context or {}
        missing = [name for name in self.placeholders if name not in context]
        if missing:
            raise TemplateContextError(self.name, missing)
        return PLACEHOLDER.sub(lambda match: str(context[match.group(1)]), self.body)


class Batch(models.Model):
    """One bulk send: its messages are dispatched in chunks through ``sms/send-bulk``."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DISPATCHING = "dispatching", _("Dispatching")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    #: Every message of a batch goes through this account (a chunk never mixes accounts).
    account = account_field()
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    campaign = models.CharField(_("campaign"), max_length=255, blank=True)
    template = models.ForeignKey(
        Template, null=True, blank=True, on_delete=models.SET_NULL, related_name="batches"
    )
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="batches")
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Chunk bookkeeping: messages carry their chunk number; one sms/send-bulk call per chunk.
    chunk_size = models.PositiveIntegerField(_("chunk size"), default=0)
    chunk_count = models.PositiveIntegerField(_("chunks"), default=0)
    messages_per_minute = models.PositiveIntegerField(_("messages per minute"), null=True, blank=True)
    estimated_cost = models.DecimalField(
        _("estimated cost"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        return f"Batch #{self.pk} {self.campaign}".strip()


class MessageStatus(models.TextChoices):
    """This app's outbox states (first group) and the provider's message statuses."""

    QUEUED = "QUEUED", _("Queued")
    SENDING = "SENDING", _("Sending")
    UNCERTAIN = "UNCERTAIN", _("Uncertain (being reconciled)")
    CANCELLED = "CANCELLED", _("Cancelled")
    REJECTED = "REJECTED", _("Rejected")
    SCHEDULED = "SCHEDULED", _("Scheduled")
    UNKNOWN = "UNKNOWN", _("Unknown")
    SENT = "SENT", _("Sent")
    DELIVERED = "DELIVERED", _("Delivered")
    FAILED = "FAILED", _("Failed")
    FAILED_REFUNDED = "FAILED_REFUNDED", _("Failed (refunded)")
    FAILED_OPTOUT = "FAILED_OPTOUT", _("Failed (opted out)")
    RECEIVED = "RECEIVED", _("Received")


#: How far along each status is: a status change may only go to a higher rank.
STATUS_RANK: dict[str, int] = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SCHEDULED: 1,
    MessageStatus.SENDING: 2,
    MessageStatus.UNCERTAIN: 3,
    MessageStatus.UNKNOWN: 4,
    MessageStatus.SENT: 5,
    MessageStatus.DELIVERED: 6,
    MessageStatus.FAILED: 6,
    MessageStatus.FAILED_REFUNDED: 6,
    MessageStatus.FAILED_OPTOUT: 6,
    MessageStatus.RECEIVED: 6,
    MessageStatus.CANCELLED: 7,
    MessageStatus.REJECTED: 7,
}
FINAL_STATUSES = frozenset(status for status, rank in STATUS_RANK.items() if rank >= 6)
#: The statuses the provider reports for outbound messages (delivery reports, ``messages/all``);
#: the others are this app's outbox states, and ``RECEIVED`` marks inbound messages.
PROVIDER_STATUSES = frozenset(
    {
        MessageStatus.SCHEDULED,
        MessageStatus.UNKNOWN,
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.FAILED,
        MessageStatus.FAILED_REFUNDED,
        MessageStatus.FAILED_OPTOUT,
    }
)


#: The statuses a pull may see in ``messages/all``: the provider's, and ``RECEIVED`` on inbound
#: messages (an older version of the API listed it). Anything else is stored as ``UNKNOWN``.
PULLED_STATUSES = PROVIDER_STATUSES | {MessageStatus.RECEIVED}


class Direction(models.TextChoices):
    OUTBOUND = "outbound", _("Outbound")
    INBOUND = "inbound", _("Inbound")


class Message(RemoteObject):
    """One SMS, sent or received. The row is the source of truth for an outbound message."""

    direction = models.CharField(
        _("direction"), max_length=8, choices=Direction.choices, default=Direction.OUTBOUND
    )
    # Indexes and the unique constraint are declared in Meta, so that PostgreSQL builds no extra
    # ``varchar_pattern_ops`` index for LIKE queries nothing runs: a message is written three
    # times in its life (queued, claimed, sent), and every index costs each of those writes.
    reference = models.CharField(
        _("reference"),
        max_length=64,
        default=new_reference,
        help_text=_("Sent as dataField unless the caller gives one, to find an uncertain send again."),
    )
    from_number = models.CharField(_("from"), max_length=64, blank=True)
    to_number = models.CharField(_("to"), max_length=64, blank=True)
    body = models.TextField(_("body"), blank=True)
    campaign = models.CharField(_("campaign"), max_length=255, blank=True)
    data_field = models.CharField(_("data field"), max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    #: Never pushed: a message's sync state is shown, not looked up, so it has no index.
    sync_state = models.CharField(
        _("sync state"), max_length=16, choices=SyncState.choices, default=SyncState.PENDING
    )
    scheduled_at = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    encoding = models.CharField(_("encoding"), max_length=8, blank=True)
    parts = models.PositiveSmallIntegerField(_("parts"), null=True, blank=True)
    credit_cost = models.DecimalField(
        _("credit cost"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    error_code = models.IntegerField(_("provider error code"), null=True, blank=True)
    read = models.BooleanField(_("read"), default=False)
    # The optional links are indexed only where set (Meta): most messages have none of them.
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages", db_index=False
    )
    template = models.ForeignKey(
        Template, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages", db_index=False
    )
    # The composite indexes below start with the batch: no index of its own.
    batch = models.ForeignKey(
        Batch, null=True, blank=True, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    in_reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies", db_index=False
    )
    #: The failed message this one sends again (``retry()`` copies a message the provider had
    #: accepted); a message is copied once, however often it is retried.
    retry_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retries",
        verbose_name=_("retry of"),
        db_index=False,
    )
    # Outbox machinery (services/outbox/): who holds the message, and when to act on it next.
    chunk = models.PositiveIntegerField(_("chunk"), null=True, blank=True)
    dispatch_after = models.DateTimeField(
        _("next action after"),
        null=True,
        blank=True,
        help_text=_("Queued: not sent before this time. Uncertain: not looked up before this time."),
    )
    enqueued_at = models.DateTimeField(_("task enqueued at"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    claim_token = models.CharField(_("claim token"), max_length=32, blank=True)
    polled_at = models.DateTimeField(_("status polled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ("-created_at", "-pk")
        # Sending costs money: the REST API asks for this on top of add_message to send.
        permissions = [("send_message", _("Can send SMS"))]
        indexes = [
            models.Index(fields=("status", "scheduled_at"), name="zoomconnect_msg_due"),
            models.Index(fields=("status", "dispatch_after"), name="zoomconnect_msg_dispatch"),
            models.Index(fields=("batch", "chunk", "status"), name="zoomconnect_msg_chunk"),
            models.Index(fields=("direction", "-created_at"), name="zoomconnect_msg_direction"),
            models.Index(fields=("to_number",), name="zoomconnect_msg_to"),
            models.Index(fields=("from_number",), name="zoomconnect_msg_from"),
            # Messages sent in a period: the dashboard's days and the status poller.
            models.Index(fields=("direction", "sent_at"), name="zoomconnect_msg_sent"),
            models.Index(fields=("campaign",), name="zoomconnect_msg_campaign"),
            models.Index(fields=("data_field",), name="zoomconnect_msg_data_field"),
            # Partial: a bulk send's rows carry none of these links and so cost these indexes
            # nothing (a lookup by one of them implies it is set; MySQL indexes foreign keys itself).
            *(
                models.Index(
                    fields=(link,),
                    name=f"zoomconnect_msg_{link}",
                    condition=models.Q(**{f"{link}__isnull": False}),
                )
                for link in ("contact", "template", "in_reply_to", "retry_of")
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=("reference",), name="zoomconnect_msg_reference"),
            unique_remote_id("msg"),
        ]

    def __str__(self) -> str:
        arrow = "→" if self.direction == Direction.OUTBOUND else "←"
        number = self.to_number if self.direction == Direction.OUTBOUND else self.from_number
        return f"{arrow} {number}: {self.body[:40]}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class MessageStatusChange(models.Model):
    """One step in a message's status history."""

    class Source(models.TextChoices):
        SEND = "send", _("Send")
        WEBHOOK = "webhook", _("Delivery report")
        POLL = "poll", _("Status poll")
        SYNC = "sync", _("Sync")
        USER = "user", _("User")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="status_changes")
    old_status = models.CharField(_("old status"), max_length=16, choices=MessageStatus.choices, blank=True)
    new_status = models.CharField(_("new status"), max_length=16, choices=MessageStatus.choices)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("message status change")
        verbose_name_plural = _("message status changes")
        ordering = ("changed_at", "pk")

    def __str__(self) -> str:
        return f"{self.old_status or '∅'} → {self.new_status}"


class SendingPause(models.Model):
    """While a row exists, no message of its ``account`` is handed to the provider (the account's
    credentials were refused); the other accounts send on.

    Kept in the database, not the cache, so that every worker process sees it. Messages stay
    queued; resuming (``services.outbox.resume_sending``, the ``zoomconnect_send --resume``
    command, or a successful balance check of the account) deletes the row and dispatches what is due.
    """

    account = account_field()
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(_("paused at"), auto_now_add=True)

    class Meta:
        verbose_name = _("sending pause")
        verbose_name_plural = _("sending pauses")
        constraints = [models.UniqueConstraint(fields=("account",), name="zoomconnect_pause_account")]

    def __str__(self) -> str:
        return f"Sending paused: {self.reason}"


class OptOut(models.Model):
    """A number that asked not to be sent to (a STOP reply, or a FAILED_OPTOUT report)."""

    class Source(models.TextChoices):
        KEYWORD = "keyword", _("Opt-out keyword in a reply")
        DELIVERY_REPORT = "report", _("FAILED_OPTOUT delivery report")
        MANUAL = "manual", _("Added by hand")

    phone_number = models.CharField(
        _("phone number"), max_length=64, unique=True, help_text=_("E.164 when the number parses.")
    )
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="opt_outs"
    )
    created_at = models.DateTimeField(_("opted out at"), auto_now_add=True)

    class Meta:
        verbose_name = _("opt-out")
        verbose_name_plural = _("opt-outs")
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        return self.phone_number


class OptOutChange(models.Model):
    """One step of a number's opt-out history: opted out, or back in, by what and why.

    :class:`OptOut` says whether a number may be sent to now; these rows say how it came to be,
    so lifting an opt-out never erases that the person once asked to be left alone.
    """

    class Action(models.TextChoices):
        OPT_OUT = "out", _("Opted out")
        OPT_IN = "in", _("Opted back in")

    class Source(models.TextChoices):
        KEYWORD = "keyword", _("Keyword in a reply")
        DELIVERY_REPORT = "report", _("Delivery report or status poll")
        MANUAL = "manual", _("By hand")

    phone_number = models.CharField(_("phone number"), max_length=64, db_index=True)
    action = models.CharField(_("action"), max_length=3, choices=Action.choices)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="opt_out_changes"
    )
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("opt-out change")
        verbose_name_plural = _("opt-out history")
        ordering = ("-at", "-pk")

    def __str__(self) -> str:
        return f"{self.phone_number} {self.get_action_display().lower()}"


class ErasedOptOut(models.Model):
    """The opt-out of a number that was erased, kept as a keyed hash so that its STOP still holds.

    ``services.erasure.erase_number`` removes every row that holds a number; when the number
    had opted out, this row takes the place of its :class:`OptOut`: ``digest`` is
    HMAC-SHA256 of the number in E.164 under a key derived from ``SECRET_KEY``
    (``services.optouts.number_digests``), so that a send to the number is still refused while
    the number itself cannot be read back from the table.
    """

    digest = models.CharField(_("digest of the number"), max_length=64)
    source = models.CharField(_("source"), max_length=8, choices=OptOut.Source.choices)
    opted_out_at = models.DateTimeField(_("opted out at"))
    erased_at = models.DateTimeField(_("erased at"), auto_now_add=True)

    class Meta:
        verbose_name = _("erased number's opt-out")
        verbose_name_plural = _("erased numbers' opt-outs")
        ordering = ("-erased_at", "-pk")
        constraints = [models.UniqueConstraint(fields=("digest",), name="zoomconnect_erased_digest")]

    def __str__(self) -> str:
        return f"{self.digest[:12]}… (erased)"


class WebhookEvent(models.Model):
    """A verified webhook, stored raw before it is processed; the unique nonce stops replays."""

    class Kind(models.TextChoices):
        REPLY = "reply", _("Inbound reply")
        DELIVERY_REPORT = "report", _("Delivery report")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to be processed")
        PROCESSED = "processed", _("Processed")
        DEFERRED = "deferred", _("Waiting for its message to appear")
        FAILED = "failed", _("Processing failed")

    #: The account whose URL received it and whose secret verified it.
    account = account_field()
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    params = models.JSONField(_("parameters"), help_text=_("Exactly as received, checksum included."))
    # Indexes in Meta (no LIKE index on PostgreSQL): storing an event is all a webhook costs
    # in the "batch" mode, and every index is part of that cost.
    nonce = models.CharField(_("nonce"), max_length=128)
    nonce_expires_at = models.DateTimeField(_("nonce expires at"), null=True, blank=True)
    remote_message_id = models.CharField(_("remote message id"), max_length=64, blank=True)
    #: The report's ``dataField``: a deferred report is found by it, through its index, when
    #: its message is known (never by scanning every deferred event's parameters).
    data_field = models.CharField(_("data field"), max_length=255, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(_("processing attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    traceback = models.TextField(_("traceback"), blank=True)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_events"
    )
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ("-received_at", "-pk")
        constraints = [models.UniqueConstraint(fields=("nonce",), name="zoomconnect_event_nonce")]
        indexes = [
            # The applier's and the sweeper's "pending (or deferred), oldest first".
            models.Index(fields=("state", "received_at"), name="zoomconnect_event_state"),
            models.Index(fields=("remote_message_id",), name="zoomconnect_event_remote_id"),
            models.Index(fields=("data_field",), name="zoomconnect_event_data_field"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.remote_message_id or self.nonce}"


class BeatRun(models.Model):
    """When a periodic task last finished, and what it returned: the dashboard's view of beat.

    Written by :func:`django_zoomconnect.services.heartbeats.record`, one row per task, so that a
    stopped beat or worker shows as a task that has not run for several of its intervals.
    """

    task = models.CharField(_("task"), max_length=100, unique=True)
    last_run_at = models.DateTimeField(_("last run at"))
    last_result = models.JSONField(_("last result"), null=True, blank=True)

    class Meta:
        verbose_name = _("beat task run")
        verbose_name_plural = _("beat task runs")
        ordering = ("task",)

    def __str__(self) -> str:
        return f"{self.task} at {self.last_run_at:%Y-%m-%d %H:%M:%S}"


class Lease(models.Model):
    """A named lease that at most one process holds at a time (``services.leases``).

    Kept in the database, not the cache, so that every worker process sees it; a holder that dies
    loses it when it expires.
    """

    name = models.CharField(_("name"), max_length=64, primary_key=True)
    token = models.CharField(_("holder's token"), max_length=32)
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("lease")
        verbose_name_plural = _("leases")

    def __str__(self) -> str:
        return f"{self.name} until {self.expires_at:%Y-%m-%d %H:%M:%S}"
