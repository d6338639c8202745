"""STIX 2.1 in and out for shared reports.

Out: one `report` whose object_refs name an `identity` (the producer), one `indicator` per observable
usable for detection (a STIX pattern), one observable object (SCO) per observable that is context only,
one `attack-pattern` per ATT&CK technique, and the TLP 2.0 marking definition the report carries. Ids
are UUIDv5 derived from the report id, so exporting the same report twice gives the same objects.

Telephone numbers and bank accounts have no STIX observable type: they travel as the custom
observables `x-attt-phone-number` and `x-attt-bank-account` (property `value`), in patterns and as SCOs.
Consumers that do not know them ignore them; the rest of the bundle stays valid STIX 2.1.
"""

from __future__ import annotations

import datetime
import math
import re
import uuid
from collections.abc import Iterable, Mapping

from attt.intel import observables
from attt.intel.sharing import TLP_LEVELS, SharedObservable, SharedReport, strictest

NAMESPACE = uuid.UUID("0c3f4a9e-5b7d-4e61-9f0a-7d1c2b3a4e5f")

# The official TLP 2.0 marking definitions (FIRST TLP 2.0 extension for STIX 2.1, OASIS CTI TC).
TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_MARKING_IDS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
# TLP 1.0 markings predefined by STIX 2.1 itself (section 7.2.1.4), still common in feeds.
TLP1_MARKING_IDS = {
    "clear": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "green": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "amber": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "red": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}
TLP_BY_MARKING = {v: k for k, v in TLP1_MARKING_IDS.items()} | {v: k for k, v in TLP2_MARKING_IDS.items()}
_UNVERSIONED = datetime.datetime.min.replace(tzinfo=datetime.UTC)  # an object without `modified`: oldest
TECHNIQUE_ID = re.compile(r"T\d{4}(?:\.\d{3})?")

# kind → (SCO type, property path in a pattern)
_PATTERN_PATHS = {
    "ipv4": ("ipv4-addr", "value"),
    "ipv6": ("ipv6-addr", "value"),
    "domain": ("domain-name", "value"),
    "url": ("url", "value"),
    "email": ("email-addr", "value"),
    "md5": ("file", "hashes.MD5"),
    "sha1": ("file", "hashes.'SHA-1'"),
    "sha256": ("file", "hashes.'SHA-256'"),
    "phone": ("x-attt-phone-number", "value"),
    "bank_account": ("x-attt-bank-account", "value"),
}
_HASH_NAMES = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256"}
_KIND_BY_PATH = {
    ("ipv4-addr", "value"): "ipv4",
    ("ipv6-addr", "value"): "ipv6",
    ("domain-name", "value"): "domain",
    ("url", "value"): "url",
    ("email-addr", "value"): "email",
    ("email-message", "from_ref.value"): "email",
    ("email-message", "sender_ref.value"): "email",
    ("file", "hashes.md5"): "md5",
    ("file", "hashes.sha-1"): "sha1",
    ("file", "hashes.sha1"): "sha1",
    ("file", "hashes.sha-256"): "sha256",
    ("file", "hashes.sha256"): "sha256",
    ("x-attt-phone-number", "value"): "phone",
    ("x-attt-bank-account", "value"): "bank_account",
}
_COMPARISON = re.compile(r"([a-z0-9-]+):([A-Za-z0-9_.'\-]+)\s*=\s*'((?:[^'\\]|\\.)*)'")


