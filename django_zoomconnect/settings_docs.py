"""What each ``ZOOMCONNECT`` setting does: the settings table of the README and the docs, generated.

The README's table is this module's :func:`settings_table` (a test checks they are the same) and
the docs build it from here, so a new setting is documented where its default lives, once:
``python -m django_zoomconnect.settings_docs`` prints the table to paste into the README.
"""

from __future__ import annotations

import textwrap
from typing import Any

from .conf import ACCOUNT_KEYS, DEFAULTS

__all__ = ["DESCRIPTIONS", "default_text", "settings_table"]

#: Characters of meaning per line of the table (lines stay within 99 columns).
_WIDTH = 92
#: Settings without a default that works: the API cannot be called without them.
REQUIRED = frozenset({"EMAIL", "API_TOKEN"})

#: Each setting's meaning, in the order the table lists them (by topic).
DESCRIPTIONS: dict[str, str] = {
    "ACCOUNTS": (
        'Several accounts, like ``DATABASES``: ``{"default": {...}, "marketing": {...}}``, each '
        "entry holding the keys marked *Per account* below that differ for it. A key an entry leaves "
        "out is the top-level one, except ``EMAIL``, ``API_TOKEN`` and ``WEBHOOK_SECRET``, which an "
        'account other than ``default`` never borrows. ``None``: the single account ``"default"`` '
        '(see "Several accounts").'
    ),
    "ACCOUNT_ROUTER": (
        "The dotted path of a function choosing the account of a send whose caller named none; "
        "called with keyword arguments (``kind``, ``recipients``, ``campaign``, and the send's other "
        'arguments), it returns an alias or ``None`` for ``"default"``.'
    ),
    "EMAIL": "The account's email address, the user name of the API.",
    "API_TOKEN": 'The API token from the "Developer settings" page. Never shown in ``repr``, logs or errors.',
    "BASE_URL": (
        "Where the API lives; the operations are under ``api/rest/v1/``. Point it at the simulator in "
        "development. A trailing slash is added when missing."
    ),
    "AUTH_METHOD": (
        'How credentials travel: ``"headers"`` (``email`` and ``token`` headers), ``"basic"`` (HTTP '
        'Basic) or ``"query"`` (URL parameters; for quick tests only, warned by '
        "``zoomconnect.W003``)."
    ),
    "TIMEOUT": "Seconds to connect and to wait for an answer; one number sets both.",
    "GET_RETRIES": (
        "How many times the client retries a read (a GET) after a transient failure. Writes, and "
        "above all sends, are never retried by the client: the sending layer decides."
    ),
    "RETRY_BACKOFF": (
        "The first retry's delay in seconds; each further retry doubles it, with jitter. A 429's "
        "``Retry-After`` wins when it is longer."
    ),
    "WEBHOOK_SECRET": (
        "The shared secret that signs webhooks, or a list of them (newest first) during a rotation. "
        "Without one every webhook is refused (``zoomconnect.W001``)."
    ),
    "API_TIMEZONE": (
        "The zone in which the provider reads and writes dates (``dateToSend``, filters, webhook "
        "dates). Aware datetimes are converted to it; everything is stored in UTC."
    ),
    "DEFAULT_REGION": "The region assumed for numbers written without a country code (``082 123 4567``).",
    "PHONE_NUMBER_FORMAT": (
        'How numbers are written on the wire: ``"e164"`` (``+27821234567``), ``"digits"`` '
        '(``27821234567``) or ``"national"`` (``0821234567``). Numbers are always stored in E.164.'
    ),
    "WEBHOOK_SIGNATURE_ENCODINGS": (
        'Which checksum forms webhooks may use (see "Securing webhooks"); one of them pins it.'
    ),
    "WEBHOOK_MAX_BODY_SIZE": "Bytes of query string plus body a webhook may have; larger ones get 413.",
    "WEBHOOK_NONCE_GRACE": "Seconds of clock skew tolerated past a webhook's ``nonce-date`` (its expiry).",
    "WEBHOOK_PROCESSING": (
        '``"sync"`` processes a webhook in the request; ``"celery"`` stores it and lets a worker '
        'process it (``process_webhook_event``); ``"batch"`` stores it (one INSERT) and the beat task '
        "``apply_webhook_events`` applies what was stored, a thousand reports per transaction "
        '(see "Webhook processing modes").'
    ),
    "WEBHOOK_EVENT_RETENTION_DAYS": (
        "How many days ``zoomconnect_webhooks cleanup`` (and ``cleanup_webhook_events``, and "
        "``apply_retention``) keeps stored webhook events; ``None`` keeps them forever."
    ),
    "INSECURE_SKIP_WEBHOOK_VERIFICATION": (
        "Accept webhooks without checking their checksum. For local experiments only; warned by "
        "``zoomconnect.W004``. ``DEBUG`` never implies it."
    ),
    "OPT_OUT_KEYWORDS": (
        "Whole replies (trimmed, any case, spaces collapsed) that opt the sender out; ``[]`` turns "
        "this off. Drop ``CANCEL``/``END`` if your messages invite such replies."
    ),
    "OPT_IN_KEYWORDS": (
        "Whole replies, compared the same way, that lift the sender's opt-out (kept in the opt-out "
        "history with the reply); ``[]`` turns this off. A word in both lists opts out."
    ),
    "SEND_EAGERLY": (
        "Send in the caller's process right after commit, without a Celery worker (development). "
        "``CELERY_TASK_ALWAYS_EAGER`` has the same effect."
    ),
    "SCHEDULING": (
        '``"local"``: a future ``send_at`` waits as ``QUEUED`` and the ``dispatch_due`` beat task '
        'sends it; ``"provider"``: sent at once with ``dateToSend`` and held by Zoom Connect.'
    ),
    "BULK_CHUNK_SIZE": "Messages per ``sms/send-bulk`` call (and per task).",
    "MESSAGES_PER_MINUTE": (
        "``messagesPerMinute`` sent with each bulk call, for pacing on the provider's side."
    ),
    "MAX_PARTS": "The longest message, in SMS parts; longer ones are refused (``REJECTED`` in a bulk send).",
    "CREDITS_PER_PART": "Credits one part costs, for the stored estimated cost and the balance check.",
    "BALANCE_CHECK": (
        'A bulk send whose estimate exceeds the balance: ``"refuse"`` (``InsufficientCreditError``, '
        'nothing written), ``"warn"`` (logged) or ``"off"`` (no balance request).'
    ),
    "SEND_MAX_ATTEMPTS": "Attempts before a message that could not be sent is ``FAILED``.",
    "SEND_RETRY_BACKOFF": (
        "First retry delay in seconds after a not-sent failure, doubling with each attempt."
    ),
    "SEND_RETRY_BACKOFF_MAX": "The longest retry delay in seconds.",
    "SEND_RETRY_JITTER": "Up to this fraction of each delay is taken off at random, so retries spread out.",
    "CLAIM_LEASE_SECONDS": (
        "A claim older than this is taken as lost (its worker died): the sweeper makes the message "
        "``UNCERTAIN``. Right before the API call a claim is renewed, unless it is younger than "
        "half of what the lease leaves after two calls' ``TIMEOUT`` (115 seconds by default); the "
        "lease is never shorter than one call's ``TIMEOUT`` (connect plus read), whatever is set here."
    ),
    "REQUEUE_AFTER": "Seconds after which a due message whose task never ran is enqueued again.",
    "RECONCILE_AFTER": "Seconds to wait before looking up an ``UNCERTAIN`` send by its reference.",
    "RECONCILE_CLOCK_SKEW": (
        "Seconds the provider's clock (and ``API_TIMEZONE``) may be off from ours when a lookup "
        "checks that a record was accepted after the attempt's claim. Larger tolerates worse clocks "
        "but lets an earlier identical message (same number, text and ``dataField``) pass for ours."
    ),
    "RECONCILE_GIVE_UP_AFTER": (
        "An ``UNCERTAIN`` message whose lookups keep failing (the provider errs) for this many "
        "seconds becomes ``FAILED`` with the reason, rather than waiting for ever."
    ),
    "STATUS_POLL_AFTER": (
        "Poll a ``SENT`` message that no delivery report reached after this many seconds, and at most "
        "this often."
    ),
    "STATUS_POLL_MAX_AGE": "Stop polling messages older than this many seconds (three days).",
    "LOW_BALANCE_WARNING": (
        "The admin's dashboard warns when the last balance it read is under this many credits; "
        "``None`` never warns."
    ),
    "MESSAGE_BODY_RETENTION_DAYS": (
        "Days after which a finished message's text is blanked (its ``body`` and the ``remote_data`` "
        "holding it) by ``apply_retention``; the row, its numbers, status and dates stay for the "
        'statistics. ``None`` keeps texts for ever (see "The life of the data").'
    ),
    "STATUS_HISTORY_RETENTION_DAYS": (
        "Days after which ``apply_retention`` deletes status history entries; ``None`` keeps them for ever."
    ),
    "SYNC_DELETE_POLICY": (
        'What a pull does with a row deleted on the account: ``"mark"`` keeps it with ``sync_state`` '
        '``remote_deleted``; ``"delete"`` deletes it.'
    ),
    "API_PERMISSION_CLASSES": (
        "Who may use the REST API: dotted paths to DRF permission classes, read on every request. The "
        'default asks what the admin asks (see "REST API"). An empty list is refused; write '
        "``AllowAny`` if you mean it."
    ),
}


def default_text(key: str) -> str:
    """A setting's default as the table shows it, in reStructuredText."""
    value = DEFAULTS[key]
    shown = f"``{_literal(value)}``"
    return f"{shown} (required)" if key in REQUIRED else shown


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        items = ", ".join(_literal(item) for item in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    return repr(value)


def settings_table(indent: str = "") -> str:
    """The settings as a reStructuredText ``list-table``: key, default, meaning."""
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 22 22 56",
        "",
        "   * - Key",
        "     - Default",
        "     - Meaning",
    ]
    for key, text in DESCRIPTIONS.items():
        if key in ACCOUNT_KEYS:
            text = "*Per account.* " + text
        meaning = textwrap.wrap(text, width=_WIDTH, break_long_words=False, break_on_hyphens=False)
        lines += [f"   * - ``{key}``", f"     - {default_text(key)}", f"     - {meaning[0]}"]
        lines += [f"       {more}" for more in meaning[1:]]
    return "\n".join(indent + line if line else line for line in lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    print(settings_table(), end="")
