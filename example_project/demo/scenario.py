"""Seeding the demo account, and the scripted scenario (``demo --once``): what to send, and what must follow.

Every step starts something the way a user would (the REST API, ``send_sms``, ``send_bulk``,
the simulator's control API) and then only watches the database: the statuses must get where
they should through the real path (Celery worker, simulator, signed webhooks, the web server).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import requests
from django.urls import reverse
from django.utils import timezone
from django_zoomconnect import send_bulk, send_sms
from django_zoomconnect.client import ZoomConnectClient
from django_zoomconnect.models import Batch, Contact, Direction, Group, Message, OptOut, Template
from django_zoomconnect.services import contacts
from django_zoomconnect.services.pull import pull
from django_zoomconnect.services.reports import SyncReport
from django_zoomconnect.simulator import Simulator

from .data import AYESHA, CONTACTS, FAILS, GROUPS, REPLIES, SIPHO, TEMPLATES, THANDI


def seed(simulator: Simulator, client: ZoomConnectClient) -> SyncReport:
    """Create the demo's contacts, groups and templates on the (simulated) account, then pull them.

    Group members cannot be pulled (no operation lists them), so they are added from this side,
    through the contacts service as an app would, and pushed to the account.
    """
    for title, first_name, last_name, number in CONTACTS:
        client.create_contact(contact_number=number, title=title, first_name=first_name, last_name=last_name)
    for name in GROUPS:
        client.create_group(name)
    for name, body in TEMPLATES.items():
        simulator.seed_template(name, body)
    report = pull(kinds=("groups", "contacts", "templates"), client=client)
    add_members()
    return report


def add_members() -> None:
    """Put the demo's contacts in their groups, here and on the account (pushed at once)."""
    for name, numbers in GROUPS.items():
        group = Group.objects.get(name=name, remote_id__isnull=False)
        for contact in Contact.objects.filter(phone_number__in=numbers):
            contacts.add_to_group(contact, group)


# --- the scenario ---------------------------------------------------------------------------------


@dataclass
class Step:
    """One thing the scenario did, what it should end as, and how to look at it now."""

    name: str
    expected: str
    observe: Callable[[], str]
    actual: str = "(not started)"

    @property
    def ok(self) -> bool:
        return self.actual == self.expected


