"""Every input becomes one ECS document (Elastic Common Schema 8.x) with `event.original` kept, plus the flat
vendor field map Sigma rules read and the observables indicator matching reads. Pure functions, no Django.

Why ECS: Sigma's field mappings, Elastic/OpenSearch, Wazuh and most SOC tools in use speak it; its documents
are plain nested JSON, so unknown vendor fields stay where they are (ECS allows custom fields).
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import orjson

from attt.detection.engine import fields_from_evtx_json
from attt.monitoring.parsers import ParseError, iter_json_objects, parse_json_line, parse_syslog, split_lines
from attt.monitoring.pipeline import NormalisedEvent

FORMATS = ("ndjson", "evtx_json", "syslog", "cef")


@dataclass(frozen=True, slots=True)
class SourceRef:
    """What a gateway knows of the sender: enough to normalise without a database."""

    id: uuid.UUID
    organization_id: uuid.UUID
    format: str = "ndjson"


Rejection = tuple[int, str]  # (line number, reason)


def event_id(source_id: uuid.UUID, original: bytes) -> str:
    """Stable per (source, original text): a re-sent or re-delivered event keeps its id."""
    return hashlib.blake2b(original, digest_size=16, key=source_id.bytes).hexdigest()


def parse_time(value) -> dt.datetime:
    """ISO 8601 / RFC 3339 text or a UNIX time (seconds or milliseconds) as an aware UTC datetime."""
    if isinstance(value, bool) or value is None:
        raise ParseError("timestamp missing or not a time")
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return dt.datetime.fromtimestamp(seconds, dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise ParseError(f"timestamp {value!r} out of range") from None
    if not isinstance(value, str):
        raise ParseError("timestamp must be text or a number")
    try:
        stamp = _fromisoformat(value)  # the usual case: already ISO 8601 / RFC 3339
    except ValueError:
        try:
            stamp = _fromisoformat(value.strip().replace(" ", "T", 1))
        except ValueError:
            raise ParseError(f"timestamp {value[:40]!r} is not ISO 8601") from None
    tz = stamp.tzinfo
    if tz is None:
        return stamp.replace(tzinfo=dt.UTC)
    return stamp if tz is dt.UTC else stamp.astimezone(dt.UTC)


_fromisoformat = dt.datetime.fromisoformat


def _iso(stamp: dt.datetime) -> str:
    return stamp.isoformat().replace("+00:00", "Z")


@lru_cache(maxsize=8)
def _iso_cached(stamp: dt.datetime) -> str:
    """The batch's receive time, formatted once per batch rather than once per event."""
    return _iso(stamp)


# --- JSON inputs --------------------------------------------------------------------------------------------

_TIME_KEYS = ("@timestamp", "timestamp", "time", "ts")


def normalise_object(obj: dict, original: bytes, source: SourceRef, received: dt.datetime) -> NormalisedEvent:
    """One JSON object: EVTX-derived (`Event.System`), else taken as ECS-like JSON whose own fields are kept."""
    windows = obj.get("Event")
    if windows is not None and isinstance(windows, dict):
        system = windows.get("System")
        if isinstance(system, dict):
            return _from_evtx(obj, system, original, source, received)
    for key in _TIME_KEYS:
        if key in obj:
            stamp = parse_time(obj[key])
            break
    else:
        stamp = received
    ecs = dict(obj)
    _merge_event(ecs, original, source, received)
    ecs["@timestamp"] = _iso(stamp)
    return _event(ecs, source, stamp, DottedFields(obj))


def _event(ecs: dict, source: SourceRef, stamp: dt.datetime, fields) -> NormalisedEvent:
    return NormalisedEvent(
        ecs["event"]["id"], source.id, source.organization_id, stamp, ecs, fields, None, observables_of(ecs)
    )


def _merge_event(ecs: dict, original: bytes, source: SourceRef, received: dt.datetime) -> None:
    event = ecs.get("event")
    if event is None or not isinstance(event, dict):
        event = {"value": event} if "event" in ecs else {}
        kind = "event"
    else:
        kind = event.get("kind", "event")
        event = event.copy()
    event["original"] = original.decode("utf-8", "replace")
    event["id"] = event_id(source.id, original)
    event["ingested"] = _iso_cached(received)
    event["kind"] = kind
    ecs["event"] = event


