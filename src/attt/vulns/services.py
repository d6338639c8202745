"""Early warning as other modules and the CLI see it: import feeds, match the registry, handle warnings.

The corpus is imported with bulk writes (one audit event per import, not one per CVE: a national feed
holds 250,000 records), and every import immediately matches what changed against the registry, so a
new CVE or KEV entry becomes warnings to the owners within the same call.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import socket
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import groupby
from operator import attrgetter
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import CharField, Count, Q
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from attt.compliance import services as compliance
from attt.core import audit, scoping
from attt.core.locks import lock_current
from attt.core.models import AuditEvent, Organization, User
from attt.core.services.notifications import notify_permission_holders
from attt.registry import services as registry
from attt.vulns import feeds
from attt.vulns.cpe import KNOWN_PURLS, quote
from attt.vulns.feeds import Criterion, EPSSScore, Feed, FeedError, KEVEntry, VulnRecord
from attt.vulns.matching import ComponentKey, CriteriaIndex, key_of
from attt.vulns.models import (
    OPEN_STATUSES,
    FeedState,
    MatchCriterion,
    Priority,
    ProductMapping,
    Vulnerability,
    VulnWarning,
    WarningStatus,
)

__all__ = [
    "FeedError",
    "ImportReport",
    "affected",
    "exposure",
    "follow_new_owner",
    "import_feed",
    "import_paths",
    "rematch_all",
    "sync_feeds",
    "transition",
    "vulnerability_management_status",
]

BATCH = 1000


@dataclass
class ImportReport:
    kind: str = ""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kev_changed: int = 0
    epss_changed: int = 0
    warnings_created: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    changed_ids: set = field(default_factory=set)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "kev_changed": self.kev_changed,
            "epss_changed": self.epss_changed,
            "warnings_created": self.warnings_created,
            "skipped": [{"record": r, "reason": why} for r, why in self.skipped[:500]],
            "skipped_total": len(self.skipped),
        }


def _date(text: str) -> datetime.date | None:
    """A date of a parsed feed: the parsers pass on only YYYY-MM-DD (perhaps with a time) or nothing."""
    return datetime.date.fromisoformat(text[:10]) if text else None


# --- The in-memory criteria index --------------------------------------------------------------------

_cache: dict = {"generation": None, "index": None}


def _generation() -> int:
    return FeedState.objects.filter(name="corpus").values_list("generation", flat=True).first() or 0


def _bump_generation() -> int:
    state, _created = FeedState.objects.get_or_create(name="corpus")
    FeedState.objects.filter(pk=state.pk).update(generation=state.generation + 1)
    return state.generation + 1


def _row_criterion(row: tuple) -> Criterion:
    (_vid, cpe, part, vendor, product, version, extras, si, se, ei, ee, vulnerable, config, needs) = row
    return Criterion(
        cpe, part, vendor, product, version, tuple(extras.split(":")), si, se, ei, ee, vulnerable, config, needs
    )


_CRITERION_FIELDS = (
    "vulnerability_id",
    "cpe",
    "part",
    "vendor",
    "product",
    "version",
    "extras",
    "start_including",
    "start_excluding",
    "end_including",
    "end_excluding",
    "vulnerable",
    "config",
    "needs_platform",
)


def criteria_index() -> CriteriaIndex:
    """The index of all criteria, rebuilt only when another process imported since it was built."""
    generation = _generation()
    if _cache["index"] is None or _cache["generation"] != generation:
        index = CriteriaIndex()
        for row in MatchCriterion.objects.values_list(*_CRITERION_FIELDS).iterator(chunk_size=20000):
            index.add(row[0], _row_criterion(row))
        _cache.update(index=index, generation=generation)
    return _cache["index"]


def forget_index() -> None:
    _cache.update(index=None, generation=None)


# --- Import --------------------------------------------------------------------------------------------


def import_paths(paths: list[str | Path], *, match: bool = True, notify: bool = True) -> list[ImportReport]:
    """Import feed files (any supported format; a directory imports its *.json, *.csv, *.gz files). A file that
    cannot be read or is not a feed gets a report of kind "error" (nothing of it is stored); the others import."""
    files: list[Path] = []
    reports = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".json", ".csv", ".gz") and p.is_file())
            if not found:
                reports.append(ImportReport(kind="error", skipped=[(str(path), "no *.json, *.csv or *.gz file in it")]))
            files.extend(found)
        else:
            files.append(path)
    # CVE records before KEV and EPSS, so the latter find what they annotate.
    parsed: list[tuple[Path, Feed]] = []
    for path in files:
        try:
            parsed.append((path, feeds.load(path.read_bytes(), path.name)))
        except OSError as exc:
            reports.append(ImportReport(kind="error", skipped=[(str(path), f"cannot be read: {exc.strerror or exc}")]))
        except FeedError as exc:
            reports.append(ImportReport(kind="error", skipped=[(str(path), str(exc))]))
    order = {"nvd": 0, "cve5": 0, "csaf": 0, "kev": 1, "epss": 2}
    merged: dict[str, Feed] = {}
    for path, feed in sorted(parsed, key=lambda item: order.get(item[1].kind, 3)):
        target = merged.setdefault(feed.kind, Feed(feed.kind))
        target.records.extend(feed.records)
        target.skipped.extend((f"{path.name}: {rec}", why) for rec, why in feed.skipped)
    for kind in sorted(merged, key=lambda k: order.get(k, 3)):
        reports.append(
            import_feed(merged[kind], source=", ".join(str(p) for p in paths)[:500], match=match, notify=notify)
        )
    return reports


def import_feed(feed: Feed, *, source: str = "", match: bool = True, notify: bool = True) -> ImportReport:
    """Store a parsed feed (incrementally: unchanged records are counted, not rewritten), then match what
    changed against the registry."""
    report = ImportReport(kind=feed.kind, skipped=list(feed.skipped))
    with transaction.atomic():
        audit.lock_chain()  # before the warnings it re-prioritises, as the import's audit entry comes after
        if feed.kind in ("nvd", "cve5", "csaf"):
            _import_records(feed.records, feed.kind, report)
        elif feed.kind == "kev":
            _import_kev(feed.records, report)
        elif feed.kind == "epss":
            _import_epss(feed.records, report)
        FeedState.objects.update_or_create(
            name=feed.kind,
            defaults={"last_run": timezone.now(), "last_source": source, "last_report": report.as_dict()},
        )
        if report.created or report.updated or report.kev_changed or report.epss_changed:
            audit.record(
                AuditEvent.Action.WORKFLOW,
                object_type="vulns.feed",
                object_repr=f"{feed.kind} import",
                changes={"step": "import", "after": {k: v for k, v in report.as_dict().items() if k != "skipped"}},
            )
    if match and report.changed_ids:
        created = match_vulnerabilities(report.changed_ids, notify=notify)
        report.warnings_created = len(created)
    return report


def _import_records(records: list[VulnRecord], source: str, report: ImportReport) -> None:
    latest: dict[str, VulnRecord] = {}
    for record in records:
        latest[record.cve_id] = record  # the last record of a CVE in one import wins
    ids = list(latest)
    changed_vulns: list[Vulnerability] = []
    new_vulns: list[Vulnerability] = []
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        existing = {v.cve_id: v for v in Vulnerability.objects.filter(cve_id__in=chunk)}
        for cve_id in chunk:
            record = latest[cve_id]
            fingerprint = record.fingerprint()
            vuln = existing.get(cve_id)
            if vuln is not None and vuln.fingerprints.get(source) == fingerprint:
                report.unchanged += 1
                continue
            if vuln is None:
                vuln = Vulnerability(cve_id=cve_id)
                new_vulns.append(vuln)
                report.created += 1
            else:
                changed_vulns.append(vuln)
                report.updated += 1
            vuln.summary = record.summary or vuln.summary
            vuln.published = _date(record.published) or vuln.published
            vuln.modified = _date(record.modified) or vuln.modified
            if record.cvss_score is not None and (source == "nvd" or vuln.cvss_score is None):
                vuln.cvss_score, vuln.cvss_vector = record.cvss_score, record.cvss_vector
            if record.kev_added and vuln.kev_added is None:
                vuln.kev_added, vuln.kev_due = _date(record.kev_added), _date(record.kev_due)
            vuln.references = record.references or vuln.references
            vuln.fingerprints = {**vuln.fingerprints, source: fingerprint}
            vuln._criteria = record.criteria
    now = timezone.now()
    Vulnerability.objects.bulk_create(new_vulns, batch_size=BATCH)
    for vuln in changed_vulns:
        vuln.updated_at = now
    Vulnerability.objects.bulk_update(
        changed_vulns,
        [
            "summary",
            "published",
            "modified",
            "cvss_score",
            "cvss_vector",
            "kev_added",
            "kev_due",
            "references",
            "fingerprints",
            "updated_at",
        ],
        batch_size=BATCH,
    )
    touched = [*new_vulns, *changed_vulns]
    if not touched:
        return
    touched_ids = {v.pk for v in touched}
    MatchCriterion.objects.filter(vulnerability_id__in=[v.pk for v in changed_vulns], source=source).delete()
    rows = [
        MatchCriterion(
            vulnerability_id=v.pk,
            source=source,
            cpe=c.cpe,
            part=c.part,
            vendor=c.vendor[:128],
            product=c.product[:255],
            version=c.version[:64],
            extras=":".join(c.extras)[:255],
            start_including=c.start_including,
            start_excluding=c.start_excluding,
            end_including=c.end_including,
            end_excluding=c.end_excluding,
            vulnerable=c.vulnerable,
            config=c.config,
            needs_platform=c.needs_platform,
        )
        for v in touched
        for c in v._criteria
    ]
    MatchCriterion.objects.bulk_create(rows, batch_size=BATCH)
    report.changed_ids |= touched_ids
    _refresh_index(touched_ids)


def _refresh_index(vuln_ids: set) -> None:
    """Keep this process's index current without a full reload (other processes see the generation)."""
    was_current = _cache["index"] is not None and _cache["generation"] == _generation()
    generation = _bump_generation()
    if not was_current:
        return
    index: CriteriaIndex = _cache["index"]
    index.discard(vuln_ids)
    for row in MatchCriterion.objects.filter(vulnerability_id__in=list(vuln_ids)).values_list(*_CRITERION_FIELDS):
        index.add(row[0], _row_criterion(row))
    _cache["generation"] = generation


