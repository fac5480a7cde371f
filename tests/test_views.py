"""Tests for views.py and urls.py: what each webhook request gets back, and what it writes."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode

import pytest
from django.test import Client
from django.urls import include, path, reverse
from django.utils import timezone
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from django_zoomconnect import views
from django_zoomconnect.events import DELIVERY_REPORT
from django_zoomconnect.models import Direction, Message, MessageStatus, OptOut, WebhookEvent
from django_zoomconnect.services import inbound
from django_zoomconnect.testing import (
    build_delivery_report_params,
    build_reply_params,
    sign_params,
    signed_post,
)
from tests.known_answers import FORM_CHECKSUM, FORM_PARAMS, RAW_CHECKSUM, RAW_PARAMS


class GatewayReportView(views.WebhookView):
    """A project's subclass: one more check in verify(), a note of every stored event in process()."""

    kind = DELIVERY_REPORT
    stored: list[int] = []

    def verify(self, request, webhook, settings):
        super().verify(request, webhook, settings)
        if request.headers.get("X-Gateway") != "zoomconnect":
            raise views.WebhookRejected(403, "not through the gateway")

    def process(self, request, webhook, settings):
        event = super().process(request, webhook, settings)
        if event is not None:
            self.stored.append(event.pk)
        return event


urlpatterns = [
    path("zc/", include("django_zoomconnect.urls")),
    path("gateway/report/", GatewayReportView.as_view(), name="gateway-report"),
]

pytestmark = [pytest.mark.urls("tests.test_views"), pytest.mark.django_db]

SECRET = "test-webhook-secret"  # tests/settings.py
REPORT = "zoomconnect:delivery-report"
REPLY = "zoomconnect:reply"
#: More than the twelve years since the provider's documented examples were signed.
CENTURY = 100 * 365 * 24 * 3600


@pytest.fixture
def zoomconnect(settings):
    """Change ZOOMCONNECT keys for one test: ``zoomconnect(WEBHOOK_SECRET=...)``."""

    def update(**values: object) -> None:
        settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, **values}

    return update


@pytest.fixture
def sent_message():
    return Message.objects.create(
        direction=Direction.OUTBOUND, remote_id="R1", to_number="+27821234567", status=MessageStatus.SENT
    )


def test_url_names_and_paths():
    assert reverse("zoomconnect:reply") == "/zc/webhooks/reply/"
    assert reverse("zoomconnect:delivery-report") == "/zc/webhooks/delivery-report/"


# --- the table: status code and database effect ------------------------------------------------------


def _fresh(**kwargs):
    return build_delivery_report_params("R1", "DELIVERED", **kwargs)


