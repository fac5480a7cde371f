"""Models that mirror the Zoom Connect account, and the records kept beside it.

By what they hold: :mod:`.mirror` (the base of every mirrored row, contacts, groups and
templates), :mod:`.messages` (batches, messages, their statuses and history, sending pauses)
and :mod:`.records` (opt-outs, the webhook event log, beat runs, leases); every name is
imported from here.

Every mirrored model has a local primary key, the ``account`` it belongs to (an alias of
``ZOOMCONNECT["ACCOUNTS"]``, ``"default"`` for a project with one account) and a nullable
``remote_id`` unique within that account (``None`` until the object exists remotely), the last
remote payload in ``remote_data``, ``synced_at`` and a ``sync_state`` with the last sync error: a
row is the source of truth for what this side wants, and ``sync_state`` says whether the account
agrees yet. The rules that move these fields live in
``services/``; the models only describe and validate.
"""

from .messages import (
    FINAL_STATUSES,
    PROVIDER_STATUSES,
    PULLED_STATUSES,
    STATUS_RANK,
    Batch,
    Direction,
    Message,
    MessageStatus,
    MessageStatusChange,
    SendingPause,
)
from .mirror import (
    PLACEHOLDER,
    Contact,
    Group,
    Membership,
    RemoteObject,
    SyncState,
    Template,
    TemplateContextError,
    account_field,
    new_reference,
    unique_remote_id,
    validate_phone_number,
)
from .records import (
    BeatRun,
    ErasedOptOut,
    Lease,
    OptOut,
    OptOutChange,
    WebhookEvent,
)

__all__ = [
    "FINAL_STATUSES",
    "PLACEHOLDER",
    "PROVIDER_STATUSES",
    "PULLED_STATUSES",
    "STATUS_RANK",
    "Batch",
    "BeatRun",
    "Contact",
    "Direction",
    "ErasedOptOut",
    "Group",
    "Lease",
    "Membership",
    "Message",
    "MessageStatus",
    "MessageStatusChange",
    "OptOut",
    "OptOutChange",
    "RemoteObject",
    "SendingPause",
    "SyncState",
    "Template",
    "TemplateContextError",
    "WebhookEvent",
    "account_field",
    "new_reference",
    "unique_remote_id",
    "validate_phone_number",
]
