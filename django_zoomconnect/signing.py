"""The webhook checksum: HMAC-SHA1 over the sorted parameters, in the raw or form-encoded form.

The provider's documents disagree on how values enter the signed string: the getting-started
page signs raw values, the 2014 PDF guide signs values as PHP's ``urlencode`` writes them.
:func:`verify_checksum` accepts either (both are keyed with the secret, so accepting both gives
an attacker nothing) and any of several secrets, for rotation.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Literal
from urllib.parse import quote_plus

Encoding = Literal["raw", "form"]
ENCODINGS: tuple[Encoding, ...] = ("raw", "form")

#: The parameter that carries the checksum itself; it is never part of the signed string.
CHECKSUM_PARAMETER = "checksum"


def _php_urlencode(value: str) -> str:
    # PHP's urlencode keeps A-Za-z0-9 and "-_." only, writes a space as "+" and the rest as
    # %XX with uppercase hex, over the UTF-8 bytes. quote_plus also keeps "~", so encode it.
    return quote_plus(value, safe="").replace("~", "%7E")


def signing_string(params: Mapping[str, str], *, encoding: Encoding = "raw") -> str:
    """The string the checksum is computed over: ``key=value`` pairs sorted by key, joined by ``&``."""
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}, not {encoding!r}")
    # By key, as the provider sorts the keys' UTF-8 bytes: that is the order of their code points.
    items = sorted((key, value) for key, value in params.items() if key != CHECKSUM_PARAMETER)
    if encoding == "form":
        return "&".join(f"{key}={_php_urlencode(value)}" for key, value in items)
    return "&".join(f"{key}={value}" for key, value in items)


def compute_checksum(params: Mapping[str, str], secret: str, *, encoding: Encoding = "raw") -> str:
    """The lowercase hex HMAC-SHA1 of :func:`signing_string`, keyed with ``secret``."""
    message = signing_string(params, encoding=encoding).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha1).hexdigest()


def verify_checksum(
    params: Mapping[str, str],
    checksum: str | None,
    secrets: str | Iterable[str],
    *,
    encodings: Iterable[Encoding] = ENCODINGS,
) -> bool:
    """Whether ``checksum`` signs ``params`` under any of ``secrets`` and ``encodings``.

    Every candidate is compared in constant time, and a checksum that matches none is compared
    with all of them, so the time a refusal takes does not tell which secret or encoding came
    close. A match returns at once: it only tells the sender what the answer will say anyway.
    """
    if not checksum or not isinstance(checksum, str):
        return False
    candidate = checksum.strip().lower().encode("ascii", "replace")
    secret_list = [secrets] if isinstance(secrets, str) else list(secrets)
    matched = False
    for encoding in encodings:
        for secret in secret_list:
            if not secret:
                continue
            expected = compute_checksum(params, secret, encoding=encoding).encode("ascii")
            matched |= hmac.compare_digest(expected, candidate)
        if matched:
            return True
    return False
