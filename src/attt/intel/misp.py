"""MISP events (PyMISP's JSON form) in and out for shared reports.

In: attributes of the event and of its objects whose MISP type maps to an observable kind (composite
types such as `filename|sha256` or `ip-dst|port` give their observable part); deleted attributes are
skipped; sightings, galaxies' own content, proposals and shadow attributes are ignored. Tags `tlp:*`
give the TLP: the strictest of the event's tags is the event's, and each observable travels at the
strictest of the event's and its attribute's (an attribute may be marked stricter than its event, never
looser). ATT&CK galaxy tags give the techniques, other event tags become labels.
Out: one attribute per observable, `to_ids` from `to_detect`, the description as a `text` attribute
commented `attt:description` (MISP events have no description field), the TLP as a `tlp:` tag (and on
an attribute whose observable is marked stricter than the report) and each technique as a
`misp-galaxy:mitre-attack-pattern` tag.
"""

from __future__ import annotations

import datetime
import re
import uuid

from attt.intel import observables, stix
from attt.intel.sharing import TLP_LEVELS, SharedObservable, SharedReport, strictest

DESCRIPTION_COMMENT = "attt:description"

# MISP attribute type → observable kind (None: decide IPv4/IPv6 from the value).
_KINDS: dict[str, str | None] = {
    "ip-src": None,
    "ip-dst": None,
    "domain": "domain",
    "hostname": "domain",
    "url": "url",
    "uri": "url",
    "md5": "md5",
    "sha1": "sha1",
    "sha256": "sha256",
    "email": "email",
    "email-src": "email",
    "email-dst": "email",
    "email-reply-to": "email",
    "phone-number": "phone",
    "whois-registrant-phone": "phone",
    "bank-account-nr": "bank_account",
    "iban": "bank_account",
}
# observable kind → (MISP type, category) written out
_OUT = {
    "ipv4": ("ip-dst", "Network activity"),
    "ipv6": ("ip-dst", "Network activity"),
    "domain": ("domain", "Network activity"),
    "url": ("url", "Network activity"),
    "md5": ("md5", "Payload delivery"),
    "sha1": ("sha1", "Payload delivery"),
    "sha256": ("sha256", "Payload delivery"),
    "email": ("email-src", "Payload delivery"),
    "phone": ("phone-number", "Other"),
    "bank_account": ("bank-account-nr", "Financial fraud"),
}
_TLP_TAGS = {"white": "clear", **{level: level for level in TLP_LEVELS}}
_TECHNIQUE = re.compile(r"\b(T\d{4}(?:\.\d{3})?)\b")


def _ts(value: datetime.datetime) -> str:
    return str(int(value.timestamp()))


def _iso(value: datetime.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC).isoformat()


def to_event(report: SharedReport) -> dict:
    if report.tlp not in TLP_LEVELS:
        raise ValueError(f"“{report.tlp}” is not a TLP level; use one of {', '.join(TLP_LEVELS)}.")
    attributes = []
    if report.description:
        attributes.append(
            {
                "uuid": str(uuid.uuid5(report.id, DESCRIPTION_COMMENT)),
                "type": "text",
                "category": "Other",
                "value": report.description,
                "comment": DESCRIPTION_COMMENT,
                "to_ids": False,
                "disable_correlation": True,
            }
        )
    seen = set()
    for obs in report.observables:
        value = observables.normalise(obs.kind, obs.value)
        if (obs.kind, value) in seen:
            continue
        seen.add((obs.kind, value))
        misp_type, category = _OUT[obs.kind]
        attribute = {
            "uuid": str(uuid.uuid5(report.id, f"{obs.kind}:{value}")),
            "type": misp_type,
            "category": category,
            "value": value,
            "to_ids": bool(obs.to_detect),
            "comment": obs.comment,
        }
        if report.tlp_of(obs) != report.tlp:
            attribute["Tag"] = [{"name": f"tlp:{report.tlp_of(obs)}"}]
        if obs.first_seen:
            attribute["first_seen"] = _iso(obs.first_seen)
        if obs.last_seen:
            attribute["last_seen"] = _iso(obs.last_seen)
        attributes.append(attribute)
    tags = [{"name": f"tlp:{report.tlp}"}]
    tags += [{"name": label} for label in dict.fromkeys(report.labels)]
    tags += [{"name": f'misp-galaxy:mitre-attack-pattern="{t}"'} for t in dict.fromkeys(report.techniques)]
    return {
        "Event": {
            "uuid": str(report.id),
            "info": report.title or str(report.id),
            "date": report.created.date().isoformat(),
            "timestamp": _ts(report.modified),
            "threat_level_id": "2",
            "analysis": "2",
            "distribution": "0",
            "published": False,
            "Orgc": {"name": report.producer or "attt"},
            "Tag": tags,
            "Attribute": attributes,
        }
    }


def _seen(attribute: dict, key: str) -> datetime.datetime | None:
    text = attribute.get(key)
    if not text:
        return None
    try:  # in UTC: a date past the calendar's ends once there is refused here, not by the database
        return stix.parse_timestamp(str(text), key)
    except ValueError:
        raise ValueError(
            f"The {key} “{str(text)[:40]}” of attribute “{attribute.get('value')}” is not a date."
        ) from None


def _tag_names(holder: dict, what: str) -> list[str]:
    tags = holder.get("Tag", [])
    if not isinstance(tags, list):
        raise ValueError(f"The “Tag” of {what} must be a list.")
    names = [tag.get("name") if isinstance(tag, dict) else None for tag in tags]
    if not all(isinstance(name, str) for name in names):
        raise ValueError(f"A tag of {what} has no name.")
    return names


