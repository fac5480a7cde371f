"""Tests for admin/send.py: the "Send SMS" form posted as the browser posts it, its confirmation,
its refusals (nothing sent), the preview endpoint, the contact list's action and permissions."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from django_zoomconnect.models import Batch, Contact, Group, Membership, Message, OptOut, Template
from tests.outbox import zoomconnect_settings

pytestmark = pytest.mark.django_db

FORM = reverse("admin:zoomconnect_message_send")
PREVIEW = reverse("admin:zoomconnect_message_send_preview")
NUMBER = "+27821234567"
OTHER = "+27821234568"
THIRD = "+27821234569"


@pytest.fixture
def sim(sending_sim):
    return sending_sim


#: Sending dispatches outside any transaction, as a request does: these tests commit.
SENDS = pytest.mark.django_db(transaction=True)


@pytest.fixture
def send(admin_client):
    """Post the form, then confirm it as the confirmation page would."""

    def post(**data):
        asked = admin_client.post(FORM, data)
        assert asked.status_code == 200
        assert "admin/zoomconnect/send_confirm.html" in [t.name for t in asked.templates], form_errors(asked)
        assert not Message.objects.exists()  # nothing is sent before the operator confirms
        return admin_client.post(FORM, {**data, "confirmed": "yes"})

    return post


def form_errors(response):
    return [str(error) for error in response.context["form"].non_field_errors()]


def success(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def sms_requests(simulator):
    return [r for r in simulator.requests if "/sms/" in r.path]


@pytest.fixture
def customers():
    group = Group.objects.create(name="Customers")
    for number, name in ((NUMBER, "Thandi"), (OTHER, "Sipho")):
        contact = Contact.objects.create(phone_number=number, first_name=name)
        Membership.objects.create(contact=contact, group=group)
    return group


# --- the form ------------------------------------------------------------------------------------


def test_the_form_has_every_field_and_the_live_preview(admin_client, sim):
    response = admin_client.get(FORM)
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.fields) == ["numbers", "contacts", "groups", "body", "template", "campaign", "send_at"]
    html = response.content.decode()
    assert f'data-url="{PREVIEW}"' in html
    assert "zoomconnect/send_preview.js" in html
    assert "admin/js/autocomplete.js" in html  # contacts and groups are the admin's autocomplete
    assert 'type="datetime-local"' in html
    assert "In your time zone, UTC." in html


def test_the_message_list_links_to_the_form(admin_client, sim):
    response = admin_client.get(reverse("admin:zoomconnect_message_changelist"))
    assert f'href="{FORM}"' in response.content.decode()
    response = admin_client.get(reverse("admin:app_list", args=["zoomconnect"]))
    assert f'href="{FORM}"' in response.content.decode()


@SENDS
def test_one_number_asks_first_then_sends_and_lands_on_the_message(send, sim, admin_client):
    asked = admin_client.post(FORM, {"numbers": "082 123 4567", "body": "Your code is 4711"})
    assert "Send 1 message, about 1.00 credits, now?" in asked.content.decode()
    assert not sms_requests(sim)

    response = send(numbers="082 123 4567", body="Your code is 4711", campaign="codes")

    message = Message.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:zoomconnect_message_change", args=[message.pk])
    assert (message.to_number, message.body, message.campaign, message.batch) == (
        NUMBER,
        "Your code is 4711",
        "codes",
        None,
    )
    message.refresh_from_db()
    assert message.status == "SENT"
    assert len(sms_requests(sim)) == 1
    assert success(response) == [f"SMS to {NUMBER}: Sent."]


@SENDS
def test_several_numbers_are_one_batch(send, sim):
    response = send(numbers="082 123 4567\n082 123 4568, 0821234569;+27821234567", body="Sale today")
    batch = Batch.objects.get()
    assert response.url == reverse("admin:zoomconnect_batch_change", args=[batch.pk])
    assert sorted(batch.messages.values_list("to_number", flat=True)) == [NUMBER, OTHER, THIRD]
    assert set(batch.messages.values_list("status", flat=True)) == {"SENT"}
    assert success(response) == [f"{batch}: 3 messages queued."]


@SENDS
def test_a_group_is_one_batch_naming_the_group(send, sim, customers):
    send(groups=[customers.pk], body="Hello members")
    batch = Batch.objects.get()
    assert batch.group == customers
    assert batch.messages.count() == 2


@SENDS
def test_the_contact_lists_action_opens_the_form_with_the_contacts_chosen(admin_client, send, sim, customers):
    pks = list(Contact.objects.order_by("pk").values_list("pk", flat=True))
    response = admin_client.post(
        reverse("admin:zoomconnect_contact_changelist"),
        {"action": "send_sms_to_selected", "_selected_action": pks},
    )
    assert response.status_code == 302
    assert response.url == f"{FORM}?contacts={pks[0]}%2C{pks[1]}"

    form = admin_client.get(response.url)
    html = form.content.decode()
    assert f'<option value="{pks[0]}" selected>' in html
    assert f'<option value="{pks[1]}" selected>' in html

    send(contacts=pks, body="Hi")
    assert sorted(Batch.objects.get().messages.values_list("contact__first_name", flat=True)) == [
        "Sipho",
        "Thandi",
    ]


@SENDS
def test_one_contact_is_one_message_with_its_template_rendered(admin_client, send, sim, customers):
    thandi = Contact.objects.get(first_name="Thandi")
    welcome = Template.objects.create(name="Welcome", body="Hi {{ first_name }}, welcome!")
    asked = admin_client.post(FORM, {"contacts": [thandi.pk], "template": welcome.pk})
    assert f"To {NUMBER}: Hi Thandi, welcome!" in asked.content.decode()

    send(contacts=[thandi.pk], template=welcome.pk)

    message = Message.objects.get()
    assert (message.body, message.contact, message.template) == ("Hi Thandi, welcome!", thandi, welcome)


@SENDS
def test_a_schedule_is_read_and_shown_in_the_users_time_zone(send, sim, admin_client, settings):
    settings.TIME_ZONE = "America/New_York"
    data = {"numbers": NUMBER, "body": "See you", "send_at": "2031-01-15T09:30"}
    asked = admin_client.get(FORM)
    assert "In your time zone, America/New_York." in asked.content.decode()
    asked = admin_client.post(FORM, data)
    assert "about 1.00 credits, at 15 Jan 2031, 09:30 (America/New_York)?" in asked.content.decode()

    response = send(**data)

    message = Message.objects.get()
    assert message.scheduled_at == datetime(2031, 1, 15, 14, 30, tzinfo=UTC)
    assert message.status == "QUEUED"
    assert not sms_requests(sim)
    assert success(response) == [
        f"SMS to {NUMBER}: Queued. Sending at 15 Jan 2031, 09:30 (America/New_York)."
    ]


def test_changing_it_from_the_confirmation_goes_back_to_the_filled_form(admin_client, sim):
    response = admin_client.post(FORM, {"numbers": NUMBER, "body": "Draft", "edit": "1"})
    assert "admin/zoomconnect/send_form.html" in [t.name for t in response.templates]
    assert response.context["form"]["body"].value() == "Draft"
    assert not response.context["form"].errors
    assert not Message.objects.exists()


# --- refusals: shown per recipient, nothing sent ----------------------------------------------------


def refused(admin_client, sim, data, *, confirmed=False):
    """Post ``data`` (as confirmed, if asked) and return the form's errors; nothing may be sent."""
    response = admin_client.post(FORM, {**data, **({"confirmed": "yes"} if confirmed else {})})
    assert response.status_code == 200
    assert "admin/zoomconnect/send_form.html" in [t.name for t in response.templates]
    assert "Nothing was sent. Please correct the errors below." in response.content.decode()
    assert not Message.objects.exists()
    assert not Batch.objects.exists()
    assert not sms_requests(sim)
    return form_errors(response)


