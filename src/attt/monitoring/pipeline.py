"""Where detection plugs into ingest without monitoring importing it.

Contract (kept as agreed with detection):

- ``NormalisedEvent`` (dataclass): ``id`` (str, stable per event: duplicates removable by it), ``source_id``
  (UUID), ``organization_id`` (UUID), ``timestamp`` (aware datetime), ``ecs`` (dict, the ECS document with
  ``event.original``), ``fields`` (dict, the flat vendor field map Sigma rules use), ``system_id`` (UUID | None,
  from registry enrichment), ``observables`` (list of (kind, value) pairs pulled out for indicator matching).
- ``register_consumer(name: str, consume: Callable[[list[NormalisedEvent]], None])``: called in an app's
  ``ready()``; every stored batch is handed to every consumer (detection registers one).

Delivery is at least once: a batch is handed to consumers after it is stored and before the spool (or the
JetStream message) is acknowledged, so after a crash the same events (same ids) may come again.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class NormalisedEvent:
    id: str
    source_id: uuid.UUID
    organization_id: uuid.UUID
    timestamp: dt.datetime
    ecs: dict
    fields: dict = field(default_factory=dict)
    system_id: uuid.UUID | None = None
    observables: list[tuple[str, str]] = field(default_factory=list)


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