def _import_kev(entries: list[KEVEntry], report: ImportReport) -> None:
    by_id = {e.cve_id: e for e in entries}
    ids = list(by_id)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        existing = {v.cve_id: v for v in Vulnerability.objects.filter(cve_id__in=chunk)}
        create, update, entered = [], [], set()
        for cve_id in chunk:
            entry = by_id[cve_id]
            vuln = existing.get(cve_id)
            values = (_date(entry.date_added), _date(entry.due_date), entry.ransomware, entry.required_action)
            if vuln is None:
                vuln = Vulnerability(cve_id=cve_id, summary=entry.name)
                create.append(vuln)
            elif (vuln.kev_added, vuln.kev_due, vuln.kev_ransomware, vuln.kev_action) == values:
                report.unchanged += 1
                continue
            else:
                update.append(vuln)
                if vuln.kev_added is None:
                    entered.add(vuln.pk)
            vuln.kev_added, vuln.kev_due, vuln.kev_ransomware, vuln.kev_action = values
            report.kev_changed += 1
        Vulnerability.objects.bulk_create(create, batch_size=BATCH)
        Vulnerability.objects.bulk_update(
            update, ["kev_added", "kev_due", "kev_ransomware", "kev_action"], batch_size=BATCH
        )
        report.created += len(create)
        report.updated += len(update)
        reprioritise({v.pk for v in update} - entered)
        reprioritise(entered, notify_kev=True)  # announced once, when the CVE enters the catalogue