@pytest.mark.parametrize("confirmed", [False, True])
def test_an_invalid_number_refuses_the_whole_send(admin_client, sim, confirmed):
    errors = refused(admin_client, sim, {"numbers": f"{NUMBER}, 12", "body": "hi"}, confirmed=confirmed)
    assert errors == ["'12' is not a valid phone number: too short for country code +27 (ZA)."]


def test_an_opted_out_number_refuses_the_whole_send(admin_client, sim):
    OptOut.objects.create(phone_number=OTHER)
    errors = refused(admin_client, sim, {"numbers": f"{NUMBER}\n{OTHER}", "body": "hi"})
    assert errors == [f"{OTHER} opted out of messages; nothing is sent to it."]


def test_a_text_too_long_is_refused(admin_client, sim):
    errors = refused(admin_client, sim, {"numbers": NUMBER, "body": "x" * 1000})
    assert errors == ["The message needs 7 SMS parts (GSM7, 1000 units); at most 6 are allowed (MAX_PARTS)."]


def test_a_rendered_text_too_long_is_refused_with_its_recipient(admin_client, sim):
    thandi = Contact.objects.create(phone_number=NUMBER, first_name="Thandi")
    long = Contact.objects.create(phone_number=OTHER, first_name="y" * 150)  # the column's width
    welcome = Template.objects.create(name="Welcome", body="Hi" + " {{ first_name }}" * 7)
    errors = refused(admin_client, sim, {"contacts": [thandi.pk, long.pk], "template": welcome.pk})
    assert errors == [
        f"{OTHER}: The message needs 7 SMS parts (GSM7, 1059 units); at most 6 are allowed (MAX_PARTS)."
    ]


