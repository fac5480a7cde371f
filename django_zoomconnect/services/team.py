"""The account's team: its sub-users, creating one, and moving credit between them.

The Zoom Connect API has no call that lists a team's users. It can find one by email address
(``GET account/user?searchEmail=``), and its statistics report (``GET account/statistics``)
has a line for every user of the team when the credentials are an administrator's, and only
the account's own line otherwise. :func:`list_sub_users` reads that report, or searches one
email address; nothing is kept locally (no model): the provider's answer is the list.

Every function takes ``account``: the alias of the ``ZOOMCONNECT`` account to act on, ``None``
for the default one, checked by :func:`~django_zoomconnect.conf.account_alias`; each client
comes from :func:`account_client`.

Passwords are sent, never logged, never kept, never in an error (the client masks them).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.views.decorators.debug import sensitive_variables

from .. import conf, phone
from ..client import ZoomConnectClient
from ..exceptions import (
    InvalidRequestError,
    NotFoundError,
    PhoneNumberError,
    TeamError,
)
from ..wire import User
from .clients import client_for

__all__ = [
    "Team",
    "TeamMember",
    "Transfer",
    "TransferPreview",
    "account_aliases",
    "account_client",
    "create_sub_user",
    "find_member",
    "list_sub_users",
    "preview_transfer",
    "transfer_credit",
]


def account_aliases() -> tuple[str, ...]:
    """The configured accounts' aliases, the default first."""
    return tuple(conf.account_aliases())


def account_client(account: str | None = None) -> AbstractContextManager[ZoomConnectClient]:
    """A client for ``account`` (closed when the block ends); the only way this module gets one."""
    return client_for(account=conf.account_alias(account))


# --- what the functions answer -----------------------------------------------------------------


@dataclass(frozen=True)
class TeamMember:
    """A user of the team: the account's own user (``is_account``) or a sub-user."""

    user_id: int | None
    email: str
    first_name: str
    last_name: str
    contact_number: str
    company: str
    #: Credits, as the provider said when asked; ``None`` when it did not say.
    balance: float | None
    is_account: bool = False

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @classmethod
    def from_user(cls, user: User, account_email: str) -> TeamMember:
        email = user.email_address or ""
        return cls(
            user_id=user.user_id,
            email=email,
            first_name=user.first_name or "",
            last_name=user.last_name or "",
            contact_number=user.contact_number or "",
            company=user.company or "",
            balance=user.credit_balance,
            is_account=bool(email) and email.casefold() == account_email.casefold(),
        )


@dataclass(frozen=True)
class Team:
    """The users :func:`list_sub_users` found: the account's own first, then by email address."""

    account: str
    members: list[TeamMember]
    #: The email address searched for, or ``None``: the whole team the statistics report shows.
    searched: str | None = None

    @property
    def sub_users(self) -> list[TeamMember]:
        return [member for member in self.members if not member.is_account]


@dataclass(frozen=True)
class TransferPreview:
    """What a transfer would do: both users as they are now, and whether the source can pay."""

    account: str
    source: TeamMember
    target: TeamMember
    credits: int

    @property
    def sufficient(self) -> bool:
        """Whether the source holds the credits (unknown balance: let the provider decide)."""
        return self.source.balance is None or self.source.balance >= self.credits


@dataclass(frozen=True)
class Transfer:
    """A transfer the provider accepted; ``target`` is the receiver as it answered (it may not)."""

    account: str
    from_email: str
    to_email: str
    credits: int
    target: TeamMember | None


# --- listing ---------------------------------------------------------------------------------


def list_sub_users(*, email: str | None = None, account: str | None = None) -> Team:
    """The team's users with their balances (one API call).

    With ``email``, the users the provider finds with that address (``search_users``); without,
    every user in the statistics report: the whole team for an administrator's credentials, only
    the account's own user otherwise.
    """
    alias = conf.account_alias(account)
    searched = _email(email, "email address") if email is not None else None
    with account_client(alias) as api:
        users = api.search_users(searched) if searched else [line.user for line in api.get_statistics().users]
        own = api.email
    members: dict[str, TeamMember] = {}
    for user in users:
        if user is not None and user.email_address:
            member = TeamMember.from_user(user, own)
            members.setdefault(member.email.casefold(), member)
    ordered = sorted(members.values(), key=lambda m: (not m.is_account, m.email.casefold()))
    return Team(alias, ordered, searched)


