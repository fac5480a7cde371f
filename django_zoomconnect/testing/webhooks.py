"""Build correctly signed webhook requests, as the provider would send them, for tests.

Users' own tests need a reply or a delivery report that the webhook views accept, without
knowing the checksum algorithm, the ``nonce-date`` format or the time zone; these helpers are
what :mod:`django_zoomconnect.testing` re-exports (import them from there). They read the
secret and the time zone from the ``ZOOMCONNECT`` setting at call time, so they sign with
whatever the test configured.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from .. import conf
from ..exceptions import ConfigurationError
from ..signing import CHECKSUM_PARAMETER, Encoding, compute_checksum

__all__ = [
    "NONCE_LIFETIME",
    "build_delivery_report_params",
    "build_reply_params",
    "sign_params",
    "signed_post",
]

#: How far ahead of "now" a built ``nonce-date`` lies, as in the provider's captured payloads.
NONCE_LIFETIME = timedelta(minutes=5)

ParamsIn = Literal["body", "query", "both"]


class _TestClient(Protocol):
    def post(self, path: str, data: Any = ..., content_type: str = ..., **extra: Any) -> Any: ...


def _secret(secret: str | None, account: str | None = None) -> str:
    if secret is not None:
        return secret
    secrets = conf.webhook_secrets(account)
    if not secrets:
        where = "" if account in (None, "default") else f"['ACCOUNTS'][{account!r}]"
        raise ConfigurationError(
            f"settings.ZOOMCONNECT{where}['WEBHOOK_SECRET'] is not set: pass secret=... to sign a webhook."
        )
    return secrets[0]


def _nonce_date(value: datetime | str | None) -> str:
    if isinstance(value, str):
        return value
    moment = value if value is not None else timezone.now() + NONCE_LIFETIME
    if timezone.is_naive(moment):
        raise ValueError("nonce_date must be a timezone-aware datetime (or a yyyyMMddHHmmss string)")
    return moment.astimezone(conf.api_timezone()).strftime("%Y%m%d%H%M%S")


def sign_params(
    params: Mapping[str, str],
    *,
    secret: str | None = None,
    encoding: Encoding = "raw",
    nonce: str | None = None,
    nonce_date: datetime | str | None = None,
    account: str | None = None,
) -> dict[str, str]:
    """``params`` with ``nonce`` and ``nonce-date`` (unless present) and a fresh ``checksum``.

    ``secret`` defaults to the newest configured ``WEBHOOK_SECRET`` of ``account`` (an alias of
    ``ZOOMCONNECT["ACCOUNTS"]``; ``None``: ``"default"``); ``nonce_date`` (the expiry)
    to five minutes from now, written in ``API_TIMEZONE``.
    """
    signed = {key: value for key, value in params.items() if key != CHECKSUM_PARAMETER}
    if nonce is not None or "nonce" not in signed:
        signed["nonce"] = nonce if nonce is not None else str(uuid.uuid4())
    if nonce_date is not None or "nonce-date" not in signed:
        signed["nonce-date"] = _nonce_date(nonce_date)
    signed[CHECKSUM_PARAMETER] = compute_checksum(signed, _secret(secret, account), encoding=encoding)
    return signed


def _optional(params: dict[str, str], **values: str | None) -> dict[str, str]:
    params.update({key: value for key, value in values.items() if value is not None})
    return params


def build_delivery_report_params(
    message_id: str,
    status: str = "DELIVERED",
    *,
    campaign: str | None = None,
    data_field: str | None = None,
    extra: Mapping[str, str] | None = None,
    sign: bool = True,
    **signing_options: Any,
) -> dict[str, str]:
    """The parameters of a delivery report for remote message ``message_id``, signed.

    ``signing_options`` go to :func:`sign_params` (``secret``, ``account``, ``encoding``, ``nonce``,
    ``nonce_date``); ``sign=False`` leaves out ``nonce``, ``nonce-date`` and ``checksum``.
    """
    params = _optional({"messageId": message_id, "status": status}, campaign=campaign, dataField=data_field)
    params.update(extra or {})
    return sign_params(params, **signing_options) if sign else params


def build_reply_params(
    from_number: str,
    message: str,
    *,
    message_id: str | None = None,
    to_number: str = "",
    replied_to_message_id: str | None = None,
    campaign: str | None = None,
    data_field: str | None = None,
    date: datetime | str | None = None,
    extra: Mapping[str, str] | None = None,
    sign: bool = True,
    **signing_options: Any,
) -> dict[str, str]:
    """The parameters of an inbound reply from ``from_number`` saying ``message``, signed.

    ``message_id`` defaults to a fresh 24-hex-digit id, ``date`` to now (``yyyyMMddHHmm`` in
    ``API_TIMEZONE``); ``replied_to_message_id`` links the reply to an outbound message's remote
    id. ``signing_options`` are those of :func:`sign_params`.
    """
    if isinstance(date, str):
        date_text = date
    else:
        moment = date if date is not None else timezone.now()
        date_text = moment.astimezone(conf.api_timezone()).strftime("%Y%m%d%H%M")
    params = _optional(
        {
            "messageId": message_id if message_id is not None else uuid.uuid4().hex[:24],
            "from": from_number,
            "to": to_number,
            "message": message,
            "date": date_text,
        },
        repliedToMessageId=replied_to_message_id,
        campaign=campaign,
        dataField=data_field,
    )
    params.update(extra or {})
    return sign_params(params, **signing_options) if sign else params


def signed_post(
    client: _TestClient,
    url: str,
    params: Mapping[str, str],
    *,
    params_in: ParamsIn = "body",
    **extra: Any,
) -> Any:
    """POST ``params`` to a webhook view with Django's test ``client``; the response.

    ``url`` is a path or a URL name (``"zoomconnect:reply"``, ``"zoomconnect:delivery-report"``).
    ``params_in`` puts the parameters in the form body (the default), the query string, or both,
    as the provider may. The parameters are sent as given: sign them first with the builders.
    """
    path = url if url.startswith("/") else reverse(url)
    if params_in not in ("body", "query", "both"):
        raise ValueError(f"params_in must be 'body', 'query' or 'both', not {params_in!r}")
    if params_in in ("query", "both"):
        path = f"{path}{'&' if '?' in path else '?'}{urlencode(params)}"
    body = urlencode(params) if params_in in ("body", "both") else ""
    return client.post(path, data=body, content_type="application/x-www-form-urlencoded", **extra)
