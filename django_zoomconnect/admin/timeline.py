"""A message's life for its admin page: each status with its time and source, and its thread.

Read from the message's :class:`~django_zoomconnect.models.MessageStatusChange` rows (every
service records one per decision) and its creation; nothing here decides anything, it only says
in words what the history holds: which part of the app moved the status (the send, a delivery
report, a status poll, the reconciler, a sync, an operator) and what it noted (an error, the
provider's error code, the attempt, the webhook event).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ..models import Direction, Message, MessageStatus, MessageStatusChange
from ..services import progress

__all__ = ["Step", "Thread", "steps", "thread"]

Source = MessageStatusChange.Source
#: What each source of a change is called on the page; ``reconcile`` is a send decided later.
SOURCES: dict[str, Any] = {
    "created": _("Created"),
    "received": _("Received"),
    Source.SEND: _("Send"),
    "reconcile": _("Reconcile (uncertain send looked up)"),
    Source.WEBHOOK: _("Delivery report (webhook)"),
    Source.POLL: _("Status poll"),
    Source.SYNC: _("Sync from Zoom Connect"),
    Source.USER: _("Operator"),
}


_IN_FLIGHT = (MessageStatus.SENDING, MessageStatus.UNCERTAIN)


def _label(status: str) -> str:
    try:
        return str(MessageStatus(status).label)
    except ValueError:
        return status


@dataclass(frozen=True)
class Step:
    """One line of the timeline: ``status`` reached at ``at``, moved there by ``source``."""

    at: datetime | None
    status: str
    previous: str
    source: str
    notes: list[str] = field(default_factory=list)
    #: The webhook event that brought the change, as an admin URL, when there is one.
    event_url: str = ""

    @property
    def status_label(self) -> str:
        return _label(self.status)

    @property
    def previous_label(self) -> str:
        return _label(self.previous) if self.previous else ""

    @property
    def source_label(self) -> str:
        return str(SOURCES.get(self.source, self.source))

    @property
    def stage(self) -> str:
        """The stage of the status reached (``delivered``, ``failed``, ...), for the dot's colour."""
        return progress.stage(self.status)


def _notes(detail: Any) -> list[str]:
    if not isinstance(detail, dict):
        return []
    notes = []
    if "attempt" in detail:
        notes.append(f"attempt {detail['attempt']}")
    if detail.get("error"):
        notes.append(f"error: {detail['error']}")
    if detail.get("code") is not None:
        notes.append(f"provider error code {detail['code']}")
    if detail.get("retry"):
        notes.append(
            f"retried by an operator (the previous reference was {detail.get('previous_reference')})"
        )
    if detail.get("deleted_remotely"):
        notes.append(f"deleted on Zoom Connect ({detail['deleted_remotely']})")
    if detail.get("remote_status"):
        notes.append(f"Zoom Connect said {detail['remote_status']}")
    return notes


def _source(change: MessageStatusChange) -> str:
    detail = change.detail if isinstance(change.detail, dict) else {}
    if change.source == Source.SEND and detail.get("reconciled"):
        return "reconcile"
    return str(change.source)


def steps(message: Message, event_url: Callable[[int], str]) -> list[Step]:
    """The message's creation, then every recorded status change, oldest first.

    ``event_url`` gives the admin URL of a webhook event from its primary key.
    """
    changes = list(message.status_changes.order_by("changed_at", "pk"))
    first = changes[0].old_status if changes and changes[0].old_status else message.status
    inbound = message.direction == Direction.INBOUND
    if not inbound and first in _IN_FLIGHT:
        # Claiming is outbox bookkeeping, not history: a message first seen in flight was queued.
        first = MessageStatus.QUEUED
    created = Step(
        at=(message.received_at or message.created_at) if inbound else message.created_at,
        status=first,
        previous="",
        source="received" if inbound else "created",
        notes=[f"scheduled for {message.scheduled_at:%Y-%m-%d %H:%M %Z}"] if message.scheduled_at else [],
    )
    timeline = [created]
    for change in changes:
        detail = change.detail if isinstance(change.detail, dict) else {}
        event = detail.get("webhook_event")
        timeline.append(
            Step(
                at=change.changed_at,
                status=change.new_status,
                previous=change.old_status,
                source=_source(change),
                notes=_notes(detail),
                event_url=event_url(event) if isinstance(event, int) else "",
            )
        )
    return timeline


@dataclass(frozen=True)
class Thread:
    """What the message answered, and the replies it got, oldest first."""

    replied_to: Message | None
    replies: list[Message]

    def __bool__(self) -> bool:
        return self.replied_to is not None or bool(self.replies)


def thread(message: Message) -> Thread:
    replies: QuerySet[Message] = message.replies.filter(direction=Direction.INBOUND).order_by(
        "received_at", "created_at", "pk"
    )
    return Thread(replied_to=message.in_reply_to, replies=list(replies))
