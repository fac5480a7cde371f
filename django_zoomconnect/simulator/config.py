"""The simulator's run-time options: their names on the control API and the values they allow.

Both the :class:`~django_zoomconnect.simulator.core.Simulator` (``configure()``) and the control
API (``POST /_simulator/config``) read them here, so neither imports the other for them.
"""

from __future__ import annotations

from typing import Literal

DateFormat = Literal["epoch", "iso"]
DATE_FORMATS: tuple[DateFormat, ...] = ("epoch", "iso")
SuccessStatuses = Literal["200", "201/204"]
#: "200": creates answer 200 with the resource and deletes 200 with an empty body (what the
#: provider most likely does); "201/204": 201 and 204, the other codes the provider's spec lists.
SUCCESS_STATUSES: tuple[SuccessStatuses, ...] = ("200", "201/204")

#: The control API's ``config`` fields and the :meth:`Simulator.configure` options they set.
CONFIG_FIELDS: dict[str, str] = {
    "replyUrl": "reply_url",
    "deliveryReportUrl": "delivery_report_url",
    "secret": "secret",
    "webhookSigning": "webhook_signing",
    "webhookParamsIn": "webhook_params_in",
    "webhookMaxAttempts": "webhook_max_attempts",
    "webhookBackoff": "webhook_backoff",
    "sendDelay": "send_delay",
    "deliveryDelay": "delivery_delay",
    "replyDelay": "reply_delay",
    "dateFormat": "date_format",
    "defaultFormat": "default_format",
    "successStatuses": "success_statuses",
    "nonceDateDigits": "nonce_date_digits",
}


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    """Refuse ``value`` for the option ``name`` unless it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, not {value!r}")
