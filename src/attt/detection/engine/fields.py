"""The flat field map Sigma rules are written against, from the EVTX→JSON rendering of a Windows event.

Sigma's Windows rules name fields the way Windows event XML does (``EventID``, ``Channel``, ``Provider_Name``,
``Image``, ``CommandLine``…), so flattening ``Event.System`` plus ``Event.EventData`` (or the single element
under ``Event.UserData``) gives exactly the names the rules use. The renderers seen in the wild disagree on
shapes (an EventID as an int, a string or ``{"#text": …}``; EventData as a dict or as a ``Data`` list of
``{"#attributes": {"Name": …}, "#text": …}``), so every shape is accepted and anything else is skipped, never
raised on: the input is untrusted log data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

_SKIPPED_SYSTEM = frozenset({"Provider", "TimeCreated", "Execution", "Security", "Correlation", "#attributes"})


def _scalar(value: Any) -> Any:
    """A JSON leaf as the value Sigma compares: text stays text, numbers stay numbers, ``{"#text": x}`` is x."""
    if isinstance(value, Mapping):
        if "#text" in value:
            return _scalar(value["#text"])
        return None
    if isinstance(value, list):
        parts = [_scalar(item) for item in value]
        parts = [p for p in parts if p is not None]
        return "\n".join(str(p) for p in parts) if parts else None
    if isinstance(value, bool):
        return str(value).lower()
    return value


def _event_id(value: Any) -> Any:
    value = _scalar(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
    return value


def _data_items(data: Any) -> Iterator[tuple[str, Any]]:
    """Named values of an EventData/UserData block in any of its renderings."""
    if isinstance(data, list):
        for item in data:
            yield from _data_items(item)
        return
    if not isinstance(data, Mapping):
        return
    attributes = data.get("#attributes")
    if isinstance(attributes, Mapping) and "Name" in attributes and "#text" in data:
        # <Data Name="Image">C:\…</Data>
        name = attributes.get("Name")
        if isinstance(name, str):
            yield name, _scalar(data.get("#text"))
        return
    for key, value in data.items():
        if not isinstance(key, str) or key.startswith("#"):
            continue
        if key == "Data" and isinstance(value, list | Mapping):
            yield from _data_items(value)
            continue
        if isinstance(value, Mapping) and "#text" not in value:
            if isinstance(value.get("#attributes"), Mapping) and set(value) == {"#attributes"}:
                name = value["#attributes"].get("Name")
                if isinstance(name, str):  # <Data Name="X"/> with no text
                    yield name, ""
            continue
        scalar = _scalar(value)
        if scalar is not None:
            yield key, scalar


def fields_from_evtx_json(obj: Mapping) -> dict[str, Any]:
    """The flat field map of one event in the EVTX→JSON form (``{"Event": {"System": …, "EventData": …}}``)."""
    if not isinstance(obj, Mapping):
        return {}
    event = obj.get("Event", obj)
    if not isinstance(event, Mapping):
        return {}
    fields: dict[str, Any] = {}
    system = event.get("System")
    if isinstance(system, Mapping):
        for key, value in system.items():
            if not isinstance(key, str) or key in _SKIPPED_SYSTEM or key.startswith("#"):
                continue
            if key == "EventID":
                fields["EventID"] = _event_id(value)
                continue
            scalar = _scalar(value)
            if scalar is not None:
                fields[key] = scalar
        provider = system.get("Provider")
        if isinstance(provider, Mapping):
            attributes = provider.get("#attributes", provider)
            if isinstance(attributes, Mapping):
                for attr, name in (("Name", "Provider_Name"), ("Guid", "Provider_Guid")):
                    value = attributes.get(attr)
                    if isinstance(value, str):
                        fields[name] = value
        elif isinstance(system.get("Provider_Name"), str):
            fields["Provider_Name"] = system["Provider_Name"]
        security = system.get("Security")
        if isinstance(security, Mapping) and isinstance(security.get("#attributes"), Mapping):
            user_id = security["#attributes"].get("UserID")
            if isinstance(user_id, str):
                fields.setdefault("UserID", user_id)
    for block in ("EventData", "UserData"):
        data = event.get(block)
        if block == "UserData" and isinstance(data, Mapping):
            # <UserData><SomeElement xmlns=…>fields</SomeElement></UserData>
            inner = [v for k, v in data.items() if isinstance(k, str) and not k.startswith("#")]
            data = inner
        for key, value in _data_items(data):
            fields.setdefault(key, value)
            if " " in key:  # Defender writes "Threat Name"; Sigma rules name it ThreatName
                fields.setdefault(key.replace(" ", ""), value)
    return fields


def iter_json_objects(text: str) -> Iterator[Any]:
    """Every JSON value in a text holding one or several documents in a row (how the regression files are)."""
    decoder = json.JSONDecoder()
    index, length = 0, len(text)
    while True:
        while index < length and text[index].isspace():
            index += 1
        if index >= length:
            return
        value, index = decoder.raw_decode(text, index)
        yield value
