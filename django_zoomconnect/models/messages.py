"""Messages: bulk batches, the message statuses, messages, their history and sending pauses."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .mirror import (
    Contact,
    Group,
    RemoteObject,
    SyncState,
    Template,
    account_field,
    new_reference,
    unique_remote_id,
)


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
    # ``varchar_pattern_ops`` index for LIKE queries nothing runs: a message is written two or
    # three times in its life (queued, claimed, sent), and every index costs each of those writes.
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
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    template = models.ForeignKey(
        Template, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    # The composite indexes below start with the batch: no index of its own.
    batch = models.ForeignKey(
        Batch, null=True, blank=True, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    in_reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
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
            # Also a status's messages: the poller's scheduled ones (few) are filtered from it.
            models.Index(fields=("status", "dispatch_after"), name="zoomconnect_msg_dispatch"),
            models.Index(fields=("batch", "chunk", "status"), name="zoomconnect_msg_chunk"),
            models.Index(fields=("direction", "-created_at"), name="zoomconnect_msg_direction"),
            models.Index(fields=("to_number",), name="zoomconnect_msg_to"),
            models.Index(fields=("from_number",), name="zoomconnect_msg_from"),
            # Messages sent in a period: the dashboard's days and the status poller.
            models.Index(fields=("direction", "sent_at"), name="zoomconnect_msg_sent"),
            models.Index(fields=("campaign",), name="zoomconnect_msg_campaign"),
            models.Index(fields=("data_field",), name="zoomconnect_msg_data_field"),
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