def timestamp(value: datetime.datetime, *, exact: bool = False) -> str:
    """STIX timestamp, UTC with milliseconds (what stix2-validator and most consumers expect). `exact` keeps the
    microseconds a value has: a TAXII version is asked for again as it was named, so it must not be rounded."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    text = value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return (text if exact and value.microsecond % 1000 else text[:-3]) + "Z"


def parse_timestamp(text, what: str = "timestamp") -> datetime.datetime:
    """A timestamp in UTC; one that is not a date, or falls outside years 1 to 9999 in UTC, is a ValueError."""
    if not isinstance(text, str):
        raise ValueError(f"The {what} is missing or not a text.")
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        return (value if value.tzinfo else value.replace(tzinfo=datetime.UTC)).astimezone(datetime.UTC)
    except (ValueError, OverflowError):
        raise ValueError(f"“{text[:60]}” is not a valid {what}.") from None


def tlp_marking(level: str) -> dict:
    """The TLP 2.0 marking-definition object for a level, as published with the TLP 2.0 extension."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP2_MARKING_IDS[level],
        "created": "2022-10-01T00:00:00.000Z",
        "name": f"TLP:{level.upper()}",
        "extensions": {TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": level}},
    }


def _list(value) -> list:
    """A property that should be a list, or nothing: malformed input is not iterated."""
    return value if isinstance(value, list) else []


def marking_refs(obj: dict) -> list[str]:
    """The marking definitions an object refers to, its granular markings' included."""
    refs = _list(obj.get("object_marking_refs"))
    refs += [m.get("marking_ref") for m in _list(obj.get("granular_markings")) if isinstance(m, dict)]
    return [ref for ref in refs if isinstance(ref, str)]


def tlp_of(obj: dict, markings: Mapping[str, str] | None = None) -> str | None:
    """The strictest TLP level among an object's marking references, None when unmarked. A granular marking
    counts for the whole object: it is served or not as one, so a part marked red makes it red. `markings`: the
    levels of TLP marking definitions under ids of their producer's own (`marking_levels`)."""
    markings = markings or {}
    return strictest(*(TLP_BY_MARKING.get(ref) or markings.get(ref) for ref in marking_refs(obj)))


_TLP_NAME = re.compile(r"tlp:\s*([a-z+]+)", re.IGNORECASE)


def marking_levels(objects: Iterable) -> dict[str, str]:
    """The TLP levels of the marking definitions among `objects` that state one under an id of their producer's
    own: STIX 2.0's `definition_type: tlp`, the TLP 2.0 extension's property, or a name "TLP:…" (TLP:WHITE is
    TLP:CLEAR). A definition that states a level this platform does not know counts as TLP:RED. Objects marked
    with such a definition counted as unmarked: served to every reader of a collection, imported as TLP:AMBER."""
    found = {}
    for obj in objects:
        if isinstance(obj, dict) and obj.get("type") == "marking-definition" and isinstance(obj.get("id"), str):
            stated = _stated_level(obj)
            if stated is not None and obj["id"] not in TLP_BY_MARKING:
                found[obj["id"]] = stated
    return found


def _stated_level(definition: dict) -> str | None:
    stated = []
    inner = definition.get("definition")
    if definition.get("definition_type") == "tlp" and isinstance(inner, dict):
        stated.append(inner.get("tlp"))
    extensions = definition.get("extensions")
    if isinstance(extensions, dict) and isinstance(extensions.get(TLP2_EXTENSION_ID), dict):
        stated.append(extensions[TLP2_EXTENSION_ID].get("tlp_2_0"))
    if isinstance(definition.get("name"), str) and (named := _TLP_NAME.match(definition["name"].strip())):
        stated.append(named[1])
    if not stated:
        return None
    levels = [{"white": "clear"}.get(str(s).lower(), str(s).lower()) for s in stated]
    return strictest(*(level if level in TLP_LEVELS else "red" for level in levels))


def unstorable(value) -> str | None:
    """Why a JSON value cannot be stored as it is, or None. PostgreSQL refuses a NUL character in text and in
    jsonb, and NaN or Infinity in jsonb; SQLite takes them, so without this only production would fail."""
    pending = [value]
    while pending:  # iterative: a deeply nested object must not exhaust the stack
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and "\x00" in item:
            return "It contains a NUL character."
        elif isinstance(item, float) and not math.isfinite(item):
            return "It contains a number that is not finite (NaN or Infinity)."
    return None


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def pattern_for(kind: str, value: str) -> str:
    """A STIX pattern matching one observable."""
    sco, path = _PATTERN_PATHS[kind]
    return f"[{sco}:{path} = '{_quote(value)}']"


