"""Helpers for the admin's action tests: choose an action, confirm it, see what a user is offered.

Imported by tests/test_admin_*.py (``from tests.admin_actions import ...``).
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.auth.models import Permission
from django.urls import reverse

CONFIRMATION = "admin/zoomconnect/confirm_action.html"


def choose(client: Any, changelist: str, action: str, pks: Iterable[int], **extra: str) -> Any:
    """Pick ``action`` for the rows ``pks`` on the list ``changelist`` (a URL name): the answer."""
    return client.post(reverse(changelist), {"action": action, "_selected_action": list(pks), **extra})


def asks(response: Any) -> bool:
    """Whether ``response`` is an action's confirmation page."""
    return CONFIRMATION in [template.name for template in response.templates]


def confirm(client: Any, changelist: str, action: str, pks: Iterable[int]) -> tuple[Any, list[str]]:
    """Choose ``action``, check its confirmation page, say yes: that page and the messages shown."""
    pks = list(pks)
    asked = choose(client, changelist, action, pks)
    assert asked.status_code == 200, asked
    assert asks(asked)
    done = choose(client, changelist, action, pks, post="yes")
    assert done.status_code == 302, done
    shown = client.get(done.url)
    return asked, [str(message) for message in shown.context["messages"]]


def offered(client: Any, changelist: str) -> set[str]:
    """The actions the list ``changelist`` offers the client's user."""
    response = client.get(reverse(changelist))
    assert response.status_code == 200
    form = response.context["action_form"]
    return set() if form is None else {name for name, _ in form.fields["action"].choices if name}


def staff_user(client: Any, user_model: Any) -> Callable[..., Any]:
    """Log ``client`` in as a new staff user; the function to give it exactly some permissions."""
    user = user_model.objects.create(username="staff", is_staff=True)
    client.force_login(user)

    def grant(*codenames: str) -> Any:
        user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
        return client

    return grant