def _import_epss(scores: list[EPSSScore], report: ImportReport) -> None:
    by_id = {s.cve_id: s for s in scores}
    ids = list(by_id)
    unknown = 0
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        update = []
        for vuln in Vulnerability.objects.filter(cve_id__in=chunk).only("id", "cve_id", "epss", "epss_percentile"):
            score = by_id[vuln.cve_id]
            if (vuln.epss, vuln.epss_percentile) == (score.epss, score.percentile):
                report.unchanged += 1
                continue
            vuln.epss, vuln.epss_percentile = score.epss, score.percentile
            update.append(vuln)
        unknown += len(chunk) - len(update) - 0
        Vulnerability.objects.bulk_update(update, ["epss", "epss_percentile"], batch_size=BATCH)
        report.epss_changed += len(update)
        reprioritise({v.pk for v in update})
    missing = len(ids) - report.epss_changed - report.unchanged
    if missing:
        report.skipped.append(("EPSS", f"{missing} scores for CVEs not in the corpus"))


# --- Components of the registry ------------------------------------------------------------------------


def _components():
    """All registry components (not scoped: matching is a national job). Through the registry service;
    see docs/vulns.md for the bulk service this asks the registry for."""
    return registry.components_of(None).model.objects.all()


def _mappings() -> dict[str, tuple[str, str, str]]:
    return {m.key: (m.part, m.vendor, m.product) for m in ProductMapping.objects.filter(reviewed=True)}


# Ids are read as text (a cast, so the database driver's UUID conversion is not paid 200,000 times per
# rematch); a system id becomes a UUID once per system, a component id only in a written match.
_COMPONENT_FIELDS = (
    Cast("id", CharField()),
    Cast("system_id", CharField()),
    "vendor",
    "product",
    "version",
    "cpe23",
    "purl",
)


def _uuid_text(value: str) -> str:
    """A component id in the form stored in matches (str(UUID)), from the text the cast returned."""
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}" if len(value) == 32 else value


def _match_components(rows, index: CriteriaIndex) -> dict[tuple, list[tuple]]:
    """(system_id, vuln_id) → matching components with the criterion, AND-configurations settled.

    A hit is a tuple (label, component id, criterion, how) — the stored match record as a tuple, so
    it sorts and hashes cheaply; the criterion text is built once per (component key, criterion) and
    shared by every component with that key. `_match_dict` turns a hit into the stored dict, only for
    the warnings actually written."""
    mappings = _mappings()
    groups: dict[ComponentKey, list[tuple]] = defaultdict(list)
    keys: dict[tuple, ComponentKey | None] = {}  # the same software is registered by many systems
    system_ids: dict[str, uuid.UUID] = {}
    for cid, system_text, vendor, product, version, cpe23, purl in rows:
        raw = (cpe23, purl, vendor, product, version)
        try:
            key = keys[raw]
        except KeyError:
            if cpe23 and not index.may_match_cpe(cpe23):
                key = None  # a product the corpus does not know (most in-house software)
            else:
                key = key_of(cpe23=cpe23, purl=purl, vendor=vendor, product=product, version=version, mappings=mappings)
            keys[raw] = key
        if key is not None:
            system_id = system_ids.get(system_text)
            if system_id is None:
                system_id = system_ids[system_text] = uuid.UUID(system_text)
            groups[key].append((system_id, " ".join(p for p in (vendor, product, version) if p), cid))
    hits: dict[tuple, list[tuple]] = defaultdict(list)
    platform: dict[object, set] = defaultdict(set)  # system → {(vuln, config)} of matched platforms
    pending: list[tuple] = []
    described: dict[int, str] = {}  # id(criterion) → its text, shared across keys
    lookup = index.lookup
    for key, members in groups.items():
        found = lookup(key)
        if not found:
            continue
        how = key.how
        plain: list[tuple] = []  # (vuln_id, criterion text) matched by every member of the key
        for row in found:
            c = row.criterion
            if not c.vulnerable:
                for system_id, _label, _cid in members:
                    platform[system_id].add((row.vuln_id, c.config))
                continue
            text = described.get(id(c))
            if text is None:
                text = described[id(c)] = c.describe()
            if c.needs_platform:
                for system_id, label, cid in members:
                    pending.append((system_id, row.vuln_id, c.config, (label, _uuid_text(cid), text, how)))
            else:
                plain.append((row.vuln_id, text))
        members = [(system_id, label, _uuid_text(cid)) for system_id, label, cid in members]
        for system_id, label, cid in members:
            for vuln_id, text in plain:
                hits[(system_id, vuln_id)].append((label, cid, text, how))
    for system_id, vuln_id, config, match in pending:
        if (vuln_id, config) in platform.get(system_id, ()):
            hits[(system_id, vuln_id)].append(match)
    return hits


