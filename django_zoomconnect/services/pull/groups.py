"""Pull groups: the account's list, whole; a local group not pushed yet is adopted by a unique name."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from ...models import Group, SyncState
from ...wire import Group as RemoteGroup
from ..mapping import group_fields
from .engine import Listed

__all__ = ["GROUPS"]


def _by_unique_name(
    rows: list[Group], listed: dict[Any, RemoteGroup]
) -> Callable[[Any, dict[str, Any]], Group | None]:
    """Adopt only by a name that one unlinked local group and one new remote group share."""
    unlinked: dict[str, list[Group]] = defaultdict(list)
    for row in rows:
        if row.remote_id is None and row.sync_state != SyncState.DELETING:
            unlinked[row.name].append(row)
    linked = {row.remote_id for row in rows if row.remote_id is not None}
    fresh: dict[str, int] = defaultdict(int)
    for group_id, item in listed.items():
        if group_id not in linked:
            fresh[group_fields(item)["name"]] += 1

    def find(remote_id: Any, values: dict[str, Any]) -> Group | None:
        name = values["name"]
        candidates = unlinked.get(name, [])
        return candidates[0] if len(candidates) == 1 and fresh[name] == 1 else None

    return find


GROUPS = Listed(
    name="groups",
    model=Group,
    fetch=lambda api: api.list_groups(),
    remote_id=lambda item: item.group_id,
    values=group_fields,
    rows=lambda account: Group.objects.filter(account=account),
    adopter=_by_unique_name,
)
