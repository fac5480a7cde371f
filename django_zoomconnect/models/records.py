"""The records kept beside the account: opt-outs and their history, erased opt-outs, the webhook
event log, beat runs and leases."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .messages import Message
from .mirror import account_field


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