# Sysmon / Security EventData names and the ECS fields they mean.
_EVTX_ECS = {
    "Image": ("process", "executable"),
    "CommandLine": ("process", "command_line"),
    "ProcessId": ("process", "pid"),
    "ParentImage": ("process", "parent", "executable"),
    "ParentCommandLine": ("process", "parent", "command_line"),
    "User": ("user", "name"),
    "TargetUserName": ("user", "target", "name"),
    "SourceIp": ("source", "ip"),
    "SourcePort": ("source", "port"),
    "DestinationIp": ("destination", "ip"),
    "DestinationPort": ("destination", "port"),
    "DestinationHostname": ("destination", "domain"),
    "IpAddress": ("source", "ip"),
    "QueryName": ("dns", "question", "name"),
    "TargetFilename": ("file", "path"),
    "ImageLoaded": ("file", "path"),
}


def _from_evtx(obj: dict, system: dict, original: bytes, source: SourceRef, received: dt.datetime) -> NormalisedEvent:
    created = ((system.get("TimeCreated") or {}).get("#attributes") or {}).get("SystemTime")
    stamp = parse_time(created) if created is not None else received
    data = obj["Event"].get("EventData")
    data = data if isinstance(data, dict) else {}
    provider = ((system.get("Provider") or {}).get("#attributes") or {}).get("Name")
    ecs: dict = {
        "@timestamp": _iso(stamp),
        "host": {"name": system.get("Computer")},
        "winlog": {
            "channel": system.get("Channel"),
            "provider_name": provider,
            "event_id": system.get("EventID"),
            "record_id": system.get("EventRecordID"),
            "computer_name": system.get("Computer"),
            "event_data": data,
        },
    }
    _merge_event(ecs, original, source, received)
    ecs["event"].update(code=str(system.get("EventID")), provider=provider, module="windows")
    for name, path in _EVTX_ECS.items():
        if name in data and data[name] not in (None, "", "-"):
            _put(ecs, path, data[name])
    hashes = data.get("Hashes")
    if isinstance(hashes, str):
        ecs.setdefault("file", {})["hash"] = {
            k.lower(): v.lower() for k, _, v in (p.partition("=") for p in hashes.split(",")) if v
        }
    fields = fields_from_evtx_json(obj)
    return _event(ecs, source, stamp, fields)


def _put(doc: dict, path: tuple[str, ...], value) -> None:
    """Set `value` at a nested ECS path, creating the objects on the way."""
    for part in path[:-1]:
        doc = doc.setdefault(part, {})
    doc[path[-1]] = value


# --- Syslog and CEF -----------------------------------------------------------------------------------------

# CEF extension keys (ArcSight dictionary) and the ECS fields they mean.
_CEF_ECS = {
    "src": ("source", "ip"),
    "dst": ("destination", "ip"),
    "spt": ("source", "port"),
    "dpt": ("destination", "port"),
    "shost": ("source", "domain"),
    "dhost": ("destination", "domain"),
    "suser": ("source", "user", "name"),
    "duser": ("destination", "user", "name"),
    "request": ("url", "original"),
    "act": ("event", "action"),
    "proto": ("network", "transport"),
    "fileHash": ("file", "hash", "sha256"),
    "fname": ("file", "name"),
    "msg": ("message",),
}


def normalise_syslog(line: bytes, source: SourceRef, received: dt.datetime) -> NormalisedEvent:
    record = parse_syslog(line, now=received)
    stamp = record["timestamp"] or received
    ecs: dict = {
        "@timestamp": _iso(stamp),
        "message": record["message"],
        "log": {
            "syslog": {
                "priority": record["priority"],
                "facility": {"code": record["facility"]},
                "severity": {"code": record["severity"]},
                "hostname": record["hostname"],
                "appname": record["app"],
                "procid": record["procid"],
                "msgid": record["msgid"],
                "structured_data": record.get("structured_data") or {},
            }
        },
        "host": {"hostname": record["hostname"]},
    }
    _merge_event(ecs, line, source, received)
    fields = {
        "hostname": record["hostname"],
        "app": record["app"],
        "procid": record["procid"],
        "msgid": record["msgid"],
        "facility": record["facility"],
        "severity": record["severity"],
        "message": record["message"],
    }
    cef = record.get("cef")
    if cef:
        extensions = cef["extensions"]
        ecs["observer"] = {
            "vendor": cef["device_vendor"],
            "product": cef["device_product"],
            "version": cef["device_version"],
        }
        ecs["event"].update(code=cef["signature_id"], reason=cef["name"], severity=_int_or_none(cef["severity"]))
        ecs["cef"] = {"version": cef["version"], "extensions": extensions}
        for key, path in _CEF_ECS.items():
            if extensions.get(key):
                _put(ecs, path, extensions[key])
        fields.update({k: v for k, v in cef.items() if k != "extensions"}, **extensions)
    return _event(ecs, source, stamp, fields)


