"""System checks for the ``ZOOMCONNECT`` setting; they read settings only, never the database."""

from __future__ import annotations

from typing import Any

from django.core import checks

from . import conf
from .exceptions import ConfigurationError

#: The check id for each key whose value is invalid; other keys share ``zoomconnect.E004``.
_INVALID_IDS = {
    "BASE_URL": ("zoomconnect.E002", "Use an absolute URL such as 'https://www.zoomconnect.com/app/'."),
    "API_TIMEZONE": ("zoomconnect.E003", "Use an IANA name such as 'Africa/Johannesburg'."),
}


@checks.register(checks.Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        conf.user_settings()
    except ConfigurationError as exc:
        return [checks.Error(str(exc), hint="Set ZOOMCONNECT = {...} in settings.", id="zoomconnect.E005")]

    messages: list[checks.CheckMessage] = []
    for key in ("EMAIL", "API_TOKEN"):
        try:
            missing = conf.get(key) is None
        except ConfigurationError:
            missing = False  # reported as an invalid value below
        if missing:
            messages.append(
                checks.Error(
                    f"settings.ZOOMCONNECT[{key!r}] is not set.",
                    hint="Copy the account email and API token from the Zoom Connect "
                    "'Developer settings' page (or point BASE_URL at the simulator).",
                    id="zoomconnect.E001",
                )
            )
    for key in conf.DEFAULTS:
        try:
            conf.get(key)
        except ConfigurationError as exc:
            check_id, hint = _INVALID_IDS.get(
                key, ("zoomconnect.E004", "See the settings table in the README.")
            )
            messages.append(checks.Error(str(exc), hint=hint, id=check_id))

    try:
        no_secret = not conf.webhook_secrets()
    except ConfigurationError:
        no_secret = False
    if no_secret:
        messages.append(
            checks.Warning(
                "settings.ZOOMCONNECT['WEBHOOK_SECRET'] is not set: every webhook will be refused.",
                hint="Copy the secret key from the Zoom Connect 'Developer settings' page.",
                id="zoomconnect.W001",
            )
        )
    try:
        insecure = conf.get("INSECURE_SKIP_WEBHOOK_VERIFICATION")
    except ConfigurationError:
        insecure = False  # reported as an invalid value above
    if insecure:
        messages.append(
            checks.Warning(
                "INSECURE_SKIP_WEBHOOK_VERIFICATION is True: webhook checksums are not checked, so "
                "anyone who can reach the webhook URLs can forge replies and delivery reports.",
                hint="Use it only on a development machine; set WEBHOOK_SECRET instead.",
                id="zoomconnect.W004",
            )
        )
    for key, close in conf.unknown_keys():
        messages.append(
            checks.Warning(
                f"settings.ZOOMCONNECT has an unknown key {key!r}.",
                hint=f"Did you mean {close!r}?" if close else "See the settings table in the README.",
                id="zoomconnect.W002",
            )
        )
    if conf.user_settings().get("AUTH_METHOD") == "query":
        messages.append(
            checks.Warning(
                "AUTH_METHOD 'query' puts the API token in every URL, where proxies and logs keep it.",
                hint="Use 'headers' (the default) or 'basic' outside of quick tests.",
                id="zoomconnect.W003",
            )
        )
    try:
        lease, (connect_timeout, read_timeout) = conf.get("CLAIM_LEASE_SECONDS"), conf.timeout()
    except ConfigurationError:
        lease = None  # reported as an invalid value above
    if lease is not None and lease <= connect_timeout + read_timeout:
        messages.append(
            checks.Warning(
                f"CLAIM_LEASE_SECONDS ({lease:g}) is not longer than one API call may take "
                f"(TIMEOUT {connect_timeout:g} + {read_timeout:g} s): the sweeper could take back a "
                "claim whose worker is still waiting for the answer.",
                hint="Make CLAIM_LEASE_SECONDS several times the sum of TIMEOUT.",
                id="zoomconnect.W005",
            )
        )
    return messages
