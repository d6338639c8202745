"""What other modules may ask of threat intelligence: the indicators detection matches against, the
ATT&CK table, the canonical form of an observable, and the conversions of a shared report to and from
STIX 2.1 and MISP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from attt.core import audit
from attt.core.models import AuditEvent
from attt.intel import collections, misp, observables, signals, stix, store
from attt.intel.models import Collection, Indicator, Source, Technique
from attt.intel.sharing import SharedReport, strictest

STREAM_CHUNK = 5000
MERGE_CHUNK = 500
MERGED_FIELDS = ["first_seen", "last_seen", "valid_until", "tlp", "active", "updated_at"]


def active_indicators() -> Iterator[tuple[str, str, uuid.UUID]]:
    """Every active indicator usable for detection as (kind, value, indicator id); kinds from OBSERVABLE_KINDS."""
    now = timezone.now()
    current = Indicator.objects.filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now), active=True)
    rows = current.order_by().values_list("kind", "value", "id")
    return rows.iterator(chunk_size=STREAM_CHUNK)


def normalise_observable(kind: str, value: str) -> str:
    """The canonical form of an observable of `kind` (one of OBSERVABLE_KINDS): the one every module stores and
    matches, at most 2048 characters. ValueError with a sentence a user can act on otherwise."""
    return observables.normalise(kind, value)


def to_stix_bundle(report: SharedReport) -> dict:
    """A STIX 2.1 bundle (report + indicators/observables + TLP marking) that passes stix2-validator."""
    return stix.to_bundle(report)


def to_misp_event(report: SharedReport) -> dict:
    """A MISP event in PyMISP's JSON form ({"Event": {...}})."""
    return misp.to_event(report)


def parse_stix_bundle(data: dict) -> list[SharedReport]:
    """Reports (or a single synthetic one for loose indicators) found in a STIX 2.1 bundle; ValueError with a
    sentence on bad input."""
    return stix.parse_bundle(data)


def parse_misp_event(data: dict) -> SharedReport:
    """One MISP event (PyMISP JSON) as a shared report; ValueError with a sentence on bad input."""
    return misp.parse_event(data)


@transaction.atomic
def publish(report: SharedReport, *, organization, collection: str | None = None) -> int:
    """Share a report: its indicators join the intel store (and the TAXII collection); returns how many.

    `collection` is a collection id or alias of `organization`; by default its sharing collection."""
    bundle = stix.to_bundle(report)
    owned = collections.owned(organization, collection) if collection else None
    target = owned or collections.default_collection(organization)
    status = collections.add_objects(target, bundle["objects"]).status  # official markings only: nothing raised
    if status.failures:
        raise ValueError(f"The report could not be shared: {status.failures[0]['message']}")
    items = [(obs, report.tlp_of(obs), str(report.id)) for obs in report.observables if obs.to_detect]
    result = store.upsert(organization, items, source=Source.INCIDENT, label=report.title[:100])
    return result.created + result.updated


def attack_techniques() -> list[tuple[str, str, list[str]]]:
    """ATT&CK techniques as (external id, name, tactic short names), loaded from the ATT&CK STIX bundle."""
    return [
        (external_id, name, list(tactics))
        for external_id, name, tactics in Technique.objects.filter(deprecated=False)
        .order_by("external_id")
        .values_list("external_id", "name", "tactic_names")
    ]


def prepare_merge(source, target) -> None:
    """Before `source`'s intelligence moves to `target` (a merger; registered on Collection): the target's default
    collection stays the default (the source's becomes an ordinary one, its objects and grants kept), and an
    indicator both watch is kept once, as the target's, seen over both periods, at the stricter TLP, active if
    either was. Without this the merger is refused: each may hold one default and each indicator once."""
    if Collection.objects.filter(organization=target, is_default=True).exists():
        for collection in Collection.objects.filter(organization=source, is_default=True):
            collection.is_default = False
            collection.save(update_fields=["is_default", "updated_at"])
    theirs = Indicator.objects.filter(organization=target, kind=OuterRef("kind"), value=OuterRef("value"))
    duplicates = list(Indicator.objects.filter(Exists(theirs), organization=source).values_list("pk", flat=True))
    now = timezone.now()
    for start in range(0, len(duplicates), MERGE_CHUNK):  # a few statements per chunk, not three per indicator
        mine = Indicator.objects.filter(pk__in=duplicates[start : start + MERGE_CHUNK])
        by_key = {(ind.kind, ind.value): ind for ind in mine}
        kept = Indicator.objects.filter(
            organization=target, kind__in={k for k, _v in by_key}, value__in=[v for _k, v in by_key]
        )
        changed = []
        for ind in kept:
            other = by_key.get((ind.kind, ind.value))
            if other is None:  # the same value under another kind
                continue
            ind.first_seen = min(filter(None, (ind.first_seen, other.first_seen)), default=None)
            ind.last_seen = max(filter(None, (ind.last_seen, other.last_seen)), default=None)
            ind.valid_until = (
                None if None in (ind.valid_until, other.valid_until) else max(ind.valid_until, other.valid_until)
            )
            ind.tlp = strictest(ind.tlp, other.tlp) or ind.tlp
            ind.active = ind.active or other.active
            ind.updated_at = now
            changed.append(ind)
        Indicator.objects.bulk_update(changed, MERGED_FIELDS)
        mine.delete()
    if duplicates:
        signals.announce()
        audit.record(
            AuditEvent.Action.WORKFLOW,
            object_type="intel.indicator",
            object_repr=f"{source} → {target}"[:255],
            organization=target,
            changes={"step": "merge", "after": {"kept_once": len(duplicates)}},
        )
