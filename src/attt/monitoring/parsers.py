"""Wire formats into plain dicts: NDJSON, EVTX-derived JSON (several pretty-printed objects in a row), syslog
(RFC 5424 and RFC 3164) and CEF. Pure functions, no Django but for reading `TIME_ZONE` (`device_zone`): the
gateways, the workers and the benchmarks share them. Each parser raises `ParseError` with a sentence that goes back
to the sender with the line number."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from django.conf import settings  # lazy: configured or not, importing it reads nothing
from django.core.exceptions import ImproperlyConfigured


class ParseError(ValueError):
    """A line that cannot be read; the message is the reason reported to the sender."""


# --- JSON ---------------------------------------------------------------------------------------------------


def parse_json_line(line: bytes) -> dict:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        try:
            line.decode()
        except UnicodeDecodeError as bad:  # orjson words it "surrogates not allowed", which no sender would follow
            raise ParseError(f"not valid UTF-8: byte 0x{line[bad.start]:02X} at column {bad.start + 1}") from None
        raise ParseError(f"invalid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ParseError("a line must hold one JSON object")
    return obj


def split_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(line number from 1, line) for every non-blank line; a trailing CR is dropped."""
    for number, line in enumerate(data.split(b"\n"), 1):
        line = line.rstrip(b"\r")
        if line.strip():
            yield number, line


def _not_json(constant: str) -> None:
    raise ParseError(f"{constant} is not a JSON value")


# NaN and Infinity are refused as on the NDJSON path (orjson): written back they would silently become null.
_decoder = json.JSONDecoder(parse_constant=_not_json)
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, as `decode_file` keeps them


def decode_file(data: bytes) -> str:
    """A file's bytes as text for `iter_json_objects`: bytes that are not UTF-8 are kept as lone surrogates
    (`surrogateescape`), so that the object holding them is rejected with their position while the others are
    read, as on the NDJSON path; replacing them with U+FFFD would store altered events."""
    return data.decode("utf-8", "surrogateescape")


def iter_json_objects(text: str) -> Iterator[tuple[int, dict | ParseError]]:
    """The JSON objects of a file holding one or more of them in a row (pretty-printed or NDJSON, or in a top-level
    list), each with the line it starts on. Every part of the file is yielded, as an object or a ParseError: after
    an unreadable object, reading goes on at the next line that starts an object at that object's indentation or
    less (its reason says which lines were not read), and a list not closed at the end is reported too.

    Not `attt.detection.engine.iter_json_objects`: that one reads trusted regression files (raises on the first
    error, no line numbers, any JSON value); a sender's file needs a line number and a reason per bad object,
    lists unpacked and commas between objects tolerated, so the two differ in everything but `raw_decode`."""
    position, length = (1 if text.startswith("\ufeff") else 0), len(text)
    counted, line = 0, 1  # `line` is the line number of offset `counted`; offsets only grow
    undecodable = not text.isascii() and _UNDECODABLE.search(text) is not None
    listed = None  # the line of the top-level list whose items are being read
    while True:
        while position < length and text[position] in " \t\r\n,":
            position += 1
        if position >= length:
            break
        line, counted = line + text.count("\n", counted, position), position
        char = text[position]
        if char == "[" and listed is None:
            listed, position = line, position + 1
            continue
        if char == "]" and listed is not None:
            listed, position = None, position + 1
            continue
        start = position
        try:
            obj, position = _decoder.raw_decode(text, position)
        except (json.JSONDecodeError, ParseError, RecursionError) as exc:
            if isinstance(exc, json.JSONDecodeError):
                reason = f"invalid JSON: {exc.msg.removesuffix(' at')} at line {exc.lineno} column {exc.colno}"
            else:
                reason = f"invalid JSON: {exc}" if isinstance(exc, ParseError) else "invalid JSON: nested too deeply"
            position, stays_listed = _next_object(text, start)
            listed = listed if stays_listed else None
            last = line + text.count("\n", start, start + len(text[start:position].rstrip()))
            skipped = f"line {line}" if last == line else f"lines {line}–{last}"
            yield line, ParseError(f"{reason} ({skipped} not read)")
            continue
        if undecodable and (bad := _UNDECODABLE.search(text, start, position)):
            at = line + text.count("\n", start, bad.start())
            yield line, ParseError(f"not valid UTF-8: byte 0x{ord(bad.group()) - 0xDC00:02X} at line {at}")
        elif isinstance(obj, dict):
            yield line, obj
        else:
            yield line, ParseError("a list item is not a JSON object" if listed else "not a JSON object")
    if listed is not None:
        yield listed, ParseError("the list opened on this line is not closed: the file may be cut short")


