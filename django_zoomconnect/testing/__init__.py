"""Test your own project against the bundled simulator: a pytest plugin, fixtures and webhook helpers.

Installed with the package and registered as the pytest plugin ``zoomconnect``, so the fixtures
are simply there in a project's test suite:

``zoomconnect_simulator``
    a fresh :class:`~django_zoomconnect.simulator.Simulator` answering in-process (no socket,
    no thread, no sleep) at :data:`SIMULATOR_BASE_URL`, with a frozen clock that the test steps
    with ``advance()``, and ``settings.ZOOMCONNECT`` pointed at it for the test. Webhooks it
    sends to a path (or to ``http://testserver/...``) are posted through Django's test client,
    so ``flush_webhooks()`` runs the project's own webhook views.
``zoomconnect_live_simulator``
    the same, served over real loopback HTTP by a :class:`SimulatorServer` on a free port, for
    tests that need real sockets and timeouts; ``zoomconnect_live_server`` is that server.
``zoomconnect_simulator_options``
    override it to pass options to the simulator (balance, delays, webhook signing, ...).
``zoomconnect_simulators``
    several accounts: one in-process simulator per alias of ``zoomconnect_accounts`` (override
    it; default ``("default", "marketing")``), as a dict by alias, with
    ``ZOOMCONNECT["ACCOUNTS"]`` pointing each alias at its own simulator, credentials and
    webhook secret, and each simulator's webhooks sent to its account's URLs
    (``webhooks/<alias>/reply/``).

The fixtures work in ordinary ``@pytest.mark.django_db`` tests: messages are sent in the test
(``SEND_EAGERLY``) and commit hooks run as a real commit would run them, although the test's
transaction is rolled back (:mod:`django_zoomconnect.testing.commits`).
:class:`ZoomConnectTestMixin` gives the same to ``django.test.TestCase`` classes.

The helpers ``build_delivery_report_params``, ``build_reply_params``, ``sign_params`` and
``signed_post`` (from :mod:`django_zoomconnect.testing.webhooks`) build and post correctly signed webhook
requests for tests that call the webhook views directly. Importing this module needs no Django
settings; the fixtures touch Django only when settings are configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode, urlsplit

import pytest

if TYPE_CHECKING:  # imported when a fixture runs: the plugin loads in every pytest run
    from ..simulator import Simulator
    from ..simulator.server import SimulatorServer
    from .webhooks import build_delivery_report_params, build_reply_params, sign_params, signed_post

__all__ = [
    "SIMULATOR_BASE_URL",
    "SIMULATOR_ORIGIN",
    "ZoomConnectTestMixin",
    "build_delivery_report_params",
    "build_reply_params",
    "django_test_client_poster",
    "in_process_simulator",
    "in_process_simulators",
    "sign_params",
    "signed_post",
    "simulator_settings",
]

#: Where the in-process simulator answers; ``.invalid`` can never reach a real host.
SIMULATOR_ORIGIN = "http://simulator.zoomconnect.invalid/"
SIMULATOR_BASE_URL = SIMULATOR_ORIGIN + "app/"

#: The credentials every fixture's simulator accepts (published test values, not secrets).
EMAIL = "simulator@example.com"
TOKEN = "simulator-token"  # noqa: S105
SECRET = "simulator-secret"  # noqa: S105

WebhookPoster = Callable[[str, dict[str, str], dict[str, str]], int]

_TEST_HOSTS = frozenset({"testserver", ""})


# --- webhooks into the project under test ----------------------------------------------------


def django_test_client_poster(fallback: WebhookPoster | None = None) -> WebhookPoster:
    """A webhook poster that delivers to a path (or ``http://testserver/…``) with Django's test
    client, in the test's own thread and database transaction; any other URL goes to
    ``fallback`` (default: a real HTTP POST, e.g. to pytest-django's ``live_server``)."""
    if fallback is None:
        from ..simulator.webhooks import default_poster

        fallback = default_poster
    other_hosts = fallback

    def post(url: str, query: dict[str, str], form: dict[str, str]) -> int:
        parts = urlsplit(url)
        if (parts.hostname or "") not in _TEST_HOSTS:
            return other_hosts(url, query, form)
        from django.test import Client

        path = parts.path or "/"
        query_string = "&".join(q for q in (parts.query, urlencode(query)) if q)
        if query_string:
            path = f"{path}?{query_string}"
        response = Client().post(
            path, data=urlencode(form), content_type="application/x-www-form-urlencoded; charset=UTF-8"
        )
        return int(response.status_code)

    return post


def _django_ready() -> bool:
    try:
        from django.conf import settings
    except ImportError:  # pragma: no cover - Django is a dependency
        return False
    return bool(settings.configured)


def simulator_settings(simulator: Simulator, base_url: str) -> dict[str, Any]:
    """``ZOOMCONNECT`` as the project has it, pointed at ``simulator``: the connection settings are
    replaced, everything else is kept. Retries are off and backoff zero, so nothing sleeps, and
    messages are sent in the test (``SEND_EAGERLY``) unless the project set that itself."""
    from django.conf import settings

    current = dict(getattr(settings, "ZOOMCONNECT", None) or {})
    secret = simulator.webhooks.config.secret
    # Sent in the test, not handed to a worker the test does not run (unless the project says so).
    current.setdefault("SEND_EAGERLY", True)
    current.update(
        BASE_URL=base_url,
        EMAIL=simulator.email,
        API_TOKEN=simulator.token,
        AUTH_METHOD=current.get("AUTH_METHOD", "headers"),
        GET_RETRIES=0,
        RETRY_BACKOFF=0,
    )
    if secret:
        current["WEBHOOK_SECRET"] = secret
    return current


def _build(
    simulator_class: type[Simulator], options: Mapping[str, Any], account: str = "default"
) -> Simulator:
    from ..simulator import Clock

    own = "" if account == "default" else f"-{account}"
    kwargs: dict[str, Any] = {
        "email": EMAIL if not own else f"simulator{own}@example.com",
        "token": TOKEN + own,
        "secret": SECRET + own,
        "clock": Clock(frozen=True),
        "webhook_poster": django_test_client_poster(),
    }
    if _django_ready():
        from ..urls import webhook_urls  # the project's URLconf: only once Django is set up

        kwargs.update(webhook_urls(account=account))
    kwargs.update(options)
    return simulator_class(**kwargs)


def _point_settings_at(stack: ExitStack, simulator: Simulator, base_url: str) -> None:
    if not _django_ready():
        return
    from django.test import override_settings

    from .commits import commits_as_in_production

    stack.enter_context(override_settings(ZOOMCONNECT=simulator_settings(simulator, base_url)))
    stack.enter_context(commits_as_in_production())


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def zoomconnect_simulator_options() -> dict[str, Any]:
    """Keyword arguments for the fixtures' :class:`Simulator`; override it in a conftest.py."""
    return {}


@contextmanager
def in_process_simulator(options: Mapping[str, Any] | None = None) -> Iterator[Simulator]:
    """A fresh simulator answering in-process at :data:`SIMULATOR_BASE_URL`, with the settings
    pointed at it and commit hooks run as in production (:mod:`.commits`), until the block ends.

    What the ``zoomconnect_simulator`` fixture and :class:`ZoomConnectTestMixin` use.
    """
    from ..client import mount_transport, unmount_transport
    from ..simulator import Simulator
    from ..simulator.adapter import SimulatorAdapter

    simulator = _build(Simulator, options or {})
    with ExitStack() as stack:
        mount_transport(SIMULATOR_ORIGIN, SimulatorAdapter(simulator))
        stack.callback(unmount_transport, SIMULATOR_ORIGIN)
        _point_settings_at(stack, simulator, SIMULATOR_BASE_URL)
        yield simulator


def accounts_settings(simulators: Mapping[str, tuple[Simulator, str]]) -> dict[str, Any]:
    """``ZOOMCONNECT`` pointed at one simulator per account: ``simulators`` maps each alias to
    its simulator and base URL; ``"default"`` takes the top-level keys, the others
    ``ACCOUNTS`` entries with their own credentials and webhook secret."""
    default, default_url = simulators["default"]
    current = simulator_settings(default, default_url)
    accounts = dict(current.get("ACCOUNTS") or {})
    for alias, (simulator, base_url) in simulators.items():
        if alias == "default":
            continue
        entry = {"BASE_URL": base_url, "EMAIL": simulator.email, "API_TOKEN": simulator.token}
        secret = simulator.webhooks.config.secret
        if secret:
            entry["WEBHOOK_SECRET"] = secret
        accounts[alias] = {**accounts.get(alias, {}), **entry}
    current["ACCOUNTS"] = accounts
    return current


def account_origin(alias: str, index: int) -> str:
    """Where the in-process simulator of account ``alias`` answers (``default``: the usual one)."""
    return (
        SIMULATOR_ORIGIN if alias == "default" else f"http://account-{index}.simulator.zoomconnect.invalid/"
    )


@contextmanager
def in_process_simulators(
    accounts: Iterable[str] = ("default", "marketing"), options: Mapping[str, Any] | None = None
) -> Iterator[dict[str, Simulator]]:
    """One fresh in-process simulator per account alias (``"default"`` is always one of them),
    by alias, with ``ZOOMCONNECT`` pointed at them (:func:`accounts_settings`) until the block
    ends; each one's webhooks go to its own account's URLs. ``options`` apply to each."""
    from django.test import override_settings

    from ..client import mount_transport, unmount_transport
    from ..simulator import Simulator
    from ..simulator.adapter import SimulatorAdapter
    from .commits import commits_as_in_production

    aliases = ["default", *(alias for alias in accounts if alias != "default")]
    simulators: dict[str, Simulator] = {}
    served: dict[str, tuple[Simulator, str]] = {}
    with ExitStack() as stack:
        for index, alias in enumerate(aliases):
            simulator = _build(Simulator, options or {}, alias)
            origin = account_origin(alias, index)
            mount_transport(origin, SimulatorAdapter(simulator))
            stack.callback(unmount_transport, origin)
            simulators[alias] = simulator
            served[alias] = (simulator, origin + "app/")
        stack.enter_context(override_settings(ZOOMCONNECT=accounts_settings(served)))
        stack.enter_context(commits_as_in_production())
        yield simulators


@pytest.fixture
def zoomconnect_accounts() -> tuple[str, ...]:
    """The account aliases ``zoomconnect_simulators`` serves; override it in a conftest.py."""
    return ("default", "marketing")


@pytest.fixture
def zoomconnect_simulators(
    zoomconnect_accounts: tuple[str, ...], zoomconnect_simulator_options: dict[str, Any]
) -> Iterator[dict[str, Simulator]]:
    """One in-process simulator per account of ``zoomconnect_accounts``, by alias, with
    ``ZOOMCONNECT["ACCOUNTS"]`` pointed at them."""
    with in_process_simulators(zoomconnect_accounts, zoomconnect_simulator_options) as simulators:
        yield simulators


@pytest.fixture
def zoomconnect_simulator(zoomconnect_simulator_options: dict[str, Any]) -> Iterator[Simulator]:
    """An in-process simulator at :data:`SIMULATOR_BASE_URL`, with settings pointed at it."""
    with in_process_simulator(zoomconnect_simulator_options) as simulator:
        yield simulator


class ZoomConnectTestMixin:
    """For ``manage.py test`` users: ``self.zoomconnect_simulator`` in every test of the class.

    Put it before ``django.test.TestCase`` (or ``TransactionTestCase``) in the bases. Each test
    gets a fresh in-process simulator with the settings pointed at it, messages sent in the test
    (``SEND_EAGERLY``), and commit hooks run as a commit would run them, so ``send_sms``, then
    ``self.zoomconnect_simulator.advance(60)`` and ``flush_webhooks()`` deliver the message and
    call the project's signal receivers. ``zoomconnect_simulator_options`` passes options to the
    simulator (balance, delays, ...).
    """

    zoomconnect_simulator_options: ClassVar[dict[str, Any]] = {}
    zoomconnect_simulator: Simulator

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        stack = ExitStack()
        simulator = in_process_simulator(self.zoomconnect_simulator_options)
        self.zoomconnect_simulator = stack.enter_context(simulator)
        self.addCleanup(stack.close)  # type: ignore[attr-defined]


@pytest.fixture
def zoomconnect_live_server(zoomconnect_simulator_options: dict[str, Any]) -> Iterator[SimulatorServer]:
    """A :class:`SimulatorServer` on a free loopback port, serving a fresh simulator.

    Its background thread is off: step the clock and call ``flush_webhooks()`` in the test, so
    webhooks reach the project in the test's own thread and transaction.
    """
    from ..simulator.server import ServedSimulator, SimulatorServer

    simulator = _build(ServedSimulator, zoomconnect_simulator_options)
    with SimulatorServer(simulator, background=False) as server:
        yield server


@pytest.fixture
def zoomconnect_live_simulator(zoomconnect_live_server: SimulatorServer) -> Iterator[Simulator]:
    """The live server's simulator, with settings pointed at the server's URL."""
    simulator = zoomconnect_live_server.simulator
    with ExitStack() as stack:
        _point_settings_at(stack, simulator, zoomconnect_live_server.url)
        yield simulator


# --- signed webhook requests for tests that post to the views themselves ----------------------

#: Re-exported from :mod:`django_zoomconnect.testing.webhooks`, imported on first use so that loading
#: the plugin imports nothing of Django's URL machinery.
_WEBHOOK_HELPERS = ("sign_params", "build_delivery_report_params", "build_reply_params", "signed_post")


def __getattr__(name: str) -> Any:
    if name in _WEBHOOK_HELPERS:
        from . import webhooks

        return getattr(webhooks, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