MATCHES_KEPT = 50  # matching components stored per warning


def _match_dict(hit: tuple) -> dict:
    label, component, criterion, how = hit
    return {"component": component, "label": label, "criterion": criterion, "how": how}


def _fingerprint(hits: list[tuple]) -> str:
    """A stable digest of a warning's (sorted, truncated) match list: equal digests, equal stored lists,
    so an unchanged warning is skipped without reading or decoding its `matches`."""
    text = "\x1e".join("\x1f".join(hit) for hit in hits)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _prefix_q(prefix: str) -> Q:
    """cpe23 starting with `prefix`, written as a range on SQLite so the index is used (LIKE is not)."""
    if connection.vendor == "sqlite":
        return Q(cpe23__gte=prefix, cpe23__lt=prefix[:-1] + ";")
    return Q(cpe23__startswith=prefix)


KEYS_PER_QUERY = 60  # SQLite refuses expression trees deeper than 1,000 nodes


def _components_for_keys(keys: set[tuple[str, str]]):
    """The components that may match criteria of these (vendor, product) keys, read in batches."""
    ordered = sorted(keys)
    rows: dict = {}
    for start in range(0, len(ordered), KEYS_PER_QUERY):
        for row in _components_for_batch(set(ordered[start : start + KEYS_PER_QUERY])):
            rows[row[0]] = row
    return list(rows.values())


def _components_for_batch(keys: set[tuple[str, str]]):
    condition = Q()
    for vendor, product in keys:
        # As typed, and quoted as NVD writes a sign (notepad\+\+): the registry holds either.
        for name in {f"{vendor}:{product}:", f"{quote(vendor)}:{quote(product)}:"}:
            for part in "aoh":
                condition |= _prefix_q(f"cpe:2.3:{part}:{name}")
    mapped = ProductMapping.objects.filter(reviewed=True)
    wanted = [m for m in mapped if (m.vendor, m.product) in keys]
    for m in wanted:
        if m.key.startswith("purl:"):
            condition |= Q(purl__startswith=f"pkg:{m.key[5:]}")
        elif m.key.startswith("text:"):
            vendor, product = m.key[5:].split("|", 1)
            condition |= Q(cpe23="", vendor__iexact=vendor.replace("_", " "), product__iexact=product.replace("_", " "))
            condition |= Q(cpe23="", vendor__iexact=vendor, product__iexact=product)
    for (ptype, namespace, name), key in KNOWN_PURLS.items():
        if key in keys:
            condition |= Q(purl__startswith=f"pkg:{ptype}/{namespace + '/' if namespace else ''}{name}")
    if not condition:
        return []
    return list(_components().filter(condition).values_list(*_COMPONENT_FIELDS))


def match_vulnerabilities(vuln_ids: set, *, notify: bool = True) -> list[VulnWarning]:
    """Warnings for the given (new or changed) vulnerabilities: only the components sharing a
    vendor/product with their criteria are read, so one new CVE takes milliseconds."""
    index = CriteriaIndex()
    for row in MatchCriterion.objects.filter(vulnerability_id__in=list(vuln_ids)).values_list(*_CRITERION_FIELDS):
        index.add(row[0], _row_criterion(row))
    rows = _components_for_keys(set(index.by_product))
    # A platform (AND) criterion may need a system's other components: load those systems whole.
    if any(r.criterion.needs_platform for rs in index.by_product.values() for r in rs):
        systems = {uuid.UUID(r[1]) for r in rows}
        rows = list(_components().filter(system_id__in=systems).values_list(*_COMPONENT_FIELDS))
    hits = _match_components(rows, index)
    return _apply(hits, scope_vulns=set(vuln_ids), notify=notify)


def rematch_all(*, notify: bool = True) -> dict:
    """Match every component against the whole corpus and bring the warnings in line (daily job)."""
    started = time.perf_counter()
    index = criteria_index()
    loaded = time.perf_counter()
    rows = list(_components().values_list(*_COMPONENT_FIELDS))
    hits = _match_components(rows, index)
    matched = time.perf_counter()
    created = _apply(hits, scope_vulns=None, notify=notify)
    return {
        "components": len(rows),
        "pairs": len(hits),
        "created": len(created),
        "index_s": round(loaded - started, 3),
        "match_s": round(matched - loaded, 3),
        "apply_s": round(time.perf_counter() - matched, 3),
    }


# --- Priority -----------------------------------------------------------------------------------------

DUE_DAYS = {Priority.CRITICAL: 7, Priority.HIGH: 15, Priority.MEDIUM: 30, Priority.LOW: 90}


def priority_of(
    *, cvss: float | None, kev: bool, epss: float | None, internet_facing: bool, level: int | None
) -> tuple[float, int]:
    """A 0–100 score and its priority. Known exploitation (KEV) and exposure weigh as much as severity:
    a medium CVE exploited in the wild on an Internet-facing level-4 system comes before an unexploited
    critical one on an internal level-1 system."""
    score = (5.0 if cvss is None else cvss) * 5  # 0–50
    score += 25 if kev else 0
    score += 15 * (epss or 0.0)
    score += 10 if internet_facing else 0
    score += ((level or 2) - 1) * 2.5  # 0–10
    score = round(min(score, 100.0), 1)
    if (kev and internet_facing) or score >= 75:
        priority = Priority.CRITICAL
    elif score >= 55:
        priority = Priority.HIGH
    elif score >= 35:
        priority = Priority.MEDIUM
    else:
        priority = Priority.LOW
    return score, int(priority)


def _level(system) -> int | None:
    return compliance.approved_level(system) or system.decided_level