def _next_object(text: str, start: int) -> tuple[int, bool]:
    """Where to go on after the unreadable value at `start`: the next line starting with `{` indented no more than
    the value (the next object of a pretty-printed or NDJSON file, or the next item of an indented list), else the
    end; and whether that line is still in the same list (as indented as the value, which began its line)."""
    line_start = text.rfind("\n", 0, start) + 1
    indent = text[line_start:start]
    own_line = not indent.strip(" \t")
    if not own_line:
        indent = ""
    found = re.compile(rf"\n([ \t]{{0,{len(indent)}}})\{{").search(text, start)
    if found is None:
        return len(text), False
    return found.start(1), own_line and found.group(1) == indent


# --- Syslog -------------------------------------------------------------------------------------------------

_PRI = re.compile(rb"<(\d{1,3})>")
_MONTHS = {
    m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}
_RFC3164 = re.compile(
    r"(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<time>\d{2}:\d{2}:\d{2}) (?P<host>\S+) (?P<rest>.*)", re.S
)
_TAG = re.compile(r"(?P<tag>[^\s\[:]{1,48})(?:\[(?P<pid>[^\]]{1,32})\])?: ?(?P<msg>.*)", re.S)
_SD_PARAM = re.compile(r' ([^\s="\]]{1,32})="((?:[^"\\]|\\.)*)"')


def device_zone() -> dt.tzinfo:
    """The zone of times sent without one (RFC 3164 headers, CEF `rt`): the device's local time, and the platform's
    devices are in `settings.TIME_ZONE` (Asia/Ho_Chi_Minh); read as UTC their events landed 7 hours ahead. UTC
    where Django is not set up (benchmarks)."""
    try:
        name = settings.TIME_ZONE
    except ImproperlyConfigured:
        return dt.UTC
    return ZoneInfo(name) if name else dt.UTC


def parse_syslog(line: bytes, *, now: dt.datetime | None = None) -> dict:
    """One syslog message (RFC 5424, else RFC 3164) as a dict: priority, facility, severity, timestamp (aware
    datetime or None), hostname, app, procid, msgid, structured_data, message; a CEF message also gets `cef`. A
    line that is a CEF message alone (no syslog header, as some devices and collectors send it) is read as CEF:
    no priority, its time from `rt`, its host from `dvchost`."""
    match = _PRI.match(line)
    if not match:
        if line.startswith(b"CEF:"):
            return _parse_bare_cef(line.decode("utf-8", "replace"), now or dt.datetime.now(dt.UTC))
        raise ParseError("syslog message must start with <PRI>")
    pri = int(match.group(1))
    if pri > 191:
        raise ParseError("syslog priority out of range (0–191)")
    text = line[match.end() :].decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    record = {"priority": pri, "facility": pri >> 3, "severity": pri & 7}
    if text[:2] == "1 ":
        record.update(_parse_5424(text[2:]))
    else:
        record.update(_parse_3164(text, now or dt.datetime.now(dt.UTC)))
    message = record.get("message", "")
    cef_at = message.find("CEF:")
    if cef_at != -1 and (cef_at == 0 or message[cef_at - 1] == " "):
        record["cef"] = parse_cef(message[cef_at:])
    return record


def _nil(value: str) -> str | None:
    return None if value == "-" else value


def _parse_5424(text: str) -> dict:
    parts = text.split(" ", 5)
    if len(parts) < 6:
        raise ParseError("RFC 5424 header incomplete (timestamp host app procid msgid structured-data)")
    stamp, host, app, procid, msgid, rest = parts
    timestamp = None
    if stamp != "-":
        try:
            timestamp = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            raise ParseError(f"RFC 5424 timestamp is not RFC 3339: {stamp[:40]!r}") from None
        if timestamp.tzinfo is None:
            raise ParseError("RFC 5424 timestamp has no time offset")
        try:  # year 1 ahead of UTC or 9999 behind it has no UTC time: every later step would fail on it
            timestamp.astimezone(dt.UTC)
        except OverflowError:
            raise ParseError(f"RFC 5424 timestamp {stamp[:40]!r} out of range") from None
    structured, message = _structured_data(rest)
    return {
        "timestamp": timestamp,
        "hostname": _nil(host),
        "app": _nil(app),
        "procid": _nil(procid),
        "msgid": _nil(msgid),
        "structured_data": structured,
        "message": message,
    }


