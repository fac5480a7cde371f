"""``account/…``: the balance, statistics, the team's users and credit transfers between them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from ..http import (
    Request,
    SimulatorResponse,
    bool_param,
    created,
    date_param,
    json_response,
    operation,
    required_str,
    str_field,
    when,
)
from ..records import DELIVERED, FAILED, FAILED_OPTOUT, FAILED_REFUNDED, OUTBOUND, Message, User, valid_number
from .resource import Resource

if TYPE_CHECKING:
    from ..core import Simulator

#: The account's own user: its balance is the account's.
MAIN_USER_ID = 1


def user_json(sim: Simulator, u: User) -> dict[str, Any]:
    """A user as the provider's ``WebServiceUser`` (never with its password)."""
    if u.user_id == MAIN_USER_ID:
        u = sim.state.main_user()
    return {
        "userId": u.user_id,
        "emailAddress": u.email_address,
        "firstName": u.first_name,
        "lastName": u.last_name,
        "contactNumber": u.contact_number,
        "company": u.company,
        "creditBalance": u.credit_balance,
        "password": None,
    }


USERS: Resource[User] = Resource("User", lambda state: state.users, user_json, numeric=True)
get_user = USERS.getter("get_user", "webServiceUser")


def _user_by_email(sim: Simulator, email: str | None) -> User:
    state = sim.state
    if email:
        lowered = email.strip().lower()
        for user in state.users.values():
            if user.email_address.lower() == lowered:
                return state.main_user() if user.user_id == MAIN_USER_ID else user
    raise ApiError(404, "User not found", developer_message=f"No user in this team with email {email!r}")


@operation("webServiceAccount")
def get_balance(sim: Simulator, request: Request) -> SimulatorResponse:
    return json_response(200, {"creditBalance": sim.state.balance, "links": []})


# --- statistics ----------------------------------------------------------------------------------


def _stats(messages: list[Message], *, by_credit: bool, separate: bool) -> dict[str, float | None]:
    totals = dict.fromkeys(("total", "sent", "delivered", "failed", "refunded", "optout"), 0.0)
    for m in messages:
        value = m.credit_cost if by_credit else 1.0
        totals["total"] += value
        status = m.status
        if status == DELIVERED:
            totals["delivered"] += value
        elif status == FAILED:
            totals["failed"] += value
        elif status == FAILED_REFUNDED:
            totals["refunded"] += value
        elif status == FAILED_OPTOUT:
            totals["optout"] += value
        else:
            totals["sent"] += value
    failed = totals["failed"] if separate else totals["failed"] + totals["refunded"] + totals["optout"]
    return {
        "total": totals["total"],
        "sent": totals["sent"],
        "delivered": totals["delivered"],
        "failed": failed,
        "failedRefunded": totals["refunded"] if separate else None,
        "failedOptout": totals["optout"] if separate else None,
    }


def _counted(sim: Simulator, start: date | None, end: date | None, campaign: str | None) -> list[Message]:
    """The outbound messages sent between ``start`` and ``end`` (days in the account's zone)."""
    tz = sim.tz
    counted: list[Message] = []
    for m in sim.state.message_order:
        if m.message_type != OUTBOUND or m.sent_at is None:
            continue
        day = m.sent_at.astimezone(tz).date()
        if (start is not None and day < start) or (end is not None and day > end):
            continue
        if campaign is not None and m.campaign != campaign:
            continue
        counted.append(m)
    return counted