def find_member(email: str, *, account: str | None = None) -> TeamMember:
    """The one user of the team with this email address; :class:`TeamError` when there is none."""
    address = _email(email, "email address")
    team = list_sub_users(email=address, account=account)
    for member in team.members:
        if member.email.casefold() == address.casefold():
            return member
    raise TeamError(f"No user of the team has the email address {address}.")


# --- creating --------------------------------------------------------------------------------


@sensitive_variables("password")
def create_sub_user(
    *,
    email: str,
    first_name: str,
    last_name: str,
    contact_number: str,
    password: str,
    company: str | None = None,
    account: str | None = None,
) -> TeamMember:
    """Create a sub-user in the team; its number is sent in E.164.

    The password is sent only: masked in the client's logs and errors, and in Django's error
    reports (``sensitive_variables``).
    """
    alias = conf.account_alias(account)
    address = _email(email, "email address")
    names = {"first name": first_name, "last name": last_name}
    for what, value in names.items():
        if not isinstance(value, str) or not value.strip():
            raise TeamError(f"The {what} is required.")
    if not isinstance(password, str) or not password:
        raise TeamError("The password is required.")
    try:
        number = phone.normalize(contact_number)
    except PhoneNumberError as exc:
        raise TeamError(f"The contact number was refused: {exc}") from None
    with account_client(alias) as api:
        try:
            user = api.create_user(
                email_address=address,
                company=(company or "").strip() or None,
                first_name=first_name.strip(),
                last_name=last_name.strip(),
                contact_number=number,
                password=password,
            )
        except InvalidRequestError as exc:
            raise TeamError(f"Zoom Connect refused to create {address}: {_reason(exc)}") from exc
        return TeamMember.from_user(user, api.email)


# --- transfers -------------------------------------------------------------------------------


def preview_transfer(
    from_email: str, to_email: str, credits: int, *, account: str | None = None
) -> TransferPreview:
    """Check a transfer and look both users up (two API calls); nothing is moved.

    Raises :class:`TeamError` for input :func:`transfer_credit` would refuse, or a user the
    team does not have.
    """
    alias = conf.account_alias(account)
    source, target, amount = _checked(from_email, to_email, credits)
    return TransferPreview(
        alias, find_member(source, account=alias), find_member(target, account=alias), amount
    )


def transfer_credit(from_email: str, to_email: str, credits: int, *, account: str | None = None) -> Transfer:
    """Move ``credits`` (a whole number, 1 or more) from one user of the team to another.

    Raises :class:`TeamError` with one line for input refused here (before any call) and for the
    provider's refusals: a user it does not know, too few credits, the same user twice.
    """
    alias = conf.account_alias(account)
    source, target, amount = _checked(from_email, to_email, credits)
    with account_client(alias) as api:
        try:
            answer = api.transfer_credits(from_email=source, to_email=target, credits=amount)
        except (InvalidRequestError, NotFoundError) as exc:
            what = f"{amount:,} credits from {source} to {target}"
            raise TeamError(f"Zoom Connect refused to transfer {what}: {_reason(exc)}") from exc
        receiver = None if answer is None else TeamMember.from_user(answer, api.email)
    return Transfer(alias, source, target, amount, receiver)


def _checked(from_email: str, to_email: str, credits: int) -> tuple[str, str, int]:
    source, target = (
        _email(from_email, "sender's email address"),
        _email(to_email, "receiver's email address"),
    )
    if source.casefold() == target.casefold():
        raise TeamError(f"Credits go from one user to another: both are {source}.")
    if isinstance(credits, bool) or not isinstance(credits, int) or credits < 1:
        raise TeamError(f"The credits must be a whole number of 1 or more, not {credits!r}.")
    return source, target, credits


def _email(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TeamError(f"The {what} is required.")
    address = value.strip()
    try:
        validate_email(address)
    except ValidationError:
        raise TeamError(f"The {what} is not an email address: {address!r}.") from None
    return address


def _reason(exc: InvalidRequestError | NotFoundError) -> str:
    """The provider's reason in one line: its message, with its developer message when that adds to it."""
    said, detail = (" ".join((text or "").split()) for text in (exc.provider_message, exc.developer_message))
    if said and detail and detail != said:
        return f"{said} ({detail})"
    return said or detail or f"HTTP {exc.status}"