@dataclass
class Scenario:
    """The scripted run: starts every step, then waits until each reaches its expected state."""

    web_url: str
    control_url: str
    username: str
    password: str
    steps: list[Step] = field(default_factory=list)

    def run(self, *, timeout: float, poll: float = 0.25, progress: Callable[[str], None] = print) -> bool:
        deadline = time.monotonic() + timeout
        progress("Scenario: a send through the REST API, a scheduled send, a failure, an automatic reply,")
        progress(
            "a STOP reply (opt-out), then a bulk send to a group, a send to the opted-out number and a "
            "send through the second account (marketing)."
        )
        self._first_wave()
        progress("Waiting for the opt-out to arrive (a signed webhook from the simulator)...")
        if not self._wait(lambda: OptOut.objects.filter(phone_number=AYESHA).exists(), deadline, poll):
            self.steps.append(Step("opt-out (STOP reply)", "opted out", lambda: "no opt-out recorded"))
            self.observe()
            return False
        self._second_wave()
        progress(f"Waiting for {len(self.steps)} steps to reach their final state (at most {timeout:g} s)...")
        self._wait(lambda: all(step.ok for step in self.observe()), deadline, poll)
        return all(step.ok for step in self.observe())

    def observe(self) -> list[Step]:
        for step in self.steps:
            step.actual = step.observe()
        return self.steps

    @staticmethod
    def _wait(condition: Callable[[], bool], deadline: float, poll: float) -> bool:
        while True:
            if condition():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)

    # -- the steps

    def _first_wave(self) -> None:
        pages = ("/", "/admin/login/", "/api/zoomconnect/")
        self.steps.append(Step("start page, admin, API root", "200 200 200", self._pages_answer(pages)))
        console = (reverse("admin:zoomconnect_message_send"), reverse("admin:zoomconnect_dashboard"))
        answer = self._admin_pages_answer(console)
        self.steps.append(Step("send form, dashboard (logged in)", "200 200", answer))

        thandi = self._send_through_api(THANDI, "Hello from the django-zoomconnect demo!")
        self.steps.append(Step("send through the REST API", "DELIVERED", status_of(thandi)))

        when = timezone.now() + timedelta(seconds=3)
        sipho = send_sms(SIPHO, "Your appointment is in 3 seconds.", send_at=when, campaign="reminders")
        self.steps.append(Step("scheduled send (+3 s)", "DELIVERED, on time", scheduled_status_of(sipho.pk)))

        failing = send_sms(FAILS, "This one fails (a magic number).")
        self.steps.append(Step("failure (magic number)", "FAILED", status_of(failing.pk)))

        asking = send_sms(REPLIES, "Are you coming tonight?")
        self.steps.append(
            Step("automatic reply (magic number)", "DELIVERED, reply stored", replied_to(asking.pk))
        )

        # A person answers STOP: the simulator's control API makes the inbound SMS and its webhook.
        self._simulate_reply(AYESHA, "STOP")
        self.steps.append(Step("STOP reply", "opted out", opted_out(AYESHA)))

    def _second_wave(self) -> None:
        customers = Group.objects.get(name="Customers", remote_id__isnull=False)
        welcome = Template.objects.get(name="Welcome")
        batch = send_bulk(group=customers, template=welcome, context={"shop": "Acme"}, campaign="welcome")
        self.steps.append(
            Step("bulk send to a group (template)", "done: 2 DELIVERED, 1 REJECTED", batch_state(batch.pk))
        )
        after = send_sms(AYESHA, "Are you still there?")
        self.steps.append(Step("send to the opted-out number", "REJECTED", status_of(after.pk)))
        # The second account: its own simulator, credentials, webhook URL and secret.
        promo = self._send_through_api(THANDI, "Our sale starts today", account="marketing")
        self.steps.append(
            Step("send through the marketing account", "DELIVERED on marketing", on_account(promo))
        )

    def _send_through_api(self, to: str, body: str, account: str | None = None) -> int:
        response = requests.post(
            f"{self.web_url}/api/zoomconnect/messages/send/",
            json={"to": to, "body": body, "campaign": "demo", **({"account": account} if account else {})},
            auth=(self.username, self.password),
            timeout=30,
        )
        if response.status_code != 201:
            raise RuntimeError(f"the REST API answered {response.status_code}: {response.text[:500]}")
        message_id: int = response.json()["id"]
        return message_id

    def _pages_answer(self, paths: tuple[str, ...]) -> Callable[[], str]:
        """The status of each page, asked once (a page does not change while the steps run)."""
        auth = (self.username, self.password)
        codes = [requests.get(self.web_url + path, auth=auth, timeout=30).status_code for path in paths]
        answer = " ".join(map(str, codes))
        return lambda: answer

    def _admin_pages_answer(self, paths: tuple[str, ...]) -> Callable[[], str]:
        """The status of each admin page for the demo's operator, logged in as a person would be."""
        browser = requests.Session()
        login = f"{self.web_url}/admin/login/"
        browser.get(login, timeout=30)
        form = {
            "username": self.username,
            "password": self.password,
            "csrfmiddlewaretoken": browser.cookies.get("csrftoken", ""),
            "next": "/admin/",
        }
        browser.post(login, data=form, headers={"Referer": login}, timeout=30)
        answer = " ".join(str(browser.get(self.web_url + path, timeout=30).status_code) for path in paths)
        return lambda: answer

    def _simulate_reply(self, number: str, text: str) -> None:
        response = requests.post(
            f"{self.control_url}inbound", json={"from": number, "message": text}, timeout=30
        )
        response.raise_for_status()


# --- what to look at ------------------------------------------------------------------------------


def status_of(pk: int) -> Callable[[], str]:
    return lambda: str(Message.objects.values_list("status", flat=True).get(pk=pk))


def on_account(pk: int) -> Callable[[], str]:
    def observe() -> str:
        status, account = Message.objects.values_list("status", "account").get(pk=pk)
        return f"{status} on {account}"

    return observe


def scheduled_status_of(pk: int) -> Callable[[], str]:
    def observe() -> str:
        message = Message.objects.get(pk=pk)
        if message.sent_at is None or message.scheduled_at is None:
            return str(message.status)
        timing = "on time" if message.sent_at >= message.scheduled_at else "sent early"
        return f"{message.status}, {timing}"

    return observe


def replied_to(pk: int) -> Callable[[], str]:
    def observe() -> str:
        status = Message.objects.values_list("status", flat=True).get(pk=pk)
        reply = Message.objects.filter(direction=Direction.INBOUND, in_reply_to_id=pk).first()
        return f"{status}, reply stored" if reply else f"{status}, no reply yet"

    return observe


def opted_out(number: str) -> Callable[[], str]:
    return lambda: "opted out" if OptOut.objects.filter(phone_number=number).exists() else "not opted out"


def batch_state(pk: int) -> Callable[[], str]:
    def observe() -> str:
        batch = Batch.objects.get(pk=pk)
        counts: dict[str, int] = {}
        for status in batch.messages.values_list("status", flat=True):
            counts[status] = counts.get(status, 0) + 1
        listed = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
        return f"{batch.status}: {listed}"

    return observe


def table(steps: list[Step]) -> str:
    """The summary: one line per step, expected against actual."""
    rows = [("#", "step", "expected", "actual", "")]
    rows += [
        (str(i), s.name, s.expected, s.actual, "ok" if s.ok else "FAILED") for i, s in enumerate(steps, 1)
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