def observables_in_pattern(pattern: str) -> list[tuple[str, str]]:
    """(kind, canonical value) of every equality comparison in a pattern that names a known observable.
    Comparisons on other properties (file names, registry keys…) are not observables here and are left out."""
    found = []
    for sco, path, value in _COMPARISON.findall(pattern):
        kind = _KIND_BY_PATH.get((sco, path.replace("'", "").lower()))
        if kind:
            found.append((kind, observables.normalise(kind, _unquote(value))))
    return found


def _id(kind: str, report: SharedReport, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, ':'.join([str(report.id), *parts]))}"


def technique_source(external_id: str) -> str:
    """ATT&CK for ICS technique ids are T0xxx; the enterprise ones start at T1000."""
    return "mitre-ics-attack" if re.fullmatch(r"T0\d{3}", external_id) else "mitre-attack"


def _sco(kind: str, value: str, object_id: str) -> dict:
    sco, _path = _PATTERN_PATHS[kind]
    if sco == "file":
        return {"type": "file", "spec_version": "2.1", "id": object_id, "hashes": {_HASH_NAMES[kind]: value}}
    return {"type": sco, "spec_version": "2.1", "id": object_id, "value": value}


def to_bundle(report: SharedReport) -> dict:
    if report.tlp not in TLP2_MARKING_IDS:
        raise ValueError(f"“{report.tlp}” is not a TLP level; use one of {', '.join(TLP_LEVELS)}.")
    created, modified = timestamp(report.created), timestamp(max(report.modified, report.created))
    marking = TLP2_MARKING_IDS[report.tlp]
    identity_id = f"identity--{uuid.uuid5(NAMESPACE, 'producer:' + (report.producer or 'attt'))}"
    common = {"spec_version": "2.1", "created_by_ref": identity_id, "object_marking_refs": [marking]}
    objects: list[dict] = [
        tlp_marking(report.tlp),
        {
            "type": "identity",
            "spec_version": "2.1",
            "id": identity_id,
            "created": "2020-01-01T00:00:00.000Z",
            "modified": "2020-01-01T00:00:00.000Z",
            "name": report.producer or "attt",
            "identity_class": "organization",
        },
    ]
    refs: list[str] = [identity_id]
    seen: set[tuple[str, str]] = set()
    for obs in report.observables:
        value = observables.normalise(obs.kind, obs.value)
        if (obs.kind, value) in seen:
            continue
        seen.add((obs.kind, value))
        level = report.tlp_of(obs)  # an observable marked stricter than its report keeps its own marking
        if level != report.tlp and not any(o["id"] == TLP2_MARKING_IDS[level] for o in objects):
            objects.append(tlp_marking(level))
        if obs.to_detect:
            first = timestamp(obs.first_seen) if obs.first_seen else created
            indicator = {
                "type": "indicator",
                "id": _id("indicator", report, obs.kind, value),
                "created": created,
                "modified": modified,
                "name": f"{obs.kind}: {value}"[:250],
                "indicator_types": ["malicious-activity"],
                "pattern": pattern_for(obs.kind, value),
                "pattern_type": "stix",
                "pattern_version": "2.1",
                "valid_from": first,
                **common,
                "object_marking_refs": [TLP2_MARKING_IDS[level]],
            }
            if obs.comment:
                indicator["description"] = obs.comment
            if obs.last_seen and (not obs.first_seen or obs.last_seen > obs.first_seen):
                indicator["valid_until"] = timestamp(obs.last_seen)
            objects.append(indicator)
            refs.append(indicator["id"])
        else:
            sco = _sco(obs.kind, value, _id(_PATTERN_PATHS[obs.kind][0], report, obs.kind, value))
            sco["object_marking_refs"] = [TLP2_MARKING_IDS[level]]
            objects.append(sco)
            refs.append(sco["id"])
    for technique in dict.fromkeys(report.techniques):
        if not TECHNIQUE_ID.fullmatch(technique):
            raise ValueError(f"“{technique}” is not an ATT&CK technique id (like T0883 or T1059.001).")
        source = technique_source(technique)
        path = technique.replace(".", "/")
        site = "https://attack.mitre.org/techniques/" + path
        pattern_obj = {
            "type": "attack-pattern",
            "id": _id("attack-pattern", report, technique),
            "created": created,
            "modified": modified,
            "name": technique,
            "external_references": [{"source_name": source, "external_id": technique, "url": site}],
            **common,
        }
        objects.append(pattern_obj)
        refs.append(pattern_obj["id"])
    report_obj = {
        "type": "report",
        "id": f"report--{report.id}",
        "created": created,
        "modified": modified,
        "name": report.title or str(report.id),
        "report_types": ["threat-report"],
        "published": modified,
        "object_refs": refs,
        **common,
    }
    if report.description:
        report_obj["description"] = report.description
    if report.labels:
        report_obj["labels"] = list(dict.fromkeys(report.labels))
    objects.append(report_obj)
    return {"type": "bundle", "id": _id("bundle", report, "bundle"), "objects": objects}


