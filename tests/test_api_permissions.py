"""Tests for api/permissions.py: the REST API asks what the admin asks, and "Can send SMS" to send.

Every registered route and method is enumerated from the router, so that a route added later
is covered (and refused until it says what it needs).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import include, path, reverse
from rest_framework.test import APIClient

from django_zoomconnect.api import permissions
from django_zoomconnect.api.urls import urlpatterns as api_urlpatterns
from django_zoomconnect.models import (
    Batch,
    Contact,
    Direction,
    Group,
    Membership,
    Message,
    MessageStatus,
    Template,
)
from tests.outbox import zoomconnect_settings

urlpatterns = [path("api/zoomconnect/", include("django_zoomconnect.api.urls"))]

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]

API = "/api/zoomconnect/"
NUMBER = "+27821234567"


def _routes() -> list[tuple[str, str, str]]:
    """``(pattern name, method, action)`` of every route the router registers (no format suffixes)."""
    found = []
    for pattern in api_urlpatterns:
        if "format" in pattern.pattern.regex.groupindex:
            continue
        actions = getattr(pattern.callback, "actions", None) or {"get": "root"}
        for method, action in actions.items():
            found.append((pattern.name, method, action))
    return found


ROUTES = _routes()
#: The actions that send an SMS (or send one again), and so need "Can send SMS".
SENDING = {
    ("message-send", "send"),
    ("message-bulk", "bulk"),
    ("message-retry", "retry"),
    ("batch-retry", "retry"),
}


def test_the_routes_are_all_enumerated():
    # A guard on _routes() itself: if this changes, the permission tests below cover the change.
    names = {(name, action) for name, _, action in ROUTES}
    assert len(ROUTES) == 28
    assert names >= SENDING
    assert ("group-remove-member", "remove_member") in names
    assert ("api-root", "root") in names


@pytest.fixture(autouse=True)
def _quiet_outbox(settings):
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "BALANCE_CHECK": "off"}


@pytest.fixture
def rows():
    """One of everything, so that every detail route finds its object."""
    contact = Contact.objects.create(phone_number=NUMBER, first_name="Thandi")
    group = Group.objects.create(name="Customers")
    Membership.objects.create(contact=contact, group=group)
    batch = Batch.objects.create()
    message = Message.objects.create(
        direction=Direction.OUTBOUND, to_number=NUMBER, body="hi", status=MessageStatus.FAILED, batch=batch
    )
    template = Template.objects.create(name="Welcome", body="Hi {{ name }}")
    return SimpleNamespace(contact=contact, group=group, batch=batch, message=message, template=template)


def _url(name: str, rows: SimpleNamespace) -> str:
    objects = {
        "message": rows.message,
        "batch": rows.batch,
        "template": rows.template,
        "contact": rows.contact,
        "group": rows.group,
    }
    kwargs = {}
    if not name.endswith("-list") and name not in ("api-root", "message-send", "message-bulk"):
        kwargs["pk"] = objects[name.split("-")[0]].pk
    if name == "group-remove-member":
        kwargs["contact_id"] = rows.contact.pk
    return reverse(f"zoomconnect-api:{name}", kwargs=kwargs)


def _body(name: str, rows: SimpleNamespace) -> dict[str, object]:
    return {
        "message-send": {"to": NUMBER, "body": "hello"},
        "message-bulk": {"recipients": [NUMBER], "body": "hello"},
        "contact-list": {"phone_number": "+27821234568"},
        "contact-detail": {"phone_number": NUMBER, "first_name": "T"},
        "group-list": {"name": "New"},
        "group-detail": {"name": "Renamed"},
        "group-members": {"contacts": [rows.contact.pk]},
    }.get(name, {})


def _user(username: str, *codenames: str, staff: bool = True):
    user = get_user_model().objects.create_user(username, is_staff=staff)
    perms = Permission.objects.filter(content_type__app_label=permissions.APP_LABEL)
    if codenames != ("*",):
        perms = perms.filter(codename__in=codenames)
    user.user_permissions.add(*perms)
    return get_user_model().objects.get(pk=user.pk)  # no permission cache from before


def _client(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def _call(api: APIClient, name: str, method: str, rows: SimpleNamespace):
    if method == "get":
        return api.get(_url(name, rows))
    return getattr(api, method)(_url(name, rows), _body(name, rows), format="json")


def _send(api: APIClient):
    return api.post(API + "messages/send/", {"to": NUMBER, "body": "hi"}, format="json")


VIEW_ALL = ("view_message", "view_batch", "view_template", "view_contact", "view_group")


# --- the default: as the admin -------------------------------------------------------------------


@pytest.mark.parametrize(("name", "method", "action"), ROUTES)
def test_a_staff_user_without_permissions_gets_403_everywhere(rows, name, method, action):
    api = _client(_user("staff"))
    response = _call(api, name, method, rows)
    assert response.status_code == 403, (name, method, response.content)
    assert Message.objects.count() == 1
    assert Contact.objects.count() == 1
    assert Group.objects.get().name == "Customers"


@pytest.mark.parametrize(("name", "method", "action"), ROUTES)
def test_anonymous_users_get_401_or_403_everywhere(rows, name, method, action):
    assert _call(APIClient(), name, method, rows).status_code in (401, 403)


@pytest.mark.parametrize(("name", "method", "action"), ROUTES)
def test_view_permissions_read_but_never_write(rows, name, method, action):
    api = _client(_user("reader", *VIEW_ALL))
    response = _call(api, name, method, rows)
    if method == "get":
        assert response.status_code == 200, (name, response.content)
    else:
        assert response.status_code == 403, (name, method, response.content)
    assert Message.objects.count() == 1


@pytest.mark.parametrize(("name", "method", "action"), [r for r in ROUTES if r[1] == "get"])
def test_one_view_permission_opens_only_its_own_model(rows, name, method, action):
    api = _client(_user("contacts-only", "view_contact"))
    expected = 200 if name.startswith("contact-") or name == "api-root" else 403
    assert _call(api, name, method, rows).status_code == expected, name


@pytest.mark.parametrize(("name", "method", "action"), [r for r in ROUTES if (r[0], r[2]) in SENDING])
def test_every_permission_but_send_message_cannot_send(rows, name, method, action):
    codenames = [p.codename for p in Permission.objects.filter(content_type__app_label="zoomconnect")]
    api = _client(_user("clerk", *(c for c in codenames if c != "send_message")))
    response = _call(api, name, method, rows)
    assert response.status_code == 403, (name, response.content)
    assert Message.objects.count() == 1
    assert Message.objects.get().status == MessageStatus.FAILED


@pytest.mark.parametrize(("name", "method", "action"), [r for r in ROUTES if (r[0], r[2]) in SENDING])
def test_send_message_alone_is_not_enough_either(rows, name, method, action):
    api = _client(_user("sender", "send_message", *VIEW_ALL))
    assert _call(api, name, method, rows).status_code == 403


@pytest.mark.parametrize(
    ("name", "codenames", "status"),
    [
        ("message-send", ("add_message", "send_message"), 201),
        ("message-bulk", ("add_message", "add_batch", "send_message"), 201),
        ("message-bulk", ("add_message", "send_message"), 403),
        ("message-retry", ("change_message", "send_message"), 200),
        ("batch-retry", ("change_batch", "send_message"), 200),
    ],
)
def test_sending_needs_send_message_and_the_model_permissions(rows, name, codenames, status):
    response = _call(_client(_user("sender", *codenames)), name, "post", rows)
    assert response.status_code == status, response.content


@pytest.mark.parametrize(
    ("name", "method", "codename"),
    [
        ("message-cancel", "post", "change_message"),
        ("batch-cancel", "post", "change_batch"),
        ("contact-list", "post", "add_contact"),
        ("contact-detail", "patch", "change_contact"),
        ("group-members", "post", "change_group"),
        ("group-remove-member", "delete", "change_group"),
        ("group-detail", "delete", "delete_group"),
    ],
)
def test_each_write_needs_its_own_model_permission(rows, name, method, codename, zoomconnect_simulator):
    assert _call(_client(_user("one", codename)), name, method, rows).status_code < 400
    others = [c for c in ("add_contact", "change_contact", "change_group", "change_message") if c != codename]
    assert _call(_client(_user("other", *others)), name, method, rows).status_code == 403


def test_the_api_root_needs_any_permission_of_the_app(rows):
    assert _client(_user("none")).get(API).status_code == 403
    assert _client(_user("one", "view_template")).get(API).status_code == 200


def test_users_who_are_not_staff_are_refused_even_with_every_permission(rows):
    api = _client(_user("clerk", "*", staff=False))
    assert api.get(API + "messages/").status_code == 403
    assert _send(api).status_code == 403


def test_inactive_users_are_refused(rows):
    user = _user("gone", "*")
    user.is_active = False
    user.save()
    assert _client(user).get(API + "messages/").status_code == 403


def test_superusers_may_do_everything_and_unrouted_methods_stay_405(rows):
    api = _client(get_user_model().objects.create_user("root", is_staff=True, is_superuser=True))
    assert api.get(API).status_code == 200
    assert api.post(API + "templates/", {}, format="json").status_code == 405
    assert api.delete(API + f"messages/{rows.message.pk}/").status_code == 405


def test_options_needs_the_view_permission(rows):
    assert _client(_user("none")).options(API + "messages/").status_code == 403
    assert _client(_user("reader", "view_message")).options(API + "messages/").status_code == 200


# --- opening the API wider ---------------------------------------------------------------------------


def test_model_permissions_without_staff():
    api = _client(_user("clerk", "view_message", "add_message", "send_message", staff=False))
    with zoomconnect_settings(API_PERMISSION_CLASSES=["django_zoomconnect.api.permissions.ModelPermissions"]):
        assert api.get(API + "messages/").status_code == 200
        assert (
            api.post(API + "messages/send/", {"to": NUMBER, "body": "hi"}, format="json").status_code == 201
        )
        assert api.get(API + "contacts/").status_code == 403


def test_is_admin_user_lets_any_staff_user_do_everything_as_before():
    api = _client(_user("staff"))
    with zoomconnect_settings(API_PERMISSION_CLASSES=["rest_framework.permissions.IsAdminUser"]):
        assert api.get(API).status_code == 200
        assert (
            api.post(API + "messages/send/", {"to": NUMBER, "body": "hi"}, format="json").status_code == 201
        )


def test_a_custom_action_that_names_no_permission_is_refused_to_everyone_but_reads():
    class Viewset:
        queryset = Message.objects.all()
        action_permissions: dict[str, tuple[str, ...]] = {}

    view = Viewset()
    view.action = "archive"  # type: ignore[attr-defined]
    assert permissions.required_permissions(view, SimpleNamespace(method="POST")) is None
    assert permissions.required_permissions(view, SimpleNamespace(method="GET")) == [
        "zoomconnect.view_message"
    ]
    view.action_permissions = {"archive": ("change", "send_message", "view_contact")}
    assert permissions.required_permissions(view, SimpleNamespace(method="POST")) == [
        "zoomconnect.change_message",
        "zoomconnect.send_message",
        "zoomconnect.view_contact",
    ]


def test_the_send_permission_exists_with_its_name():
    permission = Permission.objects.get(codename="send_message")
    assert permission.name == "Can send SMS"
    assert permission.content_type.model_class() is Message
    assert permissions.SEND_PERMISSION == "zoomconnect.send_message"