def _tlp(names: list[str]) -> str | None:
    """The strictest TLP the tags give (None without one): tags [tlp:red, tlp:clear] are TLP:RED."""
    return strictest(*(_TLP_TAGS.get(name[4:].strip().lower()) for name in names if name.lower().startswith("tlp:")))


def _observables(attribute: dict, event_tlp: str) -> list[SharedObservable]:
    if not isinstance(attribute, dict):
        raise ValueError("An attribute of the event is not a JSON object.")
    if attribute.get("deleted") in (True, 1, "1", "true"):
        return []
    where = f"attribute {str(attribute.get('uuid') or attribute.get('value'))[:80]}"
    level = strictest(event_tlp, _tlp(_tag_names(attribute, where)))
    misp_type, value = attribute.get("type"), attribute.get("value")
    if not isinstance(misp_type, str) or not isinstance(value, str):
        raise ValueError("An attribute of the event has no type or value.")
    parts = [(misp_type, value)]
    if "|" in misp_type:  # composite: filename|sha256, ip-dst|port, domain|ip
        types, values = misp_type.split("|"), value.split("|")
        if len(types) != len(values):
            raise ValueError(f"The {misp_type} attribute “{value[:80]}” does not have {len(types)} parts.")
        parts = list(zip(types, values, strict=True))
        if types[0] in ("ip-src", "ip-dst") and types[1] == "port":
            parts = parts[:1]
    found = []
    for part_type, part_value in parts:
        if part_type == "ip":
            part_type = "ip-dst"
        if part_type not in _KINDS or (part_type == "uri" and "://" not in part_value):
            continue  # a MISP uri is often a path alone ("/admin.php"), which is no observable of ours
        kind = _KINDS[part_type] or ("ipv6" if ":" in part_value else "ipv4")
        try:
            canonical = observables.normalise(kind, part_value)
        except ValueError as exc:
            raise ValueError(f"Attribute {attribute.get('uuid') or part_value[:80]}: {exc}") from None
        found.append(
            SharedObservable(
                kind,
                canonical,
                comment=str(attribute.get("comment") or ""),
                first_seen=_seen(attribute, "first_seen"),
                last_seen=_seen(attribute, "last_seen"),
                to_detect=attribute.get("to_ids") in (True, 1, "1", "true"),
                tlp=level,
            )
        )
    return found


def _when(event: dict) -> tuple[datetime.datetime, datetime.datetime]:
    created = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
    if event.get("date"):
        try:
            created = datetime.datetime.combine(
                datetime.date.fromisoformat(str(event["date"])), datetime.time(), datetime.UTC
            )
        except ValueError:
            raise ValueError(f"The event date “{str(event['date'])[:40]}” is not a date (YYYY-MM-DD).") from None
    modified = created
    if event.get("timestamp") not in (None, ""):
        try:
            modified = datetime.datetime.fromtimestamp(int(event["timestamp"]), datetime.UTC)
        except (ValueError, TypeError, OverflowError, OSError):
            raise ValueError(f"The event timestamp “{str(event['timestamp'])[:40]}” is not a Unix time.") from None
    return created, max(created, modified)


def parse_event(data: dict) -> SharedReport:
    if not isinstance(data, dict):
        raise ValueError("A MISP event must be a JSON object.")
    event = data.get("Event", data)
    if not isinstance(event, dict) or not isinstance(event.get("info", ""), str):
        raise ValueError("This is not a MISP event (no “Event” object with an “info” text).")
    if "info" not in event and "Attribute" not in event and "Object" not in event:
        raise ValueError("This is not a MISP event (it has neither “info”, “Attribute” nor “Object”).")
    try:
        report_id = uuid.UUID(str(event["uuid"])) if event.get("uuid") else None
    except ValueError:
        raise ValueError(f"The event uuid “{str(event['uuid'])[:60]}” is not a UUID.") from None
    attributes = event.get("Attribute", [])
    objects = event.get("Object", [])
    if not isinstance(attributes, list) or not isinstance(objects, list):
        raise ValueError("The event’s “Attribute” and “Object” must be lists.")
    tags = _tag_names(event, "the event")
    tlp = _tlp(tags) or "amber"
    labels, techniques = [], []
    for name in tags:
        if name.lower().startswith("tlp:"):
            continue
        if name.startswith("misp-galaxy:") and "attack" in name.split("=", 1)[0]:
            techniques += _TECHNIQUE.findall(name)
        else:
            labels.append(name)
    description = ""
    found: list[SharedObservable] = []
    for attribute in attributes:
        if isinstance(attribute, dict) and attribute.get("comment") == DESCRIPTION_COMMENT:
            description = str(attribute.get("value") or "")
            continue
        found += _observables(attribute, tlp)
    for obj in objects:
        if not isinstance(obj, dict) or not isinstance(obj.get("Attribute", []), list):
            raise ValueError("An object of the event is not a JSON object with an “Attribute” list.")
        if obj.get("deleted") in (True, 1, "1", "true"):
            continue
        for attribute in obj.get("Attribute", []):
            found += _observables(attribute, tlp)
    created, modified = _when(event)
    producer = event.get("Orgc") if isinstance(event.get("Orgc"), dict) else {}
    return SharedReport(
        id=report_id or uuid.uuid5(uuid.NAMESPACE_URL, f"misp-event:{event.get('info')}:{event.get('date')}"),
        title=str(event.get("info") or "")[:500],
        description=description,
        created=created,
        modified=modified,
        tlp=tlp,
        labels=labels,
        techniques=list(dict.fromkeys(techniques)),
        observables=found,
        producer=str(producer.get("name") or ""),
    )
