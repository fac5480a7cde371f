"""The ``ZOOMCONNECT`` setting: defaults, validation and typed accessors, read at call time.

Every key lives in :data:`DEFAULTS`, with its validator in :data:`_VALIDATORS`. Nothing is
cached: ``override_settings(ZOOMCONNECT=...)`` takes effect on the next call. A wrong value
raises :class:`~django_zoomconnect.exceptions.ConfigurationError` naming the key; the system
checks in :mod:`django_zoomconnect.checks` report the same problems at start-up.

Several accounts are configured like ``DATABASES``: ``ACCOUNTS = {"default": {...}, "marketing":
{...}}``; each entry holds the keys of :data:`ACCOUNT_KEYS` that differ for that account, read
with ``get(name, account="marketing")``. The flat form is the single account ``"default"``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from typing import Any, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

from .exceptions import ConfigurationError

DEFAULTS: dict[str, Any] = {
    # Credentials and where the API lives.
    "EMAIL": None,
    "API_TOKEN": None,
    "BASE_URL": "https://www.zoomconnect.com/app/",
    "AUTH_METHOD": "headers",
    # HTTP behaviour of the client.
    "TIMEOUT": (5.0, 30.0),
    "GET_RETRIES": 3,
    "RETRY_BACKOFF": 0.5,
    # Webhooks.
    "WEBHOOK_SECRET": None,
    "WEBHOOK_SIGNATURE_ENCODINGS": ("raw", "form"),
    "WEBHOOK_MAX_BODY_SIZE": 16384,
    "WEBHOOK_NONCE_GRACE": 300,
    "WEBHOOK_PROCESSING": "sync",
    "WEBHOOK_EVENT_RETENTION_DAYS": 90,
    "INSECURE_SKIP_WEBHOOK_VERIFICATION": False,
    "OPT_OUT_KEYWORDS": (
        "STOP",
        "STOPALL",
        "STOP ALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "OPTOUT",
        "OPT OUT",
        "OPT-OUT",
    ),
    "OPT_IN_KEYWORDS": ("START", "UNSTOP", "YES"),
    # The life of the data (services/retention.py): days kept, None keeps for ever.
    "MESSAGE_BODY_RETENTION_DAYS": None,
    "STATUS_HISTORY_RETENTION_DAYS": None,
    # Sending (services/outbox/ and its tasks).
    "SEND_EAGERLY": False,
    "SCHEDULING": "local",
    "BULK_CHUNK_SIZE": 500,
    "MESSAGES_PER_MINUTE": None,
    "MAX_PARTS": 6,
    "CREDITS_PER_PART": 1.0,
    "BALANCE_CHECK": "warn",
    "SEND_MAX_ATTEMPTS": 8,
    "SEND_RETRY_BACKOFF": 10.0,
    "SEND_RETRY_BACKOFF_MAX": 600.0,
    "SEND_RETRY_JITTER": 0.5,
    "CLAIM_LEASE_SECONDS": 300.0,
    "REQUEUE_AFTER": 120.0,
    "RECONCILE_AFTER": 30.0,
    "RECONCILE_CLOCK_SKEW": 120.0,
    "RECONCILE_GIVE_UP_AFTER": 86400.0,
    "STATUS_POLL_AFTER": 1800.0,
    "STATUS_POLL_MAX_AGE": 259200.0,
    # The admin's dashboard: a balance under this many credits is shown as a warning.
    "LOW_BALANCE_WARNING": None,
    # Dates and phone numbers.
    "API_TIMEZONE": "Africa/Johannesburg",
    "DEFAULT_REGION": "ZA",
    "PHONE_NUMBER_FORMAT": "e164",
    # Sync: what a pull does with a row whose remote object is gone ("mark" keeps it).
    "SYNC_DELETE_POLICY": "mark",
    # The REST API (django_zoomconnect.api): who may use it, as DRF permission classes. The
    # default asks what the admin asks: staff, with the model permissions (and send_message).
    "API_PERMISSION_CLASSES": ("django_zoomconnect.api.permissions.StaffModelPermissions",),
    # Several accounts (like DATABASES): {"default": {...}, "marketing": {...}}, each alias with
    # its own values of ACCOUNT_KEYS; the top-level values are the "default" account's.
    "ACCOUNTS": None,
    # A function picking the account of a send whose caller named none (see route_account()).
    "ACCOUNT_ROUTER": None,
}

#: The alias of the account that the flat settings (and every row written before) belong to.
DEFAULT_ACCOUNT = "default"

#: The keys an entry of ``ACCOUNTS`` may hold: what differs from one account to another. A key
#: an entry leaves out is the top-level one (the shared default), except :data:`OWN_KEYS`.
ACCOUNT_KEYS = (
    "EMAIL",
    "API_TOKEN",
    "BASE_URL",
    "AUTH_METHOD",
    "WEBHOOK_SECRET",
    "WEBHOOK_SIGNATURE_ENCODINGS",
    "BULK_CHUNK_SIZE",
    "MESSAGES_PER_MINUTE",
    "BALANCE_CHECK",
    "LOW_BALANCE_WARNING",
)
#: Credentials are never borrowed: an account other than ``default`` without its own has none
#: (rather than sending with, or accepting webhooks signed for, another account).
OWN_KEYS = frozenset({"EMAIL", "API_TOKEN", "WEBHOOK_SECRET"})
#: What an alias may be: it is stored on every row (32 characters) and is part of webhook URLs.
#: The longest account alias (the ``account`` column of every row holds one).
ALIAS_MAX_LENGTH = 32
ALIAS = re.compile(rf"[A-Za-z0-9_-]{{1,{ALIAS_MAX_LENGTH}}}")

AUTH_METHODS = ("headers", "basic", "query")
WEBHOOK_ENCODINGS = ("raw", "form")
WEBHOOK_PROCESSING_MODES = ("sync", "celery", "batch")
PHONE_NUMBER_FORMATS = ("e164", "digits", "national")
SYNC_DELETE_POLICIES = ("mark", "delete")
SCHEDULING_MODES = ("local", "provider")
BALANCE_CHECKS = ("refuse", "warn", "off")


def _optional_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {type(value).__name__}")
    return value


def _base_url(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {type(value).__name__}")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an absolute http(s) URL")
    if parts.query or parts.fragment:
        raise ValueError(f"{value!r} must not have a query string or fragment")
    return value if value.endswith("/") else value + "/"


def _choice(*choices: str) -> Callable[[Any], str]:
    def validate(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"{value!r} is not one of {', '.join(map(repr, choices))}")
        return str(value)

    return validate


def _timeout(value: Any) -> tuple[float, float]:
    if isinstance(value, bool):
        raise ValueError("must be a number of seconds or a (connect, read) pair")
    if isinstance(value, int | float):
        pair: tuple[Any, ...] = (value, value)
    elif isinstance(value, list | tuple) and len(value) == 2:
        pair = tuple(value)
    else:
        raise ValueError("must be a number of seconds or a (connect, read) pair")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in pair):
        raise ValueError(f"{value!r} must hold positive numbers of seconds")
    return float(pair[0]), float(pair[1])


def _non_negative_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{value!r} must be a whole number, zero or more")
    return value


def _non_negative_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{value!r} must be a number, zero or more")
    return float(value)


def _secrets(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) and v for v in values):
        raise ValueError("must be a non-empty string or a list of them, newest first")
    return tuple(values)


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{value!r} must be a whole number, one or more")
    return value


def _optional_positive_int(value: Any) -> int | None:
    return None if value is None else _positive_int(value)


def _optional_non_negative_number(value: Any) -> float | None:
    return None if value is None else _non_negative_number(value)


def _positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{value!r} must be a number of seconds, more than zero")
    return float(value)


def _fraction(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{value!r} must be a number from 0 to 1")
    return float(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be True or False, not {value!r}")
    return value


def _encodings(value: Any) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list | tuple) or not values or not all(v in WEBHOOK_ENCODINGS for v in values):
        raise ValueError(f"{value!r} must be a non-empty list of {', '.join(map(repr, WEBHOOK_ENCODINGS))}")
    return tuple(dict.fromkeys(values))


def _keywords(value: Any) -> frozenset[str]:
    # Opt-out and opt-in keywords: compared with the whole reply, trimmed, with inner runs of
    # spaces collapsed, casefolded.
    if not isinstance(value, list | tuple | set | frozenset) or not all(
        isinstance(v, str) and v.strip() for v in value
    ):
        raise ValueError("must be a list of non-empty strings (an empty list turns keywords off)")
    return frozenset(normalize_keyword(v) for v in value)


def normalize_keyword(text: str) -> str:
    """``text`` as opt-out and opt-in keywords are compared: trimmed, inner spaces collapsed, casefolded."""
    return " ".join(text.split()).casefold()


_DOTTED_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def _dotted_paths(value: Any) -> tuple[str, ...]:
    # Only the shape is checked here: the API imports the classes when a request needs them.
    # An empty list is refused: it would let anybody send SMS (write AllowAny if that is meant).
    values = [value] if isinstance(value, str) else value
    if (
        not isinstance(values, list | tuple)
        or not values
        or not all(isinstance(v, str) and _DOTTED_PATH.fullmatch(v) for v in values)
    ):
        raise ValueError(
            "must be a non-empty list of dotted paths to classes, "
            "e.g. ['rest_framework.permissions.IsAdminUser']"
        )
    return tuple(values)


def _timezone(value: Any) -> ZoneInfo:
    if not isinstance(value, str):
        raise ValueError(f"must be an IANA time zone name, not {type(value).__name__}")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a known IANA time zone") from None


def _region(value: Any) -> str:
    import phonenumbers

    if not isinstance(value, str) or value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{value!r} is not a two-letter region code known to phonenumbers")
    return value.upper()


def _accounts(value: Any) -> dict[str, dict[str, Any]] | None:
    # Each entry's values are validated by their own keys' rules when they are read (get()).
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"must be a dict of account aliases, not {type(value).__name__}")
    result: dict[str, dict[str, Any]] = {}
    for alias, entry in value.items():
        if not isinstance(alias, str) or not ALIAS.fullmatch(alias):
            raise ValueError(f"has the alias {alias!r}: use 1 to 32 letters, digits, '_' or '-'")
        if not isinstance(entry, Mapping):
            raise ValueError(f"[{alias!r}] must be a dict of settings, not {type(entry).__name__}")
        for key in entry:
            if key not in ACCOUNT_KEYS:
                close = difflib.get_close_matches(str(key), ACCOUNT_KEYS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(
                    f"[{alias!r}] has the key {key!r}{hint}, which is not set per account; "
                    f"an account holds {', '.join(ACCOUNT_KEYS)}"
                )
        result[alias] = dict(entry)
    return result


def _optional_dotted_path(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _DOTTED_PATH.fullmatch(value):
        raise ValueError(f"{value!r} must be the dotted path to a function, e.g. 'myproject.sms.route'")
    return value


_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "EMAIL": _optional_str,
    "API_TOKEN": _optional_str,
    "BASE_URL": _base_url,
    "AUTH_METHOD": _choice(*AUTH_METHODS),
    "TIMEOUT": _timeout,
    "GET_RETRIES": _non_negative_int,
    "RETRY_BACKOFF": _non_negative_number,
    "WEBHOOK_SECRET": _secrets,
    "WEBHOOK_SIGNATURE_ENCODINGS": _encodings,
    "WEBHOOK_MAX_BODY_SIZE": _positive_int,
    "WEBHOOK_NONCE_GRACE": _non_negative_number,
    "WEBHOOK_PROCESSING": _choice(*WEBHOOK_PROCESSING_MODES),
    "WEBHOOK_EVENT_RETENTION_DAYS": _optional_positive_int,
    "INSECURE_SKIP_WEBHOOK_VERIFICATION": _bool,
    "OPT_OUT_KEYWORDS": _keywords,
    "OPT_IN_KEYWORDS": _keywords,
    "MESSAGE_BODY_RETENTION_DAYS": _optional_positive_int,
    "STATUS_HISTORY_RETENTION_DAYS": _optional_positive_int,
    "SEND_EAGERLY": _bool,
    "SCHEDULING": _choice(*SCHEDULING_MODES),
    "BULK_CHUNK_SIZE": _positive_int,
    "MESSAGES_PER_MINUTE": _optional_positive_int,
    "MAX_PARTS": _positive_int,
    "CREDITS_PER_PART": _non_negative_number,
    "BALANCE_CHECK": _choice(*BALANCE_CHECKS),
    "SEND_MAX_ATTEMPTS": _positive_int,
    "SEND_RETRY_BACKOFF": _non_negative_number,
    "SEND_RETRY_BACKOFF_MAX": _non_negative_number,
    "SEND_RETRY_JITTER": _fraction,
    "CLAIM_LEASE_SECONDS": _positive_number,
    "REQUEUE_AFTER": _non_negative_number,
    "RECONCILE_AFTER": _non_negative_number,
    "RECONCILE_CLOCK_SKEW": _non_negative_number,
    "RECONCILE_GIVE_UP_AFTER": _positive_number,
    "STATUS_POLL_AFTER": _non_negative_number,
    "STATUS_POLL_MAX_AGE": _positive_number,
    "LOW_BALANCE_WARNING": _optional_non_negative_number,
    "API_TIMEZONE": _timezone,
    "DEFAULT_REGION": _region,
    "PHONE_NUMBER_FORMAT": _choice(*PHONE_NUMBER_FORMATS),
    "SYNC_DELETE_POLICY": _choice(*SYNC_DELETE_POLICIES),
    "API_PERMISSION_CLASSES": _dotted_paths,
    "ACCOUNTS": _accounts,
    "ACCOUNT_ROUTER": _optional_dotted_path,
}


def user_settings() -> Mapping[str, Any]:
    """The project's ``ZOOMCONNECT`` dict as it is now (empty when unset)."""
    value = getattr(settings, "ZOOMCONNECT", None)
    if type(value) is dict:  # as settings write it: no abstract-class check on every read
        return value
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"settings.ZOOMCONNECT must be a dict, not {type(value).__name__}.")
    return value