def observables_of(obj: dict, markings: Mapping[str, str] | None = None) -> list[SharedObservable]:
    """The observables one indicator or SCO carries (none for other types, nor for a revoked object: its
    producer withdrew it), each with the object's TLP (`tlp_of`)."""
    found = [] if obj.get("revoked") is True else _observables_of(obj)
    for obs in found:
        obs.tlp = tlp_of(obj, markings)
    return found


def _observables_of(obj: dict) -> list[SharedObservable]:
    kind_type = obj.get("type")
    if not isinstance(kind_type, str):
        return []
    if kind_type == "indicator":
        if obj.get("pattern_type", "stix") != "stix" or not isinstance(obj.get("pattern"), str):
            return []
        first = parse_timestamp(obj["valid_from"], "valid_from") if obj.get("valid_from") else None
        last = parse_timestamp(obj["valid_until"], "valid_until") if obj.get("valid_until") else None
        comment = obj.get("description") or ""
        return [
            SharedObservable(
                kind, value, comment=str(comment), first_seen=first, last_seen=last, to_detect=True, valid_until=last
            )
            for kind, value in observables_in_pattern(obj["pattern"])
        ]
    if kind_type == "file":
        raw = obj.get("hashes") if isinstance(obj.get("hashes"), dict) else {}
        hashes = {str(k).upper().replace("-", ""): v for k, v in raw.items()}
        return [
            SharedObservable(kind, observables.normalise(kind, hashes[name]), to_detect=False)
            for kind, name in (("md5", "MD5"), ("sha1", "SHA1"), ("sha256", "SHA256"))
            if isinstance(hashes.get(name), str)
        ]
    kind = _KIND_BY_PATH.get((kind_type, "value"))
    if kind and isinstance(obj.get("value"), str):
        return [SharedObservable(kind, observables.normalise(kind, obj["value"]), to_detect=False)]
    return []


def _techniques(obj: dict) -> list[str]:
    """The ATT&CK ids an attack-pattern names (anything else under a MITRE source name is not a technique)."""
    if obj.get("type") != "attack-pattern":
        return []
    return [
        ref["external_id"]
        for ref in _list(obj.get("external_references"))
        if isinstance(ref, dict)
        and ref.get("source_name") in ("mitre-attack", "mitre-ics-attack", "mitre-mobile-attack")
        and isinstance(ref.get("external_id"), str)
        and TECHNIQUE_ID.fullmatch(ref["external_id"])
    ]