CASES = {
    "good checksum": (lambda: _fresh(), {}, 200, True),
    "bad checksum": (lambda: {**_fresh(), "checksum": "0" * 40}, {}, 403, False),
    "missing checksum": (
        lambda: {k: v for k, v in _fresh().items() if k != "checksum"},
        {},
        403,
        False,
    ),
    "tampered value": (lambda: {**_fresh(), "status": "FAILED"}, {}, 403, False),
    "wrong secret": (lambda: _fresh(secret="someone-else"), {}, 403, False),
    "rotated: old secret still listed": (
        lambda: _fresh(secret="old-secret"),
        {"WEBHOOK_SECRET": ["new-secret", "old-secret"]},
        200,
        True,
    ),
    "rotated: new secret": (
        lambda: _fresh(secret="new-secret"),
        {"WEBHOOK_SECRET": ["new-secret", "old-secret"]},
        200,
        True,
    ),
    "rotated: old secret removed": (
        lambda: _fresh(secret="old-secret"),
        {"WEBHOOK_SECRET": ["new-secret"]},
        403,
        False,
    ),
    "form-encoded signature": (lambda: _fresh(encoding="form"), {}, 200, True),
    "form-encoded signature, raw pinned": (
        lambda: _fresh(encoding="form", extra={"campaign": "a b"}),
        {"WEBHOOK_SIGNATURE_ENCODINGS": ["raw"]},
        403,
        False,
    ),
    "raw signature, form pinned": (
        lambda: _fresh(extra={"campaign": "a b"}),
        {"WEBHOOK_SIGNATURE_ENCODINGS": "form"},
        403,
        False,
    ),
    "no secret configured": (lambda: _fresh(secret=SECRET), {"WEBHOOK_SECRET": None}, 403, False),
    "fresh nonce-date": (lambda: _fresh(nonce_date=timezone.now() + timedelta(minutes=5)), {}, 200, True),
    "expired within the grace": (
        lambda: _fresh(nonce_date=timezone.now() - timedelta(minutes=4)),
        {"WEBHOOK_NONCE_GRACE": 300},
        200,
        True,
    ),
    "expired beyond the grace": (
        lambda: _fresh(nonce_date=timezone.now() - timedelta(minutes=6)),
        {"WEBHOOK_NONCE_GRACE": 300},
        403,
        False,
    ),
    "expired, no grace": (
        lambda: _fresh(nonce_date=timezone.now() - timedelta(minutes=1)),
        {"WEBHOOK_NONCE_GRACE": 0},
        403,
        False,
    ),
    "nonce-date unreadable": (lambda: _fresh(nonce_date="tomorrow"), {}, 400, False),
    "nonce missing": (
        lambda: sign_params(
            {k: v for k, v in _fresh().items() if k != "nonce"} | {"nonce": ""}, secret=SECRET
        ),
        {},
        400,
        False,
    ),
    "nonce too long": (lambda: _fresh(nonce="n" * 129), {}, 400, False),
    "messageId too long": (
        lambda: build_delivery_report_params("R" * 65, "DELIVERED"),
        {},
        400,
        False,
    ),
    "NUL in a value": (lambda: _fresh(campaign="a\x00b"), {}, 400, False),
}


@pytest.mark.parametrize(("make", "config", "status", "stored"), CASES.values(), ids=CASES.keys())
def test_verification_table(client, zoomconnect, sent_message, make, config, status, stored):
    zoomconnect(**config)
    response = signed_post(client, REPORT, make())
    assert response.status_code == status, response.content
    assert WebhookEvent.objects.exists() is stored
    sent_message.refresh_from_db()
    assert sent_message.status == (MessageStatus.DELIVERED if stored else MessageStatus.SENT)
    assert sent_message.status_changes.count() == (1 if stored else 0)


@pytest.mark.parametrize("params_in", ["body", "query", "both"])
def test_params_in_body_query_or_both(client, sent_message, params_in):
    response = signed_post(client, REPORT, _fresh(), params_in=params_in)
    assert response.status_code == 200
    assert response.content == b"OK\n"
    sent_message.refresh_from_db()
    assert sent_message.status == MessageStatus.DELIVERED