@dataclass(frozen=True)
class _SystemInputs:
    organization_id: object
    internet_facing: bool
    level: int | None


def _priority_inputs(system_ids: set, vuln_ids: set) -> tuple[dict, dict]:
    """The priority inputs of many systems at once: one query for the systems' own fields (through
    the registry service), the approved levels through the compliance service, one for the CVEs."""
    rows = list(
        registry.visible_systems(registry.system_actor())
        .filter(pk__in=list(system_ids))
        .values_list("id", "organization_id", "internet_facing", "decided_level")
    )
    approved = compliance.approved_levels([row[0] for row in rows])
    systems = {
        pk: _SystemInputs(org, bool(internet), approved.get(pk) or decided) for pk, org, internet, decided in rows
    }
    vulns = {
        row[0]: row
        for row in Vulnerability.objects.filter(pk__in=list(vuln_ids)).values_list(
            "id", "cvss_score", "kev_added", "epss", "cve_id"
        )
    }
    return systems, vulns


def _apply(hits: dict[tuple, list[tuple]], *, scope_vulns: set | None, notify: bool) -> list[VulnWarning]:
    existing = VulnWarning.objects.all()
    if scope_vulns is not None:
        existing = existing.filter(vulnerability_id__in=list(scope_vulns))
    # Only the digest of the stored match list is read, never the list itself; ids come as text and
    # become UUIDs once per distinct system and vulnerability (a warning's own id stays text).
    as_uuid: dict[str, uuid.UUID] = {}
    current = {}
    for pk, s, v, active, fingerprint in existing.values_list(
        Cast("id", CharField()),
        Cast("system_id", CharField()),
        Cast("vulnerability_id", CharField()),
        "active",
        "fingerprint",
    ).iterator(chunk_size=20000):
        system_id = as_uuid.get(s) or as_uuid.setdefault(s, uuid.UUID(s))
        vuln_id = as_uuid.get(v) or as_uuid.setdefault(v, uuid.UUID(v))
        current[(system_id, vuln_id)] = (pk, active, fingerprint)
    kept: dict[tuple, list[tuple]] = {}
    prints: dict[tuple, str] = {}
    for pair, matches in hits.items():  # a stable order, so an unchanged match list has the same digest
        matches.sort()
        kept[pair] = matches = matches[:MATCHES_KEPT]
        prints[pair] = _fingerprint(matches)
    new_pairs = [pair for pair in hits if pair not in current]
    now = timezone.now()
    # Only warnings whose state changed are written: matched again, or matched by other components.
    changed = []
    reactivated = 0
    for pair, fingerprint in prints.items():
        found = current.get(pair)
        if found is None or (found[1] and found[2] == fingerprint):
            continue
        reactivated += not found[1]
        changed.append(
            VulnWarning(
                pk=found[0],
                active=True,
                matches=[_match_dict(m) for m in kept[pair]],
                fingerprint=fingerprint,
                updated_at=now,
            )
        )
    gone = [pk for p, (pk, active, _f) in current.items() if active and p not in hits]
    today = timezone.localdate()
    created: list[VulnWarning] = []
    with transaction.atomic():
        audit.lock_chain()  # before the warnings' rows, as the run's audit entry comes after
        if new_pairs:
            systems, vulns = _priority_inputs({s for s, _v in new_pairs}, {v for _s, v in new_pairs})
            for system_id, vuln_id in new_pairs:
                system = systems.get(system_id)
                if system is None:
                    continue
                _id, cvss, kev_added, epss, _cve = vulns[vuln_id]
                score, priority = priority_of(
                    cvss=cvss,
                    kev=kev_added is not None,
                    epss=epss,
                    internet_facing=system.internet_facing,
                    level=system.level,
                )
                pair = (system_id, vuln_id)
                created.append(
                    VulnWarning(
                        organization_id=system.organization_id,
                        system_id=system_id,
                        vulnerability_id=vuln_id,
                        matches=[_match_dict(m) for m in kept[pair]],
                        fingerprint=prints[pair],
                        score=score,
                        priority=priority,
                        due_date=today + datetime.timedelta(days=DUE_DAYS[priority]),
                    )
                )
            VulnWarning.objects.bulk_create(created, batch_size=BATCH)
        VulnWarning.objects.bulk_update(changed, ["active", "matches", "fingerprint", "updated_at"], batch_size=BATCH)
        for start in range(0, len(gone), BATCH):
            VulnWarning.objects.filter(pk__in=gone[start : start + BATCH]).update(active=False, updated_at=now)
        moved = _follow_owners() if scope_vulns is None else 0
        if created or changed or gone or moved:
            audit.record(
                AuditEvent.Action.WORKFLOW,
                object_type="vulns.match",
                object_repr="match run",
                changes={
                    "step": "match",
                    "after": {
                        "created": len(created),
                        "reactivated": reactivated,
                        "matches_changed": len(changed) - reactivated,
                        "no_longer_matched": len(gone),
                        "moved_to_new_owner": moved,
                    },
                },
            )
    if notify and created:
        notify_new_warnings(created)
    return created


