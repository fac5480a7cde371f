"""Helpers shared by the team's tests: a simulator whose team has two sub-users.

Imported by tests/test_team.py, test_admin_team.py, test_command_team.py and
test_admin_browser_team.py (``from tests.team import ...``).
"""

from django_zoomconnect.client import ZoomConnectClient
from django_zoomconnect.simulator import Simulator
from django_zoomconnect.testing import EMAIL

__all__ = ["ACCOUNT", "SUB_USERS", "with_team"]

#: The fixtures' account: its own user is the team's first.
ACCOUNT = EMAIL
#: (email, first name, last name, number, credits) of each sub-user :func:`with_team` creates.
SUB_USERS = (
    ("sales@example.com", "Sipho", "Dlamini", "+27821110001", 40),
    ("support@example.com", "Anna", "Botha", "+27821110002", 0),
)


def with_team(simulator: Simulator, balance: float = 500) -> Simulator:
    """``simulator`` (the settings pointed at it) with ``balance`` credits on the account, and
    the :data:`SUB_USERS`."""
    simulator.set_balance(balance + sum(credits for *_, credits in SUB_USERS))
    with ZoomConnectClient.from_settings() as api:  # the fixture's settings: in-process or live
        for email, first, last, number, credits in SUB_USERS:
            api.create_user(
                email_address=email, first_name=first, last_name=last, contact_number=number, password="pw-1"
            )
            if credits:
                api.transfer_credits(from_email=ACCOUNT, to_email=email, credits=credits)
    simulator.clear_requests()
    return simulator
