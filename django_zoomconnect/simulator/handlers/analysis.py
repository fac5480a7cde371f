"""``messages/analyse/…``: a text's encoding, length, parts and cost, without sending it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...segments import SegmentInfo
from ..errors import invalid_number
from ..http import Operation, Request, SimulatorResponse, json_response, operation
from ..records import MAX_PARTS, analyse_text, normalize_number

if TYPE_CHECKING:
    from ..core import Simulator


def _analysed(request: Request, *, check_number: bool) -> tuple[str, SegmentInfo]:
    body = request.json_object()
    text = body.get("message")
    text = "" if text is None else str(text)
    number = body.get("recipientNumber")
    if check_number and number not in (None, "") and normalize_number(number) is None:
        raise invalid_number(number)
    return text, analyse_text(text)


def _units(char: str, encoding: str) -> int:
    if encoding == "GSM7":
        return analyse_text(char).length
    return len(char.encode("utf-16-le", "surrogatepass")) // 2


@operation("webServiceAnalyseMessageResponse")
def analyse_full(sim: Simulator, request: Request) -> SimulatorResponse:
    text, info = _analysed(request, check_number=True)
    return json_response(
        200,
        {
            "messageLength": info.length,
            "numberOfMessages": info.parts,
            "messageEncoding": info.encoding,
            "messageCreditCost": info.parts * sim.state.credits_per_part,
            "messageLengthWithinMaximumAllowed": info.parts <= MAX_PARTS,
            "characterAnalysis": [[char, _units(char, info.encoding)] for char in text],
        },
    )


@operation("messageCreditCost")
def analyse_credit_cost(sim: Simulator, request: Request) -> SimulatorResponse:
    _, info = _analysed(request, check_number=True)
    return json_response(200, float(info.parts * sim.state.credits_per_part))


def _bare(name: str, xml_root: str, value: Callable[[SegmentInfo], Any]) -> Operation:
    """An operation answering one bare value of the text's analysis (the number is not checked)."""

    def answer(sim: Simulator, request: Request) -> SimulatorResponse:
        return json_response(200, value(_analysed(request, check_number=False)[1]))

    return Operation(name, answer, xml_root)


analyse_encoding = _bare("analyse_encoding", "messageEncoding", lambda info: info.encoding)
analyse_length = _bare("analyse_length", "messageLength", lambda info: info.length)
analyse_within_max = _bare(
    "analyse_within_max", "messageLengthWithinMaximumAllowed", lambda info: info.parts <= MAX_PARTS
)
analyse_number_of_messages = _bare("analyse_number_of_messages", "numberOfMessages", lambda info: info.parts)