def unknown_keys() -> list[tuple[str, str | None]]:
    """Keys of ``ZOOMCONNECT`` this package does not know, each with the closest known key."""
    result = []
    for key in user_settings():
        if key not in DEFAULTS:
            close = difflib.get_close_matches(str(key), DEFAULTS, n=1)
            result.append((str(key), close[0] if close else None))
    return result


def unsendable(credential: str) -> str | None:
    """The first character of ``credential`` that cannot travel as it is in an HTTP header or a
    Basic auth line (anything but printable ASCII: a space, a line break, a placeholder's "…"),
    or ``None``. Check ``zoomconnect.E008`` and the client's constructor share this rule."""
    return next((char for char in credential if not "!" <= char <= "~"), None)


def validate(name: str, value: Any) -> Any:
    """``value`` checked and normalized by the rules of setting ``name``.

    Raises ``ValueError`` saying what is wrong (without naming the key, so callers such as the
    client's constructor can name their own argument).
    """
    if name not in DEFAULTS:
        raise KeyError(f"{name!r} is not a django_zoomconnect setting")
    return _VALIDATORS[name](value)


def get(name: str, account: str | None = None) -> Any:
    """The validated value of ``ZOOMCONNECT[name]``, or its default.

    For a key of :data:`ACCOUNT_KEYS`, the value of ``account`` (an alias; ``None`` is
    ``"default"``): its ``ACCOUNTS`` entry's, else the top-level one (never for
    :data:`OWN_KEYS`, except for ``default``), else the default. Other keys are shared by every
    account and ``account`` is not looked at. Raises :class:`ConfigurationError` naming the key
    when the value is wrong, or the alias when no such account is configured.
    """
    if name not in DEFAULTS:
        raise KeyError(f"{name!r} is not a django_zoomconnect setting")
    if name in _PER_ACCOUNT:
        raw, where = _account_value(name, account)
    else:
        raw, where = user_settings().get(name, DEFAULTS[name]), f"[{name!r}]"
    try:
        key: tuple[Any, ...] | None = (name, type(raw), raw)
        found = _VALIDATED.get(key, _MISSING)  # type: ignore[arg-type]
    except TypeError:  # a list or a dict: validated each time
        key, found = None, _MISSING
    if found is not _MISSING:
        return found
    try:
        value = validate(name, raw)
    except ValueError as exc:
        raise ConfigurationError(f"settings.ZOOMCONNECT{where} {exc}.") from None
    if key is not None and len(_VALIDATED) < 1024:
        _VALIDATED[key] = value
    return value


