"""Loading MITRE ATT&CK (enterprise, ICS or mobile) from its official STIX 2.1 bundle.

ATT&CK is © The MITRE Corporation; it is reproduced under its terms of use, which require the copyright
notice and licence wherever it is shown (the ATT&CK pages of the UI carry them).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.db import transaction

from attt.core import audit
from attt.intel.models import Tactic, Technique

SOURCES = ("mitre-attack", "mitre-ics-attack", "mitre-mobile-attack")
# x_mitre_domains value → (our domain name, kill chain name of its tactics)
DOMAINS = {
    "enterprise-attack": ("enterprise", "mitre-attack"),
    "ics-attack": ("ics", "mitre-ics-attack"),
    "mobile-attack": ("mobile", "mitre-mobile-attack"),
}
NOTICE = (
    "© 2025 The MITRE Corporation. This work is reproduced and distributed with the permission of The MITRE "
    "Corporation. MITRE grants a non-exclusive, royalty-free licence to use ATT&CK® for research, development and "
    "commercial purposes, provided MITRE's copyright designation and this licence are reproduced in any copy. "
    "MITRE ATT&CK® is a registered trademark of The MITRE Corporation."
)
MAX_BYTES = 200 * 1024 * 1024
# ATT&CK ids as the bundles write them (TA0001, T1059, T1059.001, ICS T0800); the columns hold 16 characters.
EXTERNAL_IDS = {"x-mitre-tactic": re.compile(r"TA\d{4}"), "attack-pattern": re.compile(r"T\d{4}(?:\.\d{3})?")}
MAX_STIX_ID = 100  # Technique.stix_id
MAX_SHORT_NAME = 100  # Tactic.short_name
MAX_TACTIC_REFS = 1000  # a matrix lists a dozen or so; the position is a small integer


def _text(value, what: str) -> str:
    """A text of the bundle as stored: PostgreSQL refuses a NUL character (SQLite would take it)."""
    text = str(value or "")
    if "\x00" in text:
        raise ValueError(f"The {what} contains a NUL character.")
    return text


def _listed(obj: dict, key: str) -> list:
    value = obj.get(key)
    return value if isinstance(value, list) else []


def _external(obj: dict) -> tuple[str, str, str, str] | None:
    """(domain, kill chain name, ATT&CK id, url) of a tactic or technique; None for other objects. ValueError
    when one has an ATT&CK reference but not the id or STIX id it must have."""
    domains = [DOMAINS[d] for d in _listed(obj, "x_mitre_domains") if isinstance(d, str) and d in DOMAINS]
    domain, chain = domains[0] if domains else DOMAINS["enterprise-attack"]
    for ref in _listed(obj, "external_references"):
        if isinstance(ref, dict) and ref.get("source_name") in SOURCES and isinstance(ref.get("external_id"), str):
            external_id = ref["external_id"]
            if not EXTERNAL_IDS[obj["type"]].fullmatch(external_id):
                raise ValueError(f"A {obj['type']} has “{external_id[:40]}” as ATT&CK id, which is not one.")
            stix_id = obj.get("id")
            if not isinstance(stix_id, str) or not stix_id.startswith(obj["type"] + "--"):
                raise ValueError(f"{external_id} has no STIX id (“{obj['type']}--” and a UUID).")
            if len(stix_id) > MAX_STIX_ID:
                raise ValueError(f"The STIX id of {external_id} is longer than {MAX_STIX_ID} characters.")
            return domain, chain, external_id, _text(ref.get("url"), f"url of {external_id}")
    return None


def read_bundle(path: Path) -> dict:
    """The bundle in a file; ValueError with a sentence when it is not one (`load` checks its objects)."""
    if not path.is_file():
        raise ValueError(f"{path} is not a file.")
    if path.stat().st_size > MAX_BYTES:
        raise ValueError(f"{path} is larger than {MAX_BYTES // 2**20} MiB.")
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not JSON: {exc}.") from None
    except RecursionError:
        raise ValueError(f"{path} nests its JSON too deeply to be a STIX bundle.") from None
    if not _is_bundle(data):
        raise ValueError(f"{path} is not a STIX bundle.")
    return data


def _is_bundle(data) -> bool:
    return isinstance(data, dict) and data.get("type") == "bundle" and isinstance(data.get("objects"), list)


def _tactic_order(objects: list[dict]) -> dict[str, int]:
    """Tactic STIX id → its position in its matrix (the order of the matrix's columns)."""
    order: dict[str, int] = {}
    for matrix in (o for o in objects if o.get("type") == "x-mitre-matrix"):
        refs = matrix.get("tactic_refs") or []
        if not isinstance(refs, list) or not all(isinstance(ref, str) for ref in refs):
            raise ValueError("An x-mitre-matrix of the bundle has tactic_refs that are not a list of ids.")
        if len(refs) > MAX_TACTIC_REFS:
            raise ValueError(f"An x-mitre-matrix of the bundle lists more than {MAX_TACTIC_REFS} tactics.")
        for position, ref in enumerate(refs):
            order[ref] = position
    return order


@transaction.atomic
def load(data: dict) -> tuple[int, int]:
    """Replace the techniques and tactics of the bundle's domain(s); returns (tactics, techniques). ValueError
    with a sentence, and nothing changed, when the bundle is malformed."""
    if not _is_bundle(data):
        raise ValueError("This is not a STIX bundle (a “bundle” with a list of “objects”).")
    audit.lock_chain()  # update_or_create locks rows before their audited saves
    objects = [o for o in data["objects"] if isinstance(o, dict) and not o.get("revoked")]
    order = _tactic_order(objects)
    tactics: dict[tuple[str, str], Tactic] = {}
    domains: set[str] = set()

    def entries(kind: str):
        """(object, domain, kill chain, ATT&CK id, url) of each object of a type that has an ATT&CK id."""
        for obj in objects:
            ext = _external(obj) if obj.get("type") == kind else None
            if ext:
                domains.add(ext[0])
                yield obj, *ext

    for obj, domain, chain, external_id, _url in entries("x-mitre-tactic"):
        short_name = _text(obj.get("x_mitre_shortname"), f"short name of {external_id}")
        if len(short_name) > MAX_SHORT_NAME:
            raise ValueError(f"The short name of {external_id} is longer than {MAX_SHORT_NAME} characters.")
        tactic, _created = Tactic.objects.update_or_create(
            external_id=external_id,
            defaults={
                "short_name": short_name,
                "name": _text(obj.get("name") or external_id, f"name of {external_id}")[:200],
                "description": _text(obj.get("description"), f"description of {external_id}"),
                "domain": domain,
                "order": order.get(obj["id"], 99),
            },
        )
        tactics[(chain, tactic.short_name)] = tactic
    count = 0
    kept: list[str] = []
    for obj, domain, chain, external_id, url in entries("attack-pattern"):
        phases = [
            _text(p["phase_name"], f"tactic of {external_id}")
            for p in _listed(obj, "kill_chain_phases")
            if isinstance(p, dict) and p.get("kill_chain_name") == chain and isinstance(p.get("phase_name"), str)
        ]
        technique, _created = Technique.objects.update_or_create(
            external_id=external_id,
            defaults={
                "stix_id": obj["id"],
                "name": _text(obj.get("name") or external_id, f"name of {external_id}")[:200],
                "description": _text(obj.get("description"), f"description of {external_id}"),
                "domain": domain,
                "tactic_names": phases,
                "url": url[:200],
                "deprecated": bool(obj.get("x_mitre_deprecated")),
            },
        )
        technique.tactics.set([tactics[(chain, p)] for p in phases if (chain, p) in tactics])
        kept.append(external_id)
        count += 1
    if not count:
        raise ValueError("The bundle holds no ATT&CK technique (attack-pattern with a mitre-attack reference).")
    Technique.objects.filter(domain__in=domains).exclude(external_id__in=kept).delete()
    return len(tactics), count