def _structured_data(rest: str) -> tuple[dict, str]:
    if rest == "-" or rest.startswith("- "):
        return {}, rest[2:]
    if not rest.startswith("["):
        raise ParseError("RFC 5424 structured data must be '-' or start with '['")
    data: dict[str, dict[str, str]] = {}
    position = 0
    while position < len(rest) and rest[position] == "[":
        end, quoted = position + 1, False
        while end < len(rest):
            char = rest[end]
            if char == "\\":
                end += 2
                continue
            if char == '"':
                quoted = not quoted
            elif char == "]" and not quoted:
                break
            end += 1
        if end >= len(rest):
            raise ParseError("RFC 5424 structured data element is not closed")
        sd_id, _, params = rest[position + 1 : end].partition(" ")
        if not sd_id:
            raise ParseError("RFC 5424 structured data element without an id")
        data[sd_id] = {k: re.sub(r"\\(.)", r"\1", v) for k, v in _SD_PARAM.findall(" " + params)}
        position = end + 1
    return data, rest[position + 1 :] if rest[position : position + 1] == " " else rest[position:]


def _parse_3164(text: str, now: dt.datetime) -> dict:
    match = _RFC3164.match(text)
    if not match or match["mon"] not in _MONTHS:
        # RFC 3164 §4.3.3: a relay passes on what it cannot read; keep it as the message, time unknown.
        return {"timestamp": None, "hostname": None, "app": None, "procid": None, "msgid": None, "message": text}
    hour, minute, second = (int(x) for x in match["time"].split(":"))
    stamp = _device_time(
        "RFC 3164 timestamp", now, None, _MONTHS[match["mon"]], int(match["day"]), hour, minute, second
    )
    rest = match["rest"]
    tag = None if rest.startswith("CEF:") else _TAG.match(rest)
    app, procid, message = (tag["tag"], tag["pid"], tag["msg"]) if tag else (None, None, rest)
    return {
        "timestamp": stamp,
        "hostname": match["host"],
        "app": app,
        "procid": procid,
        "msgid": None,
        "message": message,
    }


def _device_time(
    what: str, now: dt.datetime, year: int | None, *parts: int, zone: dt.tzinfo | None = None
) -> dt.datetime:
    """A time of the device's clock (month, day, hour, minute, second[, microsecond]) in UTC: in `zone`, else the
    devices' zone; without a year, the current year there, or last year's if that is more than a day ahead
    (December's message read in January)."""
    zone = zone or device_zone()
    try:
        guess = now.astimezone(zone).year if year is None else year
        stamp = dt.datetime(guess, *parts, tzinfo=zone)
        if year is None and stamp > now + dt.timedelta(days=1):
            stamp = dt.datetime(guess - 1, *parts, tzinfo=zone)
        return stamp.astimezone(dt.UTC)
    except ValueError:
        raise ParseError(f"{what} is not a real date") from None
    except OverflowError:
        raise ParseError(f"{what} out of range") from None


# --- CEF ----------------------------------------------------------------------------------------------------

CEF_HEADER = ("version", "device_vendor", "device_product", "device_version", "signature_id", "name", "severity")
_CEF_KEY = re.compile(r"(?:^|(?<=\s))([A-Za-z0-9_.\[\]]{1,64})=")
_CEF_EXT_ESCAPES = {"\\=": "=", "\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\|": "|"}


def parse_cef(text: str) -> dict:
    """`CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|key=value ...` as a dict with the header
    fields and `extensions` (a value runs to the next unescaped `key=`)."""
    if not text.startswith("CEF:"):
        raise ParseError("CEF message must start with 'CEF:'")
    header, position = [], 4
    field: list[str] = []
    while len(header) < 7:
        if position >= len(text):
            raise ParseError("CEF header needs 7 fields separated by '|'")
        char = text[position]
        if char == "\\" and position + 1 < len(text) and text[position + 1] in "|\\":
            field.append(text[position + 1])
            position += 2
            continue
        if char == "|":
            header.append("".join(field))
            field = []
        else:
            field.append(char)
        position += 1
    record: dict = dict(zip(CEF_HEADER, header, strict=True))
    if not record["version"].isdigit():
        raise ParseError("CEF version must be a number")
    extension = text[position:]
    keys = [m for m in _CEF_KEY.finditer(extension) if not _escaped(extension, m.start(1))]
    values = {}
    for i, key in enumerate(keys):
        end = keys[i + 1].start() if i + 1 < len(keys) else len(extension)
        raw = extension[key.end() : end].rstrip(" ") if i + 1 < len(keys) else extension[key.end() : end]
        values[key.group(1)] = re.sub(r"\\[=\\nr|]", lambda m: _CEF_EXT_ESCAPES[m.group(0)], raw)
    if extension.strip() and not keys:
        raise ParseError("CEF extension is not key=value pairs")
    record["extensions"] = values
    return record