_PER_ACCOUNT = frozenset(ACCOUNT_KEYS)


def _account_value(name: str, account: str | None) -> tuple[Any, str]:
    """The raw value of per-account key ``name`` for ``account``, and where it was written."""
    user = user_settings()
    accounts = user.get("ACCOUNTS")
    alias = DEFAULT_ACCOUNT if account is None else account
    entry = _entry(accounts, alias)
    if entry is not None and name in entry:
        return entry[name], f"['ACCOUNTS'][{alias!r}][{name!r}]"
    if alias == DEFAULT_ACCOUNT or name not in OWN_KEYS:
        return user.get(name, DEFAULTS[name]), f"[{name!r}]"
    return DEFAULTS[name], f"['ACCOUNTS'][{alias!r}][{name!r}]"


def _entry(accounts: Any, alias: str) -> Mapping[str, Any] | None:
    """The ``ACCOUNTS`` entry of ``alias`` (``None`` for a ``default`` the flat keys describe)."""
    if accounts is not None and not isinstance(accounts, Mapping):
        get("ACCOUNTS")  # raises, naming the key
    entry = accounts.get(alias) if accounts else None
    if entry is None:
        if alias != DEFAULT_ACCOUNT:
            raise unknown_account(alias)
        return None
    if not isinstance(entry, Mapping):
        get("ACCOUNTS")
    return entry  # type: ignore[no-any-return]