def test_an_estimate_above_the_balance_is_refused(admin_client, sim):
    sim.set_balance(1)
    errors = refused(admin_client, sim, {"numbers": f"{NUMBER}, {OTHER}", "body": "hi"})
    assert errors == ["The send is estimated to cost 2.00 credits; the balance is 1."]


def test_with_balance_check_refuse_a_balance_fallen_since_the_preview_refuses_at_sending(admin_client, sim):
    data = {"numbers": f"{NUMBER}, {OTHER}", "body": "hi"}
    with zoomconnect_settings(BALANCE_CHECK="refuse"):
        admin_client.post(FORM, data)  # the preview reads 1000 credits, good for a minute
        sim.set_balance(1)
        errors = refused(admin_client, sim, data, confirmed=True)
    assert errors == [
        "The bulk send of 2 messages is estimated to cost 2.00 credits; the balance is 1. Nothing was queued."
    ]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"body": "hi"}, "send_bulk needs at least one recipient (recipients, contacts or group)."),
        ({"numbers": NUMBER}, "A message needs a body or a template."),
        (
            {"numbers": NUMBER, "body": "hi", "send_at": "2001-01-01T09:00"},
            "The time to send it is already past",
        ),
    ],
)
def test_a_send_that_cannot_work_is_refused(admin_client, sim, data, error):
    errors = refused(admin_client, sim, data)
    assert any(line.startswith(error) for line in errors), errors


def test_many_refusals_are_listed_up_to_a_limit(admin_client, sim):
    numbers = "\n".join(f"{n}" for n in range(10, 70))
    errors = refused(admin_client, sim, {"numbers": f"{NUMBER}\n{numbers}", "body": "hi"})
    assert len(errors) == 51
    assert errors[-1] == "… and 10 more refused."


def test_a_template_and_a_text_together_are_refused(admin_client, sim):
    welcome = Template.objects.create(name="Welcome", body="Hi")
    errors = refused(admin_client, sim, {"numbers": NUMBER, "body": "hi", "template": welcome.pk})
    assert errors == ["Give a body or a template, not both."]


# --- the preview endpoint ------------------------------------------------------------------------


def test_the_preview_says_encoding_parts_ucs2_characters_recipients_and_credits(admin_client, sim):
    OptOut.objects.create(phone_number=THIRD)
    data = {"numbers": f"{NUMBER}, 0821234567, {OTHER}, {THIRD}", "body": "Olá 😀 " + "x" * 70}
    answer = admin_client.post(PREVIEW, data).json()
    assert answer["encoding"] == "UCS2"
    assert answer["parts"] == 2
    assert answer["ucs2_characters"] == ["á", "😀"]
    assert answer["recipients"] == 2
    assert answer["estimated_cost"] == "4.00"
    assert answer["balance"] == 1000.0
    assert answer["can_send"] is False
    assert answer["refusals"] == [f"{THIRD} opted out of messages; nothing is sent to it."]
    lines = answer["lines"]
    assert lines["encoding"] == "UCS-2, 2 parts, 76 characters — UCS-2 because of: á 😀"
    assert lines["recipients"] == "2 messages (4 named: 1 duplicate, 1 opted out)"
    assert lines["credits"].startswith("about 4.00 credits; balance 1000 (read at ")
    assert lines["when"] == "now"
    assert not Message.objects.exists()


