"""Tests for the management commands: ``zoomconnect_sync`` (push, pull, dry run, progress, errors)."""

import io

import pytest
from django.core.management import CommandError, call_command

from django_zoomconnect.management.commands.zoomconnect_sync import ProgressBar
from django_zoomconnect.models import Contact, Group, Message, SyncState
from django_zoomconnect.simulator.state import Contact as SimContact

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
        (["--page-size", "0"], "--page-size must be at least 1"),
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


class _Terminal(io.StringIO):
    def isatty(self):
        return True


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
