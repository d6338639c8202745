"""Parsers of the vulnerability feeds: NVD API 2.0, CVE JSON 5, CISA KEV (JSON, CSV), EPSS (CSV), CSAF 2.0.

Every parser takes the file's bytes and returns a `Feed`: the records it understood and, for each one
it did not, the reason. A file that is not a feed at all raises `FeedError` (the only exception a
parser raises, whatever the input: the parsers are fuzz-tested), so an import reports what it skipped
and why instead of stopping at the first odd record of a 2 GB national feed.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import hashlib
import io
import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

from attt.vulns.cpe import ANY, CPEError, normalise_text, parse_cpe, parse_purl
from attt.vulns.versions import version_key

MAX_BYTES = 2 * 1024**3


class FeedError(ValueError):
    """The whole file is refused (not JSON/CSV, unknown format, too large)."""


@dataclass(frozen=True)
class Criterion:
    """One match criterion: a CPE (vendor/product key, exact version or range, other attributes)."""

    cpe: str
    part: str
    vendor: str
    product: str
    version: str = ANY
    extras: tuple[str, ...] = (ANY,) * 7
    start_including: str = ""
    start_excluding: str = ""
    end_including: str = ""
    end_excluding: str = ""
    vulnerable: bool = True
    config: int = 0  # index of the configuration in the record
    needs_platform: bool = False  # AND configuration: also needs a non-vulnerable criterion of `config`

    def describe(self) -> str:
        bounds = []
        if self.start_including:
            bounds.append(f">= {self.start_including}")
        if self.start_excluding:
            bounds.append(f"> {self.start_excluding}")
        if self.end_including:
            bounds.append(f"<= {self.end_including}")
        if self.end_excluding:
            bounds.append(f"< {self.end_excluding}")
        return self.cpe + (" " + ", ".join(bounds) if bounds else "")


@dataclass
class VulnRecord:
    cve_id: str
    source: str
    summary: str = ""
    published: str = ""
    modified: str = ""
    cvss_score: float | None = None
    cvss_vector: str = ""
    kev_added: str = ""
    kev_due: str = ""
    criteria: list[Criterion] = field(default_factory=list)
    references: list[str] = field(default_factory=list)

    def fingerprint(self) -> str:
        """A hash of what the import stores, so an unchanged record is skipped (idempotent, incremental)."""
        payload = json.dumps(
            [
                self.summary,
                self.published,
                self.modified,
                self.cvss_score,
                self.cvss_vector,
                [c.__dict__ for c in self.criteria],
                self.references[:20],
            ],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class KEVEntry:
    cve_id: str
    vendor: str = ""
    product: str = ""
    name: str = ""
    date_added: str = ""
    due_date: str = ""
    ransomware: bool = False
    required_action: str = ""


@dataclass
class EPSSScore:
    cve_id: str
    epss: float
    percentile: float


@dataclass
class Feed:
    kind: str
    records: list = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


_RECORD_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, CPEError)


def _text(value: Any, limit: int = 4000) -> str:
    return value[:limit] if isinstance(value, str) else ""


_CVE_ID = re.compile(r"CVE-\d{4}-\d{4,19}")


def _cve_id(value: Any) -> str:
    if not isinstance(value, str) or not _CVE_ID.fullmatch(value.strip().upper()):
        raise ValueError("no CVE id")
    return value.strip().upper()


def _english(items: Any) -> str:
    if not isinstance(items, list):
        return ""
    texts = [i for i in items if isinstance(i, dict) and isinstance(i.get("value"), str)]
    for item in texts:
        if str(item.get("lang", "")).lower().startswith("en"):
            return item["value"][:4000]
    return texts[0]["value"][:4000] if texts else ""


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date_text(value: Any, name: str, limit: int = 10) -> str:
    """A date as the feeds write it (YYYY-MM-DD, perhaps with a time after it), "" when absent. Anything else
    is a ValueError, never a guess: 25/8/2025 from a spreadsheet could be day or month first."""
    if value is None or value == "":
        return ""
    text = value.strip() if isinstance(value, str) else ""
    if _ISO_DATE.match(text) and (len(text) == 10 or text[10] in "T "):
        try:
            datetime.date.fromisoformat(text[:10])
        except ValueError:
            pass
        else:
            return text[:limit]
    raise ValueError(f"{name} {str(value)[:40]!r} is not a date in the form YYYY-MM-DD")


def _noted_date(value: Any, name: str, notes: list[str], limit: int = 10) -> str:
    """A record's date, or "" with a note saying why it was not taken (the rest of the record is kept)."""
    try:
        return _date_text(value, name, limit)
    except ValueError as exc:
        notes.append(f"{exc}; left empty")
        return ""


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if 0 <= number <= 10 else None


