"""A faithful in-memory fake of the Zoom Connect REST API, for tests, demos and benchmarks."""

from .clock import Clock
from .core import Simulator
from .faults import TransportFault
from .http import RecordedRequest, SimulatorResponse
from .records import MAGIC_NUMBERS, Message
from .webhooks import WebhookAttempt

__all__ = [
    "MAGIC_NUMBERS",
    "Clock",
    "Message",
    "RecordedRequest",
    "Simulator",
    "SimulatorResponse",
    "TransportFault",
    "WebhookAttempt",
]