def _int_or_none(value: str) -> int | None:
    return int(value) if value.isdigit() else None


# --- Observables --------------------------------------------------------------------------------------------

# Where observables sit in an ECS document: top-level object → (path inside it, kind); "ip" kinds are decided by
# the value (IPv4 or IPv6), "url" also yields its host as a domain. Each path also carries its dotted top-level
# spelling ("source.ip"), precomputed so an absent group costs one dict lookup per path.
_ENDPOINT = ((("ip",), "ip"), (("domain",), "domain"))
_OBSERVABLE_PATHS = tuple(
    (group, tuple((path, kind, group + "." + ".".join(path)) for path, kind in paths))
    for group, paths in (
        *((endpoint, _ENDPOINT) for endpoint in ("source", "destination", "client", "server")),
        ("host", ((("ip",), "ip"),)),
        ("related", ((("ip",), "ip"), (("hosts",), "domain"), (("hash",), "hash"))),
        ("url", ((("original",), "url"), (("full",), "url"), (("domain",), "domain"))),
        ("dns", ((("question", "name"), "domain"),)),
        ("file", ((("hash", "md5"), "md5"), (("hash", "sha1"), "sha1"), (("hash", "sha256"), "sha256"))),
    )
)
_HASH_KINDS = {32: "md5", 40: "sha1", 64: "sha256"}


def observables_of(ecs: dict) -> list[tuple[str, str]]:
    """(kind, value) pairs of IPs, domains, URLs (and their host) and file hashes of an ECS document, kinds as
    in `attt.intel.sharing.OBSERVABLE_KINDS`. Dotted top-level keys ("source.ip": …) are read too."""
    found: list[tuple[str, str]] = []
    get = ecs.get
    for group, paths in _OBSERVABLE_PATHS:
        inner = get(group)
        nested = inner is not None and isinstance(inner, dict)
        for path, kind, dotted in paths:
            if nested:
                value = inner.get(path[0])
                if len(path) > 1:
                    value = value.get(path[1]) if isinstance(value, dict) else None
            else:
                value = get(dotted)
            if value is None or value == "":
                continue
            _add_observables(found, kind, value)
    return list(dict.fromkeys(found)) if len(found) > 1 else found


def _add_observables(found: list, kind: str, value) -> None:
    for item in value if isinstance(value, list) else (value,):
        if item is None or item == "" or isinstance(item, dict | list):
            continue
        if item.__class__ is not str:
            item = str(item)
        if kind == "ip":
            found.append(("ipv6" if ":" in item else "ipv4", item))
        elif kind == "domain":
            found.append(("domain", item.lower().rstrip(".")))
        elif kind == "url":
            found.append(("url", item))
            host = item.partition("://")[2].partition("/")[0].rpartition("@")[2].partition(":")[0]
            if host and not host[0].isdigit():
                found.append(("domain", host.lower()))
        elif kind == "hash":
            if len(item) in _HASH_KINDS:
                found.append((_HASH_KINDS[len(item)], item.lower()))
        else:
            found.append((kind, item.lower()))


def flatten(obj: dict, prefix: str = "") -> dict:
    """Nested dicts as one level with dotted keys (lists and scalars kept as they are)."""
    flat: dict = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


class DottedFields(Mapping):
    """The flat field map of a nested JSON document, read through on demand (`fields["source.ip"]`): building a
    flat copy of every event costs more than parsing it, and most consumers read a handful of fields."""

    __slots__ = ("_doc", "_flat")

    def __init__(self, doc: dict) -> None:
        self._doc = doc
        self._flat: dict | None = None

    def __getitem__(self, key: str):
        value = self._doc.get(key, _MISSING)
        if value is _MISSING or isinstance(value, dict):
            if "." not in key:
                raise KeyError(key)
            value = _walk(self._doc, key)
            if value is _MISSING or isinstance(value, dict):
                raise KeyError(key)
        return value

    def _flatten(self) -> dict:
        if self._flat is None:
            self._flat = flatten(self._doc)
        return self._flat

    def __iter__(self):
        return iter(self._flatten())

    def __len__(self) -> int:
        return len(self._flatten())


_MISSING = object()


