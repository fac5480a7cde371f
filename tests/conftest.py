"""Shared pytest fixtures for the django_zoomconnect test suite."""

from importlib.metadata import entry_points

import pytest
import responses
from django.core.cache import cache

from django_zoomconnect.simulator import Simulator
from tests.outbox import fast_outbox, zoomconnect_settings
from tests.simulator_calls import frozen_simulator

# The browser fixtures (tests/browser.py), for the admin's end-to-end tests. The simulator's
# fixtures come from our own pytest plugin: an install registers it through its entry point; a
# checkout whose metadata predates the entry point loads it here instead (loading it twice would
# be an error).
pytest_plugins = ["tests.browser"]
if not any(ep.value == "django_zoomconnect.testing" for ep in entry_points(group="pytest11")):
    pytest_plugins.append("django_zoomconnect.testing")


@pytest.fixture
def sim() -> Simulator:
    """A simulator with default options whose clock stands still (``tests.simulator_calls``),
    for the simulator's tests; a module that needs another simulator defines its own ``sim``."""
    return frozen_simulator()


@pytest.fixture
def api():
    """The provider's API mocked with ``responses`` (tests of the client): every answer registered
    must be asked for."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def sleeps():
    """What a client built with ``sleep=sleeps.append`` waited, without waiting."""
    return []


@pytest.fixture
def admin_client(client, django_user_model):
    """A superuser's test client; pytest-django's hashes a password (slow), a forced login needs none."""
    user = django_user_model.objects.create(username="admin", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def pushed(django_capture_on_commit_callbacks):
    """Run the pushes that the test's transaction defers to its commit, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def sending_sim(zoomconnect_simulator):
    """The simulator for the admin's send form: the outbox sending eagerly (``tests.outbox.FAST``),
    the balance checked (``BALANCE_CHECK="warn"``), and no balance read cached by another test."""
    cache.clear()
    with fast_outbox(zoomconnect_simulator) as simulator, zoomconnect_settings(BALANCE_CHECK="warn"):
        yield simulator
    cache.clear()
