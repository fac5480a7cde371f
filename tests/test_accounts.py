"""Several Zoom Connect accounts in one project: settings, rows, sends, sync, webhooks, admin, API."""

import io

import pytest
from django.contrib import admin
from django.core import checks
from django.test import override_settings
from django.urls import include, path, reverse

from django_zoomconnect import conf
from django_zoomconnect.client import ZoomConnectClient
from django_zoomconnect.exceptions import ConfigurationError

# The admin, the REST API and the webhooks, as a project lays them out.
urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/zoomconnect/", include("django_zoomconnect.api.urls")),
    path("zoomconnect/", include("django_zoomconnect.urls")),
]
pytestmark = pytest.mark.urls(__name__)

TWO = {
    "EMAIL": "main@example.com",
    "API_TOKEN": "main-token",
    "WEBHOOK_SECRET": "main-secret",
    "BULK_CHUNK_SIZE": 100,
    "ACCOUNTS": {
        "marketing": {
            "EMAIL": "marketing@example.com",
            "API_TOKEN": "marketing-token",
            "BASE_URL": "https://marketing.example.com/app",
            "WEBHOOK_SECRET": ["new-marketing-secret", "old-marketing-secret"],
        }
    },
}


def route_by_campaign(*, campaign, **kwargs):
    return "marketing" if campaign.startswith("promo") else None


# --- settings ------------------------------------------------------------------------------------


@override_settings(ZOOMCONNECT=TWO)
def test_each_account_reads_its_own_keys_and_shares_the_others():
    assert conf.account_aliases() == ["default", "marketing"]
    assert conf.get("EMAIL") == conf.get("EMAIL", "default") == "main@example.com"
    assert conf.get("EMAIL", "marketing") == "marketing@example.com"
    assert conf.base_url("marketing") == "https://marketing.example.com/app/"
    assert conf.base_url() == "https://www.zoomconnect.com/app/"
    assert conf.webhook_secrets("marketing") == ("new-marketing-secret", "old-marketing-secret")
    assert conf.webhook_secrets() == ("main-secret",)
    # A per-account key an entry leaves out is the top-level one...
    assert conf.get("BULK_CHUNK_SIZE", "marketing") == 100
    # ...and a shared key is the same for every account.
    assert conf.get("SEND_MAX_ATTEMPTS", "marketing") == conf.get("SEND_MAX_ATTEMPTS")


@override_settings(ZOOMCONNECT={**TWO, "ACCOUNTS": {"marketing": {"BASE_URL": "https://m.example.com/"}}})
def test_credentials_are_never_borrowed_from_the_default_account():
    assert conf.get("EMAIL", "marketing") is None
    assert conf.webhook_secrets("marketing") == ()
    with pytest.raises(ConfigurationError, match=r"\['ACCOUNTS'\]\['marketing'\]\['EMAIL'\] is not set"):
        ZoomConnectClient.from_settings(account="marketing")


@override_settings(ZOOMCONNECT=TWO)
def test_an_unknown_alias_is_a_configuration_error_with_a_suggestion():
    with pytest.raises(ConfigurationError, match=r"No Zoom Connect account 'marketting'.*'marketing'"):
        conf.get("EMAIL", "marketting")
    with pytest.raises(ConfigurationError, match="Did you mean 'marketing'"):
        ZoomConnectClient.from_settings(account="marketting")
    with pytest.raises(ConfigurationError):
        conf.account_alias("nobody")


@override_settings(ZOOMCONNECT={"EMAIL": "a@example.com", "API_TOKEN": "t"})
def test_the_flat_form_is_the_single_account_default():
    assert conf.account_aliases() == ["default"]
    assert not conf.has_several_accounts()
    assert ZoomConnectClient.from_settings().account == "default"
    with pytest.raises(ConfigurationError, match="No Zoom Connect account 'marketing'"):
        conf.get("API_TOKEN", "marketing")


@override_settings(ZOOMCONNECT=TWO)
def test_from_settings_builds_the_named_accounts_client():
    client = ZoomConnectClient.from_settings(account="marketing")
    assert (client.account, client.email, client.base_url) == (
        "marketing",
        "marketing@example.com",
        "https://marketing.example.com/app/",
    )