def follow_new_owner(system, former_organization_id: uuid.UUID, new_organization_id: uuid.UUID) -> int:
    """Registry's owner-change hook (`registry.register_owner_change`): the system's warnings go to its new owner
    in the transaction that changed it, so the former owner no longer sees them and the new one does at once, each
    move audited under its CVE. Whoever handles warnings at the new owner is told of the open ones it received.
    Returns how many warnings moved."""
    warnings = VulnWarning.objects.filter(system_id=system.pk)
    moved = registry.move_with_system(warnings, system, new_organization_id, label="vulnerability__cve_id")
    received = warnings.filter(status__in=OPEN_STATUSES, active=True).select_related("vulnerability")
    if moved and (count := received.count()):
        shown = received.order_by("priority", "-score")[:20]
        notify_permission_holders(
            "vulns.vulnwarning.change",
            system.organization,
            title=_("%(system)s came to you with %(n)d open vulnerability warnings") % {"system": system, "n": count},
            body="\n".join(f"P{w.priority} {w.vulnerability.cve_id}" for w in shown),
            link="/vulns/warnings/?" + urlencode({"q": system.code}),
            level="warning" if min(w.priority for w in shown) <= 2 else "info",
        )
    return moved


def _follow_owners() -> int:
    """The nightly safety net of `follow_new_owner`, as part of the full rematch: the warnings of systems whose
    owner was written without a save (an UPDATE of the system's row) go to it the same way, audited and announced.
    A merger moves both itself."""
    return sum(
        follow_new_owner(system, None, system.organization_id)
        for system in registry.systems_astray(VulnWarning.objects.all())
    )


def reprioritise(vuln_ids: set, *, notify_kev: bool = False) -> int:
    """Recompute the priority of open warnings after KEV or EPSS changed; a new KEV entry is announced."""
    if not vuln_ids:
        return 0
    warnings = list(
        VulnWarning.objects.filter(vulnerability_id__in=list(vuln_ids), status__in=OPEN_STATUSES).select_related(
            "vulnerability"
        )
    )
    if not warnings:
        return 0
    systems, _vulns = _priority_inputs({w.system_id for w in warnings}, set())
    today = timezone.localdate()
    for w in warnings:
        system = systems[w.system_id]
        v = w.vulnerability
        w.score, w.priority = priority_of(
            cvss=v.cvss_score, kev=v.in_kev, epss=v.epss, internet_facing=system.internet_facing, level=system.level
        )
        due = w.created_at.date() + datetime.timedelta(days=DUE_DAYS[w.priority])
        w.due_date = min(w.due_date or due, max(due, today))
    VulnWarning.objects.bulk_update(warnings, ["score", "priority", "due_date"], batch_size=BATCH)
    if notify_kev:
        notify_new_warnings(warnings, kev=True)
    return len(warnings)


# --- Notifications --------------------------------------------------------------------------------------


def notify_new_warnings(warnings: list[VulnWarning], *, kev: bool = False) -> int:
    """One message per owner organisation (a digest of this run), to whoever may handle its warnings."""
    by_org: dict = defaultdict(list)
    for w in warnings:
        by_org[w.organization_id].append(w)
    orgs = Organization.objects.in_bulk(list(by_org))
    cves = dict(Vulnerability.objects.filter(pk__in={w.vulnerability_id for w in warnings}).values_list("id", "cve_id"))
    for org_id, items in by_org.items():
        items.sort(key=lambda w: (w.priority, -w.score))
        lines = [
            f"P{w.priority} {cves.get(w.vulnerability_id, '')} — {w.matches[0]['label'] if w.matches else ''}"
            for w in items[:20]
        ]
        title = (
            _("Known exploited vulnerability affects %(n)d of your systems' warnings")
            if kev
            else _("%(n)d new vulnerability warnings")
        ) % {"n": len(items)}
        notify_permission_holders(
            "vulns.vulnwarning.change",
            orgs[org_id],
            title=title,
            body="\n".join(lines),
            link="/vulns/warnings/",
            level="warning" if min(w.priority for w in items) <= 2 else "info",
        )
    return len(by_org)


def remind_overdue(today: datetime.date | None = None) -> int:
    """Daily job: one reminder per organisation listing its open warnings past their due date."""
    today = today or timezone.localdate()
    # Streamed by organisation (the warnings' list index): the country's overdue warnings are never held at once.
    overdue = (
        VulnWarning.objects.filter(status__in=OPEN_STATUSES, active=True, due_date__lt=today)
        .select_related("vulnerability", "organization")
        .order_by("organization_id", "priority", "due_date")
        .iterator(chunk_size=1000)
    )
    organisations = 0
    for _org, warnings in groupby(overdue, key=attrgetter("organization_id")):
        listed, total = [], 0
        for warning in warnings:
            total += 1
            if total <= 30:
                listed.append(warning)
        notify_permission_holders(
            "vulns.vulnwarning.change",
            listed[0].organization,
            title=_("%(n)d vulnerability warnings are overdue") % {"n": total},
            body="\n".join(f"P{w.priority} {w.vulnerability.cve_id} ({w.due_date})" for w in listed),
            link="/vulns/warnings/?overdue=1",
            level="warning",
        )
        organisations += 1
    return organisations


def daily() -> dict:
    """The daily job: sync the feeds (files or URLs), rematch everything, remind overdue warnings,
    and bring the checklists' vulnerability-management items up to date."""
    result = {"sync": [r.as_dict() for r in sync_feeds()]}
    result["rematch"] = rematch_all()
    result["reminded"] = remind_overdue()
    result["checklist_items"] = update_checklists()
    return result


CHECKLIST_BATCH = 500


def update_checklists(systems=None) -> int:
    """Feed the Level-based module: each system's vulnerability-management checklist item follows its
    warnings (met without open ones, partly with open ones, not met when one is overdue). Nightly over every
    system with warnings (or over `systems`), in batches of `CHECKLIST_BATCH`: per batch, one query counts
    the warnings and compliance reads the items in one and writes only those that change."""
    changed = 0
    for batch in _system_batches(systems):
        counts = _warning_counts(batch)
        statuses = {}
        for system_id in batch:
            state = counts.get(system_id, _NO_WARNINGS)
            note = _("%(open)s open warnings, %(overdue)s overdue (early-warning module).") % state
            statuses[system_id] = (_checklist_status(state), note)
        changed += compliance.record_requirement_statuses("vulnerability_management", statuses)
    return changed