def test_n_with_a_tilde_stays_gsm7(admin_client, sim):
    answer = admin_client.post(PREVIEW, {"numbers": NUMBER, "body": "Mañana a las 10 €"}).json()
    assert (answer["encoding"], answer["ucs2_characters"], answer["can_send"]) == ("GSM7", [], True)


def test_the_preview_reads_the_balance_once_a_minute(admin_client, sim):
    for text in ("h", "he", "hel"):
        admin_client.post(PREVIEW, {"numbers": NUMBER, "body": text})
    assert sum(1 for r in sim.requests if r.path.endswith("account/balance")) == 1


def test_the_preview_shows_form_errors_and_answers_only_posts(admin_client, sim):
    response = admin_client.post(PREVIEW, {"numbers": NUMBER, "body": "hi", "send_at": "soon"})
    assert response.status_code == 400
    assert response.json()["refusals"] == ["Send at: Enter a valid date/time."]
    assert admin_client.get(PREVIEW).status_code == 405


def test_the_preview_is_csrf_protected(django_user_model, sim):
    user = django_user_model.objects.create(username="csrf", is_staff=True, is_superuser=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(PREVIEW, {"numbers": NUMBER, "body": "hi"}).status_code == 403


# --- permissions ---------------------------------------------------------------------------------


def staff_client(django_user_model, *codenames):
    Contact.objects.get_or_create(phone_number=NUMBER)  # a list with rows shows its actions
    user = django_user_model.objects.create(username="staff-" + "-".join(codenames), is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


VIEWING = ("view_message", "view_contact", "change_contact")


def test_without_send_message_the_form_and_preview_are_403_and_no_link_or_action(django_user_model, sim):
    client = staff_client(django_user_model, *VIEWING, "add_message")
    assert client.get(FORM).status_code == 403
    assert client.post(FORM, {"numbers": NUMBER, "body": "hi", "confirmed": "yes"}).status_code == 403
    assert client.post(PREVIEW, {"numbers": NUMBER, "body": "hi"}).status_code == 403
    messages = client.get(reverse("admin:zoomconnect_message_changelist"))
    assert messages.status_code == 200
    assert f'href="{FORM}"' not in messages.content.decode()
    assert (
        f'href="{FORM}"' not in client.get(reverse("admin:app_list", args=["zoomconnect"])).content.decode()
    )
    contacts = client.get(reverse("admin:zoomconnect_contact_changelist"))
    assert "send_sms_to_selected" not in contacts.content.decode()
    assert not Message.objects.exists()


def test_send_message_without_add_message_is_not_enough(django_user_model, sim):
    client = staff_client(django_user_model, *VIEWING, "send_message")
    assert client.get(FORM).status_code == 403
    assert client.post(PREVIEW, {"numbers": NUMBER, "body": "hi"}).status_code == 403
    app_index = client.get(reverse("admin:app_list", args=["zoomconnect"])).content.decode()
    assert f'href="{FORM}"' not in app_index


def test_with_both_permissions_a_staff_user_sees_the_links_and_sends(django_user_model, sim):
    client = staff_client(django_user_model, *VIEWING, "add_message", "send_message")
    assert client.get(FORM).status_code == 200
    assert f'href="{FORM}"' in client.get(reverse("admin:zoomconnect_message_changelist")).content.decode()
    assert (
        "send_sms_to_selected" in client.get(reverse("admin:zoomconnect_contact_changelist")).content.decode()
    )
    assert client.post(PREVIEW, {"numbers": NUMBER, "body": "hi"}).json()["can_send"] is True