def _escaped(text: str, index: int) -> bool:
    """Whether the key starting at `index` belongs to a value (the '=' before it was escaped): keys only start
    after whitespace, which the regex already checks; a backslash right before is a literal."""
    return index > 0 and text[index - 1] == "\\"


def _parse_bare_cef(text: str, now: dt.datetime) -> dict:
    """A CEF message without a syslog header, as `parse_syslog` gives it (the header's fields empty)."""
    cef = parse_cef(text)
    extensions = cef["extensions"]
    received = extensions.get("rt")
    return {
        "priority": None,
        "facility": None,
        "severity": None,
        "timestamp": cef_time(received, now) if received else None,
        "hostname": extensions.get("dvchost") or None,
        "app": None,
        "procid": None,
        "msgid": None,
        "message": text,
        "cef": cef,
    }


_CEF_TIME = re.compile(
    r"(?P<mon>[A-Z][a-z]{2}) (?P<day>\d{1,2})(?: (?P<year>\d{4}))? (?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<ms>\d{1,3}))?"
    r"(?: (?P<zone>\S+))?"
)
_CEF_OFFSET = re.compile(r"(?:GMT|UTC)?([+-])(\d{2}):?(\d{2})")
# Zone names ArcSight connectors write (Java's short names): only the unambiguous ones of the region.
_CEF_ZONES = {"UTC": dt.UTC, "GMT": dt.UTC, "Z": dt.UTC, "ICT": dt.timezone(dt.timedelta(hours=7), "ICT")}


def cef_time(value: str, now: dt.datetime) -> dt.datetime:
    """A CEF time (`rt`, `start`, `end`) in UTC, in the formats of the CEF specification: milliseconds since 1970,
    or `MMM dd [yyyy] HH:mm:ss[.SSS] [zone]`, without a zone in the devices' zone and without a year as RFC 3164;
    ISO 8601 too, which some devices send."""
    value = value.strip()
    if value.isdecimal():
        try:
            return dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC)
        except (OverflowError, OSError, ValueError):  # ValueError: a year beyond 9999
            raise ParseError(f"CEF time {value[:40]!r} out of range") from None
    try:
        match = _CEF_TIME.fullmatch(value)
        if match is None or match["mon"] not in _MONTHS:
            stamp = dt.datetime.fromisoformat(value)
            return stamp.astimezone(dt.UTC) if stamp.tzinfo else stamp.replace(tzinfo=device_zone()).astimezone(dt.UTC)
    except ValueError:
        raise ParseError(f"CEF time {value[:40]!r} is not milliseconds since 1970 nor 'MMM dd yyyy HH:mm:ss'") from None
    except (OverflowError, OSError):
        raise ParseError(f"CEF time {value[:40]!r} out of range") from None
    hour, minute, second = (int(x) for x in match["time"].split(":"))
    parts = (
        _MONTHS[match["mon"]],
        int(match["day"]),
        hour,
        minute,
        second,
        int((match["ms"] or "0").ljust(3, "0")) * 1000,
    )
    year = int(match["year"]) if match["year"] else None
    return _device_time("CEF time", now, year, *parts, zone=_cef_zone(match["zone"]) if match["zone"] else None)


def _cef_zone(name: str) -> dt.tzinfo:
    """A zone as CEF times give it: UTC/GMT/Z, ICT, an offset (+07:00, GMT+07:00) or an IANA name."""
    if name in _CEF_ZONES:
        return _CEF_ZONES[name]
    offset = _CEF_OFFSET.fullmatch(name)
    if offset:
        sign, hours, minutes = offset.groups()
        delta = dt.timedelta(hours=int(hours), minutes=int(minutes))
        if delta < dt.timedelta(hours=24):
            return dt.timezone(-delta if sign == "-" else delta)
    elif "/" in name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, OSError, ValueError):
            pass
    raise ParseError(f"CEF time zone {name[:40]!r} unknown: send UTC, an offset such as +07:00, ICT or an IANA name")