@pytest.mark.parametrize(
    ("accounts", "message"),
    [
        ({"bad alias!": {}}, "alias 'bad alias!'"),
        ({"marketing": {"EMIAL": "x"}}, "did you mean 'EMAIL'"),
        ({"marketing": {"SEND_MAX_ATTEMPTS": 3}}, "not set per account"),
        ({"marketing": "nope"}, "must be a dict of settings"),
    ],
)
def test_a_wrong_accounts_setting_is_reported(accounts, message):
    with override_settings(ZOOMCONNECT={**TWO, "ACCOUNTS": accounts}):
        with pytest.raises(ConfigurationError, match=message):
            conf.account_aliases()
        errors = [
            m for m in checks.run_checks(tags=[checks.Tags.compatibility]) if m.id == "zoomconnect.E004"
        ]
        assert any(message in m.msg for m in errors)


def test_system_checks_run_per_account():
    broken = {
        **TWO,
        "ACCOUNTS": {"marketing": {"EMAIL": "m@example.com", "BASE_URL": "nowhere", "AUTH_METHOD": "query"}},
    }
    with override_settings(ZOOMCONNECT=broken):
        found = {
            (m.id, m.msg.split(" ")[0])
            for m in checks.run_checks(tags=[checks.Tags.compatibility])
            if m.id.startswith("zoomconnect.")
        }
    assert ("zoomconnect.E001", "settings.ZOOMCONNECT['ACCOUNTS']['marketing']['API_TOKEN']") in found
    assert ("zoomconnect.E002", "settings.ZOOMCONNECT['ACCOUNTS']['marketing']['BASE_URL']") in found
    assert ("zoomconnect.W001", "settings.ZOOMCONNECT['ACCOUNTS']['marketing']['WEBHOOK_SECRET']") in found
    assert any(check_id == "zoomconnect.W003" for check_id, _ in found)
    assert not any(text.startswith("settings.ZOOMCONNECT['EMAIL']") for _, text in found)


def test_the_router_picks_an_account_when_the_caller_does_not():
    routed = {**TWO, "ACCOUNT_ROUTER": "tests.test_accounts.route_by_campaign"}
    with override_settings(ZOOMCONNECT=routed):
        assert (
            conf.route_account(None, kind="sms", recipients=["+27821234567"], campaign="promo-1")
            == "marketing"
        )
        assert conf.route_account(None, kind="sms", recipients=[], campaign="invoice") == "default"
        assert conf.route_account("default", kind="sms", recipients=[], campaign="promo-1") == "default"
    with override_settings(ZOOMCONNECT={**TWO, "ACCOUNT_ROUTER": "tests.test_accounts.nothing_here"}):
        assert any(m.id == "zoomconnect.E007" for m in checks.run_checks(tags=[checks.Tags.compatibility]))
        with pytest.raises(ConfigurationError, match="cannot be imported"):
            conf.route_account(None, kind="sms", recipients=[], campaign="")


# --- two accounts on two simulators ----------------------------------------------------------------

NUMBER = "+27821234567"
OTHER = "+27821234568"


@pytest.fixture
def two(zoomconnect_simulators):
    """The ``default`` and ``marketing`` accounts, each on its own in-process simulator."""
    return zoomconnect_simulators


def sent_to(simulator):
    return sorted(message.recipient for message in simulator.messages if message.direction == "OUTBOUND")


@pytest.mark.django_db
def test_each_alias_is_pointed_at_its_own_simulator(two):
    assert set(two) == {"default", "marketing"}
    assert ZoomConnectClient.from_settings().get_balance() == two["default"].balance
    two["marketing"].set_balance(42)
    assert ZoomConnectClient.from_settings(account="marketing").get_balance() == 42
    assert conf.webhook_secrets("marketing") != conf.webhook_secrets("default")


