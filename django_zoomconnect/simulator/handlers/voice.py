"""``voice/…``: the provider's beta voice messages (text read out, or an uploaded file), and their shape."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from ..http import Request, SimulatorResponse, deleted, json_response, operation, str_field, when
from ..records import VoiceMessage
from .listing import criteria, page_of, paging
from .resource import Resource

if TYPE_CHECKING:
    from ..core import Simulator


def voice_json(sim: Simulator, v: VoiceMessage) -> dict[str, Any]:
    """A voice message as the provider's ``WebServiceVoiceMessage``."""
    return {
        "voiceMessageId": v.voice_message_id,
        "toNumber": v.to_number,
        "message": v.message,
        "language": v.language,
        "campaign": v.campaign,
        "userDataField": v.data_field,
        "audioFileUrl": v.audio_file_url,
        "messageStatus": v.status,
        "dateTimeSent": when(sim, v.sent_at),
        "deleted": v.deleted,
        "links": [],
    }


def _sent(voice: VoiceMessage) -> SimulatorResponse:
    return json_response(200, {"voiceMessageId": voice.voice_message_id, "error": None})


VOICE: Resource[VoiceMessage] = Resource("Voice message", lambda state: state.voice, voice_json)
get_voice = VOICE.getter("get_voice", "webServiceVoiceMessage")


@operation("webServiceSendVoiceMessageResponse")
def send_voice_text(sim: Simulator, request: Request) -> SimulatorResponse:
    body = request.json_object()
    voice = sim.state.send_voice(
        body.get("recipientNumber"),
        message=str_field(body, "message"),
        language=str_field(body, "language"),
        campaign=body.get("campaign"),
        data_field=body.get("dataField"),
    )
    return _sent(voice)


@operation("webServiceSendVoiceMessageResponse")
def send_voice_audio(sim: Simulator, request: Request) -> SimulatorResponse:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data") or b'name="file"' not in request.body:
        raise ApiError(
            400,
            "An audio file is required",
            developer_message="POST multipart/form-data with a 'file' part",
        )
    query = request.query()
    voice = sim.state.send_voice(
        query.get("recipientNumber"),
        campaign=query.get("campaign"),
        data_field=query.get("dataField"),
        audio=True,
    )
    return _sent(voice)


@operation()
def delete_voice(sim: Simulator, request: Request, voice_id: str) -> SimulatorResponse:
    VOICE.find(sim, voice_id).deleted = True
    return deleted(sim)


@operation("webServiceVoiceMessages")
def list_voice(sim: Simulator, request: Request) -> SimulatorResponse:
    query = request.query()
    page, page_size = paging(query)
    wanted = criteria(
        query,
        ranges=(("fromDateTimeSent", "toDateTimeSent", "sent_at"),),
        numbers=(("toNumber", "to_number"),),
    )
    found = wanted.select(sim.state.voice_order, sim.tz)
    return json_response(200, page_of(found, page, page_size, "messages", lambda v: voice_json(sim, v)))
