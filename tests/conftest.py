"""Shared pytest fixtures for the django_zoomconnect test suite."""

from importlib.metadata import entry_points

import pytest

from django_zoomconnect.simulator import Simulator
from tests.simulator_calls import frozen_simulator

# The simulator's fixtures come from our own pytest plugin. An install registers it through its
# entry point; a checkout whose metadata predates the entry point loads it here instead (loading
# it twice would be an error).
if not any(ep.value == "django_zoomconnect.testing" for ep in entry_points(group="pytest11")):
    pytest_plugins = ["django_zoomconnect.testing"]


@pytest.fixture
def sim() -> Simulator:
    """A simulator with default options whose clock stands still (``tests.simulator_calls``),
    for the simulator's tests; a module that needs another simulator defines its own ``sim``."""
    return frozen_simulator()
