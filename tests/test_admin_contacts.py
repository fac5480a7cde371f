"""Tests for admin/contacts.py's opt-outs: opting contacts out and back in (confirmed, with their
permissions), the opt-out list through services.optouts, and the read-only opt-out history."""

import pytest
from django.urls import reverse

from django_zoomconnect.models import Contact, OptOut, OptOutChange
from django_zoomconnect.services import optouts
from tests.admin_actions import choose, confirm, offered, staff_user

pytestmark = pytest.mark.django_db

THANDI = "+27821234567"
SIPHO = "+27821234568"
CONTACTS = "admin:zoomconnect_contact_changelist"
OPT_OUTS = "admin:zoomconnect_optout_changelist"


@pytest.fixture
def people():
    return [
        Contact.objects.create(phone_number=THANDI, first_name="Thandi"),
        Contact.objects.create(phone_number=SIPHO, first_name="Sipho"),
    ]


def history():
    return list(OptOutChange.objects.order_by("pk").values_list("phone_number", "action", "source", "detail"))


def test_opting_contacts_out_asks_first_and_keeps_who_did_it(admin_client, people):
    optouts.opt_out(SIPHO, source="keyword", detail="STOP")
    asked = choose(admin_client, CONTACTS, "opt_out_selected", [c.pk for c in people])
    assert "Stop sending SMS to these contacts" in asked.text
    assert not OptOut.objects.filter(phone_number=THANDI).exists()  # nothing before yes

    _, shown = confirm(admin_client, CONTACTS, "opt_out_selected", [c.pk for c in people])

    assert shown == ["Opt the selected contacts out: 1 opted out, 1 skipped: already opted out."]
    assert OptOut.objects.get(phone_number=THANDI).source == "manual"
    assert history()[-1] == (THANDI, "out", "manual", "by admin in the admin")


def test_opting_contacts_back_in_lifts_the_opt_out_and_keeps_the_history(admin_client, people):
    optouts.opt_out(THANDI, source="keyword", detail="STOP")
    _, shown = confirm(admin_client, CONTACTS, "opt_in_selected", [c.pk for c in people])
    assert shown == ["Opt the selected numbers back in: 1 opted back in, 1 skipped: not opted out."]
    assert not OptOut.objects.exists()
    assert history() == [
        (THANDI, "out", "keyword", "STOP"),
        (THANDI, "in", "manual", "by admin in the admin"),
    ]


def test_the_contact_list_and_page_show_the_opt_out(admin_client, people):
    optouts.opt_out(THANDI, source="keyword", detail="STOP")
    response = admin_client.get(reverse(CONTACTS))
    flags = {c.phone_number: c.is_opted_out for c in response.context["cl"].result_list}
    assert flags == {THANDI: True, SIPHO: False}
    html = admin_client.get(reverse("admin:zoomconnect_contact_change", args=[people[0].pk])).text
    assert "Opted out since" in html
    assert "(Opt-out keyword in a reply: STOP)" in html
    assert f"{reverse('admin:zoomconnect_optoutchange_changelist')}?phone_number=%2B27821234567" in html


def test_the_opt_out_list_adds_and_lifts_through_the_service(admin_client):
    response = admin_client.post(
        reverse("admin:zoomconnect_optout_add"), {"phone_number": "082 123 4567", "detail": "asked by phone"}
    )
    assert response.status_code == 302
    opt_out = OptOut.objects.get()
    assert history() == [(THANDI, "out", "manual", "asked by phone")]
    page = admin_client.get(reverse("admin:zoomconnect_optout_change", args=[opt_out.pk])).text
    assert 'name="phone_number"' not in page  # another number is another opt-out
    _, shown = confirm(admin_client, OPT_OUTS, "opt_in_selected", [opt_out.pk])
    assert shown == ["Opt the selected numbers back in: 1 opted back in."]
    optouts.opt_out(SIPHO, source="report", detail="FAILED_OPTOUT")
    admin_client.post(
        reverse("admin:zoomconnect_optout_delete", args=[OptOut.objects.get().pk]), {"post": "yes"}
    )
    assert not OptOut.objects.exists()
    assert [(number, action) for number, action, _, _ in history()] == [
        (THANDI, "out"),
        (THANDI, "in"),
        (SIPHO, "out"),
        (SIPHO, "in"),
    ]


def test_the_history_is_read_only(admin_client):
    optouts.opt_out(THANDI, source="keyword", detail="STOP")
    change = OptOutChange.objects.get()
    listed = admin_client.get(reverse("admin:zoomconnect_optoutchange_changelist"), {"phone_number": THANDI})
    assert list(listed.context["cl"].result_list) == [change]
    assert admin_client.get(reverse("admin:zoomconnect_optoutchange_add")).status_code == 403
    url = reverse("admin:zoomconnect_optoutchange_change", args=[change.pk])
    assert admin_client.post(url, {"detail": "rewritten"}).status_code == 403
    assert (
        admin_client.post(reverse("admin:zoomconnect_optoutchange_delete", args=[change.pk])).status_code
        == 403
    )


def test_opt_out_actions_ask_for_their_permissions(client, django_user_model, people):
    grant = staff_user(client, django_user_model)
    mine = {"pull_from_zoomconnect", "push_to_zoomconnect"}
    assert offered(grant("view_contact"), CONTACTS) == set()
    assert offered(grant("view_contact", "add_optout", "delete_optout"), CONTACTS) == set()
    assert offered(grant("view_contact", "change_contact"), CONTACTS) == mine
    out = grant("view_contact", "change_contact", "add_optout")
    assert offered(out, CONTACTS) == {*mine, "opt_out_selected"}
    back_in = grant("view_contact", "change_contact", "delete_optout")
    assert offered(back_in, CONTACTS) == {*mine, "opt_in_selected"}
    assert choose(client, CONTACTS, "opt_out_selected", [people[0].pk], post="yes").status_code == 302
    assert not OptOut.objects.exists()


# --- erasing people ------------------------------------------------------------------------------


def test_erasing_contacts_asks_first_then_erases_every_trace(admin_client, people):
    from django_zoomconnect.models import ErasedOptOut, Message

    optouts.opt_out(THANDI, source="keyword", detail="STOP")
    Message.objects.create(to_number=THANDI, body="hello Thandi", status="DELIVERED")
    asked = choose(admin_client, CONTACTS, "erase_selected", [people[0].pk])
    assert "This cannot be undone" in asked.text
    assert Contact.objects.filter(phone_number=THANDI).exists()  # nothing before yes

    _, shown = confirm(admin_client, CONTACTS, "erase_selected", [people[0].pk])

    assert shown == ["Erase the selected people's numbers everywhere: 1 erased, 1 messages anonymised."]
    assert not Contact.objects.filter(phone_number=THANDI).exists()
    assert Contact.objects.filter(phone_number=SIPHO).exists()
    assert Message.objects.get().body == ""
    assert ErasedOptOut.objects.count() == 1
    assert not OptOutChange.objects.exists()


def test_erasing_asks_for_the_delete_permission(client, django_user_model, people):
    grant = staff_user(client, django_user_model)
    assert "erase_selected" not in offered(grant("view_contact", "change_contact"), CONTACTS)
    assert "erase_selected" in offered(grant("view_contact", "delete_contact"), CONTACTS)