def test_params_split_between_query_and_body(client, sent_message):
    params = _fresh()
    query = {k: v for k, v in params.items() if k in ("messageId", "checksum")}
    body = {k: v for k, v in params.items() if k not in query}
    url = reverse(REPORT) + "?" + urlencode(query)
    response = client.post(url, urlencode(body), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert WebhookEvent.objects.get().params == params


def test_conflicting_values_in_query_and_body_are_refused(client, sent_message):
    params = _fresh()
    url = reverse(REPORT) + "?" + urlencode({**params, "status": "SENT"})
    response = client.post(url, urlencode(params), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert b"'status' has conflicting values" in response.content
    assert not WebhookEvent.objects.exists()


def test_a_key_repeated_in_one_source(client, sent_message):
    params = _fresh()
    body = urlencode(params) + "&status=SENT"
    response = client.post(reverse(REPORT), body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    same_twice = urlencode(params) + "&status=DELIVERED"
    response = client.post(reverse(REPORT), same_twice, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200


def test_a_duplicate_nonce_answers_200_and_changes_nothing(client, sent_message):
    params = build_delivery_report_params("R1", "SENT")
    assert signed_post(client, REPORT, params).status_code == 200
    sent_message.status = MessageStatus.QUEUED  # so that a second processing would show
    sent_message.save()
    response = signed_post(client, REPORT, params)
    assert response.status_code == 200
    assert response.content == b"duplicate\n"
    assert WebhookEvent.objects.count() == 1
    sent_message.refresh_from_db()
    assert sent_message.status == MessageStatus.QUEUED


@pytest.mark.parametrize(("method", "status"), [("get", 405), ("put", 405), ("delete", 405), ("head", 200)])
def test_only_post_is_accepted(client, method, status):
    response = getattr(client, method)(reverse(REPORT))
    assert response.status_code == status
    if status == 405:
        assert response["Allow"] == "POST, HEAD"
    assert not WebhookEvent.objects.exists()


def test_an_oversized_body_is_refused_before_it_is_read(client, zoomconnect, sent_message):
    zoomconnect(WEBHOOK_MAX_BODY_SIZE=1024)
    response = signed_post(client, REPORT, _fresh(campaign="x" * 1024))
    assert response.status_code == 413
    response = signed_post(client, REPORT, _fresh(campaign="x" * 1024), params_in="query")
    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()
    assert signed_post(client, REPORT, _fresh(campaign="x" * 500)).status_code == 200


def test_django_upload_limit_is_a_413(client, settings, zoomconnect):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = signed_post(client, REPORT, _fresh(campaign="x" * 200))
    assert response.status_code == 413


def test_csrf_enforcing_client_is_accepted(sent_message):
    client = Client(enforce_csrf_checks=True)
    assert signed_post(client, REPORT, _fresh()).status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == MessageStatus.DELIVERED


def test_login_required_middleware_lets_webhooks_through(client, settings, sent_message):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.contrib.auth.middleware.LoginRequiredMiddleware"]
    assert signed_post(client, REPORT, _fresh()).status_code == 200


def test_the_views_opt_out_of_atomic_requests():
    # The event must be committed before it is processed, whatever ATOMIC_REQUESTS says.
    for view in (views.reply, views.delivery_report):
        assert "default" in view._non_atomic_requests
        assert view.csrf_exempt is True
        assert view.login_required is False


def test_webhook_view_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="kind must be"):
        views.webhook_view("other")
    with pytest.raises(ValueError, match="kind must be"):
        views.WebhookView.as_view()


def test_a_subclass_overriding_the_hooks_works_through_its_url(client, sent_message):
    GatewayReportView.stored.clear()
    url = reverse("gateway-report")
    refused = signed_post(client, url, _fresh())
    assert (refused.status_code, refused.content) == (403, b"not through the gateway\n")
    assert not WebhookEvent.objects.exists()
    response = signed_post(client, url, _fresh(), headers={"X-Gateway": "zoomconnect"})
    assert (response.status_code, response.content) == (200, b"OK\n")
    assert GatewayReportView.stored == [WebhookEvent.objects.get().pk]
    sent_message.refresh_from_db()
    assert sent_message.status == MessageStatus.DELIVERED
    forged = {**_fresh(), "checksum": "0" * 40}
    assert signed_post(client, url, forged, headers={"X-Gateway": "zoomconnect"}).status_code == 403
    assert client.head(url).status_code == 200
    assert client.get(url).status_code == 405


def test_settings_are_read_once_and_the_nonce_date_parsed_once(client, monkeypatch, sent_message):
    calls = {"settings": 0, "nonce-date": 0, "stored-checks": 0}

    def counting(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(views.WebhookConf, "read", counting("settings", views.WebhookConf.read))
    monkeypatch.setattr(views, "parse_nonce_date", counting("nonce-date", views.parse_nonce_date))
    checks = counting("stored-checks", inbound.check_params)
    monkeypatch.setattr(inbound.processing, "check_params", checks)
    monkeypatch.setattr(inbound.store, "check_params", checks)
    assert signed_post(client, REPORT, _fresh()).status_code == 200
    assert calls == {"settings": 1, "nonce-date": 1, "stored-checks": 1}


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", b'{"messageId": "R1"}', 415),
        ("application/x-www-form-urlencoded", b"messageId=R\xff1", 400),
        ("application/x-www-form-urlencoded", b"messageId=R%FF1", 400),
        ("application/x-www-form-urlencoded; charset=no-such-charset", b"messageId=R1", 400),
        ("application/x-www-form-urlencoded", b"&".join(b"k%d=v" % i for i in range(100)), 400),
    ],
)
def test_unreadable_bodies(client, content_type, body, status):
    response = client.generic("POST", reverse(REPORT), body, content_type=content_type)
    assert response.status_code == status
    assert not WebhookEvent.objects.exists()


def test_a_latin1_body_is_read_in_its_declared_charset(client):
    params = build_reply_params("+27821234567", "Café")
    response = client.post(
        reverse(REPLY),
        urlencode(params, encoding="latin-1"),
        content_type="application/x-www-form-urlencoded; charset=ISO-8859-1",
    )
    assert response.status_code == 200
    assert Message.objects.get(direction=Direction.INBOUND).body == "Café"


def test_a_multipart_body_is_read(client):
    params = build_reply_params("+27821234567", "Hello")
    assert client.post(reverse(REPLY), params).status_code == 200  # multipart, the test client's default
    assert Message.objects.get(direction=Direction.INBOUND).body == "Hello"


def test_a_query_string_that_is_not_utf8_is_refused(client):
    response = client.post(reverse(REPORT), QUERY_STRING="messageId=R%FF")
    assert response.status_code == 400
    response = client.post(reverse(REPORT), QUERY_STRING="messageId=R\xff")
    assert response.status_code == 400


# --- logging, secrets, switches ----------------------------------------------------------------


def test_a_bad_checksum_is_logged_without_the_secret(client, caplog, zoomconnect):
    zoomconnect(WEBHOOK_SECRET=["s3cr3t-value", "older-s3cr3t"])
    with caplog.at_level(logging.WARNING, logger="django_zoomconnect"):
        response = signed_post(client, REPORT, _fresh(secret="forged"))
    assert response.status_code == 403
    records = [r for r in caplog.records if r.name == "django_zoomconnect.views"]
    assert [r.levelno for r in records] == [logging.WARNING]
    assert "bad checksum" in records[0].getMessage()
    text = caplog.text + response.content.decode()
    assert "s3cr3t" not in text


def test_a_missing_secret_refuses_everything_with_an_error_logged(client, caplog, zoomconnect, settings):
    zoomconnect(WEBHOOK_SECRET=None)
    settings.DEBUG = True  # never loosens verification
    with caplog.at_level(logging.ERROR, logger="django_zoomconnect"):
        response = signed_post(client, REPORT, _fresh(secret="anything"))
    assert response.status_code == 403
    assert "WEBHOOK_SECRET" in caplog.text
    assert caplog.records[-1].levelno == logging.ERROR


def test_a_wrong_setting_answers_503_and_writes_nothing(client, zoomconnect, caplog):
    params = _fresh()
    zoomconnect(WEBHOOK_SECRET=42)
    with caplog.at_level(logging.ERROR, logger="django_zoomconnect"):
        assert signed_post(client, REPORT, params).status_code == 503
    assert "ZOOMCONNECT setting is wrong" in caplog.text
    assert not WebhookEvent.objects.exists()


def test_insecure_switch_skips_the_checksum_but_still_stops_replays(client, zoomconnect, sent_message):
    zoomconnect(INSECURE_SKIP_WEBHOOK_VERIFICATION=True, WEBHOOK_SECRET=None)
    unsigned = {"messageId": "R1", "status": "SENT"}
    assert signed_post(client, REPORT, unsigned).status_code == 200
    assert signed_post(client, REPORT, unsigned).content == b"duplicate\n"
    event = WebhookEvent.objects.get()
    assert event.nonce.startswith("unsigned:")
    assert event.nonce_expires_at is None
    stale = _fresh(nonce_date=timezone.now() - timedelta(days=1), secret="unused")
    assert signed_post(client, REPORT, stale).status_code == 403


# --- known answers and captured shapes ----------------------------------------------------------------

#: The getting-started page's example, signed over raw values; the 2014 PDF guide's, over
#: form-encoded values.
RAW_EXAMPLE = {**RAW_PARAMS, "checksum": RAW_CHECKSUM}
FORM_EXAMPLE = {**FORM_PARAMS, "checksum": FORM_CHECKSUM}


@pytest.mark.parametrize("params_in", ["body", "query"])
@pytest.mark.parametrize("example", [RAW_EXAMPLE, FORM_EXAMPLE], ids=["raw", "form"])
def test_known_answer_vectors_are_accepted(client, zoomconnect, example, params_in):
    zoomconnect(WEBHOOK_SECRET="secret", WEBHOOK_NONCE_GRACE=CENTURY)
    response = signed_post(client, REPLY, example, params_in=params_in)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.params == example
    assert event.state == WebhookEvent.State.PROCESSED
    message = Message.objects.get(direction=Direction.INBOUND)
    assert message.body == example["message"]
    assert message.from_number == "+27726661234"


def test_the_printed_checksum_of_the_getting_started_page_is_refused(client, zoomconnect):
    # 9d0e93... is printed by the provider's page but no variant of the algorithm yields it.
    zoomconnect(WEBHOOK_SECRET="secret", WEBHOOK_NONCE_GRACE=CENTURY)
    params = {**RAW_EXAMPLE, "checksum": "9d0e933a457eabf94a73d7e15dd8849e89834464"}
    assert signed_post(client, REPLY, params).status_code == 403


def test_known_answer_vectors_are_refused_when_stale(client, zoomconnect):
    zoomconnect(WEBHOOK_SECRET="secret")
    assert signed_post(client, REPLY, RAW_EXAMPLE).status_code == 403
    assert not WebhookEvent.objects.exists()


def test_captured_payload_shapes_are_stored_exactly(client, sent_message):
    report = build_delivery_report_params(
        "R1", "DELIVERED", data_field="cli:1691,app:13478,pra:363,pro:11272,"
    )
    reply = build_reply_params(
        "+27821234567",
        "Thanks, see you then ",
        to_number="INF-WnV8e3c2tsHTQKDb",
        replied_to_message_id="R1",
        data_field="cli:1691,app:13478,pra:363,pro:11272,",
    )
    assert signed_post(client, REPORT, report).status_code == 200
    assert signed_post(client, REPLY, reply, params_in="query").status_code == 200
    assert [e.params for e in WebhookEvent.objects.order_by("pk")] == [report, reply]
    inbound = Message.objects.get(direction=Direction.INBOUND)
    assert inbound.body == "Thanks, see you then "
    assert inbound.to_number == "INF-WnV8e3c2tsHTQKDb"
    assert inbound.data_field == "cli:1691,app:13478,pra:363,pro:11272,"
    assert inbound.in_reply_to == sent_message


def test_stop_reply_through_the_view_opts_out(client):
    assert signed_post(client, REPLY, build_reply_params("082 123 4567", " Stop ")).status_code == 200
    assert OptOut.objects.get().phone_number == "+27821234567"


# --- processing mode and failures -------------------------------------------------------------------


def test_a_processing_failure_still_answers_200_and_is_recorded(client, monkeypatch, sent_message):
    from django_zoomconnect.services import inbound

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(inbound.processing, "_apply_to", explode)
    assert signed_post(client, REPORT, _fresh()).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.state == WebhookEvent.State.FAILED
    assert event.error == "RuntimeError: boom"


def test_celery_mode_enqueues_after_commit(
    client, zoomconnect, monkeypatch, sent_message, django_capture_on_commit_callbacks
):
    from django_zoomconnect import tasks

    queued: list[int] = []
    monkeypatch.setattr(tasks.process_webhook_event, "delay", queued.append)
    zoomconnect(WEBHOOK_PROCESSING="celery")
    with django_capture_on_commit_callbacks(execute=True):
        assert signed_post(client, REPORT, _fresh()).status_code == 200
    event = WebhookEvent.objects.get()
    assert queued == [event.pk]
    assert event.state == WebhookEvent.State.PENDING
    tasks.process_webhook_event(event.pk)
    sent_message.refresh_from_db()
    assert sent_message.status == MessageStatus.DELIVERED


def test_celery_mode_with_a_broken_broker_keeps_the_event_pending(
    client, zoomconnect, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    from django_zoomconnect import tasks

    def broken(pk):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.process_webhook_event, "delay", broken)
    zoomconnect(WEBHOOK_PROCESSING="celery")
    with django_capture_on_commit_callbacks(execute=True):
        assert signed_post(client, REPORT, _fresh()).status_code == 200
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PENDING
    assert "stays pending" in caplog.text


# --- Hypothesis ------------------------------------------------------------------------------------

KEYS = st.sampled_from(
    ["messageId", "status", "dataField", "campaign", "from", "to", "message", "date", "repliedToMessageId"]
) | st.text(min_size=0, max_size=12)
VALUES = st.text(max_size=40) | st.sampled_from(
    ["DELIVERED", "SENT", "FAILED_OPTOUT", "RECEIVED", "", " ", "+27821234567", "R1", "STOP", "2014051610"]
)


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(KEYS, VALUES, max_size=10),
    kind=st.sampled_from([REPORT, REPLY]),
    sign=st.booleans(),
    params_in=st.sampled_from(["body", "query", "both"]),
)
def test_arbitrary_parameters_never_cause_a_server_error(client, sent_message, params, kind, sign, params_in):
    if sign:
        params = sign_params({k: v for k, v in params.items() if k not in ("nonce", "nonce-date")})
    response = signed_post(client, kind, params, params_in=params_in)
    assert response.status_code in (200, 400, 403, 413)
    if not sign:
        assert response.status_code != 200


@hypothesis_settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_tampered_byte_is_refused(client, data):
    params = build_reply_params(
        "+27821234567", data.draw(st.text(min_size=1, max_size=20)), data_field="cli:1,app:2,"
    )
    body = urlencode(params).encode()
    position = data.draw(st.integers(0, len(body) - 1))
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != body[position]))
    tampered = body[:position] + bytes([replacement]) + body[position + 1 :]

    def meaning(raw: bytes) -> list[tuple[str, str]] | None:
        try:
            pairs = parse_qsl(raw.decode(), keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError):
            return None
        return [(k, v.lower() if k == "checksum" else v) for k, v in pairs]

    # A byte that does not change what the parameters say (%2b for %2B) is not tampering.
    assume(meaning(tampered) != meaning(body))
    before = WebhookEvent.objects.count()
    response = Client().post(reverse(REPLY), tampered, content_type="application/x-www-form-urlencoded")
    assert response.status_code in (400, 403), (tampered, response.content)
    assert WebhookEvent.objects.count() == before


def test_the_insecure_switch_is_a_system_check_warning(zoomconnect):
    from django_zoomconnect.checks import check_settings

    assert "zoomconnect.W004" not in [m.id for m in check_settings()]
    zoomconnect(INSECURE_SKIP_WEBHOOK_VERIFICATION=True)
    (warning,) = [m for m in check_settings() if m.id == "zoomconnect.W004"]
    assert "forge" in warning.msg
    zoomconnect(INSECURE_SKIP_WEBHOOK_VERIFICATION="yes")
    assert "zoomconnect.W004" not in [m.id for m in check_settings()]
    assert "zoomconnect.E004" in [m.id for m in check_settings()]


def test_a_body_without_content_length_is_still_limited(rf):
    request = rf.post(reverse(REPORT), "x=" + "y" * 200, content_type="application/x-www-form-urlencoded")
    del request.META["CONTENT_LENGTH"]
    request._body = request.read()  # as ASGI hands over a chunked body
    with pytest.raises(views.WebhookRejected) as excinfo:
        views.read_params(request, max_body_size=100)
    assert excinfo.value.status == 413
