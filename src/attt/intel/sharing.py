"""The neutral form of what one organisation shares with others: incidents hand it to intel, intel turns it
into STIX 2.1 or a MISP event and back. Neither side needs to know the other's tables or formats."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _


# Observable kinds understood across the platform (incidents, intel, detection), with their names for people:
# one set of choices both modules' models use, so a kind or a marking reads alike everywhere.
class ObservableKind(models.TextChoices):
    IPV4 = "ipv4", _("IPv4 address")
    IPV6 = "ipv6", _("IPv6 address")
    DOMAIN = "domain", _("Domain name")
    URL = "url", _("URL")
    MD5 = "md5", _("MD5 hash")
    SHA1 = "sha1", _("SHA-1 hash")
    SHA256 = "sha256", _("SHA-256 hash")
    EMAIL = "email", _("E-mail address")
    PHONE = "phone", _("Telephone number")
    BANK_ACCOUNT = "bank_account", _("Bank account")


class Tlp(models.TextChoices):
    CLEAR = "clear", "TLP:CLEAR"
    GREEN = "green", "TLP:GREEN"
    AMBER = "amber", "TLP:AMBER"
    AMBER_STRICT = "amber+strict", "TLP:AMBER+STRICT"
    RED = "red", "TLP:RED"


OBSERVABLE_KINDS = tuple(ObservableKind.values)
TLP_LEVELS = tuple(Tlp.values)  # from the least to the most restrictive
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
