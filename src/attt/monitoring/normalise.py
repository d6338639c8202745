"""Every input becomes one ECS document (Elastic Common Schema 8.x) with `event.original` kept, plus the flat
vendor field map Sigma rules read and the observables indicator matching reads. Pure functions, no Django.

Why ECS: Sigma's field mappings, Elastic/OpenSearch, Wazuh and most SOC tools in use speak it; its documents
are plain nested JSON, so unknown vendor fields stay where they are (ECS allows custom fields).
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import logging
import operator
import uuid
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated

import msgspec
import orjson
import zstandard
from xxhash import xxh3_128_hexdigest

from attt.detection.engine import fields_from_evtx_json
from attt.monitoring.parsers import (
    ParseError,
    decode_file,
    iter_json_objects,
    parse_json_line,
    parse_syslog,
    split_lines,
)
from attt.monitoring.pipeline import NormalisedEvent

FORMATS = ("ndjson", "evtx_json", "syslog", "cef")
SYSLOG_FORMATS = ("syslog", "cef")  # read one syslog message a line (a CEF message with or without its header)
logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourceRef:
    """What a gateway knows of the sender: enough to normalise without a database."""

    id: uuid.UUID
    organization_id: uuid.UUID
    format: str = "ndjson"
    seed: int = field(init=False, repr=False, compare=False)  # of its events' ids (`event_id`)

    def __post_init__(self) -> None:
        object.__setattr__(self, "seed", _seed(self.id))


Rejection = tuple[int, str]  # (line number, reason)


def event_id(source_id: uuid.UUID, original: bytes) -> str:
    """Stable per (source, original text): a re-sent or re-delivered event keeps its id. XXH3-128 of the original
    seeded with the source id: ids only need to tell one source's events apart (the store compares them within a
    source), and a cryptographic hash cost a tenth of the whole ingest budget per event."""
    return xxh3_128_hexdigest(original, _seed(source_id))


@lru_cache(maxsize=4096)
def _seed(source_id: uuid.UUID) -> int:
    return int.from_bytes(source_id.bytes[:8])


def parse_time(value) -> dt.datetime:
    """ISO 8601 / RFC 3339 text or a UNIX time (seconds or milliseconds) as an aware UTC datetime."""
    if value.__class__ is str:  # the usual case: already ISO 8601 / RFC 3339
        try:
            stamp = _fromisoformat(value)
        except ValueError:
            try:
                stamp = _fromisoformat(value.strip().replace(" ", "T", 1))
            except ValueError:
                raise ParseError(f"timestamp {value[:40]!r} is not ISO 8601") from None
        tz = stamp.tzinfo
        if tz is None:
            return stamp.replace(tzinfo=dt.UTC)
        if tz is dt.UTC:
            return stamp
        try:
            return stamp.astimezone(dt.UTC)
        except OverflowError:  # year 1 ahead of UTC, year 9999 behind it
            raise ParseError(f"timestamp {value[:40]!r} out of range") from None
    if isinstance(value, bool) or value is None:
        raise ParseError("timestamp missing or not a time")
    if isinstance(value, int | float):
        try:
            return dt.datetime.fromtimestamp(value / 1000 if value > 1e11 else value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise ParseError(f"timestamp {value!r} out of range") from None
    raise ParseError("timestamp must be text or a number")


_fromisoformat = dt.datetime.fromisoformat
MAX_AHEAD = dt.timedelta(days=2)


def event_time(stamp: dt.datetime, received: dt.datetime) -> dt.datetime:
    """An event's own time, unless it is more than `MAX_AHEAD` past its receive time: a device clock that far
    ahead is wrong, and its events would outlive retention and stretch the time range of every batch and search
    they fall in. Such an event takes its receive time (its line keeps the device's)."""
    return received if stamp > received + MAX_AHEAD else stamp


def _iso(stamp: dt.datetime) -> str:
    return stamp.isoformat().replace("+00:00", "Z")


@lru_cache(maxsize=8)
def _iso_cached(stamp: dt.datetime) -> str:
    """The batch's receive time, formatted once per batch rather than once per event."""
    return _iso(stamp)


# --- JSON inputs --------------------------------------------------------------------------------------------

_TIME_KEYS = ("@timestamp", "timestamp", "time", "ts")


def normalise_object(obj: dict, original: bytes, source: SourceRef, received: dt.datetime) -> NormalisedEvent:
    """One JSON object: EVTX-derived (`Event.System`), else taken as ECS-like JSON whose own fields are kept. The
    ECS-like event keeps only what ingest needs (time, id, observables, dataset, host) and makes its document
    again from `original` when someone reads it (`NormalisedEvent.ecs`)."""
    windows = obj.get("Event")
    if windows is not None and isinstance(windows, dict):
        system = windows.get("System")
        if isinstance(system, dict):
            return _from_evtx(obj, system, original, source, received)
    stamp = _stamp_of(obj, received)
    event = obj.get("event")
    dataset = event.get("dataset") or event.get("module") if event is not None and isinstance(event, dict) else None
    host = obj.get("host")
    host = host.get("name") or host.get("hostname") if host is not None and isinstance(host, dict) else None
    return _derived_event(
        original,
        source,
        received,
        stamp,
        observables_of(obj),
        dataset if dataset is None or dataset.__class__ is str else column_text(dataset),
        host if host is None or host.__class__ is str else column_text(host),
    )


def _derived_event(original, source, received, stamp, observables, dataset, host) -> NormalisedEvent:
    """An ECS-like JSON event: what ingest needs now; its document comes from `original` when read (`_derive`)."""
    return _from_line(
        xxh3_128_hexdigest(original, source.seed),  # `event_id`
        source.id,
        source.organization_id,
        stamp,
        observables,
        original,
        dataset,
        host,
        received,
        _derive,
    )


_from_line = NormalisedEvent.from_line


def _stamp_of(obj: dict, received: dt.datetime) -> dt.datetime:
    for key in _TIME_KEYS:
        if key in obj:
            return event_time(parse_time(obj[key]), received)
    return received


def _derive(event: NormalisedEvent) -> tuple[dict, DottedFields]:
    """The ECS document and field map of an ECS-like JSON event, made from its original line."""
    obj = _load_original(event.original)
    return _document(obj, event.original, event.id, event.timestamp, event.ingested), DottedFields(obj)


def _document(obj: dict, original: bytes, eid: str, stamp: dt.datetime, received: dt.datetime) -> dict:
    ecs = dict(obj)
    ecs.pop("attt", None)  # the platform's own block (enrichment): a sender's would pass for it
    _merge_event(ecs, original, eid, received)
    ecs["@timestamp"] = _iso(stamp)
    return ecs


def derived_document(original: bytes, source_id: uuid.UUID, organization_id: uuid.UUID, ingested: dt.datetime) -> dict:
    """The ECS document of a stored ECS-like JSON event from its original line (what `NormalisedEvent.ecs` gave
    when it was ingested, without the enrichment block): stores keep the line alone for such events."""
    obj = _load_original(original)
    return _document(obj, original, event_id(source_id, original), _stamp_of(obj, ingested), ingested)


def _load_original(original: bytes) -> dict:
    """An accepted line as an object. The typed reader (`_read_fast`) checks a line's syntax and UTF-8 but not
    the range of numbers in fields it does not read, which orjson refuses beyond a double (1e400): the standard
    library reads those (as infinity), so an accepted event always has its document."""
    try:
        return orjson.loads(original)
    except orjson.JSONDecodeError:
        return json.loads(original)


def column_text(value) -> str | None:
    """A sender's value as column text (ECS says string, senders may send lists, numbers or objects)."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _merge_event(ecs: dict, original: bytes, eid: str, received: dt.datetime) -> None:
    event = ecs.get("event")
    if event is None or not isinstance(event, dict):
        event = {"value": event} if "event" in ecs else {}
        kind = "event"
    else:
        kind = event.get("kind", "event")
        event = event.copy()
    event["original"] = original.decode("utf-8", "replace")
    event["id"] = eid
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
    stamp = event_time(parse_time(created), received) if created is not None else received
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
    eid = event_id(source.id, original)
    _merge_event(ecs, original, eid, received)
    ecs["event"].update(code=str(system.get("EventID")), provider=provider, module="windows")
    for name, path in _EVTX_ECS.items():
        if name in data and data[name] not in (None, "", "-"):
            _put(ecs, path, data[name])
    hashes = data.get("Hashes")
    if isinstance(hashes, str):
        ecs.setdefault("file", {})["hash"] = {
            k.lower(): v.lower() for k, _, v in (p.partition("=") for p in hashes.split(",")) if v
        }
    if _nested_deeper(ecs, MAX_NESTING):
        raise ParseError(f"event nested deeper than {MAX_NESTING} levels")
    return _eager(
        eid, ecs, source, stamp, fields_from_evtx_json(obj), original, received, "windows", ecs["host"]["name"]
    )


# How deep an EVTX event's document may nest. Its document is kept as JSON (`store`), which orjson refuses to write
# beyond 254 levels: accepted deeper, the event would fail its whole batch in the store on every retry. Real EVTX
# data nests a few levels.
MAX_NESTING = 64


def _nested_deeper(value, levels: int) -> bool:
    """Whether lists and objects nest more than `levels` deep in `value`."""
    if value.__class__ is dict:
        value = value.values()
    elif value.__class__ is not list:
        return False
    return levels == 0 or any(_nested_deeper(item, levels - 1) for item in value)


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
    """A syslog message, or a CEF message alone (no `log.syslog` then: there was no syslog header)."""
    record = parse_syslog(line, now=received)
    stamp = event_time(record["timestamp"], received) if record["timestamp"] else received
    ecs: dict = {"@timestamp": _iso(stamp), "message": record["message"]}
    if record["priority"] is not None:
        ecs["log"] = {
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
        }
    ecs["host"] = {"hostname": record["hostname"]}
    eid = event_id(source.id, line)
    _merge_event(ecs, line, eid, received)
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
    return _eager(eid, ecs, source, stamp, fields, line, received, None, record["hostname"])


def _eager(eid, ecs, source, stamp, fields, original, received, dataset, host) -> NormalisedEvent:
    """An event whose document was built from its input (EVTX, syslog, CEF): the store keeps the document."""
    return NormalisedEvent(
        eid,
        source.id,
        source.organization_id,
        stamp,
        ecs,
        fields,
        None,
        observables_of(ecs),
        original=original,
        dataset=column_text(dataset),
        host=column_text(host),
        ingested=received,
    )


def _int_or_none(value: str) -> int | None:
    return int(value) if value.isdigit() else None


# --- ECS-like JSON read without building it ------------------------------------------------------------------
#
# Ingest needs a handful of an event's fields (time, dataset, host, observables) and keeps the line itself; building
# the whole document as dicts only to read them and free them cost a third of the per-event budget. msgspec reads
# the line against the shape below: it checks the whole line's syntax but builds only these fields. A line that
# does not fit the shape (a field of another type, dotted top-level keys, an EVTX `Event`, invalid UTF-8, any
# error) goes through the general path (`normalise_object`), which gives the same event or the rejection reason:
# `tests/test_parsers.py` checks the two agree.

_Text = str | list[str] | None


_UNSET = msgspec.UNSET
# A key that sends a line to the general path: no JSON value fits this type, so the typed read fails on the key's
# mere presence, at no cost per line that lacks it (reading presence flags cost a twelfth of the budget).
_Refused = Annotated[int, msgspec.Meta(ge=1, le=0)] | msgspec.UnsetType


def _reads_shape() -> type[msgspec.Struct]:
    """The fields ingest reads, as a msgspec Struct: the four time keys (any JSON value, absent = UNSET), `event`'s
    dataset and module, `host`'s name and hostname, the observable groups of `_OBSERVABLE_PATHS` (a nested object
    per group, text or a list of texts at each path), and the keys that send a line to the general path (typed
    `_Refused`)."""
    fields: list = [
        (f"t{position}", object, msgspec.field(default=_UNSET, name=key)) for position, key in enumerate(_TIME_KEYS)
    ]
    fields.append(("event", _struct("event", {"dataset": str | None, "module": str | None}) | None, None))
    for group, paths in _OBSERVABLE_PATHS:
        members: dict = {"name": str | None, "hostname": str | None} if group == "host" else {}
        for first, second, _kind, _dotted in paths:
            if second is None:
                members[first] = _Text
            else:
                inner = members.setdefault(first, {})
                inner[second] = _Text
        members = {k: _struct(f"{group}_{k}", v) | None if isinstance(v, dict) else v for k, v in members.items()}
        fields.append((group, _struct(group, members) | None, None))
    fields.append(("windows", _Refused, msgspec.field(default=_UNSET, name="Event")))
    fields += [
        (f"d{position}", _Refused, msgspec.field(default=_UNSET, name=name))
        for position, name in enumerate(sorted(_DOTTED_NAMES))
    ]
    return msgspec.defstruct("_Reads", fields, gc=False)  # read and dropped: no cycles to track


def _struct(name: str, members: dict) -> type[msgspec.Struct]:
    return msgspec.defstruct(f"_{name}", [(key, kind, None) for key, kind in members.items()], gc=False)


def _read_fast(
    line: bytes, source: SourceRef, received: dt.datetime, ascii_batch: bool = False
) -> NormalisedEvent | None:
    """The event of an ECS-like JSON line read through `_DECODE`, or None for the general path. `ascii_batch`:
    the line comes from a batch known to be ASCII, so its UTF-8 needs no check (one look at the whole batch costs a
    fifth of one look per line)."""
    try:
        doc = _DECODE(line)
        if not ascii_batch and not line.isascii():
            line.decode()  # msgspec does not check the UTF-8 of strings it skips; orjson refuses invalid UTF-8
    except (msgspec.MsgspecError, UnicodeDecodeError, RecursionError):
        # RecursionError: nested deeper than msgspec goes, which is Python's recursion limit (1000; only hypothesis
        # raises it, in tests) less the stack in use, so short of orjson's 1024 levels: the general path reads every
        # line the typed read accepts, and rejects those nested deeper than it reads with a reason.
        return None
    stamp = received
    for value in _time_values(doc):
        if value is not _UNSET:
            try:
                stamp = event_time(parse_time(value), received)
            except ParseError:
                return None  # the general path words the reason
            break
    event, host = doc.event, doc.host
    return _derived_event(
        line,
        source,
        received,
        stamp,
        _observables_fast(doc),
        (event.dataset or event.module) if event is not None else None,
        (host.name or host.hostname) if host is not None else None,
    )


def _observables_fast(doc) -> list[tuple[str, str]]:
    """`observables_of` over the typed reading: the same groups in the same order (`_OBSERVABLE_PATHS`), spelled
    out because attribute reads by name cost more than the rest of the function. A value is text or a list of
    texts (the typed read allows nothing else); the usual texts are added here, the rest by `_add_observables`."""
    found: list[tuple[str, str]] = []
    add = found.append
    for endpoint in (doc.source, doc.destination, doc.client, doc.server):
        if endpoint is not None:
            value = endpoint.ip
            if value.__class__ is str and value:
                add(("ipv6" if ":" in value else "ipv4", value))
            elif value:
                _add_observables(found, "ip", value)
            if endpoint.domain:
                _add_observables(found, "domain", endpoint.domain)
    host = doc.host
    if host is not None and host.ip:
        _add_observables(found, "ip", host.ip)
    related = doc.related
    if related is not None:
        for value, kind in ((related.ip, "ip"), (related.hosts, "domain"), (related.hash, "hash")):
            if value:
                _add_observables(found, kind, value)
    url = doc.url
    if url is not None:
        value = url.original
        if value.__class__ is str and value:
            _add_url(found, value)
        elif value:
            _add_observables(found, "url", value)
        if url.full:
            _add_observables(found, "url", url.full)
        if url.domain:
            _add_observables(found, "domain", url.domain)
    dns = doc.dns
    if dns is not None and dns.question is not None:
        value = dns.question.name
        if value.__class__ is str and value:
            add(("domain", value.lower().rstrip(".")))
        elif value:
            _add_observables(found, "domain", value)
    file = doc.file
    if file is not None and file.hash is not None:
        hashes = file.hash
        for kind in _HASH_NAMES:
            value = getattr(hashes, kind)
            if value.__class__ is str and value:
                add((kind, value.lower()))
            elif value:
                _add_observables(found, kind, value)
    return found


# --- Observables --------------------------------------------------------------------------------------------

# Where observables sit in an ECS document: top-level object → (first key, second key or None, kind, dotted
# top-level spelling "source.ip"); "ip" kinds are decided by the value (IPv4 or IPv6), "url" also yields its host
# as a domain. Spelled out flat so the common case (nested objects, text values) is a few probes per group.
_ENDPOINT = (("ip", None, "ip"), ("domain", None, "domain"))
_OBSERVABLE_PATHS = tuple(
    (
        group,
        tuple(
            (first, second, kind, ".".join((group, first) + ((second,) if second else ())))
            for first, second, kind in paths
        ),
    )
    for group, paths in (
        *((endpoint, _ENDPOINT) for endpoint in ("source", "destination", "client", "server")),
        ("host", (("ip", None, "ip"),)),
        ("related", (("ip", None, "ip"), ("hosts", None, "domain"), ("hash", None, "hash"))),
        ("url", (("original", None, "url"), ("full", None, "url"), ("domain", None, "domain"))),
        ("dns", (("question", "name", "domain"),)),
        ("file", (("hash", "md5", "md5"), ("hash", "sha1", "sha1"), ("hash", "sha256", "sha256"))),
    )
)
_DOTTED_NAMES = frozenset(dotted for _group, paths in _OBSERVABLE_PATHS for *_path, dotted in paths)
_HASH_KINDS = {32: "md5", 40: "sha1", 64: "sha256"}
_HASH_NAMES = tuple(_HASH_KINDS.values())


def observables_of(ecs: dict) -> list[tuple[str, str]]:
    """(kind, value) pairs of IPs, domains, URLs (and their host) and file hashes of an ECS document, kinds as
    in `attt.intel.sharing.OBSERVABLE_KINDS`. Dotted top-level keys ("source.ip": …) are read too. A value may
    come twice (a URL's host and `url.domain`): matching answers each indicator once anyway."""
    found: list[tuple[str, str]] = []
    get = ecs.get
    dotted_keys = not _DOTTED_NAMES.isdisjoint(ecs)  # one scan in C; most documents have none
    for group, paths in _OBSERVABLE_PATHS:
        inner = get(group)
        if inner is not None and inner.__class__ is dict:
            for first, second, kind, _dotted in paths:
                value = inner.get(first)
                if second is not None and value is not None:
                    value = value.get(second) if value.__class__ is dict else None
                if value is None or value == "":
                    continue
                if value.__class__ is str and kind == "ip":
                    found.append(("ipv6" if ":" in value else "ipv4", value))
                else:
                    _add_observables(found, kind, value)
        elif dotted_keys:
            for _first, _second, kind, dotted in paths:
                value = get(dotted)
                if value is not None and value != "":
                    _add_observables(found, kind, value)
    return found


_DECODE = msgspec.json.Decoder(_reads_shape()).decode
_time_values = operator.attrgetter(*(f"t{position}" for position in range(len(_TIME_KEYS))))


def _add_observables(found: list, kind: str, value) -> None:
    """The observables of one value at a path of `kind` (a list gives one per item; other scalars become text)."""
    add = _ADDERS.get(kind)
    for item in value if value.__class__ is list else (value,):
        if item.__class__ is not str:
            if item is None or isinstance(item, dict | list):
                continue
            item = str(item)
        elif not item:
            continue
        if add is None:  # named hashes
            found.append((kind, item.lower()))
        else:
            add(found, item)


def _add_ip(found: list, item: str) -> None:
    found.append(("ipv6" if ":" in item else "ipv4", item))


def _add_domain(found: list, item: str) -> None:
    found.append(("domain", item.lower().rstrip(".")))


def _add_url(found: list, item: str) -> None:
    """The URL, and its host as a domain when it is a name."""
    found.append(("url", item))
    host = item.partition("://")[2].partition("/")[0].rpartition("@")[2].partition(":")[0]
    if host and not host[0].isdigit():
        found.append(("domain", host.lower()))


def _add_hash(found: list, item: str) -> None:
    """A hash of unnamed kind, named by its length (MD5, SHA-1, SHA-256)."""
    if len(item) in _HASH_KINDS:
        found.append((_HASH_KINDS[len(item)], item.lower()))


_ADDERS = {"ip": _add_ip, "domain": _add_domain, "url": _add_url, "hash": _add_hash}


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
        if self._flat is not None:  # flattened already (iterated): its keys are what iteration gave
            return self._flat[key]
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
    syslog = source.format in SYSLOG_FORMATS
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
    if syslog:
        for number, line in split_lines(data):
            try:
                events.append(normalise_syslog(line, source, received))
            except _LINE_ERRORS as exc:
                rejected.append((number, _reason(exc)))
        return
    # `split_lines` spelled out for JSON: CRs looked for once per batch, blank lines only on the general path (the
    # typed read refuses them).
    crlf, ascii_batch, add = b"\r" in data, data.isascii(), events.append
    for number, line in enumerate(data.split(b"\n"), 1):
        if crlf:
            line = line.rstrip(b"\r")
        if not line:
            continue
        try:
            event = _read_fast(line, source, received, ascii_batch)
            if event is None:
                if not line.strip():
                    continue
                event = _read(line, source, received)
        except _LINE_ERRORS as exc:
            rejected.append((number, _reason(exc)))
            continue
        add(event)


# What one line's reading may raise, which rejects that line and no other: an unexpected shape (AttributeError,
# TypeError, ValueError and ParseError), nesting beyond a parser's depth, a time beyond datetime's range. An
# `except` costs nothing while nothing is raised.
_LINE_ERRORS = (AttributeError, TypeError, ValueError, RecursionError, OverflowError)


def _read(line: bytes, source: SourceRef, received: dt.datetime) -> NormalisedEvent:
    return normalise_object(parse_json_line(line), line, source, received)


def normalise_file_text(
    text: str | bytes, source: SourceRef, received: dt.datetime | None = None
) -> tuple[list[NormalisedEvent], list[Rejection]]:
    """A file of one or more JSON objects in a row (EVTX-derived pretty-printed JSON or NDJSON), as received (bytes:
    an object holding bytes that are not UTF-8 is rejected, as its line would be on the NDJSON path) or as text."""
    received = received or dt.datetime.now(dt.UTC)
    events, rejected = [], []
    for number, obj in iter_json_objects(decode_file(text) if isinstance(text, bytes) else text):
        if isinstance(obj, ParseError):
            rejected.append((number, str(obj)))
            continue
        try:
            events.append(normalise_object(obj, orjson.dumps(obj), source, received))
        except _LINE_ERRORS as exc:
            rejected.append((number, _reason(exc)))
    return events, rejected


def _reason(exc: Exception) -> str:
    """The rejection reason sent back: a ParseError's own sentence, else the shape the mapping did not expect."""
    if isinstance(exc, ParseError):
        return str(exc)
    return f"unexpected structure: {exc}"[:300]


# --- Spool / wire encoding ----------------------------------------------------------------------------------
#
# A batch travels (spool row, JetStream message) as the lines the gateway accepted, not as normalised events:
# the received bytes are a third of the events' encoded documents, and zstd makes them a tenth of that again, so
# the spool's fsync and JetStream's three replicas move little. The worker normalises them again with the
# gateway's receive time, which gives the same events (ids, times, documents).

WIRE_MAGIC = b"ATTT3\n"
_WIRE_V2 = b"ATTT2\n"  # the header compressed with the lines: still read (spool rows and messages of before)


def encode_lines(source: SourceRef, received: dt.datetime, lines: list[bytes] | bytes) -> bytes:
    """Accepted lines (a list, or already joined by newlines) as one message: a JSON header (source, organisation,
    format, receive time) on a line of its own, then the lines compressed as one zstd frame (`chunk_body`). The
    lines go through zstd in one call: its streaming interface, which spared copying them behind the header,
    compressed an eighth slower than the copy costs."""
    header = orjson.dumps(
        {
            "source": str(source.id),
            "organization": str(source.organization_id),
            "format": source.format,
            "received": _iso(received),
        }
    )
    body = lines if lines.__class__ is bytes else b"\n".join(lines)
    # A compressor of its own: zstd's are not thread-safe (gateway threads encode at once), and one costs 0.03 ms.
    return b"".join((WIRE_MAGIC, header, b"\n", zstandard.ZstdCompressor(level=1).compress(body)))


def chunk_body(payload: bytes) -> tuple[bytes, bool]:
    """The zstd frame of a message's lines as a store keeps it, and whether the header is its first line (the
    earlier form, ATTT2, compressed the header with the lines)."""
    if payload.startswith(_WIRE_V2):
        return payload[len(_WIRE_V2) :], True
    return payload[payload.index(b"\n", len(WIRE_MAGIC)) + 1 :], False


def encode_chunks(source: SourceRef, received: dt.datetime, lines: list[bytes], limit: int) -> list[bytes]:
    """The lines as one or more messages of at most `limit` bytes (JetStream's max payload: 1 MB by default); a
    single line too large even compressed is still sent alone (and refused by the server)."""
    payload = encode_lines(source, received, lines)
    if len(payload) <= limit or len(lines) < 2:
        return [payload]
    half = len(lines) // 2
    return encode_chunks(source, received, lines[:half], limit) + encode_chunks(source, received, lines[half:], limit)


def events_payload(events: list[NormalisedEvent], source: SourceRef, data: bytes | None = None) -> bytes:
    """The wire form of a batch the gateway just normalised (its events carry their received lines). `data`: the
    lines they were read from (`normalise_lines`), compressed as they are when every line became an event as it
    is, rather than joined again from the events. Each event's line is a line of `data` or shorter (CR stripped),
    so their lengths and newlines add up to `data`'s only when none was left out or shortened."""
    received = events[0].ingested if events else dt.datetime.now(dt.UTC)
    if data is not None and sum(map(len, map(_original, events))) + len(events) - 1 == len(data):
        return encode_lines(source, received, data)
    return encode_lines(source, received, [e.original for e in events])


_original = operator.attrgetter("original")


def decode_lines(payload: bytes) -> tuple[SourceRef, dt.datetime, bytes]:
    """(source, receive time, the lines joined by newlines) of a message made by `encode_lines`."""
    if payload.startswith(WIRE_MAGIC):
        header, data = payload[len(WIRE_MAGIC) :].split(b"\n", 1)
        data = zstandard.ZstdDecompressor().decompress(data, max_output_size=_MAX_BATCH)
    elif payload.startswith(_WIRE_V2):
        body = zstandard.ZstdDecompressor().decompress(payload[len(_WIRE_V2) :], max_output_size=_MAX_BATCH)
        header, _, data = body.partition(b"\n")
    else:
        raise ValueError("not an attt batch (unknown wire format)")
    meta = orjson.loads(header)
    source = SourceRef(uuid.UUID(meta["source"]), uuid.UUID(meta["organization"]), meta["format"])
    return source, _fromisoformat(meta["received"]), data


_MAX_BATCH = 1 << 30


def decode_batch(payload: bytes) -> tuple[list[NormalisedEvent], bool]:
    """The events of a message, its lines normalised again with the gateway's receive time, and whether they are
    all its lines (so the message can be stored as it is). A line the gateway accepted is accepted again (same
    code, same time); should one not be, it is logged rather than lost silently."""
    source, received, data = decode_lines(payload)
    events, rejected = normalise_lines(data, source, received)
    if rejected:
        logger.error("%d accepted lines of source %s failed again: %s", len(rejected), source.id, rejected[:5])
    return events, not rejected
