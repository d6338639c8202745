"""Warnings out as STIX 2.1: one `vulnerability` object per CVE, one `indicator` per warning (the
vulnerable component as a STIX pattern on software CPE), linked by `related-to` relationships.

Written by hand (the stix2 library is only used by the tests to validate), with deterministic ids
(UUIDv5) so re-exporting the same warnings yields the same objects, which sharing partners dedupe on.
"""

import datetime
import json
import uuid

from django.utils import timezone

NAMESPACE = uuid.UUID("6a2f6b8e-6a3e-4d8e-9a57-2f4d3c1b0e11")
IDENTITY_ID = f"identity--{uuid.uuid5(NAMESPACE, 'attt-platform')}"


def _ts(value) -> str:
    value = value or timezone.now()
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def stix_bundle(warnings) -> dict:
    """A STIX 2.1 bundle for the given warnings (a scoped queryset or list)."""
    now = _ts(None)
    objects: list[dict] = [
        {
            "type": "identity",
            "spec_version": "2.1",
            "id": IDENTITY_ID,
            "created": now,
            "modified": now,
            "name": "attt",
            "identity_class": "organization",
        }
    ]
    seen_vulns: set[str] = set()
    for w in warnings:
        v = w.vulnerability
        vuln_id = f"vulnerability--{uuid.uuid5(NAMESPACE, v.cve_id)}"
        if vuln_id not in seen_vulns:
            seen_vulns.add(vuln_id)
            objects.append(
                {
                    "type": "vulnerability",
                    "spec_version": "2.1",
                    "id": vuln_id,
                    "created": _ts(v.created_at),
                    "modified": _ts(v.updated_at),
                    "created_by_ref": IDENTITY_ID,
                    "name": v.cve_id,
                    "description": (v.summary or v.cve_id)[:2000],
                    "external_references": [{"source_name": "cve", "external_id": v.cve_id}],
                }
            )
        cpes = sorted({m["criterion"].split(" ", 1)[0] for m in w.matches if m.get("criterion", "").startswith("cpe:")})
        pattern = (
            " OR ".join(f"[software:cpe = '{_quote(c)}']" for c in cpes[:20])
            or f"[software:name = '{_quote(str(w.system))}']"
        )
        indicator_id = f"indicator--{uuid.uuid5(NAMESPACE, str(w.pk))}"
        objects.append(
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": indicator_id,
                "created": _ts(w.created_at),
                "modified": _ts(w.updated_at),
                "created_by_ref": IDENTITY_ID,
                "name": f"{v.cve_id} on {w.system}"[:250],
                "indicator_types": ["anomalous-activity"],
                "pattern": pattern,
                "pattern_type": "stix",
                "valid_from": _ts(w.created_at),
                "labels": [f"priority-{w.priority}", f"status-{w.status}"],
            }
        )
        objects.append(
            {
                "type": "relationship",
                "spec_version": "2.1",
                "id": f"relationship--{uuid.uuid5(NAMESPACE, str(w.pk) + ':rel')}",
                "created": _ts(w.created_at),
                "modified": _ts(w.updated_at),
                "relationship_type": "related-to",
                "source_ref": indicator_id,
                "target_ref": vuln_id,
            }
        )
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}


def stix_json(warnings) -> str:
    return json.dumps(stix_bundle(warnings), ensure_ascii=False, indent=1)
