"""Contacts, groups and memberships written here: validated, stored, then pushed to the account.

The rules, and why:

* **The row first, then the account.** Every write validates its input (a clear
  :class:`~django_zoomconnect.exceptions.PhoneNumberError` naming a bad number, a
  :class:`DuplicatePhoneNumberError` for a number another contact has, a ``ValidationError``
  for anything else) before it touches the database, then stores the row as ``PENDING`` in a
  transaction, and pushes it (:mod:`.push`) once that transaction has committed: the row is the
  source of truth, and the account is only told about what was really stored.
* **When the push runs.** Called outside a transaction (autocommit, the usual case), the push
  runs before the function returns, and a refusal of the data is raised after the write is
  undone. Called inside one (``ATOMIC_REQUESTS``, the admin), it runs when the outermost
  transaction commits, and its outcome is only recorded on the row. ``push=False`` leaves the
  row ``PENDING`` for :func:`~.push.push_pending`.

The push functions (``push_pending``, ``push_contacts``, ...) live in :mod:`.push` and are
importable from here too, where they were first documented.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import phone
from ..exceptions import ZoomConnectError
from ..models import Contact, Group, Membership, SyncState
from . import push as pushing
from .push import pending_changes, push_contact, push_contacts, push_group, push_groups, push_pending

__all__ = [
    "CONTACT_FIELDS",
    "DuplicatePhoneNumberError",
    "add_to_group",
    "create_contact",
    "create_group",
    "delete_contact",
    "delete_group",
    "pending_changes",
    "push_contact",
    "push_contacts",
    "push_group",
    "push_groups",
    "push_pending",
    "remove_from_group",
    "rename_group",
    "save_contact",
    "save_group",
    "update_contact",
]

#: The contact fields this side writes and pushes.
CONTACT_FIELDS = ("phone_number", "title", "first_name", "last_name")

R = TypeVar("R", Contact, Group)


class DuplicatePhoneNumberError(ZoomConnectError, ValidationError):
    """Another contact already has this phone number (numbers are unique).

    A ``ValidationError`` too, on the ``phone_number`` field, so forms show it where it belongs.
    ``existing`` is the contact that has the number.
    """

    def __init__(self, phone_number: str, existing: Contact) -> None:
        self.phone_number = phone_number
        self.existing = existing
        reasons: dict[str, str] = {
            SyncState.DELETING: " (it is being deleted)",
            SyncState.REMOTE_DELETED: " (deleted on Zoom Connect: change it to create it there again)",
        }
        why = reasons.get(existing.sync_state, "")
        self.text = f"Contact #{existing.pk} already has the number {phone_number}{why}."
        ValidationError.__init__(
            self, {"phone_number": [ValidationError(self.text, code="duplicate_phone_number")]}
        )

    def __str__(self) -> str:
        return self.text


# --- contacts ------------------------------------------------------------------------------------


def _clean_contact(contact: Contact) -> None:
    contact.phone_number = phone.normalize(contact.phone_number)
    contact.full_clean(exclude=["remote_data"], validate_unique=False, validate_constraints=False)
    same_account = Contact.objects.filter(account=contact.account)
    existing = same_account.filter(phone_number=contact.phone_number).exclude(pk=contact.pk).first()
    if existing is not None:
        raise DuplicatePhoneNumberError(contact.phone_number, existing)


def create_contact(
    phone_number: str,
    *,
    first_name: str = "",
    last_name: str = "",
    title: str = "",
    groups: Iterable[Group] = (),
    push: bool = True,
) -> Contact:
    """Create a contact (and its memberships of ``groups``) and push it; see the module's rules.

    ``phone_number`` may be written any way :func:`~django_zoomconnect.phone.normalize` reads;
    it is stored in E.164.
    """
    contact = Contact(phone_number=phone_number, first_name=first_name, last_name=last_name, title=title)
    return save_contact(contact, groups=groups, push=push)


def update_contact(contact: Contact, *, push: bool = True, **fields: str) -> Contact:
    """Change ``fields`` (any of :data:`CONTACT_FIELDS`) of a contact and push the change.

    Nothing is written or pushed when nothing changes. ``contact`` is updated in place.
    """
    unknown = sorted(set(fields) - set(CONTACT_FIELDS))
    if unknown:
        raise TypeError(
            f"update_contact() cannot change {', '.join(unknown)}; only {', '.join(CONTACT_FIELDS)}"
        )
    for name, value in fields.items():
        setattr(contact, name, value)
    return save_contact(contact, push=push)


def save_contact(contact: Contact, *, groups: Iterable[Group] = (), push: bool = True) -> Contact:
    """Validate and store ``contact`` (new or changed) as ``PENDING``, then push it.

    What :func:`create_contact` and :func:`update_contact` use, and what the admin calls with
    the instance its form built. ``groups`` are added to the contact's groups.
    """
    groups = list(groups)
    if any(group.pk is None for group in groups):
        raise ValueError("save the groups before adding a contact to them")
    _clean_contact(contact)
    creating = contact._state.adding or contact.pk is None
    with transaction.atomic():
        before = None if creating else _stored(contact, "Contact")
        changed = before is None or any(getattr(before, f) != getattr(contact, f) for f in CONTACT_FIELDS)
        if changed:
            contact.sync_state = _state_to_push(before)
            if before is not None:
                _keep_remote_fields(contact, before)
            try:
                with transaction.atomic():
                    contact.save()
            except IntegrityError:
                _clean_contact(contact)  # a concurrent create took the number: say so clearly
                raise
        added = [_add_membership(contact, group) for group in groups]
    if not push:
        return contact
    if changed:
        undo = _undo_create(contact) if before is None else _undo_update(contact, before)
        pushing.schedule(partial(pushing.push_now, pushing.CONTACTS, contact.pk, undo=undo))
        _refresh(contact)
    elif any(added):
        pushing.schedule(lambda raise_refusal: pushing.push_memberships_now(contact))
    return contact


def _stored(row: R, noun: str) -> R:
    """The row as stored, locked until the transaction ends; refused if gone or being deleted."""
    before = type(row)._default_manager.select_for_update().filter(pk=row.pk).first()
    if before is None:
        raise ValidationError(f"{noun} #{row.pk} no longer exists.", code="deleted")
    if before.sync_state == SyncState.DELETING:
        raise ValidationError(f"{noun} #{row.pk} is being deleted; it cannot be changed.", code="deleting")
    return before


def _state_to_push(before: Contact | Group | None) -> str:
    """``PENDING``; but a create that failed stays ``FAILED``, so that its retry looks for it on
    the account first (the failed request may have created it)."""
    if before is not None and before.sync_state == SyncState.FAILED and before.remote_id is None:
        return SyncState.FAILED
    return SyncState.PENDING


def _keep_remote_fields(row: Contact | Group, stored: Contact | Group) -> None:
    # The instance may be older than the row (a form's, or a caller's): what the account holds
    # is only ever written by pushes and pulls, so it is taken from the row.
    row.remote_id, row.remote_data = stored.remote_id, stored.remote_data
    row.synced_at, row.sync_error = stored.synced_at, stored.sync_error


def _refresh(row: Contact | Group) -> None:
    if not transaction.get_connection().in_atomic_block:
        fresh = type(row)._default_manager.filter(pk=row.pk).first()
        if fresh is not None:
            row.__dict__.update(
                {f.attname: getattr(fresh, f.attname) for f in type(row)._meta.concrete_fields}
            )


def _undo_create(row: Contact | Group) -> Callable[[], None]:
    version = row.updated_at

    def undo() -> None:
        type(row)._default_manager.filter(pk=row.pk, updated_at=version, remote_id__isnull=True).delete()

    return undo


def _undo_update(row: Contact | Group, before: Contact | Group) -> Callable[[], None]:
    version = row.updated_at
    fields = [f.attname for f in type(row)._meta.concrete_fields if f.attname not in ("id", "created_at")]

    def undo() -> None:
        restored = {name: getattr(before, name) for name in fields}
        type(row)._default_manager.filter(pk=row.pk, updated_at=version).update(**restored)
        row.__dict__.update(restored)

    return undo


def delete_contact(contact: Contact, *, push: bool = True) -> None:
    """Delete a contact here and on the account (the row stays ``DELETING`` until confirmed)."""
    _delete(pushing.CONTACTS, contact, push=push)


# --- groups --------------------------------------------------------------------------------------


def _clean_group(group: Group) -> None:
    group.name = (group.name or "").strip()
    if not group.name:
        raise ValidationError({"name": [ValidationError("A group needs a name.", code="required")]})
    group.full_clean(exclude=["remote_data"], validate_unique=False, validate_constraints=False)


def create_group(name: str, *, push: bool = True) -> Group:
    """Create a group and push it."""
    return save_group(Group(name=name), push=push)


def rename_group(group: Group, name: str, *, push: bool = True) -> Group:
    """Rename a group and push the new name."""
    group.name = name
    return save_group(group, push=push)


def save_group(group: Group, *, push: bool = True) -> Group:
    """Validate and store ``group`` (new or renamed) as ``PENDING``, then push it."""
    _clean_group(group)
    creating = group._state.adding or group.pk is None
    with transaction.atomic():
        before = None if creating else _stored(group, "Group")
        if before is not None:
            if before.name == group.name:
                return group
            _keep_remote_fields(group, before)
        group.sync_state = _state_to_push(before)
        group.save()
    if push:
        undo = _undo_create(group) if before is None else _undo_update(group, before)
        pushing.schedule(partial(pushing.push_now, pushing.GROUPS, group.pk, undo=undo))
        _refresh(group)
    return group


def delete_group(group: Group, *, push: bool = True) -> None:
    """Delete a group here and on the account (its members are not deleted, only their membership)."""
    _delete(pushing.GROUPS, group, push=push)


def _delete(kind: pushing.Kind[R], row: R, *, push: bool) -> None:
    with transaction.atomic():
        current = kind.queryset().select_for_update().filter(pk=row.pk).first()
        if current is None:
            return
        if current.remote_id is None:
            current.delete()  # never reached the account (an in-flight create cleans up after itself)
            row.sync_state = SyncState.DELETING
            return
        kind.queryset().filter(pk=row.pk).update(sync_state=SyncState.DELETING, updated_at=timezone.now())
        row.sync_state = SyncState.DELETING
    if push:
        pushing.schedule(partial(pushing.push_now, kind, row.pk))


# --- memberships ---------------------------------------------------------------------------------


def _add_membership(contact: Contact, group: Group) -> bool:
    """Within a transaction: the membership wanted; whether anything changed."""
    if group.sync_state == SyncState.DELETING or contact.sync_state == SyncState.DELETING:
        raise ValidationError(
            f"{contact} cannot join {group}: one of them is being deleted.", code="deleting"
        )
    Membership(contact=contact, group=group).clean()  # the same account
    membership, created = Membership.objects.select_for_update().get_or_create(contact=contact, group=group)
    if created:
        return True
    if membership.sync_state == SyncState.DELETING:
        Membership.objects.filter(pk=membership.pk).update(sync_state=SyncState.PENDING)
        return True
    return False


def add_to_group(contact: Contact, group: Group, *, push: bool = True) -> Membership:
    """Put ``contact`` in ``group``, here and on the account (a no-op when it is there already)."""
    if contact.pk is None or group.pk is None:
        raise ValueError("save the contact and the group before adding one to the other")
    with transaction.atomic():
        before = (
            Membership.objects.filter(contact=contact, group=group)
            .values_list("sync_state", flat=True)
            .first()
        )
        changed = _add_membership(contact, group)
    membership = Membership.objects.get(contact=contact, group=group)
    if push and changed:

        def undo() -> None:
            if before is None:
                Membership.objects.filter(pk=membership.pk).delete()
            else:
                Membership.objects.filter(pk=membership.pk).update(sync_state=before)

        pushing.schedule(partial(pushing.push_membership_now, membership.pk, undo=undo))
        if not transaction.get_connection().in_atomic_block:
            membership = Membership.objects.filter(pk=membership.pk).first() or membership
    return membership


def remove_from_group(contact: Contact, group: Group, *, push: bool = True) -> None:
    """Take ``contact`` out of ``group``, here and on the account (a no-op when it is not in it)."""
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update()
            .select_related("contact", "group")
            .filter(contact=contact, group=group)
            .first()
        )
        if membership is None:
            return
        before = membership.sync_state
        if membership.contact.remote_id is None or membership.group.remote_id is None:
            membership.delete()  # never on the account
            return
        Membership.objects.filter(pk=membership.pk).update(sync_state=SyncState.DELETING)
    if push:

        def undo() -> None:
            Membership.objects.filter(pk=membership.pk).update(sync_state=before)

        pushing.schedule(partial(pushing.push_membership_now, membership.pk, undo=undo))