def _walk(doc: dict, dotted: str):
    """The value at a dotted path of nested dicts (keys may themselves contain dots: longest key first)."""
    value = doc.get(dotted, _MISSING)
    if value is not _MISSING:
        return value
    head, _, rest = dotted.partition(".")
    while rest:
        inner = doc.get(head)
        if isinstance(inner, dict):
            found = _walk(inner, rest)
            if found is not _MISSING:
                return found
        part, _, rest = rest.partition(".")
        head = f"{head}.{part}"
    return _MISSING


# --- Whole inputs -------------------------------------------------------------------------------------------


def normalise_lines(
    data: bytes, source: SourceRef, received: dt.datetime | None = None
) -> tuple[list[NormalisedEvent], list[Rejection]]:
    """A batch of lines (NDJSON, or syslog/CEF one message a line) into events and (line, reason) rejections."""
    received = received or dt.datetime.now(dt.UTC)
    events: list[NormalisedEvent] = []
    rejected: list[Rejection] = []
    syslog = source.format in ("syslog", "cef")
    with gc_paused():
        _normalise_each(data, source, received, syslog, events, rejected)
    return events, rejected


@contextmanager
def gc_paused():
    """No cyclic garbage collection while a batch is built: the thousands of new dicts would trigger several
    collections that walk every live object (a fifth of the normalisation time); events hold no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _normalise_each(data, source, received, syslog, events, rejected) -> None:
    for number, line in split_lines(data):
        try:
            if syslog:
                events.append(normalise_syslog(line, source, received))
            else:
                events.append(normalise_object(parse_json_line(line), line, source, received))
        except (AttributeError, TypeError, ValueError) as exc:
            rejected.append((number, _reason(exc)))


def normalise_file_text(
    text: str, source: SourceRef, received: dt.datetime | None = None
) -> tuple[list[NormalisedEvent], list[Rejection]]:
    """A file of one or more JSON objects in a row (EVTX-derived pretty-printed JSON or NDJSON)."""
    received = received or dt.datetime.now(dt.UTC)
    events, rejected = [], []
    for number, obj in iter_json_objects(text):
        if isinstance(obj, ParseError):
            rejected.append((number, str(obj)))
            continue
        try:
            events.append(normalise_object(obj, orjson.dumps(obj), source, received))
        except (AttributeError, TypeError, ValueError) as exc:
            rejected.append((number, _reason(exc)))
    return events, rejected


def _reason(exc: Exception) -> str:
    """The rejection reason sent back: a ParseError's own sentence, else the shape the mapping did not expect."""
    if isinstance(exc, ParseError):
        return str(exc)
    return f"unexpected structure: {exc}"[:300]


# --- Spool / wire encoding ----------------------------------------------------------------------------------


def encode_batch(events: list[NormalisedEvent]) -> bytes:
    """A batch as one compact JSON message (the spool row / the JetStream message body)."""
    return orjson.dumps(
        [
            [
                e.id,
                str(e.source_id),
                str(e.organization_id),
                _iso(e.timestamp),
                e.ecs,
                e.fields._doc if isinstance(e.fields, DottedFields) else e.fields,
                isinstance(e.fields, DottedFields),
                e.observables,
                str(e.system_id) if e.system_id else None,
            ]
            for e in events
        ]
    )


def encode_chunks(events: list[NormalisedEvent], limit: int) -> list[bytes]:
    """The batch as one or more messages of at most `limit` bytes (JetStream's max payload: 1 MB by default);
    a single event larger than the limit is still sent alone (and refused by the server)."""
    payload = encode_batch(events)
    if len(payload) <= limit or len(events) < 2:
        return [payload]
    half = len(events) // 2
    return encode_chunks(events[:half], limit) + encode_chunks(events[half:], limit)


def decode_batch(payload: bytes) -> Iterator[NormalisedEvent]:
    uuids: dict[str, uuid.UUID] = {}  # a batch holds one source and few systems: each id is parsed once

    def as_uuid(text: str) -> uuid.UUID:
        found = uuids.get(text)
        if found is None:
            found = uuids[text] = uuid.UUID(text)
        return found

    for eid, source, org, stamp, ecs, fields, dotted, observables, system in orjson.loads(payload):
        yield NormalisedEvent(
            eid,
            as_uuid(source),
            as_uuid(org),
            _fromisoformat(stamp),
            ecs,
            DottedFields(fields) if dotted else fields,
            as_uuid(system) if system else None,
            [tuple(o) for o in observables],
        )