def latest_objects(objects: list) -> dict[str, dict]:
    """Objects by id, keeping the newest version of each (bundles and TAXII pages may carry several)."""
    latest: dict[str, tuple[datetime.datetime, dict]] = {}
    for number, obj in enumerate(objects, 1):
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str) or not isinstance(obj.get("id"), str):
            raise ValueError(f"Object {number} of the bundle has no type or id.")
        if not obj["id"].startswith(obj["type"] + "--"):
            raise ValueError(f"Object {number} of the bundle has an id (“{obj['id'][:80]}”) not of its type.")
        try:  # compared as times: as text, "…00Z" would sort after "…00.500Z"
            version = parse_timestamp(obj["modified"], "modification time") if obj.get("modified") else _UNVERSIONED
        except ValueError as exc:
            raise ValueError(f"Object {number} of the bundle: {exc}") from None
        old = latest.get(obj["id"])
        if old is None or version >= old[0]:
            latest[obj["id"]] = (version, obj)
    return {object_id: obj for object_id, (_version, obj) in latest.items()}


def parse_bundle(data: dict) -> list[SharedReport]:
    if not isinstance(data, dict) or data.get("type") != "bundle":
        raise ValueError("This is not a STIX bundle (its “type” is not “bundle”).")
    objects = data.get("objects", [])
    if not isinstance(objects, list):
        raise ValueError("The bundle’s “objects” is not a list.")
    by_id = latest_objects(objects)
    markings = marking_levels(by_id.values())
    carried: dict[str, list[SharedObservable]] = {}
    for object_id, obj in by_id.items():
        try:
            found = observables_of(obj, markings)
        except ValueError as exc:
            raise ValueError(f"Object {object_id}: {exc}") from None
        if found:
            carried[object_id] = found
    reports: list[SharedReport] = []
    referenced: set[str] = set()
    now = datetime.datetime.now(datetime.UTC)
    for obj in by_id.values():
        if obj["type"] != "report":
            continue
        refs = obj.get("object_refs", [])
        if not isinstance(refs, list):
            raise ValueError(f"Report {obj['id']} has object_refs that are not a list.")
        referenced.update(r for r in refs if isinstance(r, str))
        producer = by_id.get(obj["created_by_ref"], {}) if isinstance(obj.get("created_by_ref"), str) else {}
        created = parse_timestamp(obj["created"], "report creation time") if obj.get("created") else now
        modified = parse_timestamp(obj["modified"], "report modification time") if obj.get("modified") else created
        try:
            report_uuid = uuid.UUID(obj["id"].split("--", 1)[1])
        except ValueError:
            raise ValueError(f"Report id “{obj['id'][:80]}” does not end in a UUID.") from None
        reports.append(
            SharedReport(
                id=report_uuid,
                title=str(obj.get("name") or "")[:500],
                description=str(obj.get("description") or ""),
                created=created,
                modified=modified,
                tlp=tlp_of(obj, markings) or "amber",
                labels=[str(label) for label in _list(obj.get("labels"))],
                techniques=[t for ref in refs if isinstance(ref, str) for t in _techniques(by_id.get(ref, {}))],
                observables=[o for ref in refs if isinstance(ref, str) for o in carried.get(ref, [])],
                producer=str(producer.get("name") or ""),
            )
        )
    loose = [(oid, found) for oid, found in carried.items() if oid not in referenced]
    if loose:
        reports.append(
            SharedReport(
                id=uuid.uuid5(NAMESPACE, "loose:" + ",".join(sorted(oid for oid, _f in loose))),
                title="Indicators without a report",
                description="",
                created=now,
                modified=now,
                tlp=strictest(*(tlp_of(by_id[oid], markings) for oid, _found in loose)) or "amber",
                observables=[o for _oid, found in loose for o in found],
            )
        )
    return reports
