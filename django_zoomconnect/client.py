"""The Zoom Connect REST API as typed Python: one method per operation, one exception per failure.

:class:`ZoomConnectClient` knows nothing of models or services. Each of its methods is one
operation of the provider's spec, with typed arguments and a typed result from
:mod:`django_zoomconnect.wire`; the HTTP engine it inherits (:mod:`django_zoomconnect._http`)
sends it and turns every failure into an exception whose class says whether the request may
have reached the provider. Sends are never retried here: that is the sending layer's decision.
How options are named on the wire and answers read is :mod:`django_zoomconnect._codec`'s part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import IO, Any, Literal, TypedDict, TypeVar, Unpack

from . import _codec as codec
from ._http import (
    DEFAULT_BASE_URL,
    MAX_RETRY_AFTER,
    REDACTED,
    USER_AGENT,
    HttpClient,
    mount_transport,
    unmount_transport,
)
from .exceptions import InvalidResponseError
from .wire import (
    AccountStatistics,
    CampaignStatistics,
    Contact,
    Group,
    Message,
    MessageAnalysis,
    MessagePage,
    SendResult,
    SmsRequest,
    Statistics,
    Template,
    User,
    UserStatistics,
    VoiceMessage,
    VoiceMessagePage,
    VoiceSendResult,
)
from .wire_formats import format_date, format_datetime, read_bool, read_float, read_int, read_object

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_RETRY_AFTER",
    "USER_AGENT",
    "AccountStatistics",
    "CampaignStatistics",
    "Contact",
    "ContactFields",
    "Group",
    "Message",
    "MessageAnalysis",
    "MessageFilters",
    "MessagePage",
    "SendResult",
    "SmsOptions",
    "SmsRequest",
    "Statistics",
    "Template",
    "User",
    "UserChanges",
    "UserFields",
    "UserStatistics",
    "VoiceMessage",
    "VoiceMessageFilters",
    "VoiceMessagePage",
    "VoiceOptions",
    "VoiceSendResult",
    "ZoomConnectClient",
    "mount_transport",
    "unmount_transport",
]

T = TypeVar("T")


# --- the options operations share -------------------------------------------------------------


class SmsOptions(TypedDict, total=False):
    """The options of every SMS send.

    An aware ``date_to_send`` schedules the message (sent as ``yyyyMMddHHmm`` in the API time
    zone, seconds dropped); ``campaign`` and ``data_field`` come back on its delivery reports.
    """

    date_to_send: datetime | None
    campaign: str | None
    data_field: str | None


class VoiceOptions(TypedDict, total=False):
    """The options of a voice call (beta); ``retry_*`` are the provider's redial of an unanswered
    call, in minutes."""

    campaign: str | None
    data_field: str | None
    retry_count: int | None
    retry_minimum_interval: int | None
    retry_maximum_interval: int | None


class ContactFields(TypedDict, total=False):
    """A contact's optional fields; only the ones given are sent."""

    title: str | None
    first_name: str | None
    last_name: str | None


class UserFields(TypedDict):
    """What a new sub-account needs, all of it; the password is sent, never logged, never kept."""

    first_name: str
    last_name: str
    contact_number: str
    password: str


class UserChanges(TypedDict, total=False):
    """The fields of a sub-account that can change; only the ones given are sent."""

    first_name: str | None
    last_name: str | None
    contact_number: str | None
    password: str | None


class VoiceMessageFilters(TypedDict, total=False):
    """The filters of :meth:`ZoomConnectClient.list_voice_messages`; dates are sent as ``yyyyMMdd``."""

    status: str | None
    sent_from: date | None
    sent_to: date | None
    to_number: str | None
    message: str | None
    campaign: str | None
    data_field: str | None
    deleted: bool | None


class MessageFilters(VoiceMessageFilters, total=False):
    """The filters of :meth:`ZoomConnectClient.list_messages`: those of voice messages, and more."""

    type: Literal["INBOUND", "OUTBOUND"] | None
    received_from: date | None
    received_to: date | None
    from_number: str | None
    read: bool | None
    replies_to_message_id: str | None