@pytest.mark.django_db
def test_sends_reach_only_their_own_account(two):
    from django_zoomconnect.models import Message, MessageStatus
    from django_zoomconnect.services.outbox import send_bulk, send_sms

    plain = send_sms(NUMBER, "Your invoice")
    promo = send_sms(NUMBER, "Our sale", account="marketing")
    batch = send_bulk(recipients=[NUMBER, OTHER], body="Sale!", account="marketing")
    assert (plain.account, promo.account, batch.account) == ("default", "marketing", "marketing")
    assert set(batch.messages.values_list("account", flat=True)) == {"marketing"}
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 4
    assert [m.message for m in two["default"].messages] == ["Your invoice"]
    assert sorted(m.message for m in two["marketing"].messages) == ["Our sale", "Sale!", "Sale!"]
    # Each account's delivery reports come back to its own URL, signed with its own secret.
    for simulator in two.values():
        simulator.advance(60)
        simulator.flush_webhooks()
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.DELIVERED}
    from django_zoomconnect.models import WebhookEvent

    events = sorted(WebhookEvent.objects.values_list("account", "state"))
    assert events == [("default", "processed")] + [("marketing", "processed")] * 3


@pytest.mark.django_db
def test_the_router_picks_the_account_of_an_unqualified_send(two, settings):
    from django_zoomconnect.services.outbox import send_bulk, send_sms

    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "ACCOUNT_ROUTER": "tests.test_accounts.route_by_campaign"}
    assert send_sms(NUMBER, "Sale", campaign="promo-may").account == "marketing"
    assert send_sms(NUMBER, "Invoice", campaign="billing").account == "default"
    assert send_bulk(recipients=[NUMBER], body="Sale", campaign="promo-june").account == "marketing"
    assert len(two["marketing"].messages) == 2
    assert len(two["default"].messages) == 1


@pytest.mark.django_db
def test_a_contact_of_one_account_is_not_sent_to_through_another(two):
    from django_zoomconnect.exceptions import SendError
    from django_zoomconnect.models import Contact
    from django_zoomconnect.services.outbox import send_sms

    contact = Contact.objects.create(account="marketing", phone_number=NUMBER, sync_state="synced")
    assert send_sms(None, "Hi", contact=contact).account == "marketing"
    with pytest.raises(SendError, match="belongs to the account 'marketing'"):
        send_sms(None, "Hi", contact=contact, account="default")
    with pytest.raises(ConfigurationError, match="Did you mean 'marketing'"):
        send_sms(NUMBER, "Hi", account="marketting")


@pytest.mark.django_db
def test_sync_pulls_each_accounts_contacts_into_rows_tagged_with_it(two):
    from django_zoomconnect.models import Contact, Template
    from django_zoomconnect.services.pull import pull
    from django_zoomconnect.simulator.records import Contact as RemoteContact

    for alias, simulator in two.items():
        # The same remote ids on both accounts: the provider numbers each account on its own.
        simulator.state.contacts["shared-id"] = RemoteContact("shared-id", NUMBER, first_name=alias)
        simulator.state.index_contact(simulator.state.contacts["shared-id"])
        simulator.seed_template(f"{alias} welcome", "Hello", template_id=7)
    ZoomConnectClient.from_settings(account="marketing").create_contact(contact_number=OTHER)
    for alias in two:
        report = pull(kinds=["contacts", "templates"], account=alias)
        assert report.ok, report.errors
    shared = Contact.objects.filter(remote_id="shared-id")
    assert sorted(shared.values_list("account", "phone_number", "first_name")) == [
        ("default", NUMBER, "default"),
        ("marketing", NUMBER, "marketing"),
    ]
    others = Contact.objects.exclude(remote_id="shared-id")
    assert list(others.values_list("account", "phone_number")) == [("marketing", OTHER)]
    templates = sorted(Template.objects.filter(remote_id=7).values_list("account", "name"))
    assert templates == [("default", "default welcome"), ("marketing", "marketing welcome")]
    assert (
        Template.objects.filter(account="marketing").count()
        == Template.objects.filter(account="default").count()
    )
    # A second pull changes nothing: each account compares its own rows only.
    again = pull(kinds=["contacts"], account="marketing")
    assert again.kinds["contacts"].unchanged == 2


