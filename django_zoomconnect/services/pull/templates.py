"""Pull templates: read-only on the account; a local template is never matched to a remote one.

A local template (no remote id) with a remote one's name is a different template: the API cannot
create templates, so nothing local is ever linked to the account's.
"""

from __future__ import annotations

from ...models import Template
from ..mapping import template_fields
from .engine import Listed

__all__ = ["TEMPLATES"]


TEMPLATES = Listed(
    name="templates",
    model=Template,
    fetch=lambda api: api.list_templates(),
    remote_id=lambda item: item.template_id,
    values=template_fields,
    rows=lambda account: Template.objects.filter(account=account, remote_id__isnull=False),
)
