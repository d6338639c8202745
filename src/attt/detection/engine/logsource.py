"""Which Windows events a Sigma log source means: (channel, event id) keys, so a rule is only ever tried on
events of its own source.

Sigma names sources abstractly (``category: process_creation``, ``service: security``); a Windows event says
where it came from in ``Channel`` and ``EventID``. Categories are Sysmon's event types (plus the PowerShell
script-block channels and Security 4688); services are whole channels, taken from pySigma's own service→channel
table. A Windows source not in either table is kept and tried on every Windows event (its detection still has
to match), which is safe but slower; the rules concerned are few (``file_access`` and the like, which come from
ETW providers Sysmon does not cover).
"""

from __future__ import annotations

from collections.abc import Mapping

from sigma.pipelines.common import windows_logsource_mapping

SYSMON = "microsoft-windows-sysmon/operational"
POWERSHELL = ("microsoft-windows-powershell/operational", "powershellcore/operational")
POWERSHELL_CLASSIC = "windows powershell"

# category → event ids in the Sysmon channel (Sysmon's documented event types)
SYSMON_CATEGORIES: dict[str, tuple[int, ...]] = {
    "process_creation": (1,),
    "file_change": (2,),
    "network_connection": (3,),
    "sysmon_status": (4, 16),
    "process_termination": (5,),
    "driver_load": (6,),
    "image_load": (7,),
    "create_remote_thread": (8,),
    "raw_access_thread": (9,),
    "process_access": (10,),
    "file_event": (11,),
    "registry_add": (12,),
    "registry_delete": (12,),
    "registry_set": (13,),
    "registry_rename": (14,),
    "registry_event": (12, 13, 14),
    "create_stream_hash": (15,),
    "pipe_created": (17, 18),
    "wmi_event": (19, 20, 21),
    "dns_query": (22,),
    "file_delete": (23, 26),
    "clipboard_change": (24,),
    "process_tampering": (25,),
    "file_delete_detected": (26,),
    "file_block_executable": (27,),
    "file_block_shredding": (28,),
    "file_executable_detected": (29,),
    "sysmon_error": (255,),
}
# category → (channel, event id) pairs outside Sysmon
OTHER_CATEGORIES: dict[str, tuple[tuple[str, int], ...]] = {
    "process_creation": (("security", 4688),),
    "ps_module": tuple((channel, 4103) for channel in POWERSHELL),
    "ps_script": tuple((channel, 4104) for channel in POWERSHELL),
    "ps_classic_start": ((POWERSHELL_CLASSIC, 400),),
    "ps_classic_provider_start": ((POWERSHELL_CLASSIC, 600),),
    "ps_classic_script": ((POWERSHELL_CLASSIC, 800),),
}

# Security-log events that Sigma categories cover, with their fields under the Sysmon names the rules use
# (process_creation rules say Image/ParentImage/User; a 4688 event says NewProcessName/ParentProcessName/…).
SYSMON_NAMES: dict[tuple[str, int], dict[str, str]] = {
    ("security", 4688): {
        "NewProcessName": "Image",
        "ParentProcessName": "ParentImage",
        "SubjectUserName": "User",
        "SubjectLogonId": "LogonId",
        "MandatoryLabel": "IntegrityLevel",
    },
}

ANY_WINDOWS = ("*windows*", None)  # bucket of Windows rules whose source has no known channel
NOT_WINDOWS = ("*other*", None)  # bucket of rules for other products: tried on events without a Channel

Key = tuple[str, int | None]


def _service_channels(service: str) -> tuple[str, ...]:
    channels = windows_logsource_mapping.get(service)
    if channels is None:
        return ()
    if isinstance(channels, str):
        channels = [channels]
    return tuple(channel.lower() for channel in channels)


def keys_for(logsource: Mapping[str, str | None]) -> tuple[tuple[Key, ...], str]:
    """The bucket keys of a rule's log source and, when it has no exact mapping, why (empty when mapped)."""
    product = (logsource.get("product") or "").lower()
    category = (logsource.get("category") or "").lower()
    service = (logsource.get("service") or "").lower()
    if product != "windows":
        return (NOT_WINDOWS,), ""
    keys: list[Key] = []
    if category:
        keys.extend((SYSMON, eid) for eid in SYSMON_CATEGORIES.get(category, ()))
        keys.extend(OTHER_CATEGORIES.get(category, ()))
        if not keys:
            return (ANY_WINDOWS,), f"category '{category}' has no known Windows channel: tried on every event"
        if service:  # category and service together: keep the keys of the named channel only
            channels = _service_channels(service)
            keys = [key for key in keys if key[0] in channels] or keys
        return tuple(keys), ""
    if service:
        channels = _service_channels(service)
        if not channels:
            return (ANY_WINDOWS,), f"service '{service}' has no known Windows channel: tried on every event"
        return tuple((channel, None) for channel in channels), ""
    return (ANY_WINDOWS,), ""


def event_key(fields: Mapping[str, object]) -> Key | None:
    """(lower-case channel, event id) of a Windows event; None for an event without a Channel."""
    channel = fields.get("Channel")
    if not isinstance(channel, str):
        return None
    eid = fields.get("EventID")
    if not isinstance(eid, int):
        try:
            eid = int(str(eid))
        except ValueError:
            eid = None
    return channel.lower(), eid


def with_sysmon_names(fields: Mapping[str, object], key: Key | None) -> Mapping[str, object]:
    """The event with Sysmon-named copies of its fields when it is a Security event a category covers."""
    names = SYSMON_NAMES.get(key) if key is not None else None
    if names is None:
        return fields
    aliased = dict(fields)
    for name, sysmon_name in names.items():
        if name in fields and sysmon_name not in fields:
            aliased[sysmon_name] = fields[name]
    return aliased