@pytest.mark.django_db
def test_each_accounts_webhooks_are_accepted_only_on_its_url_with_its_secret(client, two):
    from django_zoomconnect.models import Message, WebhookEvent
    from django_zoomconnect.testing import build_delivery_report_params, signed_post

    Message.objects.create(account="marketing", to_number=NUMBER, remote_id="m-1", status="SENT")
    Message.objects.create(account="default", to_number=NUMBER, remote_id="m-1", status="SENT")
    marketing_url = reverse("zoomconnect:delivery-report", kwargs={"account": "marketing"})
    default_url = reverse("zoomconnect:delivery-report")
    assert marketing_url == "/zoomconnect/webhooks/marketing/delivery-report/"
    for_marketing = build_delivery_report_params("m-1", "DELIVERED", account="marketing")
    # Signed with marketing's secret: refused on the default account's URL...
    assert signed_post(client, default_url, for_marketing).status_code == 403
    assert not WebhookEvent.objects.exists()
    # ...and accepted on its own, where it updates marketing's message only.
    assert signed_post(client, marketing_url, for_marketing).status_code == 200
    statuses = dict(Message.objects.values_list("account", "status"))
    assert statuses == {"marketing": "DELIVERED", "default": "SENT"}
    assert WebhookEvent.objects.get().account == "marketing"
    # The default account's report is refused on marketing's URL.
    for_default = build_delivery_report_params("m-1", "FAILED")
    assert signed_post(client, marketing_url, for_default).status_code == 403
    assert signed_post(client, default_url, for_default).status_code == 200
    assert dict(Message.objects.values_list("account", "status"))["default"] == "FAILED"
    # An alias that is not configured is no URL at all.
    assert client.post("/zoomconnect/webhooks/nobody/delivery-report/").status_code == 404
    assert client.head("/zoomconnect/webhooks/nobody/reply/").status_code == 404
    assert client.head(marketing_url).status_code == 200


@pytest.mark.django_db
def test_replies_are_stored_under_the_account_that_received_them(two):
    from django_zoomconnect.models import Direction, Message
    from django_zoomconnect.services.outbox import send_sms

    sent = send_sms(NUMBER, "Want the sale?", account="marketing")
    two["marketing"].simulate_inbound(NUMBER, "Yes please", link=True)
    two["marketing"].flush_webhooks()
    reply = Message.objects.get(direction=Direction.INBOUND)
    assert reply.account == "marketing"
    assert reply.in_reply_to_id == sent.pk


@pytest.mark.django_db
def test_signals_carry_the_account(two):
    from django_zoomconnect import signals
    from django_zoomconnect.services.outbox import send_sms

    heard = []

    def listen(signal_name):
        def receiver(sender, account, **kwargs):
            heard.append((signal_name, account))

        return receiver

    receivers = {
        name: listen(name)
        for name in ("pre_send", "post_send", "message_status_changed", "delivery_report_received")
    }
    for name, receiver in receivers.items():
        getattr(signals, name).connect(receiver)
    try:
        send_sms(NUMBER, "Sale", account="marketing")
        two["marketing"].advance(60)
        two["marketing"].flush_webhooks()
    finally:
        for name, receiver in receivers.items():
            getattr(signals, name).disconnect(receiver)
    assert {name for name, _ in heard} == set(receivers)
    assert {account for _, account in heard} == {"marketing"}


# --- the admin and the REST API -------------------------------------------------------------------


def _rows():
    from django_zoomconnect.models import Batch, Contact, Group, Message, Template, WebhookEvent

    for alias in ("default", "marketing"):
        Contact.objects.create(account=alias, phone_number=NUMBER, first_name=alias, sync_state="synced")
        Group.objects.create(account=alias, name=f"{alias} group", sync_state="synced")
        Template.objects.create(account=alias, name=f"{alias} template", body="Hi", remote_id=1)
        batch = Batch.objects.create(account=alias, campaign=alias)
        Message.objects.create(account=alias, to_number=NUMBER, body=alias, batch=batch, remote_id="m-1")
        WebhookEvent.objects.create(account=alias, kind="report", params={}, nonce=f"n-{alias}")


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["contact", "group", "template", "message", "batch", "webhookevent"])
def test_the_admin_filters_every_list_by_account(admin_client, two, model):
    _rows()
    url = reverse(f"admin:zoomconnect_{model}_changelist")
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "?account=marketing" in page.content.decode()
    filtered = admin_client.get(url, {"account": "marketing"})
    assert filtered.status_code == 200
    assert filtered.context["cl"].result_count == 1
    assert {row.account for row in filtered.context["cl"].result_list} == {"marketing"}


