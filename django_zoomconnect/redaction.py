"""Copies of ``requests`` responses without credentials, for errors that outlive the call.

A :class:`requests.Response` keeps the request that produced it, and with it the ``token``
header, the HTTP Basic ``Authorization`` header (the email and token, base64-encoded: not a
secret kept), or ``email=``/``token=`` in the URL when the API is called with query
authentication. An exception that carries the response would carry all of that into logs, error
trackers, pickled task results and tracebacks. :func:`scrubbed_response` keeps what a caller
needs (status, reason, headers, body, method, URL) and leaves out, or masks, the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

import requests
from requests.cookies import RequestsCookieJar
from requests.hooks import default_hooks
from requests.structures import CaseInsensitiveDict

__all__ = ["CREDENTIAL_HEADERS", "CREDENTIAL_PARAMETERS", "REDACTED", "scrub_url", "scrubbed_response"]

REDACTED = "********"
#: Request headers that carry credentials (lower case); their values are masked.
CREDENTIAL_HEADERS = frozenset({"token", "email", "authorization", "proxy-authorization", "cookie"})
#: Query parameters of query authentication; they are left out of URLs.
CREDENTIAL_PARAMETERS = frozenset({"token", "email"})


def _forms(secrets: Iterable[str]) -> list[str]:
    """Every secret as it may appear: raw and URL-encoded, longest first."""
    forms = {
        form for secret in secrets if secret for form in (secret, quote(secret, safe=""), quote_plus(secret))
    }
    return sorted(forms, key=len, reverse=True)


def _replace(text: str, forms: list[str]) -> str:
    for form in forms:
        text = text.replace(form, REDACTED)
    return text


def scrub_url(url: str | None, secrets: Iterable[str] = ()) -> str:
    """``url`` without user info, without ``email``/``token`` parameters, and without ``secrets``."""
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in CREDENTIAL_PARAMETERS
    ]
    clean = urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), ""))
    return _replace(clean, _forms(secrets))


def _scrubbed_request(
    request: requests.PreparedRequest, forms: list[str], secrets: Iterable[str]
) -> requests.PreparedRequest:
    clean = requests.PreparedRequest()
    clean.method = request.method
    clean.url = scrub_url(request.url, secrets)
    clean.headers = CaseInsensitiveDict(
        {
            name: REDACTED if name.lower() in CREDENTIAL_HEADERS else _replace(str(value), forms)
            for name, value in (request.headers or {}).items()
        }
    )
    clean.body = None  # the caller has it, and it may hold a password (create_user)
    clean.hooks = default_hooks()
    return clean


def scrubbed_response(response: requests.Response, secrets: Iterable[str] = ()) -> requests.Response:
    """A detached copy of ``response`` that holds no credential.

    Kept: status, reason, encoding, elapsed time, the response headers and body (with any of
    ``secrets`` masked, should the provider echo one), and a request with its method, its URL
    without credentials and its headers with credentials masked. Left out: the request body, the
    connection, the raw stream, cookies and redirect history.
    """
    secrets = list(secrets)
    forms = _forms(secrets)
    clean = requests.Response()
    clean.status_code = response.status_code
    clean.reason = response.reason
    clean.encoding = response.encoding
    clean.elapsed = response.elapsed
    clean.url = scrub_url(response.url, secrets)
    clean.headers = CaseInsensitiveDict(
        {name: _replace(str(value), forms) for name, value in (response.headers or {}).items()}
    )
    content = response.content or b""
    for form in forms:
        content = content.replace(form.encode("utf-8"), REDACTED.encode("ascii"))
    clean._content = content
    clean._content_consumed = True  # type: ignore[attr-defined]  # (untyped in the stubs)
    clean.cookies = RequestsCookieJar()
    clean.history = []
    if response.request is not None:
        clean.request = _scrubbed_request(response.request, forms, secrets)
    return clean
