"""The exception hierarchy: each class tells the caller what it can safely do next.

Three questions decide what a caller does after a failure, and the classes answer them:

* Was anything sent? :class:`NotSentError` says certainly not (retry freely);
  :class:`MayHaveBeenSentError` says perhaps (look the message up before sending again).
* Did the provider answer? :class:`ZoomConnectAPIError` carries the HTTP status, the provider's
  ``code``, ``message`` and ``developerMessage`` and the response.
* Is it our own configuration? :class:`ConfigurationError` is Django's ``ImproperlyConfigured``
  and deliberately not a :class:`ZoomConnectError`: ``except ZoomConnectError`` around API calls
  must never swallow a missing or wrong setting.

A server error (5xx) is both an API error and "may have been sent"; a rate limit (429) is both
an API error and "not sent". Messages never contain credentials, nor does anything an error
carries (its ``response`` is a copy without them).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import requests
from django.core.exceptions import ImproperlyConfigured

from .redaction import scrubbed_response


class ZoomConnectError(Exception):
    """Base class of every error this package raises, except :class:`ConfigurationError`."""

    #: True when the request may have reached the provider and been acted on.
    may_have_been_sent: bool = False
    #: True when the same call may succeed if simply tried again later.
    transient: bool = False


class ConfigurationError(ImproperlyConfigured):
    """The ``ZOOMCONNECT`` setting (or a client argument) is missing or wrong.

    Not a :class:`ZoomConnectError`: a configuration mistake is the project's to fix, not a
    failure of one call, so handlers of API errors let it through.
    """


class PhoneNumberError(ZoomConnectError, ValueError):
    """A phone number could not be parsed or is not a valid number."""

    def __init__(self, message: str, *, number: object = None) -> None:
        super().__init__(message)
        self.number = number


# --- transport ---------------------------------------------------------------------------------


class NotSentError(ZoomConnectError):
    """The request certainly did not reach the provider: retrying cannot send twice."""

    transient = True


class ConnectError(NotSentError):
    """The connection could not be opened (refused, DNS failure, TLS failure)."""


class ConnectTimeoutError(NotSentError):
    """Opening the connection took longer than the connect timeout."""


class MayHaveBeenSentError(ZoomConnectError):
    """The request may have been processed: look the message up before sending it again."""

    may_have_been_sent = True
    transient = True


class ReadTimeoutError(MayHaveBeenSentError):
    """The request was written but no answer came within the read timeout."""


class ConnectionLostError(MayHaveBeenSentError):
    """The connection broke after the request was written."""


# --- answers from the provider -----------------------------------------------------------------


class ZoomConnectAPIError(ZoomConnectError):
    """The provider answered with an error status (or an unreadable body).

    ``status`` is the HTTP status, ``code``, ``message`` and ``developer_message`` come from the
    provider's error body when it has one, and ``response`` is a copy of the ``requests.Response``
    without credentials (:func:`~django_zoomconnect.redaction.scrubbed_response`): its request
    keeps the method, the URL without ``email``/``token`` and the headers with ``token`` and
    ``Authorization`` masked, so that the error can be logged, pickled or shown safely.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        provider_message: str | None = None,
        developer_message: str | None = None,
        response: requests.Response | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.provider_message = provider_message
        self.developer_message = developer_message
        self.response = scrubbed_response(response) if isinstance(response, requests.Response) else response

    @property
    def body(self) -> Any:
        """The parsed JSON error body, or ``None``."""
        if self.response is None:
            return None
        try:
            return self.response.json()
        except ValueError:
            return None


class AuthenticationError(ZoomConnectAPIError):
    """401 or 403: the email or API token is wrong, or the account may not do this."""


class NotFoundError(ZoomConnectAPIError):
    """404: the contact, group, message or template does not exist."""


class InvalidRequestError(ZoomConnectAPIError):
    """400: the provider refused the request's content; sending it again will not help."""


class InvalidNumberError(InvalidRequestError):
    """400 with provider code 2: the recipient number is not a valid mobile number."""


class EmptyMessageError(InvalidRequestError):
    """400 with provider code 3: the message text is empty."""


class RateLimitedError(ZoomConnectAPIError, NotSentError):
    """429: slow down. ``retry_after`` is the number of seconds to wait, when the provider said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ZoomConnectAPIError, MayHaveBeenSentError):
    """5xx: the provider failed; a send may or may not have been accepted."""


class InvalidResponseError(ZoomConnectAPIError, MayHaveBeenSentError):
    """A success status with a body that cannot be read as the operation's result."""


def fails_every_call(exc: BaseException) -> bool:
    """Whether the calls after this one would fail alike: the provider cannot be reached, or it
    refuses the credentials. A refusal of one request's content, or a server error, is not."""
    if isinstance(exc, AuthenticationError):
        return True
    return isinstance(exc, ZoomConnectError) and exc.transient and not isinstance(exc, ZoomConnectAPIError)


# --- refusals of the sending service, before anything is written -------------------------------


class SendError(ZoomConnectError, ValueError):
    """The send was refused before anything was written: bad recipients, body, template or date."""


class InsufficientCreditError(SendError):
    """A bulk send's estimated cost exceeds the balance (``BALANCE_CHECK = "refuse"``)."""

    def __init__(self, message: str, *, estimated_cost: Decimal, balance: float) -> None:
        super().__init__(message)
        self.estimated_cost = estimated_cost
        self.balance = balance


class SendRefused(SendError):
    """A send refused as a whole, nothing written: ``refusals`` says which recipients and why.

    Each refusal is a ``(recipient, reason)`` pair; the recipient is ``""`` when the reason is the
    send's own (its text, its cost, its time). The admin's send form sends all or nothing this way,
    where ``send_bulk`` would send to the others and record the refused ones as ``REJECTED``.
    """

    def __init__(self, refusals: Sequence[tuple[str, str]]) -> None:
        self.refusals = list(refusals)
        shown = "; ".join(self.line(who, why) for who, why in self.refusals[:3])
        more = f" (and {len(self.refusals) - 3} more)" if len(self.refusals) > 3 else ""
        super().__init__(f"Nothing was sent: {shown}{more}")

    @staticmethod
    def line(recipient: str, reason: str) -> str:
        """One refusal for people: the reason, after its recipient unless the reason names it."""
        return reason if recipient in reason else f"{recipient}: {reason}"


class SendVetoed(ZoomConnectError):
    """Raise this from a ``pre_send`` receiver to stop one message.

    The message becomes ``REJECTED`` with ``last_error`` saying why (the exception's text); the
    provider is not called and ``post_send`` is not sent for it. Any other exception a receiver
    raises is logged and the message is sent anyway: a broken receiver must not stall the outbox.
    """


# --- refusals of the team service (sub-users and credit transfers) ------------------------------


class TeamError(ZoomConnectError, ValueError):
    """A sub-user or a credit transfer was refused and nothing changed: the input was wrong
    (checked here, before any call), or the provider refused it (an unknown user, too few
    credits, an email already taken); the message is one line that says which."""
