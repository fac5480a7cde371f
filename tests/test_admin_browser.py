"""The admin in real headless Chromium: an operator logs in and finds the console's pages.

Skipped, saying why, where Playwright or Chromium is missing; ``.ci/run`` installs both and runs
these with the screenshots folder printed.
"""

import pytest

from tests.browser import shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_operator_logs_in_and_sees_the_app(admin_page):
    admin_page.goto("/admin/")
    assert admin_page.get_by_role("link", name="Messages").first.is_visible()
    assert admin_page.locator("#site-name").inner_text() == "Django administration"
    shot(admin_page, "admin-index")
