"""The indicator store: upserting observables for an owner, and the importers (plain lists, STIX bundles,
MISP events and local MISP feeds) that feed it. Imports are all-or-nothing: every bad row is reported and,
if there is one, nothing is written."""

from __future__ import annotations

import csv
import datetime
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from attt.core import audit
from attt.core.models import AuditEvent
from attt.intel import misp, observables, signals, stix
from attt.intel.models import Indicator, Source
from attt.intel.sharing import OBSERVABLE_KINDS, TLP_LEVELS, TLP_ORDER, SharedObservable, SharedReport, strictest

MAX_IMPORT_BYTES = 50 * 1024 * 1024
MAX_ERRORS = 1000
BATCH = 2000
FORMATS = ("csv", "stix", "misp")


class RefusedImport(ValueError):
    """An import refused as a whole, with every bad row."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        first = "; ".join(f"{where}: {message}" for where, message in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"Nothing was imported: {len(errors)} bad row(s). {first}{more}")


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    reports: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "reports": self.reports,
            "errors": [{"row": w, "message": m} for w, m in self.errors],
        }


def check_indicator(organization, kind: str | None, value: str | None, confidence: int | None, *, pk=None):
    """An indicator entered by hand (form or API): (canonical value, {field: message} for what is wrong).
    The owner may hold each canonical value once."""
    errors: dict[str, str] = {}
    if confidence is not None and confidence > 100:
        errors["confidence"] = _("Confidence is a percentage (0 to 100).")
    if not (kind and value):
        return value, errors
    try:
        value = observables.normalise(kind, value)
    except ValueError as exc:
        return value, {**errors, "value": str(exc)}
    clash = Indicator.objects.filter(organization=organization, kind=kind, value=value).exclude(pk=pk)
    if clash.exists():
        errors["value"] = _("This organisation already has this indicator.")
    return value, errors


def parse_list(text: str, kind: str | None = None) -> tuple[list[SharedObservable], list[tuple[str, str]]]:
    """Observables of a plain list: one value per line, or CSV with a `value` column (and optional `kind`,
    `comment` columns). Lines starting with # are comments. Returns (observables, bad rows)."""
    if kind is not None and kind not in OBSERVABLE_KINDS:
        raise ValueError(f"“{kind}” is not an observable kind; use one of {', '.join(OBSERVABLE_KINDS)}.")
    numbered = [
        (number, next(csv.reader([line])))
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    found: list[SharedObservable] = []
    errors: list[tuple[str, str]] = []
    if not numbered:
        return found, [("file", "The list holds no indicator.")]
    header = [cell.strip().lower() for cell in numbered[0][1]]
    columns = None
    if "value" in header or "indicator" in header:
        columns = {name: header.index(name) for name in header}
        numbered = numbered[1:]
    value_col = (columns or {}).get("value", (columns or {}).get("indicator", 0))
    for number, row in numbered:
        if len(errors) >= MAX_ERRORS:
            break
        if not row or value_col >= len(row) or not row[value_col].strip():
            errors.append((f"line {number}", "The value is empty."))
            continue
        value = row[value_col]
        row_kind = kind
        if columns and "kind" in columns and columns["kind"] < len(row) and row[columns["kind"]].strip():
            row_kind = row[columns["kind"]].strip().lower()
        elif columns is None and len(row) > 1 and row[1].strip().lower() in OBSERVABLE_KINDS:
            row_kind = row[1].strip().lower()
        comment = ""
        if columns and "comment" in columns and columns["comment"] < len(row):
            comment = row[columns["comment"]].strip()
        try:
            found_kind, canonical = observables.parse(value, row_kind)
        except ValueError as exc:
            errors.append((f"line {number}", str(exc)))
            continue
        found.append(SharedObservable(found_kind, canonical, comment=comment[:1000]))
    return found, errors


def check_size(size: int) -> None:
    """Refuse an import file over the limit; the pages, the API and the CLI ask before reading it."""
    if size > MAX_IMPORT_BYTES:
        raise ValueError(_("The file is larger than %(mb)s MB.") % {"mb": MAX_IMPORT_BYTES // 2**20})


def decode(data: bytes) -> str:
    check_size(len(data))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("The file is not UTF-8 text.") from None


def load_json(data: bytes) -> object:
    try:
        return json.loads(decode(data))
    except json.JSONDecodeError as exc:
        raise ValueError(f"The file is not valid JSON (line {exc.lineno}, column {exc.colno}).") from None
    except RecursionError:
        raise ValueError("The file nests its JSON too deeply.") from None


def guess_format(name: str, data: bytes) -> str:
    """csv, stix or misp from the file name and the first bytes."""
    lowered = name.lower()
    if lowered.endswith((".csv", ".txt", ".lst")):
        return "csv"
    head = data[:4096].lstrip()
    if head.startswith(b"{"):
        return "stix" if b'"bundle"' in data[:100_000] else "misp"
    return "csv"


def parse_file(data: bytes, fmt: str, kind: str | None = None) -> list[SharedReport] | list[SharedObservable]:
    """What a file holds: observables for csv, reports for stix/misp. Raises RefusedImport with every bad row."""
    if fmt == "csv":
        found, errors = parse_list(decode(data), kind)
        if errors:
            raise RefusedImport(errors)
        return found
    document = load_json(data)
    if fmt == "stix":
        return stix.parse_bundle(document)
    if fmt == "misp":
        if isinstance(document, list):  # an array of events, as some exports write
            return [misp.parse_event(event) for event in document]
        if isinstance(document, dict) and isinstance(document.get("response"), list):
            return [misp.parse_event(event) for event in document["response"]]
        return [misp.parse_event(document)]
    raise ValueError(f"“{fmt}” is not an import format; use one of {', '.join(FORMATS)}.")


def read_misp_feed(directory: Path) -> list[SharedReport]:
    """The events of a MISP feed mirrored on local disk: manifest.json plus one <uuid>.json per event.
    Only the event files the manifest names are read, and only from that directory."""
    directory = Path(directory)
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise ValueError(f"{directory} has no manifest.json: it is not a MISP feed directory.")
    manifest = load_json(manifest_path.read_bytes())
    if not isinstance(manifest, dict):
        raise ValueError("manifest.json is not a JSON object of event uuids.")
    reports = []
    for event_uuid in manifest:
        try:
            name = f"{uuid.UUID(str(event_uuid))}.json"
        except ValueError:
            raise ValueError(f"manifest.json names “{str(event_uuid)[:60]}”, which is not an event uuid.") from None
        path = directory / name
        if not path.is_file():
            raise ValueError(f"The feed lists event {event_uuid} but {name} is missing.")
        try:
            reports.append(misp.parse_event(load_json(path.read_bytes())))
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return reports


def _observables_of(reports: list[SharedReport], *, detect_only: bool) -> list[tuple[SharedObservable, str, str]]:
    """(observable, TLP, reference) items: each observable at its own TLP when marked stricter than its report."""
    return [
        (obs, report.tlp_of(obs), str(report.id))
        for report in reports
        for obs in report.observables
        if obs.to_detect or not detect_only
    ]


@transaction.atomic
def upsert(
    organization,
    items: list[tuple[SharedObservable, str, str]],
    *,
    source: str,
    confidence: int | None = None,
    label: str = "",
) -> ImportResult:
    """Write (observable, tlp, reference) items for one owner: new ones are created, known ones get their
    last-seen date (and a stricter TLP) refreshed. One audit event for the whole import."""
    if source not in Source.values:
        raise ValueError(f"“{source}” is not an indicator source.")
    now = timezone.now()
    merged: dict[tuple[str, str], tuple[SharedObservable, str, str]] = {}
    for obs, tlp, reference in items:
        if tlp not in TLP_LEVELS:
            raise ValueError(f"“{tlp}” is not a TLP level; use one of {', '.join(TLP_LEVELS)}.")
        key = (obs.kind, observables.normalise(obs.kind, obs.value))
        if "\x00" in obs.comment:
            raise ValueError(f"The comment of {key[0]} {key[1][:100]} contains a NUL character.")
        old = merged.get(key)
        if old is None or TLP_ORDER[tlp] > TLP_ORDER[old[1]]:
            merged[key] = (obs, tlp, reference)
    result = ImportResult()
    keys = list(merged)
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        for attempt in range(3):
            try:
                with transaction.atomic():  # a savepoint: a clash with a concurrent import is retried alone
                    audit.lock_chain()  # before the rows it refreshes, as the audit entry comes after
                    created, updated = _write_chunk(organization, chunk, merged, source, confidence, now)
                break
            except IntegrityError:
                # Another import added one of these values after we looked: it is known now, read again.
                if attempt == 2:
                    raise
        result.created += created
        result.updated += updated
    if result.created or result.updated:
        signals.announce()
        audit.record(
            AuditEvent.Action.WORKFLOW,
            object_type="intel.indicator",
            object_repr=f"{source} import {label}".strip()[:255],
            organization=organization,
            changes={"step": "import", "after": {"source": source, **result.as_dict()}},
        )
    return result


def _write_chunk(organization, chunk, merged, source, confidence, now) -> tuple[int, int]:
    """Create the chunk's new indicators and refresh its known ones; (created, refreshed)."""
    existing = {}
    for kind in {k for k, _v in chunk}:
        values = [v for k, v in chunk if k == kind]
        found = Indicator.objects.filter(organization=organization, kind=kind, value__in=values)
        for ind in found.only("pk", "kind", "value", "tlp", "last_seen", "valid_until"):
            existing[(ind.kind, ind.value)] = ind
    new = []
    # Known indicators are refreshed with one UPDATE per (last seen, TLP, valid until) group: a re-import of a
    # 10,000-line list is a handful of statements, not 10,000.
    refresh: dict[tuple, list] = {}
    for key in chunk:
        obs, tlp, reference = merged[key]
        seen = obs.last_seen or obs.first_seen or now
        ind = existing.get(key)
        if ind is None:
            new.append(
                Indicator(
                    organization=organization,
                    kind=key[0],
                    value=key[1],
                    tlp=tlp,
                    source=source,
                    source_reference=reference[:255],
                    confidence=confidence,
                    comment=obs.comment[:4000],
                    valid_from=obs.first_seen or now,
                    valid_until=obs.valid_until,
                    first_seen=obs.first_seen or now,
                    last_seen=seen,
                    created_at=now,
                    updated_at=now,
                )
            )
            continue
        last_seen = max(filter(None, [ind.last_seen, seen]))
        stricter = strictest(tlp, ind.tlp)
        # a validity is extended, never shortened; none (for ever) stays none
        until = ind.valid_until and obs.valid_until and max(ind.valid_until, obs.valid_until)
        refresh.setdefault((last_seen, stricter, until or ind.valid_until), []).append(ind.pk)
    Indicator.objects.bulk_create(new, batch_size=500)
    for (last_seen, tlp, until), pks in refresh.items():
        Indicator.objects.filter(pk__in=pks).update(
            last_seen=last_seen, tlp=tlp, valid_until=until, active=True, updated_at=now
        )
    changed = [pk for pks in refresh.values() for pk in pks]
    return len(new), len(changed)


def import_data(
    organization,
    data: bytes,
    *,
    fmt: str | None = None,
    name: str = "",
    tlp: str | None = None,
    kind: str | None = None,
    confidence: int | None = None,
) -> ImportResult:
    """Import one uploaded or local file into an owner's store; every observable of a plain list, the
    detection observables (to_ids) of STIX/MISP. `tlp` overrides the TLP the file carries."""
    if tlp is not None and tlp not in TLP_LEVELS:
        raise ValueError(f"“{tlp}” is not a TLP level; use one of {', '.join(TLP_LEVELS)}.")
    fmt = fmt or guess_format(name, data)
    parsed = parse_file(data, fmt, kind)
    if fmt == "csv":
        items = [(obs, tlp or "amber", name) for obs in parsed]
        reports = 0
    else:
        items = [(obs, tlp or level, ref) for obs, level, ref in _observables_of(parsed, detect_only=True)]
        reports = len(parsed)
    source = {"csv": Source.LIST, "stix": Source.STIX, "misp": Source.MISP}[fmt]
    return _write(organization, items, source=source, confidence=confidence, label=name, reports=reports)


def import_reports(organization, reports: list[SharedReport], *, source: str, label: str = "") -> ImportResult:
    """The detection observables of parsed reports (a MISP feed, a TAXII pull) into an owner's store."""
    items = _observables_of(reports, detect_only=True)
    return _write(organization, items, source=source, label=label, reports=len(reports))


def import_objects(
    organization, objects: list[dict], *, source: str = Source.TAXII, markings: dict[str, str] | None = None
) -> int:
    """The detection observables of STIX objects a partner pushed into a collection, into the collection
    owner's store with each object's own TLP (`markings`: the levels of the producer's own TLP marking
    definitions a push refers to, `collections.Pushed.markings`). Objects whose values do not parse stay in the
    collection (they are valid STIX) but give no indicator; a revoked object retires the indicator it gave. Returns
    how many indicators were created or refreshed."""
    revoked = [obj["id"] for obj in objects if obj.get("revoked") is True]
    retired = Indicator.objects.filter(organization=organization, source=source, source_reference__in=revoked)
    if revoked and retired.filter(active=True).update(active=False, updated_at=timezone.now()):
        signals.announce()
    items = []
    for obj in objects:
        try:
            found = stix.observables_of(obj, markings)
        except ValueError:
            continue
        items += [(obs, obs.tlp or "amber", obj["id"]) for obs in found if obs.to_detect]
    if not items:
        return 0
    result = upsert(organization, items, source=source, label="TAXII")
    return result.created + result.updated


def _write(organization, items, *, source: str, label: str, reports: int, confidence: int | None = None):
    if not items:
        raise ValueError("The file holds no indicator to import.")
    result = upsert(organization, items, source=source, confidence=confidence, label=label)
    result.reports = reports
    return result


def expire(now: datetime.datetime | None = None) -> int:
    """Indicators past their valid_until stop being served to detection."""
    now = now or timezone.now()
    retired = Indicator.objects.filter(active=True, valid_until__lt=now).update(active=False, updated_at=now)
    if retired:
        signals.announce()
    return retired
