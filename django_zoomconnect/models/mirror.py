"""The mirrored account: its base fields, contacts, groups, memberships and templates."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .. import conf, phone
from ..exceptions import PhoneNumberError, ZoomConnectError


def validate_phone_number(value: str) -> None:
    """Field validator: the number must parse and be valid (stored values are E.164)."""
    try:
        phone.normalize(value)
    except PhoneNumberError as exc:
        raise ValidationError(str(exc), code="invalid_phone_number") from None


def new_reference() -> str:
    """A fresh message reference: 32 hex digits, unique enough to look a send up by ``dataField``.

    Time-ordered, like a UUIDv7: the milliseconds since the epoch (12 digits), then 80 random
    bits. A bulk send's new rows then go to the end of the unique index on ``reference``, where
    random references landed all over it (on SQLite the insert of 10,000 messages took almost
    twice as long).
    """
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


class SyncState(models.TextChoices):
    """Whether a mirrored row and the Zoom Connect account agree."""

    SYNCED = "synced", _("In sync")
    PENDING = "pending", _("Local change waiting to be pushed")
    DELETING = "deleting", _("Local deletion waiting to be pushed")
    FAILED = "failed", _("Last push failed; will be retried")
    REMOTE_DELETED = "remote_deleted", _("Deleted on Zoom Connect")


def account_field() -> models.CharField:  # type: ignore[type-arg]
    """The alias of the account a row belongs to (no index of its own: the unique constraints and
    indexes that need it start with it)."""
    return models.CharField(
        _("account"),
        max_length=conf.ALIAS_MAX_LENGTH,
        default=conf.DEFAULT_ACCOUNT,
        help_text=_("The alias of the Zoom Connect account in ZOOMCONNECT['ACCOUNTS']."),
    )


def unique_remote_id(model: str) -> models.UniqueConstraint:
    """A remote id is unique within its account: two accounts may use the same id."""
    return models.UniqueConstraint(fields=("account", "remote_id"), name=f"zoomconnect_{model}_remote_id")


class RemoteObject(models.Model):
    """Fields shared by every model mirrored from the account."""

    account = account_field()
    #: ``None`` until the object exists on the account, unique within the account (each
    #: model's Meta says so). Ids are opaque strings, except a template's, which the API writes as
    #: an integer (:class:`Template` says so).
    remote_id = models.CharField(_("remote id"), max_length=64, null=True, blank=True)  # noqa: DJ001 - NULLs never clash
    remote_data = models.JSONField(
        _("remote data"), default=dict, blank=True, help_text=_("The last payload read from Zoom Connect.")
    )
    synced_at = models.DateTimeField(
        _("synced at"), null=True, blank=True, help_text=_("When this row last matched the account.")
    )
    sync_state = models.CharField(
        _("sync state"), max_length=16, choices=SyncState.choices, default=SyncState.PENDING, db_index=True
    )
    sync_error = models.TextField(_("last sync error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class Group(RemoteObject):
    name = models.CharField(_("name"), max_length=255)

    class Meta:
        verbose_name = _("group")
        verbose_name_plural = _("groups")
        ordering = ("name", "pk")
        constraints = [unique_remote_id("group")]

    def __str__(self) -> str:
        return self.name


class Contact(RemoteObject):
    title = models.CharField(_("title"), max_length=32, blank=True)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    #: Unique within the account (Meta): the same person may be a contact of several accounts.
    phone_number = models.CharField(
        _("phone number"),
        max_length=20,
        validators=[validate_phone_number],
        help_text=_("Stored in E.164, e.g. +27821234567."),
    )
    groups = models.ManyToManyField(
        Group, through="Membership", related_name="contacts", blank=True, verbose_name=_("groups")
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ("last_name", "first_name", "pk")
        constraints = [
            unique_remote_id("contact"),
            models.UniqueConstraint(fields=("account", "phone_number"), name="zoomconnect_contact_phone"),
        ]

    def __str__(self) -> str:
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return f"{name} ({self.phone_number})" if name else self.phone_number

    def clean(self) -> None:
        super().clean()
        if self.phone_number:
            try:
                self.phone_number = phone.normalize(self.phone_number)
            except PhoneNumberError as exc:
                raise ValidationError({"phone_number": str(exc)}) from None

    def validate_constraints(self, exclude: Any = None) -> None:
        """The number is unique within the account; a form without the account (most are) still
        checks it, as an error of the number."""
        super().validate_constraints(exclude)
        if exclude and "account" in exclude and "phone_number" not in exclude and self.phone_number:
            taken = Contact.objects.filter(account=self.account, phone_number=self.phone_number)
            if taken.exclude(pk=self.pk).exists():
                raise ValidationError(
                    {"phone_number": _("A contact of this account already has this number.")}, code="unique"
                )


class Membership(models.Model):
    """A contact in a group. The API cannot list members, so memberships are pushed, never pulled."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="memberships")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    sync_state = models.CharField(
        _("sync state"), max_length=16, choices=SyncState.choices, default=SyncState.PENDING, db_index=True
    )
    sync_error = models.TextField(_("last sync error"), blank=True)
    synced_at = models.DateTimeField(_("synced at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("group membership")
        verbose_name_plural = _("group memberships")
        constraints = [
            models.UniqueConstraint(fields=("contact", "group"), name="zoomconnect_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.contact} in {self.group}"

    def clean(self) -> None:
        """A contact joins only a group of its own account (each account has its own address book)."""
        super().clean()
        contact, group = getattr(self, "contact", None), getattr(self, "group", None)
        if contact is not None and group is not None and contact.account != group.account:
            raise ValidationError(
                _("%(contact)s (account %(a)s) cannot join %(group)s (account %(b)s).")
                % {"contact": contact, "a": contact.account, "group": group, "b": group.account},
                code="account",
            )


class TemplateContextError(ZoomConnectError, KeyError):
    """A template placeholder has no value in the context given to :meth:`Template.render`."""

    def __init__(self, template: str, missing: list[str]) -> None:
        self.missing = missing
        names = ", ".join(missing)
        super().__init__(f"Template {template!r} needs a value for: {names}.")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


#: ``{{ name }}`` placeholders; names are letters, digits, underscores and dots.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")


class Template(RemoteObject):
    """A message template: pulled from the account, or local (the API cannot create templates).

    Placeholders are written ``{{ name }}``; :meth:`render` fills them from a context and refuses
    to send a message with a hole in it. Its ``remote_id`` is the one integer among the mirrored
    models' ids: the API numbers templates.
    """

    remote_id = models.BigIntegerField(  # type: ignore[assignment]
        _("remote id"), null=True, blank=True
    )
    name = models.CharField(_("name"), max_length=255)
    body = models.TextField(_("body"), help_text=_("Placeholders are written {{ name }}."))

    class Meta:
        verbose_name = _("template")
        verbose_name_plural = _("templates")
        ordering = ("name", "pk")
        constraints = [unique_remote_id("template")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_remote(self) -> bool:
        return self.remote_id is not None

    @property
    def placeholders(self) -> list[str]:
        """The placeholder names in order of first appearance."""
        return list(dict.fromkeys(PLACEHOLDER.findall(self.body)))

    def render(self, context: Mapping[str, Any] | None = None) -> str:
        """The body with every placeholder replaced; :class:`TemplateContextError` names any missing."""
        context = context or {}
        missing = [name for name in self.placeholders if name not in context]
        if missing:
            raise TemplateContextError(self.name, missing)
        return PLACEHOLDER.sub(lambda match: str(context[match.group(1)]), self.body)
