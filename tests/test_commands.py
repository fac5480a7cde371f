"""Tests for the management commands: ``zoomconnect_sync`` (push, pull, dry run, progress, errors)."""

import io
import json
import logging

import pytest
from django.core.management import CommandError, call_command

from django_zoomconnect.management.commands.zoomconnect_sync import Command, ProgressBar
from django_zoomconnect.models import Contact, Group, Message, SyncState
from django_zoomconnect.simulator.records import Contact as SimContact
from tests.outbox import zoomconnect_settings

UNREACHABLE = (
    "Could not reach Zoom Connect at http://simulator.zoomconnect.invalid/app/: connection refused. "
    "Is BASE_URL right, and is the service up?"
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim(zoomconnect_simulator):
    for i in range(3):
        contact = SimContact(contact_id=f"c{i}", contact_number=f"+2782000000{i}", first_name=f"N{i}")
        zoomconnect_simulator.state.contacts[contact.contact_id] = contact
        zoomconnect_simulator.state.index_contact(contact)
    zoomconnect_simulator.state.send("+27820000001", "Hello")
    zoomconnect_simulator.advance(10)
    return zoomconnect_simulator


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("zoomconnect_sync", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_sync_pushes_then_pulls_and_prints_both_tables(sim):
    Contact.objects.create(phone_number="+27829999999", first_name="Local")

    out, err = run()

    lines = out.splitlines()
    assert lines[0] == "Pushed to Zoom Connect"
    assert lines[1].split() == ["created", "updated", "unchanged"]
    assert lines[3].split() == ["contacts", "1", "0", "0"]
    pulled = lines.index("Pulled from Zoom Connect")
    table = {line.split()[0]: line.split()[1:] for line in lines[pulled + 2 :]}
    assert table["contacts"] == ["3", "0", "1"]  # the pushed one is already in step
    assert table["templates"] == ["3", "0", "0"]
    assert table["messages"] == ["1", "0", "0"]
    assert err == ""  # not a terminal: no progress bar
    assert Contact.objects.filter(sync_state=SyncState.SYNCED).count() == 4
    assert Message.objects.count() == 1


def test_kinds_since_until_and_no_push(sim):
    Contact.objects.create(phone_number="+27829999999")

    out, _ = run(
        "--kinds", "contacts,messages", "--since", "2020-01-02", "--until", "2099-12-31", "--no-push"
    )

    assert "Pushed" not in out
    assert "templates" not in out
    assert Contact.objects.filter(sync_state=SyncState.PENDING).count() == 1
    queries = [r.query for r in sim.requests if r.path.endswith("messages/all")]
    assert all("20200102" in q and "20991231" in q for q in queries)


def test_no_pull_only_pushes(sim):
    Group.objects.create(name="Team")
    out, _ = run("--no-pull")
    assert "Pulled" not in out
    assert Group.objects.get().sync_state == SyncState.SYNCED
    assert not any(r.path.endswith("contacts/all") for r in sim.requests)


def test_a_dry_run_writes_nothing_anywhere(sim):
    Contact.objects.create(phone_number="+27829999999")

    out, _ = run("--dry-run")

    assert "Would push: 0 groups, 1 contacts, 0 memberships (dry run: nothing was pushed)." in out
    assert "Pulled from Zoom Connect (dry run: nothing was written)" in out
    assert Contact.objects.count() == 1
    assert len(sim.state.contacts) == 3
    assert all(r.method == "GET" for r in sim.requests)


def test_skipped_remote_contacts_are_listed(sim):
    sim.state.contacts["bad"] = SimContact(contact_id="bad", contact_number="12")
    out, _ = run("--kinds", "contacts", "--no-push")
    assert "skipped" in out.splitlines()[1]
    assert "  contacts bad: '12' is not a valid phone number" in out


def test_a_failing_kind_exits_with_an_error_after_printing(sim):
    sim.inject_fault("503", path="groups/all")
    with pytest.raises(CommandError, match=r"groups: .*503"):
        run("--kinds", "groups,contacts", "--no-push")
    assert Contact.objects.count() == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kinds", "contacts,voice"], "--kinds: choose among"),
        (["--since", "31/01/2026"], "is not a date"),
        (["--since", "2026-02-01", "--until", "2026-01-01"], "--since must not be after --until"),
        (["--no-push", "--no-pull"], "leave nothing to do"),
        (["--page-size", "0"], "--page-size: .0. is not a whole number of 1 or more"),
    ],
)
def test_bad_options_are_refused(sim, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert sim.requests == []


def test_missing_settings_are_a_command_error(settings):
    settings.ZOOMCONNECT = {}
    with pytest.raises(CommandError, match="EMAIL"):
        run()


def test_an_unreachable_provider_stops_the_pull_and_is_said_once(sim):
    sim.inject_fault("refuse", count=10)
    with pytest.raises(CommandError) as caught:
        run("--no-push")
    assert str(caught.value) == UNREACHABLE
    assert sim.counters()["faults.refuse"] == 1  # groups only: the other kinds would meet it too
    assert Contact.objects.count() == 0


def test_an_unreachable_provider_stops_the_push_and_there_is_no_pull(sim):
    Contact.objects.create(phone_number="+27829999999")
    sim.inject_fault("refuse", count=10)
    with pytest.raises(CommandError) as caught:
        run()
    assert str(caught.value) == UNREACHABLE
    assert sim.counters()["faults.refuse"] == 1
    assert Contact.objects.get().sync_state != SyncState.SYNCED


def test_refused_credentials_are_said_once_with_a_hint(sim):
    with zoomconnect_settings(API_TOKEN="wrong-token"), pytest.raises(CommandError) as caught:
        run("--no-push")
    assert str(caught.value) == (
        "Zoom Connect refused the credentials (401): check ZOOMCONNECT['EMAIL'] and ['API_TOKEN']."
    )
    assert [r.status for r in sim.requests] == [401]


def test_the_services_warnings_are_held_back_unless_verbosity_2(sim, caplog):
    caplog.set_level(logging.WARNING, logger="django_zoomconnect")
    sim.inject_fault("refuse", count=10)
    with pytest.raises(CommandError):
        run("--no-push")
    assert caplog.records == []
    sim.inject_fault("refuse", count=10)
    with pytest.raises(CommandError):
        run("--no-push", "-v", "2")
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        "Pulling groups from Zoom Connect failed"
    ]


