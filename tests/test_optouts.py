"""Tests for services/optouts.py: opting out and back in, with a history that lifting never erases."""

import pytest

from django_zoomconnect import phone
from django_zoomconnect.models import Direction, Message, MessageStatus, OptOut, OptOutChange
from django_zoomconnect.services import optouts
from django_zoomconnect.services.outbox import send_sms
from django_zoomconnect.services.reports import Tally
from django_zoomconnect.testing import build_reply_params, signed_post

pytestmark = pytest.mark.django_db

NUMBER = "+27821234567"


def history(number=NUMBER):
    return list(
        OptOutChange.objects.filter(phone_number=number)
        .order_by("pk")
        .values_list("action", "source", "detail")
    )


def test_opt_out_stores_the_number_in_e164_with_its_history():
    message = Message.objects.create(direction=Direction.INBOUND, from_number=NUMBER, body="STOP")
    assert optouts.opt_out("082 123 4567", source="keyword", detail="STOP", message=message) is True
    opt_out = OptOut.objects.get()
    assert (opt_out.phone_number, opt_out.source, opt_out.detail, opt_out.message) == (
        NUMBER,
        "keyword",
        "STOP",
        message,
    )
    assert history() == [("out", "keyword", "STOP")]
    assert OptOutChange.objects.get().message == message


def test_opting_out_twice_changes_and_records_nothing():
    assert optouts.opt_out(NUMBER, source="manual", detail="first") is True
    assert optouts.opt_out(NUMBER, source="keyword", detail="again") is False
    assert OptOut.objects.get().detail == "first"
    assert history() == [("out", "manual", "first")]


def test_opting_back_in_lifts_the_opt_out_and_keeps_the_history():
    optouts.opt_out(NUMBER, source="keyword", detail="STOP")
    assert optouts.opt_in(NUMBER, source="manual", detail="asked again by phone") is True
    assert not OptOut.objects.exists()
    assert history() == [("out", "keyword", "STOP"), ("in", "manual", "asked again by phone")]
    assert optouts.opt_in(NUMBER, source="manual") is False  # not opted out: nothing recorded
    assert len(history()) == 2
    optouts.opt_out(NUMBER, source="report", detail="FAILED_OPTOUT")
    assert [action for action, _, _ in history()] == ["out", "in", "out"]


@pytest.mark.django_db(transaction=True)
def test_a_number_opted_back_in_can_be_sent_to_again(zoomconnect_simulator, settings):
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "SEND_EAGERLY": True, "BALANCE_CHECK": "off"}
    optouts.opt_out(NUMBER, source="manual")
    assert send_sms(NUMBER, "hi").status == MessageStatus.REJECTED
    optouts.opt_in(NUMBER, source="manual")
    assert send_sms(NUMBER, "hi").status == MessageStatus.SENT


def test_a_number_that_does_not_parse_is_kept_as_written():
    assert optouts.opt_out(" 31337 ", source="keyword") is True
    assert OptOut.objects.get().phone_number == "31337"
    assert phone.stored_form("0821234567") == NUMBER
    assert optouts.opt_out("   ", source="keyword") is False
    assert OptOut.objects.count() == 1


def test_an_unknown_source_is_refused():
    with pytest.raises(ValueError, match="source 'admin' is not one of keyword, report, manual"):
        optouts.opt_out(NUMBER, source="admin")
    with pytest.raises(ValueError, match="source"):
        optouts.opt_in(NUMBER, source="")
    assert not OptOut.objects.exists()


def test_many_numbers_at_once_say_what_they_did():
    optouts.opt_out(NUMBER, source="keyword")
    tally = optouts.opt_out_numbers([NUMBER, "+27821234568", "+27821234568"], source="manual", detail="x")
    assert tally.as_dict() == {"opted out": 1, "skipped: already opted out": 1}
    tally = optouts.opt_in_numbers([NUMBER, "+27821234569"], source="manual")
    assert tally.as_dict() == {"opted back in": 1, "skipped: not opted out": 1}
    assert list(OptOut.objects.values_list("phone_number", flat=True)) == ["+27821234568"]


def test_a_tally_reads_in_the_order_it_was_counted():
    tally = Tally()
    tally.add("refreshed", 0)
    tally.skip("not sent yet", 2)
    tally.add("retried", 3)
    tally.skip("inbound", 2)
    tally.skip("being sent", 1)
    assert tally.as_dict() == {
        "retried": 3,
        "skipped: inbound": 2,
        "skipped: not sent yet": 2,
        "skipped: being sent": 1,
    }


# --- the callers: STOP replies, FAILED_OPTOUT reports and polls go through the service ---------


def test_a_stop_reply_opts_out_through_the_service(client):
    params = build_reply_params(NUMBER, " stop ")
    assert signed_post(client, "zoomconnect:reply", params).status_code == 200
    assert history() == [("out", "keyword", "stop")]
    assert OptOutChange.objects.get().message == Message.objects.get(direction=Direction.INBOUND)


# --- opting back in by reply: OPT_IN_KEYWORDS ----------------------------------------------------


def test_a_start_reply_lifts_the_opt_out_and_keeps_the_history(client):
    assert signed_post(client, "zoomconnect:reply", build_reply_params(NUMBER, "STOP")).status_code == 200
    assert OptOut.objects.filter(phone_number=NUMBER).exists()
    assert signed_post(client, "zoomconnect:reply", build_reply_params(NUMBER, " start ")).status_code == 200
    assert not OptOut.objects.exists()
    assert history() == [("out", "keyword", "STOP"), ("in", "keyword", "start")]
    step = OptOutChange.objects.get(action="in")
    assert step.message == Message.objects.get(direction=Direction.INBOUND, body=" start ")