#: The wire names of the message filters, in the order they are sent.
_FILTER_NAMES = {
    "type": "type",
    "status": "status",
    "sent_from": "fromDateTimeSent",
    "sent_to": "toDateTimeSent",
    "received_from": "fromDateTimeReceived",
    "received_to": "toDateTimeReceived",
    "from_number": "fromNumber",
    "to_number": "toNumber",
    "message": "message",
    "campaign": "campaign",
    "data_field": "dataField",
    "deleted": "deleted",
    "read": "read",
    "replies_to_message_id": "repliesToMessageId",
}
_DATE_FILTERS = {"sent_from", "sent_to", "received_from", "received_to"}


# --- the client --------------------------------------------------------------------------------


class ZoomConnectClient(HttpClient):
    """A client for one Zoom Connect account: one method per operation of the provider's spec.

    Build it with keyword arguments, or from the ``ZOOMCONNECT`` setting with
    :meth:`from_settings`. It holds one ``requests.Session`` (opened on first use; close it with
    :meth:`close` or a ``with`` block). A session is not meant to be shared between threads: give
    each thread or task its own client.

    Datetimes sent to the API must be timezone-aware; they are converted to ``timezone`` (the
    provider's, South African time by default). Datetimes read from the API are aware and in UTC.
    """

    # -- shared shapes --------------------------------------------------------------------------

    def _datetime(self, value: datetime | None, what: str) -> str | None:
        return None if value is None else format_datetime(value, self._timezone, what=what)

    def _date(self, value: date | None, fmt: str, what: str) -> str | None:
        return None if value is None else format_date(value, self._timezone, fmt, what=what)

    def _update(self, path: str, build: Callable[[Any], T], body: Any, secrets: Sequence[str] = ()) -> T:
        """POST a change; the answer, or the object read back when the answer has no body."""
        updated = self._call("POST", path, codec.or_none(build), json_body=body, secrets=secrets)
        return updated if updated is not None else self._get(path, build)

    def _link(self, *parts: str) -> None:
        """The membership operations: a POST to ``kind/{id}/action/{id}`` that answers nothing."""
        self._post(codec.path(*parts), codec.ignore)

    def _sms_query(self, recipient_number: str, message: str, options: SmsOptions) -> list[tuple[str, str]]:
        """One SMS's fields as URL parameters, named and written as in a ``sms/send`` body."""
        return codec.query(**SmsRequest(recipient_number, message, **options).to_api(self._timezone))

    # -- account --------------------------------------------------------------------------------

    def get_balance(self) -> float:
        """The account's credit balance."""
        return self._get("account/balance", codec.scalar("creditBalance", read_float, "creditBalance"))

    def get_statistics(
        self,
        *,
        date_from: date | None = None,
        date_to: date | None = None,
        user_email: str | None = None,
        campaign: str | None = None,
        include_refunded_and_optout: bool | None = None,
        calculate_credit_value: bool | None = None,
    ) -> AccountStatistics:
        """The statistics report (message counts, or credit values with ``calculate_credit_value``).

        ``date_from`` and ``date_to`` are sent as ``dd-MM-yyyy``; an aware datetime is first
        converted to the API time zone.
        """
        return self._get(
            "account/statistics",
            lambda body: AccountStatistics.from_api(body, self._timezone),
            **{
                "from": self._date(date_from, "%d-%m-%Y", "date_from"),
                "to": self._date(date_to, "%d-%m-%Y", "date_to"),
                "userEmailAddress": user_email,
                "campaign": campaign,
                "includeRefundedAndOptout": include_refunded_and_optout,
                "calculateCreditValue": calculate_credit_value,
            },
        )

    def transfer_credits(self, *, from_email: str, to_email: str, credits: int) -> User | None:
        """Move credits between two users of the same team.

        Returns the user the provider answers with, or ``None`` when it answers without a body
        (its spec allows a bare 201).
        """
        body = {
            "transferFromEmailAddress": from_email,
            "transferToEmailAddress": to_email,
            "numberOfCreditsToTransfer": credits,
        }
        return self._post("account/transfer", codec.or_none(User.from_api), body)

    def search_users(self, email: str) -> list[User]:
        """The team's users with this email address."""
        return self._get("account/user", codec.items("webServiceUserList", User.from_api), searchEmail=email)

    def create_user(
        self, *, email_address: str, company: str | None = None, **fields: Unpack[UserFields]
    ) -> User:
        """Create a sub-account in the team (``PUT account/user``).

        When the provider answers without a body, the new user is looked up by email address.
        The password is sent, never logged, and never kept in the result.
        """
        body = codec.fields(email_address=email_address, company=company, **codec.options(UserFields, fields))
        secrets = (fields["password"],)
        created = self._call(
            "PUT", "account/user", codec.or_none(User.from_api), json_body=body, secrets=secrets
        )
        if created is not None:
            return created
        for user in self.search_users(email_address):
            if (user.email_address or "").lower() == email_address.lower():
                return user
        raise InvalidResponseError(
            "Zoom Connect answered PUT account/user without a body, and the new user was not found "
            f"by email address {email_address!r}; it may or may not have been created."
        )

    def get_user(self, user_id: int) -> User:
        """One user of the team."""
        return self._get(codec.path("account/user", codec.int_id(user_id, "user_id")), User.from_api)

    def update_user(self, user_id: int, **changes: Unpack[UserChanges]) -> User:
        """Change a sub-account; only the fields given are sent. Reads the user back if needed."""
        path = codec.path("account/user", codec.int_id(user_id, "user_id"))
        password = changes.get("password")
        secrets = () if password is None else (password,)
        body = codec.fields(user_id=user_id, **codec.options(UserChanges, changes))
        return self._update(path, User.from_api, body, secrets)

    # -- sms ------------------------------------------------------------------------------------

    def send_sms(self, recipient_number: str, message: str, **options: Unpack[SmsOptions]) -> SendResult:
        """Send (or schedule, with an aware ``date_to_send``) one SMS. Never retried.

        The number is sent as given: normalise it first (see :mod:`django_zoomconnect.phone`).
        """
        request = SmsRequest(recipient_number, message, **options)
        return self._post("sms/send", SendResult.from_api, request.to_api(self._timezone))

    def send_bulk(
        self,
        requests: Sequence[SmsRequest],
        *,
        default_date_to_send: datetime | None = None,
        messages_per_minute: int | None = None,
    ) -> list[SendResult]:
        """Send many messages in one call; one result per request, in the same order. Never retried.

        An answer with a different number of results than requests is an
        :class:`~django_zoomconnect.exceptions.InvalidResponseError` (results cannot be matched).
        """
        if not requests:
            raise ValueError("send_bulk needs at least one SmsRequest")
        for item in requests:
            if not isinstance(item, SmsRequest):
                raise TypeError(f"send_bulk takes SmsRequest items, not {type(item).__name__}")
        body = codec.fields(
            send_sms_requests=[item.to_api(self._timezone) for item in requests],
            default_date_to_send=self._datetime(default_date_to_send, "default_date_to_send"),
            messages_per_minute=messages_per_minute,
        )
        parse_all = codec.items("sendSmsResponses", SendResult.from_api)

        def parse(answer: Any) -> list[SendResult]:
            results = parse_all(answer)
            if len(results) != len(requests):
                raise ValueError(f"{len(results)} results for {len(requests)} requests")
            return results

        return self._post("sms/send-bulk", parse, body)

    def send_sms_url_parameters(
        self, recipient_number: str, message: str, **options: Unpack[SmsOptions]
    ) -> str:
        """Send one SMS with its fields as URL parameters; returns the message id. Never retried."""
        params = self._sms_query(recipient_number, message, options)
        return self._call("POST", "sms/send-url-parameters", codec.message_id_text, params=params)

    def send_sms_url(
        self, url_token: str, recipient_number: str, message: str, **options: Unpack[SmsOptions]
    ) -> str:
        """Send one SMS through the account's unique sending URL; returns the message id.

        ``url_token`` is the "URL sending token" of the provider's developer settings page, not
        the API token; no other credentials are sent. It is a secret and is kept out of logs and
        errors like the API token.
        """
        if not url_token:
            raise ValueError("url_token must be the account's URL sending token")
        return self._call(
            "POST",
            codec.path("sms/send-url", url_token),
            codec.message_id_text,
            params=self._sms_query(recipient_number, message, options),
            authenticate=False,
            secrets=(url_token,),
            log_path=f"sms/send-url/{REDACTED}",
        )

    def get_send_sms_example(self) -> dict[str, Any]:
        """The provider's example of a ``sms/send`` body (``GET sms/send``); for exploring the API."""
        return self._get("sms/send", lambda body: dict(read_object(body, "an example")))

    def get_send_bulk_example(self) -> dict[str, Any]:
        """The provider's example of a ``sms/send-bulk`` body (``GET sms/send-bulk``)."""
        return self._get("sms/send-bulk", lambda body: dict(read_object(body, "an example")))

    # -- contacts -------------------------------------------------------------------------------

    def list_contacts(self) -> list[Contact]:
        """Every contact of the account (the API does not page them)."""
        return self._get("contacts/all", codec.items("webServiceContacts", Contact.from_api))

    def create_contact(self, *, contact_number: str, **fields: Unpack[ContactFields]) -> Contact:
        """Create a contact; the result carries the provider's ``contact_id``."""
        body = codec.fields(contact_number=contact_number, **codec.options(ContactFields, fields))
        return self._post("contacts/create", Contact.from_api, body)

    def get_contact(self, contact_id: str) -> Contact:
        return self._get(codec.path("contacts", contact_id), Contact.from_api)

    def update_contact(
        self, contact_id: str, *, contact_number: str | None = None, **fields: Unpack[ContactFields]
    ) -> Contact:
        """Change a contact; only the fields given are sent. Reads the contact back if needed."""
        body = codec.fields(
            contact_id=contact_id, contact_number=contact_number, **codec.options(ContactFields, fields)
        )
        return self._update(codec.path("contacts", contact_id), Contact.from_api, body)

    def delete_contact(self, contact_id: str) -> None:
        self._delete(codec.path("contacts", contact_id))

    def add_contact_to_group(self, contact_id: str, group_id: str) -> None:
        """Add a contact to a group (``contacts/{contactId}/addToGroup/{groupId}``)."""
        self._link("contacts", contact_id, "addToGroup", group_id)

    def remove_contact_from_group(self, contact_id: str, group_id: str) -> None:
        """REMOVE a contact from a group, through ``contacts/{contactId}/addFromGroup/{groupId}``.

        Despite the provider's path name ("addFromGroup"), that operation removes the contact
        from the group; its own description says so.
        """
        self._link("contacts", contact_id, "addFromGroup", group_id)

    # -- groups ---------------------------------------------------------------------------------

    def list_groups(self) -> list[Group]:
        return self._get("groups/all", codec.items("webServiceGroups", Group.from_api))

    def create_group(self, name: str) -> Group:
        """Create a group; the provider refuses an empty name (400)."""
        return self._post("groups/create", Group.from_api, {"name": name})

    def get_group(self, group_id: str) -> Group:
        return self._get(codec.path("groups", group_id), Group.from_api)

    def update_group(self, group_id: str, *, name: str) -> Group:
        """Rename a group. Reads the group back when the provider answers without a body."""
        return self._update(
            codec.path("groups", group_id), Group.from_api, {"groupId": group_id, "name": name}
        )

    def delete_group(self, group_id: str) -> None:
        self._delete(codec.path("groups", group_id))

    def group_add_contact(self, group_id: str, contact_id: str) -> None:
        """Add a contact to a group from the group's side (``groups/{groupId}/addContact/{contactId}``)."""
        self._link("groups", group_id, "addContact", contact_id)

    def group_remove_contact(self, group_id: str, contact_id: str) -> None:
        """Remove a contact from a group, from the group's side
        (``groups/{groupId}/removeContact/{contactId}``)."""
        self._link("groups", group_id, "removeContact", contact_id)

    # -- messages -------------------------------------------------------------------------------

    def _message_query(
        self, page: int, page_size: int, filters: Mapping[str, Any], spec: Any = MessageFilters
    ) -> list[tuple[str, str]]:
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise ValueError(f"page counts from 1, not {page!r}")
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise ValueError(f"page_size must be a positive int, not {page_size!r}")
        unknown = sorted(set(filters) - set(spec.__annotations__))
        if unknown:
            raise TypeError(f"unknown message filter(s): {', '.join(unknown)}")
        params = [("page", str(page)), ("pageSize", str(page_size))]
        for name, wire_name in _FILTER_NAMES.items():
            value = filters.get(name)
            if value is None:
                continue
            if name in _DATE_FILTERS:
                value = format_date(value, self._timezone, "%Y%m%d", what=name)
            params.append((wire_name, codec.query_value(value)))
        return params

    def list_messages(
        self, *, page: int = 1, page_size: int = 100, **filters: Unpack[MessageFilters]
    ) -> MessagePage:
        """One page of the message history, filtered; ``page`` counts from 1.

        Date filters are dates (``yyyyMMdd`` on the wire); an aware datetime is first converted
        to the API time zone, a naive one is refused.
        """
        params = self._message_query(page, page_size, filters)
        return self._call(
            "GET", "messages/all", lambda body: MessagePage.from_api(body, self._timezone), params=params
        )

    def iter_messages(self, *, page_size: int = 100, **filters: Unpack[MessageFilters]) -> Iterator[Message]:
        """Every message matching ``filters``, fetching one page at a time as it is consumed.

        Pages are offsets, so a message arriving mid-walk can shift one seen before onto the next
        page: a message id already yielded is skipped, and a page bringing nothing new ends the
        walk (it also guards against a server that ignores ``page``). Messages without an id are
        yielded but do not count as new.
        """
        self._message_query(1, page_size, filters)  # fail now, not on the first next()
        return self._walk_messages(page_size, filters)

    def _walk_messages(self, page_size: int, filters: MessageFilters) -> Iterator[Message]:
        seen: set[str] = set()
        page_number = 1
        while True:
            page = self.list_messages(page=page_number, page_size=page_size, **filters)
            fresh = 0
            for message in page.messages:
                if message.message_id is not None:
                    if message.message_id in seen:
                        continue
                    seen.add(message.message_id)
                    fresh += 1
                yield message
            if not fresh:
                return
            if page.total_pages is not None:
                if page_number >= page.total_pages:
                    return
            elif len(page.messages) < page_size:
                return
            page_number += 1

    def get_message(self, message_id: str) -> Message:
        return self._get(
            codec.path("messages", message_id), lambda body: Message.from_api(body, self._timezone)
        )

    def delete_message(self, message_id: str) -> None:
        self._delete(codec.path("messages", message_id))

    def _mark(self, message_id: str, action: str) -> Message | None:
        parse = codec.or_none(lambda body: Message.from_api(body, self._timezone))
        return self._post(codec.path("messages", message_id, action), parse)

    def mark_read(self, message_id: str) -> Message | None:
        """Mark an inbound message read; the message as the provider now has it, if it says."""
        return self._mark(message_id, "markRead")

    def mark_unread(self, message_id: str) -> Message | None:
        """Mark an inbound message unread; the message as the provider now has it, if it says."""
        return self._mark(message_id, "markUnread")

    # -- analyse --------------------------------------------------------------------------------

    def _analyse(
        self, operation: str, message: str, recipient_number: str | None, parse: Callable[[Any], T]
    ) -> T:
        body = codec.fields(message=message, recipient_number=recipient_number)
        return self._post(f"messages/analyse/{operation}", parse, body)

    def analyse_message(self, message: str, recipient_number: str | None = None) -> MessageAnalysis:
        """Everything the provider can tell about sending ``message``: encoding, length, parts, cost."""
        return self._analyse("full", message, recipient_number, MessageAnalysis.from_api)

    def message_credit_cost(self, message: str, recipient_number: str | None = None) -> float:
        """Credits that sending ``message`` (to ``recipient_number``) would cost."""
        parse = codec.scalar("messageCreditCost", read_float, "credit cost")
        return self._analyse("message-credit-cost", message, recipient_number, parse)

    def message_encoding(self, message: str, recipient_number: str | None = None) -> str:
        """The encoding ``message`` needs, as the provider names it (for example ``GSM7``)."""
        parse = codec.scalar("messageEncoding", codec.unquoted, "encoding")
        return self._analyse("message-encoding", message, recipient_number, parse)

    def message_length(self, message: str, recipient_number: str | None = None) -> int:
        """The length of ``message`` as the provider counts it."""
        return self._analyse(
            "message-length", message, recipient_number, codec.scalar("messageLength", read_int, "length")
        )

    def message_within_max_length(self, message: str, recipient_number: str | None = None) -> bool:
        """Whether ``message`` is within the longest message the provider allows."""
        parse = codec.scalar("messageLengthWithinMaximumAllowed", read_bool, "answer")
        return self._analyse("message-length-within-max-allowed", message, recipient_number, parse)

    def number_of_messages(self, message: str, recipient_number: str | None = None) -> int:
        """How many SMS parts sending ``message`` would take."""
        parse = codec.scalar("numberOfMessages", read_int, "number of messages")
        return self._analyse("number-of-messages", message, recipient_number, parse)

    # -- templates ------------------------------------------------------------------------------

    def list_templates(self) -> list[Template]:
        """Every template. The API can read and delete templates, but not create or change them."""
        return self._get("templates/all", codec.items("webServiceTemplates", Template.from_api))

    def get_template(self, template_id: int) -> Template:
        return self._get(codec.path("templates", codec.int_id(template_id, "template_id")), Template.from_api)

    def delete_template(self, template_id: int) -> None:
        self._delete(codec.path("templates", codec.int_id(template_id, "template_id")))

    # -- voice (beta) ---------------------------------------------------------------------------

    def list_voice_messages(
        self, *, page: int = 1, page_size: int = 100, **filters: Unpack[VoiceMessageFilters]
    ) -> VoiceMessagePage:
        """One page of voice messages (a beta part of the provider's API)."""
        params = self._message_query(page, page_size, filters, VoiceMessageFilters)
        return self._call(
            "GET", "voice/all", lambda body: VoiceMessagePage.from_api(body, self._timezone), params=params
        )

    def send_voice_text(
        self,
        recipient_number: str,
        message: str,
        *,
        language: str | None = None,
        **options: Unpack[VoiceOptions],
    ) -> VoiceSendResult:
        """Call ``recipient_number`` and read ``message`` out (beta). Never retried."""
        fields = codec.options(VoiceOptions, options)
        body = codec.fields(recipient_number=recipient_number, message=message, language=language, **fields)
        return self._post("voice/single-text", VoiceSendResult.from_api, body)

    def send_voice_audio(
        self,
        recipient_number: str,
        audio: bytes | IO[bytes],
        *,
        filename: str = "message.mp3",
        **options: Unpack[VoiceOptions],
    ) -> VoiceSendResult:
        """Call ``recipient_number`` and play an MP3 or WAV file (beta; multipart upload). Never retried."""
        params = codec.query(
            **codec.fields(recipient_number=recipient_number, **codec.options(VoiceOptions, options))
        )
        kind = "audio/wav" if filename.lower().endswith(".wav") else "audio/mpeg"
        return self._call(
            "POST",
            "voice/single-audio",
            VoiceSendResult.from_api,
            params=params,
            files={"file": (filename, audio, kind)},
        )

    def get_voice_message(self, voice_message_id: str) -> VoiceMessage:
        return self._get(
            codec.path("voice", voice_message_id), lambda body: VoiceMessage.from_api(body, self._timezone)
        )

    def delete_voice_message(self, voice_message_id: str) -> None:
        self._delete(codec.path("voice", voice_message_id))
