"""Where detection plugs into ingest without monitoring importing it.

Contract (kept as agreed with detection):

- ``NormalisedEvent``: ``id`` (str, stable per event: duplicates removable by it), ``source_id`` (UUID),
  ``organization_id`` (UUID), ``timestamp`` (aware datetime), ``ecs`` (dict, the ECS document with
  ``event.original``), ``fields`` (the flat vendor field map Sigma rules use), ``system_id`` (UUID | None, from
  registry enrichment), ``observables`` (list of (kind, value) pairs pulled out for indicator matching).
- ``register_consumer(name: str, consume: Callable[[list[NormalisedEvent]], None])``: called in an app's
  ``ready()``; every stored batch is handed to every consumer (detection registers one).

Delivery is at least once: a batch is handed to consumers after it is stored and before the spool (or the
JetStream message) is acknowledged, so after a crash the same events (same ids) may come again.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping

logger = logging.getLogger(__name__)


class NormalisedEvent:
    """One event after normalisation. An NDJSON event is built from its received line without keeping the parsed
    object: its ECS document and field map (`ecs`, `fields`) are made from `original` again on first use, because
    holding thousands of parsed documents per batch costs more than parsing them (ingest stores the line itself and
    only detection reads fields). Other inputs hand their document over at once.

    Besides the contract: `original` (the received bytes), `dataset` and `host` (the ECS `event.dataset` /
    `host.name` the store indexes), `ingested` (receive time) and `system` (enrichment's `SystemInfo`)."""

    __slots__ = (
        "_derive",
        "_ecs",
        "_fields",
        "dataset",
        "host",
        "id",
        "ingested",
        "observables",
        "organization_id",
        "original",
        "source_id",
        "system",
        "system_id",
        "timestamp",
    )

    def __init__(
        self,
        id: str,
        source_id: uuid.UUID,
        organization_id: uuid.UUID,
        timestamp: dt.datetime,
        ecs: dict | None = None,
        fields: Mapping | None = None,
        system_id: uuid.UUID | None = None,
        observables: list[tuple[str, str]] | None = None,
        *,
        original: bytes | None = None,
        dataset: str | None = None,
        host: str | None = None,
        ingested: dt.datetime | None = None,
        derive: Callable[[NormalisedEvent], tuple[dict, Mapping]] | None = None,
    ) -> None:
        self.id = id
        self.source_id = source_id
        self.organization_id = organization_id
        self.timestamp = timestamp
        self._ecs = ecs if ecs is not None or derive is not None else {}
        self._fields = fields if fields is not None or derive is not None else {}
        self.system_id = system_id
        self.observables = observables if observables is not None else []
        self.original = original
        self.dataset = dataset
        self.host = host
        self.ingested = ingested
        self.system = None
        self._derive = derive

    @classmethod
    def from_line(
        cls,
        id: str,
        source_id: uuid.UUID,
        organization_id: uuid.UUID,
        timestamp: dt.datetime,
        observables: list[tuple[str, str]],
        original: bytes,
        dataset: str | None,
        host: str | None,
        ingested: dt.datetime,
        derive: Callable[[NormalisedEvent], tuple[dict, Mapping]],
    ) -> NormalisedEvent:
        """A derived event (document made from `original` on first read), built slot by slot: ingest makes one
        per received line, and `__init__`'s keyword handling cost a twentieth of the per-event budget."""
        event = _new(cls)
        event.id, event.source_id, event.organization_id, event.timestamp = id, source_id, organization_id, timestamp
        event._ecs = event._fields = event.system_id = event.system = None
        event.observables, event.original, event.dataset, event.host = observables, original, dataset, host
        event.ingested, event._derive = ingested, derive
        return event

    @property
    def derived(self) -> bool:
        """True when the document is the received line plus what ingest adds (so the line is all a store keeps)."""
        return self._derive is not None

    @property
    def ecs(self) -> dict:
        if self._ecs is None:
            self._materialise()
        return self._ecs

    @property
    def fields(self) -> Mapping:
        if self._fields is None:
            self._materialise()
        return self._fields

    def _materialise(self) -> None:
        ecs, fields = self._derive(self)
        if self.system is not None:
            ecs["attt"] = {"system": self.system.block()}
        self._ecs, self._fields = ecs, fields if self._fields is None else self._fields

    def set_system(self, info) -> None:
        """Enrichment's result: the system id, and the ECS `attt.system` block (now or when the document is made)."""
        self.system = info
        self.system_id = info.system_id
        if self._ecs is not None:
            self._ecs["attt"] = {"system": info.block()}

    def __repr__(self) -> str:
        return f"NormalisedEvent({self.id!r}, {self.timestamp.isoformat()})"


_new = object.__new__
Consumer = Callable[[list[NormalisedEvent]], None]
_consumers: dict[str, Consumer] = {}


def register_consumer(name: str, consume: Consumer) -> None:
    """Register (or replace, by name) a function every stored batch is handed to."""
    _consumers[name] = consume


def consumers() -> dict[str, Consumer]:
    """The registered consumers by name (a copy)."""
    return dict(_consumers)


def hand_over(events: list[NormalisedEvent]) -> None:
    """Give a stored batch to every consumer. A failing consumer is logged and re-raised, so the batch is not
    acknowledged and comes again (its events are deduplicated by id in the store)."""
    for name, consume in _consumers.items():
        try:
            consume(events)
        except Exception:
            logger.exception("monitoring consumer %s failed on a batch of %d events", name, len(events))
            raise
