"""Wire formats into plain dicts: NDJSON, EVTX-derived JSON (several pretty-printed objects in a row), syslog
(RFC 5424 and RFC 3164) and CEF. Pure functions, no Django: the gateways, the workers and the benchmarks share
them. Each parser raises `ParseError` with a sentence that goes back to the sender with the line number."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator

import orjson


class ParseError(ValueError):
    """A line that cannot be read; the message is the reason reported to the sender."""


# --- JSON ---------------------------------------------------------------------------------------------------


def parse_json_line(line: bytes) -> dict:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
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


_decoder = json.JSONDecoder()


def iter_json_objects(text: str) -> Iterator[tuple[int, dict | ParseError]]:
    """The JSON objects of a file holding one or more of them in a row (pretty-printed or NDJSON), each with the
    line it starts on; an unreadable object yields a ParseError and stops the file (nothing after it can be
    trusted to start at an object boundary).

    Not `attt.detection.engine.iter_json_objects`: that one reads trusted regression files (raises on the first
    error, no line numbers, any JSON value); a sender's file needs a line number and a reason per bad object,
    arrays unpacked and commas between objects tolerated, so the two differ in everything but `raw_decode`."""
    position, length = 0, len(text)
    while True:
        while position < length and text[position] in " \t\r\n,":
            position += 1
        if position >= length:
            return
        line = text.count("\n", 0, position) + 1
        try:
            obj, position = _decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            yield line, ParseError(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
            return
        if isinstance(obj, list):
            for item in obj:
                yield line, item if isinstance(item, dict) else ParseError("a list item is not a JSON object")
        elif isinstance(obj, dict):
            yield line, obj
        else:
            yield line, ParseError("not a JSON object")


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


def parse_syslog(line: bytes, *, now: dt.datetime | None = None) -> dict:
    """One syslog message (RFC 5424, else RFC 3164) as a dict: priority, facility, severity, timestamp (aware
    datetime or None), hostname, app, procid, msgid, structured_data, message; a CEF message also gets `cef`."""
    match = _PRI.match(line)
    if not match:
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
    try:
        stamp = dt.datetime(now.year, _MONTHS[match["mon"]], int(match["day"]), hour, minute, second, tzinfo=dt.UTC)
    except ValueError:
        raise ParseError("RFC 3164 timestamp is not a real date") from None
    if stamp > now + dt.timedelta(days=1):  # December's message read in January
        stamp = stamp.replace(year=now.year - 1)
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