def account_aliases() -> list[str]:
    """The configured account aliases, ``"default"`` first (it always exists)."""
    accounts: dict[str, Any] = get("ACCOUNTS") or {}
    return [DEFAULT_ACCOUNT, *(alias for alias in accounts if alias != DEFAULT_ACCOUNT)]


def has_several_accounts() -> bool:
    """Whether more than the ``default`` account is configured (the admin shows account choices)."""
    return len(account_aliases()) > 1


def unknown_account(alias: object) -> ConfigurationError:
    """The error for an alias no ``ACCOUNTS`` entry has, with the closest configured one."""
    try:
        known = account_aliases()
    except ConfigurationError:
        known = [DEFAULT_ACCOUNT]
    close = difflib.get_close_matches(str(alias), known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ConfigurationError(
        f"No Zoom Connect account {alias!r} is configured (settings.ZOOMCONNECT['ACCOUNTS'] has "
        f"{', '.join(map(repr, known))}).{hint}"
    )


def account_alias(account: str | None) -> str:
    """``account`` checked against the configured aliases; ``None`` is ``"default"``."""
    if account is None:
        return DEFAULT_ACCOUNT
    if not isinstance(account, str) or account not in account_aliases():
        raise unknown_account(account)
    return account


def route_account(account: str | None, **context: Any) -> str:
    """The account of a send: ``account`` when the caller named one, else ``ACCOUNT_ROUTER``'s
    choice, else ``"default"``.

    The router is called with keyword arguments only and returns an alias, or ``None`` for
    ``"default"``: ``kind`` (``"sms"`` or ``"bulk"``), ``recipients`` (the E.164 numbers),
    ``campaign`` (a string, maybe empty), and the rest of the send's arguments (``template``,
    ``contact`` or ``group``, ``data_field``, ``send_at``, ...); it should accept ``**kwargs``.
    """
    if account is not None:
        return account_alias(account)
    router = account_router()
    if router is None:
        return DEFAULT_ACCOUNT
    return account_alias(router(**context))


def account_router() -> Callable[..., str | None] | None:
    """``ACCOUNT_ROUTER`` imported, or ``None`` when it is not set; :class:`ConfigurationError`
    when it cannot be imported or is not callable (check ``zoomconnect.E007`` says so too)."""
    path = get("ACCOUNT_ROUTER")
    if path is None:
        return None
    from django.utils.module_loading import import_string

    try:
        router = import_string(path)
    except ImportError as exc:
        raise ConfigurationError(
            f"settings.ZOOMCONNECT['ACCOUNT_ROUTER'] cannot be imported: {exc}"
        ) from None
    if not callable(router):
        raise ConfigurationError(f"settings.ZOOMCONNECT['ACCOUNT_ROUTER'] ({path}) is not callable.")
    return cast(Callable[..., str | None], router)


#: Validated values by (name, type, raw value): the settings are read on every webhook and send,
#: and a raw value validates the same way each time (so ``override_settings`` still works).
_VALIDATED: dict[tuple[Any, ...], Any] = {}
_MISSING = object()


def required(name: str, account: str | None = None) -> Any:
    """Like :func:`get`, but a missing value is a :class:`ConfigurationError`."""
    value = get(name, account)
    if value is None:
        where = (
            f"['ACCOUNTS'][{account!r}][{name!r}]"
            if account not in (None, DEFAULT_ACCOUNT)
            else f"[{name!r}]"
        )
        raise ConfigurationError(
            f"settings.ZOOMCONNECT{where} is not set; it is required to call the Zoom Connect API."
        )
    return value


def base_url(account: str | None = None) -> str:
    return str(get("BASE_URL", account))


def api_timezone() -> ZoneInfo:
    tz: ZoneInfo = get("API_TIMEZONE")
    return tz


def timeout() -> tuple[float, float]:
    value: tuple[float, float] = get("TIMEOUT")
    return value


def claim_lease() -> float:
    """Seconds a claim lasts: ``CLAIM_LEASE_SECONDS``, but never less than one whole API call.

    The claim is renewed right before the call; a lease shorter than the call may take (connect
    plus read ``TIMEOUT``) would let the sweeper take back messages whose worker is still waiting
    for the provider's answer (``zoomconnect.W005`` warns of such a setting).
    """
    connect, read = timeout()
    return max(float(get("CLAIM_LEASE_SECONDS")), connect + read)


def webhook_secrets(account: str | None = None) -> tuple[str, ...]:
    value: tuple[str, ...] = get("WEBHOOK_SECRET", account)
    return value
