"""What other modules may ask of incident response. (Contract stubs: the incidents module replaces each body.)"""

from __future__ import annotations

import datetime
import uuid


def report_incident(
    *,
    organization,
    title: str,
    description: str,
    source: str,
    reporter=None,
    systems: list[uuid.UUID] | None = None,
    observables: list[tuple[str, str]] | None = None,
    occurred_at: datetime.datetime | None = None,
    category: str | None = None,
):
    """Open an incident (state "received") as if reported through the authenticated form; `source` is one of
    the intake channels (e.g. "soc" when detection escalates an alert). Returns the Incident."""
    raise NotImplementedError