# --- detection ----------------------------------------------------------------------------------------


def _gunzip(data: bytes) -> bytes:
    """The unpacked content, read no further than the size limit: a small file can unpack to gigabytes."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as archive:
            content = archive.read(MAX_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise FeedError(f"bad gzip file: {exc}") from None
    if len(content) > MAX_BYTES:
        raise FeedError(f"the gzip file unpacks to more than {MAX_BYTES:,} bytes")
    return content


def load(data: bytes, name: str = "") -> Feed:
    """Parse a feed file of any supported format (detected from its content)."""
    if not isinstance(data, bytes | bytearray):
        raise FeedError("expected bytes")
    if len(data) > MAX_BYTES:
        raise FeedError("file too large")
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FeedError("not UTF-8 text") from None
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            document = json.loads(stripped)
        except (ValueError, RecursionError) as exc:
            raise FeedError(f"not valid JSON: {str(exc)[:100]}") from None
        return parse_json(document)
    head = stripped[:2000].lower()
    if head.startswith("#model_version") or head.startswith("cve,epss"):
        return parse_epss(text)
    if head.startswith("cveid,") or "cveid,vendorproject" in head.split("\n", 1)[0]:
        return parse_kev_csv(text)
    raise FeedError(f"unknown feed format{f' ({name})' if name else ''}")


def parse_json(document: Any) -> Feed:
    if isinstance(document, dict):
        if isinstance(document.get("document"), dict) and "csaf_version" in document["document"]:
            return parse_csaf(document)
        if document.get("dataType") == "CVE_RECORD" or "cveMetadata" in document:
            return parse_cve5([document])
        vulns = document.get("vulnerabilities")
        if isinstance(vulns, list) and (
            "catalogVersion" in document or any(isinstance(v, dict) and "cveID" in v for v in vulns[:5])
        ):
            return parse_kev(document)
        if isinstance(vulns, list) or "CVE_Items" in document:
            return parse_nvd(document)
        if "id" in document and ("configurations" in document or "descriptions" in document):
            return parse_nvd({"vulnerabilities": [{"cve": document}]})
        if "cve" in document and isinstance(document["cve"], dict):
            return parse_nvd({"vulnerabilities": [document]})
    if isinstance(document, list) and document and all(isinstance(d, dict) for d in document[:5]):
        if all("cveMetadata" in d for d in document[:5]):
            return parse_cve5(document)
        return parse_nvd({"vulnerabilities": document})
    raise FeedError("unknown JSON feed format")


# --- NVD API 2.0 ----------------------------------------------------------------------------------------


def _nvd_criterion(match: dict, config: int, needs_platform: bool) -> Criterion:
    cpe = parse_cpe(match["criteria"])
    fields = {
        k: _text(match.get(k), 64)
        for k in ("versionStartIncluding", "versionStartExcluding", "versionEndIncluding", "versionEndExcluding")
    }
    return Criterion(
        cpe=match["criteria"][:512],
        part=cpe.part,
        vendor=cpe.vendor,
        product=cpe.product,
        version=cpe.version,
        extras=cpe.extras(),
        start_including=fields["versionStartIncluding"],
        start_excluding=fields["versionStartExcluding"],
        end_including=fields["versionEndIncluding"],
        end_excluding=fields["versionEndExcluding"],
        vulnerable=match.get("vulnerable", True) is not False,
        config=config,
        needs_platform=needs_platform and match.get("vulnerable", True) is not False,
    )


def _nvd_record(cve: dict) -> tuple[VulnRecord, list[str]]:
    notes: list[str] = []
    record = VulnRecord(cve_id=_cve_id(cve.get("id")), source="nvd")
    record.summary = _english(cve.get("descriptions"))
    record.published = _noted_date(cve.get("published"), "published", notes, 32)
    record.modified = _noted_date(cve.get("lastModified"), "lastModified", notes, 32)
    record.kev_added = _noted_date(cve.get("cisaExploitAdd"), "cisaExploitAdd", notes)
    record.kev_due = _noted_date(cve.get("cisaActionDue"), "cisaActionDue", notes)
    metrics = cve.get("metrics") if isinstance(cve.get("metrics"), dict) else {}
    for key in ("cvssMetricV40", "cvssMetricV31", "cvssMetricV30", "cvssMetricV2"):
        rows = [m for m in metrics.get(key) or [] if isinstance(m, dict) and isinstance(m.get("cvssData"), dict)]
        rows.sort(key=lambda m: m.get("type") != "Primary")
        if rows:
            record.cvss_score = _float(rows[0]["cvssData"].get("baseScore"))
            record.cvss_vector = _text(rows[0]["cvssData"].get("vectorString"), 200)
            break
    record.references = [
        r["url"][:500] for r in cve.get("references") or [] if isinstance(r, dict) and isinstance(r.get("url"), str)
    ][:50]
    for index, configuration in enumerate(cve.get("configurations") or []):
        if not isinstance(configuration, dict):
            notes.append(f"configuration {index}: not an object")
            continue
        nodes = [n for n in configuration.get("nodes") or [] if isinstance(n, dict)]
        is_and = configuration.get("operator") == "AND" and len(nodes) > 1
        has_platform = any(
            not m.get("vulnerable", True) for n in nodes for m in n.get("cpeMatch") or [] if isinstance(m, dict)
        )
        for node in nodes:
            if node.get("negate"):
                notes.append(f"configuration {index}: negated node ignored")
                continue
            for match in node.get("cpeMatch") or []:
                try:
                    record.criteria.append(_nvd_criterion(match, index, is_and and has_platform))
                except _RECORD_ERRORS as exc:
                    notes.append(f"configuration {index}: {str(exc)[:120]}")
    return record, notes


def parse_nvd(document: dict) -> Feed:
    feed = Feed("nvd")
    items = document.get("vulnerabilities")
    if not isinstance(items, list):
        raise FeedError("NVD document without a 'vulnerabilities' list")
    for position, item in enumerate(items):
        cve = item.get("cve") if isinstance(item, dict) and isinstance(item.get("cve"), dict) else item
        try:
            record, notes = _nvd_record(cve)
        except _RECORD_ERRORS as exc:
            feed.skipped.append((f"#{position}", f"unreadable record: {str(exc)[:120]}"))
            continue
        feed.records.append(record)
        feed.skipped.extend((record.cve_id, note) for note in notes)
    return feed


# --- CVE JSON 5 -----------------------------------------------------------------------------------------


def _cve5_criteria(affected: dict, notes: list[str]) -> list[Criterion]:
    cpes = []
    for value in affected.get("cpes") or []:
        try:
            cpes.append(parse_cpe(value))
        except CPEError as exc:
            notes.append(str(exc)[:120])
    if cpes:
        keys = {(c.part, c.vendor, c.product) for c in cpes}
    else:
        vendor, product = _text(affected.get("vendor"), 128), _text(affected.get("product"), 255)
        if not vendor or not product or vendor.lower() == "n/a" or product.lower() == "n/a":
            raise ValueError("affected entry without vendor and product")
        keys = {("*", normalise_text(vendor), normalise_text(product))}
    default = affected.get("defaultStatus", "unknown")
    ranges: list[dict] = []
    unaffected: list[tuple] = []
    for version in affected.get("versions") or []:
        if not isinstance(version, dict) or version.get("status") not in ("affected", "unaffected"):
            continue
        if version.get("versionType") == "git":
            notes.append("git commit ranges are not matched")
            continue
        start = _text(version.get("version"), 64)
        lt, le = _text(version.get("lessThan"), 64), _text(version.get("lessThanOrEqual"), 64)
        if version["status"] == "unaffected":
            if lt or le or start not in ("*", "n/a", "unspecified", ""):
                unaffected.append(_cve5_interval(start, lt, le))
        elif lt in ("*",) or le in ("*",):
            ranges.append({"start_including": "" if start in ("0", "*", "") else start})
        elif lt or le:
            ranges.append(
                {
                    "start_including": "" if start in ("0", "*") else start,
                    "end_excluding": lt,
                    "end_including": "" if lt else le,
                }
            )
        elif start and start not in ("*", "n/a", "unspecified"):
            ranges.append({"version": start})
    if not ranges and default == "affected":  # every version that no unaffected entry names
        ranges = _complement(unaffected)
    if not ranges:
        raise ValueError("no affected version")
    out = []
    for part, vendor, product in sorted(keys):
        base = f"cpe:2.3:{part}:{vendor}:{product}:*:*:*:*:*:*:*:*"
        for bounds in ranges:
            bounds = dict(bounds)
            version = bounds.pop("version", ANY)
            out.append(
                Criterion(cpe=base, part=part, vendor=vendor, product=product, version=version.lower(), **bounds)
            )
    return out


def _cve5_interval(start: str, lt: str, le: str) -> tuple:
    """An unaffected entry as (low, high, high included); None is open, an entry without bounds one version."""
    low = None if start in ("0", "*", "") else start
    if lt == "*" or le == "*":
        return low, None, False
    if lt or le:
        return low, lt or le, not lt
    return low, start, True


def _complement(unaffected: list[tuple]) -> list[dict]:
    """The ranges between the unaffected intervals (defaultStatus "affected"): everything when there are none."""
    ranges: list[dict] = []
    cursor = ("", True)  # where the next affected range starts ("" = from the lowest version)
    for low, high, high_included in sorted(unaffected, key=lambda i: () if i[0] is None else version_key(i[0])):
        start, start_included = cursor
        if low is not None and (not start or version_key(start) < version_key(low)):
            gap = {"start_including" if start_included else "start_excluding": start, "end_excluding": low}
            ranges.append({k: v for k, v in gap.items() if v})
        if high is None:
            return ranges
        if (
            not start
            or version_key(high) > version_key(start)
            or (high_included and version_key(high) == version_key(start))
        ):
            cursor = (high, not high_included)
    start, start_included = cursor
    ranges.append({"start_including" if start_included else "start_excluding": start} if start else {})
    return ranges


def parse_cve5(documents: list) -> Feed:
    feed = Feed("cve5")
    for position, document in enumerate(documents):
        notes: list[str] = []
        try:
            meta = document["cveMetadata"]
            record = VulnRecord(cve_id=_cve_id(meta.get("cveId")), source="cve5")
            if meta.get("state") == "REJECTED":
                feed.skipped.append((record.cve_id, "rejected CVE"))
                continue
            record.published = _noted_date(meta.get("datePublished"), "datePublished", notes, 32)
            record.modified = _noted_date(meta.get("dateUpdated"), "dateUpdated", notes, 32)
            containers = document["containers"]
            cna = containers.get("cna") or {}
            record.summary = _english(cna.get("descriptions"))
            record.references = [
                r["url"][:500]
                for r in cna.get("references") or []
                if isinstance(r, dict) and isinstance(r.get("url"), str)
            ][:50]
            adps = [a for a in containers.get("adp") or [] if isinstance(a, dict)]
            for container in [cna, *adps]:
                for metric in container.get("metrics") or []:
                    if not isinstance(metric, dict):
                        continue
                    for key in ("cvssV4_0", "cvssV3_1", "cvssV3_0", "cvssV2_0"):
                        if isinstance(metric.get(key), dict) and record.cvss_score is None:
                            record.cvss_score = _float(metric[key].get("baseScore"))
                            record.cvss_vector = _text(metric[key].get("vectorString"), 200)
                    other = metric.get("other")
                    if (
                        isinstance(other, dict)
                        and other.get("type") == "kev"
                        and isinstance(other.get("content"), dict)
                    ):
                        record.kev_added = _noted_date(other["content"].get("dateAdded"), "KEV dateAdded", notes)
            # CISA's ADP enrichment carries CPEs: prefer it, fall back on the CNA's vendor/product text.
            enriched = [a for adp in adps for a in adp.get("affected") or [] if isinstance(a, dict)]
            for entry in enriched or [a for a in cna.get("affected") or [] if isinstance(a, dict)]:
                try:
                    record.criteria.extend(_cve5_criteria(entry, notes))
                except _RECORD_ERRORS as exc:
                    notes.append(f"affected {entry.get('vendor')!s:.40}/{entry.get('product')!s:.40}: {str(exc)[:100]}")
        except _RECORD_ERRORS as exc:
            feed.skipped.append((f"#{position}", f"unreadable record: {str(exc)[:120]}"))
            continue
        feed.records.append(record)
        feed.skipped.extend((record.cve_id, note) for note in notes)
    return feed


# --- CSAF 2.0 -------------------------------------------------------------------------------------------


def _csaf_products(tree: Any) -> dict[str, dict]:
    found: dict[str, dict] = {}

    def walk(node: Any, depth: int = 0) -> None:
        if depth > 20 or not isinstance(node, dict):
            return
        for product in node.get("full_product_names") or []:
            if isinstance(product, dict) and isinstance(product.get("product_id"), str):
                found[product["product_id"]] = product
        product = node.get("product")
        if isinstance(product, dict) and isinstance(product.get("product_id"), str):
            found[product["product_id"]] = product
        for branch in node.get("branches") or []:
            walk(branch, depth + 1)

    walk(tree)
    return found


def parse_csaf(document: dict) -> Feed:
    feed = Feed("csaf")
    products = _csaf_products(document.get("product_tree"))
    for position, vuln in enumerate(document.get("vulnerabilities") or []):
        try:
            record = VulnRecord(cve_id=_cve_id(vuln.get("cve")), source="csaf")
            record.summary = _english(vuln.get("notes")) or _text(vuln.get("title"))
            for score in vuln.get("scores") or []:
                if isinstance(score, dict) and isinstance(score.get("cvss_v3"), dict):
                    record.cvss_score = _float(score["cvss_v3"].get("baseScore"))
                    record.cvss_vector = _text(score["cvss_v3"].get("vectorString"), 200)
            status = vuln.get("product_status") or {}
            for product_id in [*(status.get("known_affected") or []), *(status.get("first_affected") or [])]:
                helper = (products.get(product_id) or {}).get("product_identification_helper") or {}
                if isinstance(helper.get("cpe"), str):
                    cpe = parse_cpe(helper["cpe"])
                    record.criteria.append(
                        Criterion(
                            cpe=helper["cpe"][:512],
                            part=cpe.part,
                            vendor=cpe.vendor,
                            product=cpe.product,
                            version=cpe.version,
                            extras=cpe.extras(),
                        )
                    )
                elif isinstance(helper.get("purl"), str):
                    purl = parse_purl(helper["purl"])
                    feed.skipped.append((record.cve_id, f"purl-only product {purl.package} not matched"))
                else:
                    feed.skipped.append((record.cve_id, f"product {str(product_id)[:60]} has no CPE"))
        except _RECORD_ERRORS as exc:
            feed.skipped.append((f"#{position}", f"unreadable vulnerability: {str(exc)[:120]}"))
            continue
        feed.records.append(record)
    return feed


# --- KEV, EPSS ------------------------------------------------------------------------------------------


def _kev_entry(row: dict) -> KEVEntry:
    """One catalogue entry; refused whole when a date is not YYYY-MM-DD (the date added is what marks a CVE
    as exploited, so an entry is never stored without it)."""
    cve_id = _cve_id(row.get("cveID"))
    try:
        date_added, due_date = _date_text(row.get("dateAdded"), "dateAdded"), _date_text(row.get("dueDate"), "dueDate")
    except ValueError as exc:
        raise ValueError(f"{cve_id}: {exc}") from None
    if not date_added:
        raise ValueError(f"{cve_id}: no dateAdded")
    return KEVEntry(
        cve_id=cve_id,
        vendor=_text(row.get("vendorProject"), 128),
        product=_text(row.get("product"), 255),
        name=_text(row.get("vulnerabilityName"), 255),
        date_added=date_added,
        due_date=due_date,
        ransomware=str(row.get("knownRansomwareCampaignUse", "")).lower() == "known",
        required_action=_text(row.get("requiredAction"), 2000),
    )


def parse_kev(document: dict) -> Feed:
    feed = Feed("kev")
    for position, row in enumerate(document.get("vulnerabilities") or []):
        try:
            feed.records.append(_kev_entry(row))
        except _RECORD_ERRORS as exc:
            feed.skipped.append((f"#{position}", f"unreadable KEV entry: {str(exc)[:160]}"))
    return feed


def parse_kev_csv(text: str) -> Feed:
    feed = Feed("kev")
    try:
        for position, row in enumerate(csv.DictReader(io.StringIO(text))):
            try:
                feed.records.append(_kev_entry(row))
            except _RECORD_ERRORS as exc:
                feed.skipped.append((f"line {position + 2}", f"unreadable KEV row: {str(exc)[:160]}"))
    except csv.Error as exc:
        raise FeedError(f"bad CSV: {exc}") from None
    return feed


def parse_epss(text: str) -> Feed:
    feed = Feed("epss")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    try:
        for position, row in enumerate(csv.DictReader(lines)):
            try:
                epss, percentile = float(row["epss"]), float(row["percentile"])
                if not (0 <= epss <= 1 and 0 <= percentile <= 1):
                    raise ValueError("score outside 0..1")
                feed.records.append(EPSSScore(_cve_id(row.get("cve")), epss, percentile))
            except _RECORD_ERRORS as exc:
                feed.skipped.append((f"line {position + 2}", f"unreadable EPSS row: {str(exc)[:100]}"))
    except csv.Error as exc:
        raise FeedError(f"bad CSV: {exc}") from None
    return feed