def test_quiet_prints_nothing_but_errors(sim):
    Contact.objects.create(phone_number="+27829999999")
    err = _Terminal()
    out = io.StringIO()
    call_command("zoomconnect_sync", "--quiet", stdout=out, stderr=err)
    assert (out.getvalue(), err.getvalue()) == ("", "")  # no tables, no progress bar
    assert Contact.objects.filter(sync_state=SyncState.SYNCED).count() == 4

    sim.inject_fault("503", path="groups/all")
    with pytest.raises(CommandError, match=r"groups: .*503"):
        call_command("zoomconnect_sync", "--quiet", stdout=out, stderr=err)
    assert out.getvalue() == ""


def test_json_is_one_object_with_both_reports(sim):
    Contact.objects.create(phone_number="+27829999999")
    out, err = run("--json", "--kinds", "contacts")
    result = json.loads(out)
    assert out.count("\n") == 1
    assert result["ok"] is True
    assert result["error"] is None
    assert result["push"]["kinds"]["contacts"]["created"] == 1
    assert result["pull"]["kinds"] == {"contacts": result["pull"]["kinds"]["contacts"]}
    assert result["pull"]["kinds"]["contacts"]["created"] == 3
    assert err == ""


def test_json_of_a_dry_run_and_of_a_failure(sim):
    out, _ = run("--json", "--dry-run", "--no-pull")
    assert json.loads(out) == {
        "ok": True,
        "dry_run": True,
        "would_push": {"groups": 0, "contacts": 0, "memberships": 0},
        "push": None,
        "pull": None,
        "error": None,
    }
    sim.inject_fault("refuse", count=10)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="Could not reach"):
        call_command("zoomconnect_sync", "--json", "--no-push", stdout=out, stderr=err)
    result = json.loads(out.getvalue())
    assert result["ok"] is False
    assert result["error"] == UNREACHABLE
    assert list(result["pull"]["errors"]) == ["groups"]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_in_the_terminals_own_colour_and_redrawn_in_place(sim):
    # A command built as manage.py builds it, on a colour terminal: its errors are red...
    err = _Terminal()
    command = Command(stdout=io.StringIO(), stderr=err, force_color=True)
    assert command.stderr.style_func("x") != "x"
    call_command(command, "--no-push", "--kinds", "contacts,templates")
    # ... but progress is not an error: no colour codes, each kind one line redrawn with \r.
    drawn = err.getvalue()
    assert "\x1b[" not in drawn
    lines = drawn.split("\n")
    assert lines[0].startswith("\rcontacts   [")
    assert lines[0].endswith("] 3/3 100%")
    assert lines[1].startswith("\rtemplates  [")
    assert lines[1].endswith("] 3/3 100%")
    assert lines[2:] == [""]


def test_the_progress_bar_is_drawn_on_a_terminal(sim):
    err = _Terminal()
    call_command(
        "zoomconnect_sync", "--no-push", "--kinds", "contacts,messages", stdout=io.StringIO(), stderr=err
    )
    drawn = err.getvalue()
    assert "\rcontacts   [" in drawn
    assert "3/3 100%" in drawn
    assert "\rmessages   [" in drawn
    assert drawn.endswith("\n")

    err = _Terminal()
    call_command("zoomconnect_sync", "--no-push", "--no-progress", stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == ""


def test_progress_bar_rendering():
    stream = io.StringIO()
    bar = ProgressBar(stream, width=10, interval=0)
    bar("contacts", 5, 10)
    bar("messages", 3, None)
    bar.close()
    assert stream.getvalue() == "\rcontacts   [#####-----] 5/10  50%\n\rmessages   3\n"
