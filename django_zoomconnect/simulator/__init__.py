"""A faithful in-memory fake of the Zoom Connect REST API, for tests, demos and benchmarks."""

from .api import RecordedRequest, SimulatorResponse
from .core import Simulator
from .faults import TransportFault
from .state import Clock

__all__ = ["Clock", "RecordedRequest", "Simulator", "SimulatorResponse", "TransportFault"]
