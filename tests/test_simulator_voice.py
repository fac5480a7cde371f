"""Tests for simulator/handlers/voice.py: the beta voice messages."""

from __future__ import annotations

from urllib.parse import urlencode

from tests.simulator_calls import AUTH, REST, call, error, ok


def test_voice_text_lifecycle_and_listing(sim):
    body = {
        "recipientNumber": "0821234567",
        "message": "Your order is ready",
        "language": "en",
        "dataField": "v1",
    }
    sent = ok(call(sim, "POST", "voice/single-text", body))
    assert sent["error"] is None
    voice_id = sent["voiceMessageId"]
    assert sim.balance == 999.0
    voice = ok(call(sim, "GET", f"voice/{voice_id}"))
    assert set(voice) == {
        "voiceMessageId", "toNumber", "message", "language", "campaign", "userDataField",
        "audioFileUrl", "messageStatus", "dateTimeSent", "deleted", "links",
    }  # fmt: skip
    assert (voice["messageStatus"], voice["dateTimeSent"]) == ("SCHEDULED", None)
    sim.advance(3)
    assert ok(call(sim, "GET", f"voice/{voice_id}"))["messageStatus"] == "DELIVERED"
    listed = ok(call(sim, "GET", "voice/all", query={"dataField": "v1", "fromDateTimeSent": "20240501"}))
    assert [v["voiceMessageId"] for v in listed["messages"]] == [voice_id]
    assert (listed["totalElements"], listed["totalPages"], listed["page"]) == (1, 1, 1)
    assert ok(call(sim, "GET", "voice/all", query={"status": "FAILED"}))["messages"] == []
    assert call(sim, "DELETE", f"voice/{voice_id}").status == 200
    assert ok(call(sim, "GET", "voice/all", query={"deleted": "true"}))["totalElements"] == 1
    error(call(sim, "GET", "voice/nope"), 404)
    error(call(sim, "POST", "voice/single-text", {"recipientNumber": "1", "message": "x"}), 400, 2)
    error(call(sim, "POST", "voice/single-text", {"recipientNumber": "0821234567"}), 400, 3)


def test_voice_audio_needs_a_file(sim):
    boundary = "XyZ"
    form = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp3"\r\n'
        f"Content-Type: audio/mpeg\r\n\r\nID3...\r\n--{boundary}--\r\n"
    ).encode()
    headers = {**AUTH, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    query = urlencode({"recipientNumber": "+27600000001", "campaign": "calls"})
    response = sim.handle("POST", REST + "voice/single-audio", query, headers, form)
    voice_id = ok(response)["voiceMessageId"]
    sim.advance(3)
    voice = ok(call(sim, "GET", f"voice/{voice_id}"))
    assert voice["messageStatus"] == "FAILED"
    assert voice["audioFileUrl"].startswith("simulator://")
    assert voice["campaign"] == "calls"
    error(sim.handle("POST", REST + "voice/single-audio", query, AUTH, b""), 400)
