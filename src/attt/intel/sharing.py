"""The neutral form of what one organisation shares with others: incidents hand it to intel, intel turns it
into STIX 2.1 or a MISP event and back. Neither side needs to know the other's tables or formats."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field

# Observable kinds understood across the platform (incidents, intel, detection).
OBSERVABLE_KINDS = ("ipv4", "ipv6", "domain", "url", "md5", "sha1", "sha256", "email", "phone", "bank_account")
TLP_LEVELS = ("clear", "green", "amber", "amber+strict", "red")


@dataclass(slots=True)
class SharedObservable:
    kind: str  # one of OBSERVABLE_KINDS
    value: str
    comment: str = ""
    first_seen: datetime.datetime | None = None
    last_seen: datetime.datetime | None = None
    to_detect: bool = True  # usable as a detection indicator (MISP to_ids)


@dataclass(slots=True)
class SharedReport:
    id: uuid.UUID  # stable: the same incident always gives the same STIX report / MISP event uuid
    title: str
    description: str
    created: datetime.datetime
    modified: datetime.datetime
    tlp: str = "amber"  # one of TLP_LEVELS
    labels: list[str] = field(default_factory=list)  # e.g. incident category codes
    techniques: list[str] = field(default_factory=list)  # ATT&CK external ids, e.g. "T0883"
    observables: list[SharedObservable] = field(default_factory=list)
    producer: str = ""  # name of the sharing organisation