def _system_batches(systems):
    """Ids of the systems to update, `CHECKLIST_BATCH` at a time: the given ones, or every system with
    warnings read page by page in id order (never the country's list at once)."""
    if systems is not None:
        ids = [system.pk for system in systems]
        for start in range(0, len(ids), CHECKLIST_BATCH):
            yield ids[start : start + CHECKLIST_BATCH]
        return
    with_warnings = (
        registry.visible_systems(registry.system_actor())
        .filter(pk__in=VulnWarning.objects.values("system_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    batch = list(with_warnings[:CHECKLIST_BATCH])
    while batch:
        yield batch
        batch = list(with_warnings.filter(pk__gt=batch[-1])[:CHECKLIST_BATCH])


# --- Lifecycle ----------------------------------------------------------------------------------------

TRANSITIONS: dict[str, tuple[str, ...]] = {
    WarningStatus.NEW: (
        WarningStatus.ACKNOWLEDGED,
        WarningStatus.MITIGATED,
        WarningStatus.PATCHED,
        WarningStatus.NOT_AFFECTED,
    ),
    WarningStatus.ACKNOWLEDGED: (WarningStatus.MITIGATED, WarningStatus.PATCHED, WarningStatus.NOT_AFFECTED),
    WarningStatus.MITIGATED: (WarningStatus.PATCHED, WarningStatus.VERIFIED, WarningStatus.ACKNOWLEDGED),
    WarningStatus.PATCHED: (WarningStatus.VERIFIED, WarningStatus.ACKNOWLEDGED),
    WarningStatus.NOT_AFFECTED: (WarningStatus.VERIFIED, WarningStatus.ACKNOWLEDGED),
    WarningStatus.VERIFIED: (),
}


def allowed_transitions(user, warning: VulnWarning) -> list[str]:
    steps = []
    for target in TRANSITIONS[warning.status]:
        action = "verify" if target == WarningStatus.VERIFIED else "change"
        if scoping.can(user, action, warning):
            steps.append(target)
    return steps


@transaction.atomic
def transition(warning: VulnWarning, to: str, *, by: User, reason: str = "") -> VulnWarning:
    """Move a warning along its lifecycle; 'not affected' needs a reason, verifying needs 'verify'. The step
    works on the stored warning (a copy a page loaded before another user acted gets the same refusal as a
    wrong step) and writes only its own fields: what the matcher and the priority job wrote meanwhile stays."""
    lock_current(warning)
    if to not in TRANSITIONS.get(warning.status, ()):
        raise ValidationError({"status": _("This step is not possible from the current status.")})
    if to not in allowed_transitions(by, warning):
        raise PermissionDenied
    if to in (WarningStatus.NOT_AFFECTED, WarningStatus.MITIGATED) and not reason.strip():
        raise ValidationError({"reason": _("Say why the system is not affected or how the risk is mitigated.")})
    before = warning.status
    warning.status, warning.handled_by, warning.handled_at = to, by, timezone.now()
    changed = ["status", "handled_by", "handled_at", "updated_at"]
    if reason.strip():
        warning.reason = reason.strip()[:4000]
        changed.append("reason")
    warning.save(update_fields=changed)
    audit.record(
        AuditEvent.Action.WORKFLOW,
        obj=warning,
        changes={"step": "transition", "before": {"status": before}, "after": {"status": to}},
    )
    update_checklists([warning.system])
    return warning


# --- For other modules ------------------------------------------------------------------------------


_NO_WARNINGS = {"open": 0, "overdue": 0, "critical": 0}


def _warning_counts(system_ids) -> dict:
    """Open, overdue and critical warnings of each of many systems, in one query ({system id: counts});
    a system without open warnings is absent."""
    today = timezone.localdate()
    rows = (
        VulnWarning.objects.filter(system_id__in=list(system_ids), active=True, status__in=OPEN_STATUSES)
        .order_by()
        .values("system_id")
        .annotate(
            open=Count("pk"),
            overdue=Count("pk", filter=Q(due_date__lt=today)),
            critical=Count("pk", filter=Q(priority=Priority.CRITICAL)),
        )
    )
    return {row.pop("system_id"): row for row in rows}


def _checklist_status(counts: dict) -> str:
    return "not_met" if counts["overdue"] else ("partly" if counts["open"] else "met")


def vulnerability_management_status(system) -> dict:
    """What the compliance checklist's vulnerability-management item shows for `system`: open and
    overdue warnings, and a suggested status (met / partly / not_met), with the requirement's code."""
    counts = _warning_counts([system.pk]).get(system.pk, _NO_WARNINGS)
    requirement = ""
    regime = getattr(system, "regime", "")
    if regime:
        from attt.regulation import services as regulation

        try:
            requirement = regulation.requirement(regime, "vulnerability_management", _level(system)).code
        except Exception:
            requirement = ""
    return {**counts, "status": _checklist_status(counts), "requirement": requirement}


def exposure(vulnerability: Vulnerability, user, min_level: int = 3) -> dict:
    """The national exposure map of one CVE: systems of level ≥ `min_level` with an active warning,
    counted by province (top-level unit of the owner) and by priority sector, within `user`'s scope."""
    warnings = scoping.visible(user, VulnWarning.objects.filter(vulnerability=vulnerability, active=True))
    system_ids = list(warnings.values_list("system_id", flat=True))
    systems = list(registry.visible_systems(user).filter(pk__in=system_ids))
    approved = compliance.approved_levels([system.pk for system in systems])
    provinces: dict[uuid.UUID, int] = defaultdict(int)
    sectors: dict[str, int] = defaultdict(int)
    total = exposed = internet = 0
    for system in systems:
        total += 1
        level = approved.get(system.pk) or system.decided_level
        if (level or 0) < min_level:
            continue
        exposed += 1
        internet += bool(system.internet_facing)
        lineage = system.organization.lineage_ids
        key = lineage[1] if len(lineage) > 1 else lineage[0]  # the province (or ministry) under the root
        provinces[key] += 1
        sectors[system.get_priority_sector_display() if system.priority_sector else _("(none)")] += 1
    names = dict(Organization.objects.filter(pk__in=provinces).values_list("pk", "name"))
    return {
        "systems": total,
        "exposed": exposed,
        "internet_facing": internet,
        "by_province": sorted(((names.get(k, k), n) for k, n in provinces.items()), key=lambda i: -i[1]),
        "by_sector": sorted(sectors.items(), key=lambda i: -i[1]),
    }


def affected(identifier: str) -> list[dict]:
    """Vulnerabilities affecting exactly this component (a CPE 2.3 name or a purl with a version), each
    with the criterion that matched; AND-configurations are listed with the platform they require."""
    key = key_of(purl=identifier, mappings=_mappings()) if identifier.startswith("pkg:") else key_of(cpe23=identifier)
    if key is None:
        raise ValueError(_("Not a CPE 2.3 name or a known package URL: %(id)s") % {"id": identifier[:200]})
    index = criteria_index()
    rows = [r for r in index.lookup(key) if r.criterion.vulnerable]
    cves = dict(Vulnerability.objects.filter(pk__in={r.vuln_id for r in rows}).values_list("id", "cve_id"))
    details = {v.pk: v for v in Vulnerability.objects.filter(pk__in=list(cves))}
    out: dict[str, dict] = {}
    for row in rows:
        v = details[row.vuln_id]
        entry = out.setdefault(
            v.cve_id, {"cve": v.cve_id, "cvss": v.cvss_score, "kev": v.in_kev, "epss": v.epss, "criteria": []}
        )
        criterion = row.criterion.describe()
        if row.criterion.needs_platform:
            platforms = [
                p.criterion.cpe
                for rs in index.by_product.values()
                for p in rs
                if p.vuln_id == row.vuln_id
                and not p.criterion.vulnerable
                and p.criterion.config == row.criterion.config
            ]
            criterion += " (only on: " + ", ".join(sorted(set(platforms))[:5]) + ")"
        if criterion not in entry["criteria"]:
            entry["criteria"].append(criterion)
    return sorted(out.values(), key=lambda e: e["cve"])


# --- Feed sync (URLs or local files) ----------------------------------------------------------------

DEFAULT_FEEDS: dict[str, str] = {}


def check_url(url: str) -> None:
    """Refuse what could turn the sync into a request forgery: non-http(s) schemes and private,
    loopback, link-local or reserved addresses, unless the host is listed in VULNS_ALLOWED_HOSTS."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FeedError(_("Only http(s) URLs or local files can be synced."))
    host = parts.hostname
    if host in getattr(settings, "VULNS_ALLOWED_HOSTS", ()):
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError) as exc:
        raise FeedError(_("Cannot resolve %(host)s.") % {"host": host}) from exc
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise FeedError(_("%(host)s resolves to a non-public address.") % {"host": host})


def _fetch(location: str, timeout: float = 60.0) -> bytes:
    if "://" not in location:
        return Path(location).read_bytes()
    if location.startswith("file://"):
        return Path(location[7:]).read_bytes()
    check_url(location)
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            check_url(newurl)
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    opener = urllib.request.build_opener(NoRedirect)
    with opener.open(location, timeout=timeout) as response:
        return response.read(feeds.MAX_BYTES + 1)


def sync_feeds(sources: dict[str, str] | None = None) -> list[ImportReport]:
    """Import every configured feed (setting VULNS_FEEDS: name → URL or local path; a directory of an
    air-gapped mirror works too). A feed that fails is reported, the others still run."""
    sources = sources if sources is not None else getattr(settings, "VULNS_FEEDS", DEFAULT_FEEDS)
    reports = []
    for name, location in sources.items():
        try:
            if "://" not in location and Path(location).is_dir():
                reports.extend(import_paths([location]))
                continue
            reports.append(import_feed(feeds.load(_fetch(location), name), source=location))
        except (OSError, FeedError, ValueError) as exc:
            reports.append(ImportReport(kind="error", skipped=[(name, str(exc)[:300])]))
    return reports


# --- Data leaks -------------------------------------------------------------------------------------

LEAK_ADVICE = gettext_lazy(
    "Reset the passwords of the listed accounts and end their sessions; require two-factor log-in; "
    "check the logs for log-ins from unknown places since the leak date; tell the affected users; "
    "report an incident if an account was used."
)


def leak_domains(names) -> list[str]:
    """The affected domains of a notice as stored: lower case, without blanks or repeats, sorted."""
    return sorted({name.strip().lower() for name in names if name.strip()})


def check_leak_system(organization: Organization | None, system) -> None:
    """A notice names only a system of its organisation (or of its units): the notice's readers would see it."""
    if organization is not None and system is not None and not system.organization.path.startswith(organization.path):
        raise ValidationError({"system": _("Choose a system of the notice's organisation or of its units.")})