@operation("webServiceAccountStatistics")
def get_statistics(sim: Simulator, request: Request) -> SimulatorResponse:
    query = request.query()
    start = date_param(query, "from", "%d-%m-%Y", "dd-MM-yyyy")
    end = date_param(query, "to", "%d-%m-%Y", "dd-MM-yyyy")
    campaign = query.get("campaign") or None
    options = {
        "separate": bool(bool_param(query, "includeRefundedAndOptout")),
        "by_credit": bool(bool_param(query, "calculateCreditValue")),
    }
    email = query.get("userEmailAddress") or None
    state = sim.state
    if email:
        users = [_user_by_email(sim, email)]
    else:
        users = [state.main_user(), *(u for uid, u in sorted(state.users.items()) if uid != MAIN_USER_ID)]
    counted = _counted(sim, start, end, campaign)
    user_entries = []
    grand: list[Message] = []
    for user in users:
        own = counted if user.user_id == MAIN_USER_ID else []
        grand.extend(own)
        campaigns = sorted({m.campaign for m in own if m.campaign})
        user_entries.append(
            {
                "user": user_json(sim, user),
                "total": _stats(own, **options),
                "campaigns": [
                    {
                        "campaign": name,
                        "statistics": _stats([m for m in own if m.campaign == name], **options),
                    }
                    for name in campaigns
                ],
            }
        )
    tz = sim.tz
    zone_start = datetime(start.year, start.month, start.day, tzinfo=tz) if start is not None else None
    zone_end = (
        datetime(end.year, end.month, end.day, tzinfo=tz) + timedelta(days=1, milliseconds=-1)
        if end is not None
        else None
    )
    return json_response(
        200,
        {
            "from": when(sim, zone_start),
            "to": when(sim, zone_end),
            "showingCreditValue": options["by_credit"],
            "grandTotal": _stats(grand, **options),
            "users": user_entries,
        },
    )


# --- users and transfers -------------------------------------------------------------------------


@operation("webServiceUser")
def transfer(sim: Simulator, request: Request) -> SimulatorResponse:
    body = request.json_object()
    credits = body.get("numberOfCreditsToTransfer")
    if isinstance(credits, bool) or not isinstance(credits, int) or credits < 1:
        raise ApiError(
            400,
            "Invalid number of credits",
            developer_message="numberOfCreditsToTransfer must be a whole number, 1 or more",
        )
    source = _user_by_email(sim, required_str(body, "transferFromEmailAddress"))
    target = _user_by_email(sim, required_str(body, "transferToEmailAddress"))
    if source.user_id == target.user_id:
        raise ApiError(400, "Cannot transfer credits to the same user")
    available = sim.state.balance if source.user_id == MAIN_USER_ID else source.credit_balance
    if credits > available + 1e-9:
        raise ApiError(
            400,
            "Insufficient credits",
            developer_message=f"{source.email_address} has {available:g} credits",
        )
    _add_credits(sim, source, -credits)
    _add_credits(sim, target, credits)
    return json_response(200, user_json(sim, target))


def _add_credits(sim: Simulator, user: User, credits: float) -> None:
    if user.user_id == MAIN_USER_ID:
        sim.state.balance += credits
    else:
        user.credit_balance += credits


@operation("webServiceUsers")
def search_users(sim: Simulator, request: Request) -> SimulatorResponse:
    email = request.query().get("searchEmail")
    if not email:
        raise ApiError(400, "searchEmail is required")
    try:
        found = [_user_by_email(sim, email)]
    except ApiError:
        found = []
    return json_response(200, {"webServiceUserList": [user_json(sim, u) for u in found]})


@operation("webServiceUser")
def create_user(sim: Simulator, request: Request) -> SimulatorResponse:
    body = request.json_object()
    fields = {
        name: required_str(body, name)
        for name in ("firstName", "lastName", "emailAddress", "contactNumber", "password")
    }
    try:
        _user_by_email(sim, fields["emailAddress"])
    except ApiError:
        pass
    else:
        raise ApiError(400, "User already exists", developer_message=f"{fields['emailAddress']!r} is taken")
    number = valid_number(fields["contactNumber"])
    state = sim.state
    user_id = max(state.users) + 1
    user = User(
        user_id=user_id,
        email_address=fields["emailAddress"].strip(),
        first_name=fields["firstName"],
        last_name=fields["lastName"],
        contact_number=number,
        company=str_field(body, "company") or state.main_user().company,
        password=fields["password"],
    )
    state.users[user_id] = user
    return created(sim, user_json(sim, user))


@operation("webServiceUser")
def update_user(sim: Simulator, request: Request, user_id: str) -> SimulatorResponse:
    user = USERS.find(sim, user_id)
    body = request.json_object()
    number = str_field(body, "contactNumber")
    if number is not None:
        user.contact_number = valid_number(number)
    for field_name, attribute in (
        ("firstName", "first_name"),
        ("lastName", "last_name"),
        ("password", "password"),
    ):
        value = str_field(body, field_name)
        if value is not None:
            setattr(user, attribute, value)
    return USERS.answer(sim, user)
