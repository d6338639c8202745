"""What other modules may ask of threat intelligence. (Contract stubs: the intel module replaces each body.)"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from attt.intel.sharing import SharedReport


def active_indicators() -> Iterator[tuple[str, str, uuid.UUID]]:
    """Every active indicator usable for detection as (kind, value, indicator id); kinds from OBSERVABLE_KINDS."""
    raise NotImplementedError


def to_stix_bundle(report: SharedReport) -> dict:
    """A STIX 2.1 bundle (report + indicators/observables + TLP marking) that passes stix2-validator."""
    raise NotImplementedError


def to_misp_event(report: SharedReport) -> dict:
    """A MISP event in PyMISP's JSON form ({"Event": {...}})."""
    raise NotImplementedError


def parse_stix_bundle(data: dict) -> list[SharedReport]:
    """Reports (or a single synthetic one for loose indicators) found in a STIX 2.1 bundle; ValueError with a
    sentence on bad input."""
    raise NotImplementedError


def parse_misp_event(data: dict) -> SharedReport:
    """One MISP event (PyMISP JSON) as a shared report; ValueError with a sentence on bad input."""
    raise NotImplementedError


def publish(report: SharedReport, *, organization, collection: str | None = None) -> int:
    """Share a report: its indicators join the intel store (and the TAXII collection); returns how many."""
    raise NotImplementedError


def attack_techniques() -> list[tuple[str, str, list[str]]]:
    """ATT&CK techniques as (external id, name, tactic short names), loaded from the ATT&CK STIX bundle."""
    raise NotImplementedError
