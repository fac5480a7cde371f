"""A kind of record the REST API reads by id: where it lives, its name in a 404, its JSON shape."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..errors import lookup
from ..http import Operation, Request, SimulatorResponse, json_response

if TYPE_CHECKING:
    from ..core import Simulator
    from ..state import AccountState

T = TypeVar("T")


@dataclass(frozen=True)
class Resource(Generic[T]):
    """``kind`` names it in the provider's 404 (``"Contact not found"``); ``records`` finds the
    state's mapping of them by id (an integer id when ``numeric``); ``shape`` is its JSON. Lists
    are in creation order, or in id order when ``by_id``."""

    kind: str
    records: Callable[[AccountState], Mapping[Any, T]]
    shape: Callable[[Simulator, T], dict[str, Any]]
    numeric: bool = False
    by_id: bool = False

    def find(self, sim: Simulator, identifier: str) -> T:
        """The record with id ``identifier``, or the provider's 404."""
        return lookup(self.records(sim.state), identifier, self.kind, numeric=self.numeric)

    def answer(self, sim: Simulator, record: T) -> SimulatorResponse:
        """200 with the record's JSON."""
        return json_response(200, self.shape(sim, record))

    def getter(self, name: str, xml_root: str) -> Operation:
        """The operation answering one record by the id in its path."""

        def get(sim: Simulator, request: Request, identifier: str) -> SimulatorResponse:
            return self.answer(sim, self.find(sim, identifier))

        return Operation(name, get, xml_root)

    def all_json(self, sim: Simulator) -> list[dict[str, Any]]:
        """Every record's JSON."""
        records = self.records(sim.state)
        ordered = [record for _, record in sorted(records.items())] if self.by_id else records.values()
        return [self.shape(sim, record) for record in ordered]

    def lister(self, name: str, key: str) -> Operation:
        """The operation answering every record, under ``key`` (the spec's list field, which also
        names the answer's XML root)."""

        def list_all(sim: Simulator, request: Request) -> SimulatorResponse:
            return json_response(200, {key: self.all_json(sim), "links": []})

        return Operation(name, list_all, key)