@pytest.mark.parametrize("text", ["UNSTOP", "yes", " Yes "])
def test_every_default_opt_in_keyword_lifts_it(client, text):
    optouts.opt_out(NUMBER, source="manual")
    signed_post(client, "zoomconnect:reply", build_reply_params(NUMBER, text))
    assert not OptOut.objects.exists()


def test_a_start_reply_from_a_number_not_opted_out_records_nothing(client):
    signed_post(client, "zoomconnect:reply", build_reply_params(NUMBER, "START"))
    assert history() == []


def test_only_the_whole_reply_counts_and_the_keywords_are_a_setting(client, settings):
    optouts.opt_out(NUMBER, source="manual")
    signed_post(client, "zoomconnect:reply", build_reply_params(NUMBER, "yes please start again"))
    assert OptOut.objects.exists()
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "OPT_IN_KEYWORDS": ["Subscribe  me"]}
    signed_post(client, "zoomconnect:reply", build_reply_params(NUMBER, "START"))
    assert OptOut.objects.exists()
    signed_post(client, "zoomconnect:reply", build_reply_params(NUMBER, "subscribe me"))
    assert not OptOut.objects.exists()


def test_a_word_in_both_lists_opts_out(client, settings):
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "OPT_IN_KEYWORDS": ["START", "END"]}
    signed_post(client, "zoomconnect:reply", build_reply_params(NUMBER, "END"))
    assert OptOut.objects.exists()
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "OPT_IN_KEYWORDS": []}
    signed_post(client, "zoomconnect:reply", build_reply_params(NUMBER, "START"))
    assert OptOut.objects.exists()


def test_the_opt_in_keywords_are_validated(settings):
    from django_zoomconnect import conf
    from django_zoomconnect.exceptions import ConfigurationError

    assert conf.get("OPT_IN_KEYWORDS") == frozenset({"start", "unstop", "yes"})
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "OPT_IN_KEYWORDS": "START"}
    with pytest.raises(ConfigurationError, match="OPT_IN_KEYWORDS"):
        conf.get("OPT_IN_KEYWORDS")


# --- erased numbers' opt-outs: kept as a keyed hash -----------------------------------------------


def _erased(number=NUMBER, **fields):
    from django.utils import timezone

    from django_zoomconnect.models import ErasedOptOut

    return ErasedOptOut.objects.create(
        digest=optouts.number_digest(number), source="keyword", opted_out_at=timezone.now(), **fields
    )


def test_a_hashed_opt_out_is_honoured_by_every_send(settings):
    _erased()
    assert optouts.opted_out([NUMBER, "+27821234568"]) == {NUMBER}
    assert send_sms("082 123 4567", "hi").status == MessageStatus.REJECTED
    from django_zoomconnect.services.outbox import send_bulk

    batch = send_bulk(recipients=[NUMBER, "+27821234568"], body="hi")
    assert dict(batch.messages.values_list("to_number", "status")) == {
        NUMBER: MessageStatus.REJECTED,
        "+27821234568": MessageStatus.QUEUED,
    }


def test_the_digest_is_keyed_by_the_secret_key_and_its_fallbacks_still_count(settings):
    digest = optouts.number_digest(NUMBER)
    assert len(digest) == 64
    assert NUMBER[1:] not in digest
    _erased()
    settings.SECRET_KEY = "a-new-key"
    assert optouts.number_digest(NUMBER) != digest
    assert optouts.opted_out([NUMBER]) == set()
    settings.SECRET_KEY_FALLBACKS = ["tests-only-not-secret"]
    assert optouts.opted_out([NUMBER]) == {NUMBER}


def test_short_opt_out_lists_are_read_whole_in_a_query_each(django_assert_num_queries):
    optouts.opt_out("+27821234568", source="manual")
    numbers = [f"+2783{n:07d}" for n in range(999)] + [NUMBER, "+27821234568"]
    with django_assert_num_queries(2):  # the opt-outs, and whether any erased one exists
        assert optouts.opted_out(numbers) == {"+27821234568"}
    _erased()
    with django_assert_num_queries(3):  # and the erased ones' digests
        assert optouts.opted_out(numbers) == {NUMBER, "+27821234568"}


def test_opt_out_lists_longer_than_the_numbers_are_searched_a_slice_at_a_time(django_assert_num_queries):
    from django_zoomconnect.models import OptOut

    _erased()
    OptOut.objects.bulk_create(OptOut(phone_number=f"+2784{n:07d}", source="manual") for n in range(1_200))
    numbers = [f"+2784{n:07d}" for n in range(0, 2_002, 2)] + [NUMBER]  # 1,002: every other one listed
    # Each list: its first rows (too many to be the whole of it), then three slices of 500.
    with django_assert_num_queries(1 + 3 + 1 + 1):
        found = optouts.opted_out(numbers)
    assert found == {f"+2784{n:07d}" for n in range(0, 1_200, 2)} | {NUMBER}
    assert optouts.opted_out([NUMBER]) == {NUMBER}  # one number beside 1,200 opt-outs: searched


def test_opting_an_erased_number_back_in_lifts_the_hashed_opt_out(client):
    from django_zoomconnect.models import ErasedOptOut

    _erased()
    signed_post(client, "zoomconnect:reply", build_reply_params(NUMBER, "START"))
    assert not ErasedOptOut.objects.exists()
    assert history() == [("in", "keyword", "START")]
    assert optouts.opted_out([NUMBER]) == set()
