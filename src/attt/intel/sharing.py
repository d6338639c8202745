"""The neutral form of what one organisation shares with others: incidents hand it to intel, intel turns it
into STIX 2.1 or a MISP event and back. Neither side needs to know the other's tables or formats."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

# Observable kinds understood across the platform (incidents, intel, detection), with their names for people.
OBSERVABLE_KIND_LABELS = {
    "ipv4": _("IPv4 address"),
    "ipv6": _("IPv6 address"),
    "domain": _("Domain name"),
    "url": _("URL"),
    "md5": _("MD5 hash"),
    "sha1": _("SHA-1 hash"),
    "sha256": _("SHA-256 hash"),
    "email": _("E-mail address"),
    "phone": _("Telephone number"),
    "bank_account": _("Bank account"),
}
OBSERVABLE_KINDS = tuple(OBSERVABLE_KIND_LABELS)
TLP_LEVELS = ("clear", "green", "amber", "amber+strict", "red")
TLP_LABELS = {level: f"TLP:{level.upper()}" for level in TLP_LEVELS}
TLP_ORDER = {level: rank for rank, level in enumerate(TLP_LEVELS)}  # higher: shared with fewer


def strictest(*levels: str | None) -> str | None:
    """The most restrictive of the TLP levels given (None and unknown levels are left out): what two markings of
    the same thing add up to. A bug here would share a TLP:RED item as CLEAR, so nothing else decides it."""
    known = [level for level in levels if level in TLP_ORDER]
    return max(known, key=TLP_ORDER.__getitem__) if known else None


@dataclass(slots=True)
class SharedObservable:
    kind: str  # one of OBSERVABLE_KINDS
    value: str
    comment: str = ""
    first_seen: datetime.datetime | None = None
    last_seen: datetime.datetime | None = None
    to_detect: bool = True  # usable as a detection indicator (MISP to_ids)
    # Its own TLP when the source marked it (a MISP attribute's tag, a STIX object's marking); what it may be
    # shared at is the stricter of this and its report's TLP (`SharedReport.tlp_of`).
    tlp: str | None = None
    valid_until: datetime.datetime | None = None  # the end of its validity, when the source gives one (STIX)


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

    def tlp_of(self, observable: SharedObservable) -> str:
        """The TLP one of the report's observables travels at: never lower than the report's."""
        return strictest(self.tlp, observable.tlp) or "amber"
