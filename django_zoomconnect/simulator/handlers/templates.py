"""``templates/…``: the account's message templates (read and deleted; only seeded), and their shape."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..http import Request, SimulatorResponse, deleted, operation
from ..records import Template
from .resource import Resource

if TYPE_CHECKING:
    from ..core import Simulator


def template_json(t: Template) -> dict[str, Any]:
    """A template as the provider's ``WebServiceTemplate``."""
    return {"templateId": t.template_id, "name": t.name, "data": t.data, "links": []}


TEMPLATES: Resource[Template] = Resource(
    "Template", lambda state: state.templates, lambda sim, t: template_json(t), numeric=True, by_id=True
)
list_templates = TEMPLATES.lister("list_templates", "webServiceTemplates")
get_template = TEMPLATES.getter("get_template", "webServiceTemplate")


@operation()
def delete_template(sim: Simulator, request: Request, template_id: str) -> SimulatorResponse:
    template = TEMPLATES.find(sim, template_id)
    del sim.state.templates[template.template_id]
    return deleted(sim)