@pytest.mark.django_db
def test_the_admin_shows_no_account_filter_with_one_account(admin_client):
    page = admin_client.get(reverse("admin:zoomconnect_message_changelist"))
    assert "?account=" not in page.content.decode()


@pytest.mark.django_db
def test_the_admin_send_form_offers_the_accounts_and_sends_through_the_chosen_one(admin_client, two):
    from django_zoomconnect.models import Message

    url = reverse("admin:zoomconnect_message_send")
    form = admin_client.get(url).context["form"]
    assert [choice for choice, _ in form.fields["account"].choices] == ["default", "marketing"]
    from django_zoomconnect.services.outbox.preview import SendRequest, send_checked

    sent = send_checked(SendRequest(numbers=(NUMBER,), body="Hi", account="marketing"))
    assert Message.objects.get(pk=sent.pk).account == "marketing"
    assert [m.message for m in two["marketing"].messages] == ["Hi"]


@pytest.fixture
def api(admin_user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("resource", ["messages", "contacts", "groups", "templates", "batches"])
def test_the_api_shows_and_filters_by_account(api, two, resource):
    _rows()
    everything = api.get(f"/api/zoomconnect/{resource}/").json()["results"]
    assert sorted(row["account"] for row in everything) == ["default", "marketing"]
    marketing = api.get(f"/api/zoomconnect/{resource}/", {"account": "marketing"}).json()["results"]
    assert [row["account"] for row in marketing] == ["marketing"]
    assert api.get(f"/api/zoomconnect/{resource}/", {"account": "marketting"}).status_code == 400


@pytest.mark.django_db
def test_the_api_sends_through_the_account_asked_for(api, two):
    answer = api.post(
        "/api/zoomconnect/messages/send/", {"to": NUMBER, "body": "Sale", "account": "marketing"}
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["account"] == "marketing"
    bulk = api.post(
        "/api/zoomconnect/messages/bulk/",
        {"recipients": [NUMBER, OTHER], "body": "Sale", "account": "marketing"},
        format="json",
    )
    assert bulk.status_code == 201, bulk.content
    assert bulk.json()["account"] == "marketing"
    assert len(two["marketing"].messages) == 3
    assert not two["default"].messages
    refused = api.post("/api/zoomconnect/messages/send/", {"to": NUMBER, "body": "x", "account": "nobody"})
    assert refused.status_code == 400
    assert "No Zoom Connect account 'nobody'" in refused.json()["account"][0]


@pytest.mark.django_db
def test_erasing_a_number_deletes_its_contact_on_every_account_that_holds_it(two):
    from django_zoomconnect import erase_number
    from django_zoomconnect.models import Contact

    for alias in two:
        made = ZoomConnectClient.from_settings(account=alias).create_contact(contact_number=NUMBER)
        Contact.objects.create(
            account=alias, phone_number=NUMBER, remote_id=made.contact_id, sync_state="synced"
        )
    report = erase_number(NUMBER, delete_remote=True)
    assert (report.remote_contacts, report.remote_error) == (2, "")
    for alias in two:
        assert ZoomConnectClient.from_settings(account=alias).list_contacts() == []
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_the_dashboard_warns_of_each_accounts_low_balance_by_its_own_threshold(two, settings):
    from django_zoomconnect.services import dashboard

    accounts = settings.ZOOMCONNECT["ACCOUNTS"]
    settings.ZOOMCONNECT = {
        **settings.ZOOMCONNECT,
        "LOW_BALANCE_WARNING": 100,
        "ACCOUNTS": {**accounts, "marketing": {**accounts["marketing"], "LOW_BALANCE_WARNING": 1000}},
    }
    from tests.dashboard import no_cached_balance

    two["default"].set_balance(500)
    two["marketing"].set_balance(500)
    with no_cached_balance():
        for alias in two:
            dashboard.refresh_balance(account=alias)
        balances = {b.account: b for b in dashboard.overview().balances}
    assert [balances["default"].low, balances["marketing"].low] == [False, True]


@pytest.mark.django_db
def test_one_accounts_refused_credentials_pause_only_that_account(two, settings):
    from django_zoomconnect.models import Message, MessageStatus, SendingPause
    from django_zoomconnect.services import outbox

    accounts = settings.ZOOMCONNECT["ACCOUNTS"]
    right = accounts["marketing"]
    settings.ZOOMCONNECT = {
        **settings.ZOOMCONNECT,
        "ACCOUNTS": {**accounts, "marketing": {**right, "API_TOKEN": "revoked"}},
    }
    refused = outbox.send_sms(NUMBER, "Our sale", account="marketing")
    assert Message.objects.get(pk=refused.pk).status == MessageStatus.QUEUED
    assert list(SendingPause.objects.values_list("account", flat=True)) == ["marketing"]
    assert (outbox.is_paused("marketing"), outbox.is_paused("default"), outbox.is_paused()) == (
        True,
        False,
        True,
    )
    # The default account sends on, and its balance check lifts no other account's pause.
    invoice = outbox.send_sms(NUMBER, "Your invoice")
    assert Message.objects.get(pk=invoice.pk).status == MessageStatus.SENT
    outbox.check_balance()
    assert outbox.is_paused("marketing")
    assert outbox.dispatch_due() == 0  # the marketing message waits for its credentials
    assert two["marketing"].messages == []
    # Fixed: the marketing account's own balance check lifts its pause and sends what waited.
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "ACCOUNTS": {**accounts, "marketing": right}}
    outbox.check_balance(account="marketing")
    assert not SendingPause.objects.exists()
    assert Message.objects.get(pk=refused.pk).status == MessageStatus.SENT
    assert [m.message for m in two["marketing"].messages] == ["Our sale"]


@pytest.mark.django_db
def test_resume_names_each_paused_account_and_can_resume_one(two):
    from django.core.management import call_command

    from django_zoomconnect.models import SendingPause
    from django_zoomconnect.services import outbox

    outbox.pause_sending("refused (401)", "marketing")
    outbox.pause_sending("refused (403)", "default")
    out = io.StringIO()
    call_command("zoomconnect_send", "--resume", "--account", "marketing", stdout=out)
    assert "paused: marketing: refused (401)" in out.getvalue()
    assert list(SendingPause.objects.values_list("account", flat=True)) == ["default"]
    assert outbox.dispatch_due() == 0  # nothing queued; and the default account is still paused
    call_command("zoomconnect_send", "--resume", stdout=out)
    assert not SendingPause.objects.exists()


@pytest.mark.django_db
def test_the_admin_creates_a_contact_on_the_account_chosen_and_never_moves_it(admin_client, two, pushed):
    from django_zoomconnect.models import Contact
    from tests.test_admin import membership_forms

    form = admin_client.get(reverse("admin:zoomconnect_contact_add")).context["adminform"].form
    assert [value for value, _ in form.fields["account"].choices] == ["default", "marketing"]
    data = {"account": "marketing", "phone_number": "082 123 4567", "first_name": "Thandi"}
    with pushed():
        response = admin_client.post(reverse("admin:zoomconnect_contact_add"), {**data, **membership_forms()})
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert (contact.account, contact.sync_state) == ("marketing", "synced")
    assert contact.remote_id in two["marketing"].state.contacts
    assert contact.remote_id not in two["default"].state.contacts
    change = admin_client.get(reverse("admin:zoomconnect_contact_change", args=[contact.pk]))
    assert "account" not in change.context["adminform"].form.fields  # shown read-only


@pytest.mark.django_db
def test_a_contact_joins_only_a_group_of_its_own_account(admin_client, two):
    from django.core.exceptions import ValidationError

    from django_zoomconnect.models import Contact, Group, Membership
    from django_zoomconnect.services import contacts
    from tests.test_admin import membership_forms

    contact = Contact.objects.create(account="marketing", phone_number=NUMBER, sync_state="synced")
    group = Group.objects.create(account="default", name="Staff", sync_state="synced")
    with pytest.raises(ValidationError, match="cannot join"):
        contacts.add_to_group(contact, group, push=False)
    data = {"phone_number": NUMBER, "first_name": "", "last_name": "", "title": ""}
    url = reverse("admin:zoomconnect_contact_change", args=[contact.pk])
    response = admin_client.post(url, {**data, **membership_forms(group.pk)})
    assert response.status_code == 200  # the form again, with the error
    assert "cannot join" in response.content.decode()
    assert not Membership.objects.exists()
