"""Loading MITRE ATT&CK (enterprise, ICS or mobile) from its official STIX 2.1 bundle.

ATT&CK is © The MITRE Corporation; it is reproduced under its terms of use, which require the copyright
notice and licence wherever it is shown (the ATT&CK pages of the UI carry them).
"""

from __future__ import annotations

import json
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


def _listed(obj: dict, key: str) -> list:
    value = obj.get(key)
    return value if isinstance(value, list) else []


def _external(obj: dict) -> tuple[str, str, str, str] | None:
    """(domain, kill chain name, ATT&CK id, url) of a tactic or technique; None for other objects."""
    domains = [DOMAINS[d] for d in _listed(obj, "x_mitre_domains") if isinstance(d, str) and d in DOMAINS]
    domain, chain = domains[0] if domains else DOMAINS["enterprise-attack"]
    for ref in _listed(obj, "external_references"):
        if isinstance(ref, dict) and ref.get("source_name") in SOURCES and isinstance(ref.get("external_id"), str):
            return domain, chain, ref["external_id"], str(ref.get("url") or "")
    return None


def read_bundle(path: Path) -> dict:
    if not path.is_file():
        raise ValueError(f"{path} is not a file.")
    if path.stat().st_size > MAX_BYTES:
        raise ValueError(f"{path} is larger than {MAX_BYTES // 2**20} MiB.")
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not JSON: {exc}.") from None
    if not isinstance(data, dict) or data.get("type") != "bundle" or not isinstance(data.get("objects"), list):
        raise ValueError(f"{path} is not a STIX bundle.")
    return data


@transaction.atomic
def load(data: dict) -> tuple[int, int]:
    """Replace the techniques and tactics of the bundle's domain(s); returns (tactics, techniques)."""
    audit.lock_chain()  # update_or_create locks rows before their audited saves
    objects = [o for o in data["objects"] if isinstance(o, dict) and not o.get("revoked")]
    order: dict[str, int] = {}
    for matrix in (o for o in objects if o.get("type") == "x-mitre-matrix"):
        for position, ref in enumerate(matrix.get("tactic_refs") or []):
            order[ref] = position
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
        tactic, _created = Tactic.objects.update_or_create(
            external_id=external_id,
            defaults={
                "short_name": str(obj.get("x_mitre_shortname") or ""),
                "name": str(obj.get("name") or external_id)[:200],
                "description": str(obj.get("description") or ""),
                "domain": domain,
                "order": order.get(obj.get("id"), 99),
            },
        )
        tactics[(chain, tactic.short_name)] = tactic
    count = 0
    kept: list[str] = []
    for obj, domain, chain, external_id, url in entries("attack-pattern"):
        phases = [
            p["phase_name"]
            for p in _listed(obj, "kill_chain_phases")
            if isinstance(p, dict) and p.get("kill_chain_name") == chain and isinstance(p.get("phase_name"), str)
        ]
        technique, _created = Technique.objects.update_or_create(
            external_id=external_id,
            defaults={
                "stix_id": obj["id"],
                "name": str(obj.get("name") or external_id)[:200],
                "description": str(obj.get("description") or ""),
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
