"""Real headless Chromium for the admin's end-to-end tests: fixtures, a logged-in page, screenshots.

The fixtures are loaded by ``tests/conftest.py``. Tests that use them skip with the reason when
Playwright for Python or a Chromium is missing; ``.ci/run`` installs both (Debian's ``chromium``
package, driven through Playwright with ``executable_path``) and sets
``ZOOMCONNECT_REQUIRE_BROWSER=1``, which turns the skip into a failure. Screenshots
go to ``ZOOMCONNECT_SCREENSHOTS`` (default ``build/screenshots``), one PNG per page a test saw.

The live server runs in a thread of this process, so the in-process simulator fixture
(``zoomconnect_simulator``) answers its API calls and ``SEND_EAGERLY`` sends in the request: a
test steps the simulator's clock and flushes its webhooks to watch statuses arrive.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Where Chromium is looked for, first to last; ``ZOOMCONNECT_CHROMIUM`` names another.
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
#: The flags Chromium needs on a machine with no screen and no network beyond loopback.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "browser-tests-only"


def chromium_path() -> str | None:
    named = os.environ.get("ZOOMCONNECT_CHROMIUM")
    candidates = [named] if named else [*CHROMIUM_PATHS, shutil.which("chromium") or ""]
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("ZOOMCONNECT_SCREENSHOTS", ROOT / "build" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session; the tests skip, saying why, without one."""
    missing = pytest.fail if os.environ.get("ZOOMCONNECT_REQUIRE_BROWSER") else pytest.skip
    try:
        from playwright import sync_api
    except ImportError:
        missing("Playwright for Python is not installed (pip install '.[browser]')")
    executable = chromium_path()
    if executable is None:
        missing("no Chromium found: install Debian's chromium package (or set ZOOMCONNECT_CHROMIUM)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself
    # are still synchronous, one at a time.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def operator(django_user_model: Any) -> Any:
    """A superuser to log in with (a test that checks permissions makes its own users)."""
    return django_user_model.objects.create_superuser("operator", "operator@example.com", PASSWORD)


def log_in(page: Any, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Log in through the admin's own login form, as a person would."""
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")


@pytest.fixture
def admin_page(browser: Any, live_server: Any, operator: Any) -> Iterator[Any]:
    """A page in a fresh browser context, logged in to the admin as :func:`operator`."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, live_server.url, operator.username)
    try:
        yield page
    finally:
        context.close()


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as ``<name>.png`` in :func:`screenshot_dir`; its path."""
    path = screenshot_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
