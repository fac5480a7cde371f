"""Helpers for the tests of client.py and _http.py: a client for a mocked API and what it sent."""

import json
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from django_zoomconnect.client import USER_AGENT, ZoomConnectClient

BASE = "https://zc.invalid/app/"
API = BASE + "api/rest/v1/"
EMAIL = "ops@example.com"
# Characters that URL-encoding changes, so that redaction of encoded forms is tested too.
TOKEN = "tok/3n+s3cr3t=="
SAST = ZoneInfo("Africa/Johannesburg")


def make_client(**kwargs):
    """A client of the mocked API at ``BASE``, without retries unless asked, that never sleeps."""
    options = {"email": EMAIL, "token": TOKEN, "base_url": BASE, "get_retries": 0, "sleep": lambda s: None}
    options.update(kwargs)
    return ZoomConnectClient(**options)


def wire(call):
    """(method, path under the API, query pairs, JSON body or None) of a recorded request."""
    request = call.request
    parts = urlsplit(request.url)
    assert parts.path.startswith("/app/api/rest/v1/")
    body = None if request.body is None else json.loads(request.body)
    return request.method, parts.path.removeprefix("/app/api/rest/v1/"), parse_qsl(parts.query), body


def assert_json_headers(request):
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.headers["email"] == EMAIL
    assert request.headers["token"] == TOKEN
