"""Tests for simulator/handlers/templates.py: the seeded templates over the REST API."""

from __future__ import annotations

from tests.simulator_calls import call, error, ok


def test_templates(sim):
    listed = ok(call(sim, "GET", "templates/all"))
    templates = listed["webServiceTemplates"]
    assert [t["templateId"] for t in templates] == [1, 2, 3]
    assert set(templates[0]) == {"templateId", "name", "data", "links"}
    assert ok(call(sim, "GET", "templates/2")) == templates[1]
    assert call(sim, "DELETE", "templates/2").status == 200
    error(call(sim, "GET", "templates/2"), 404)
    error(call(sim, "GET", "templates/abc"), 404)
    error(call(sim, "POST", "templates/all"), 405)
