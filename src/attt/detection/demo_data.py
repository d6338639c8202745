"""`attt demo` part: the SigmaHQ Windows rules of ../shared/testdata/sigma when present, and 90 days of alerts
on the demo registry's systems (seeded, so every run gives the same set). Sources are made-up sensor ids
(monitoring's demo owns the real ones); indicator values come from the documentation ranges (RFC 5737,
.example), never a real address."""

import datetime
import os
import uuid
from pathlib import Path

from django.db.models import Q
from django.utils import timezone

import attt
from attt.core import demo
from attt.detection import services
from attt.detection.models import Alert, Severity, SigmaRule

SOURCE_NAMESPACE = uuid.UUID("5a0d7c52-3f0e-4b7e-9a53-0d2f4c1e9b11")
CLOSE_REASONS = [
    "Dương tính giả: tác vụ quản trị theo kế hoạch.",
    "Đã cô lập máy trạm và quét lại, không phát hiện mã độc.",
    "Đã chặn địa chỉ trên tường lửa biên.",
    "Hoạt động kiểm thử xâm nhập được phê duyệt.",
]
IOC_SAMPLES = [
    ("ipv4", "203.0.113.45"),
    ("ipv4", "198.51.100.23"),
    ("domain", "cap-nhat-bao-mat.example"),
    ("domain", "dichvucong-xacthuc.example"),
    ("url", "http://tai-lieu-mat.example/hoso.zip"),
    ("sha256", "9f2b5c0d6e1a47b3c8d2e4f6a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6"),
]


def sigma_dir() -> Path:
    base = os.environ.get("ATTT_TESTDATA_DIR") or Path(attt.__file__).resolve().parents[3] / "shared" / "testdata"
    return Path(base) / "sigma" / "rules-windows"


@demo.register("detection", order=60)
def load(ctx: demo.DemoContext) -> dict:
    from attt.registry import services as registry

    folder = sigma_dir()
    if folder.is_dir():
        ctx.progress("detection: Sigma rules")
        report = services.load_rules([folder])
        loaded = report.created + report.updated + report.unchanged
    else:
        ctx.stdout.write(f"detection: no Sigma rules under {folder}; only indicator alerts are made up.")
        loaded = 0
    rules = list(
        SigmaRule.objects.filter(supported=True, enabled=True)
        .filter(Q(level=Severity.HIGH) | Q(level=Severity.CRITICAL) | Q(level=Severity.MEDIUM))
        .order_by("rule_id")
        .values_list("rule_id", "title", "level", "author", "techniques")[:300]
    )
    systems = list(
        registry.visible_systems(registry.system_actor())
        .select_related("organization")
        .order_by("organization__code", "code")
    )
    if not systems:
        ctx.stdout.write("detection: no demo systems; no alerts made up.")
        return {"rules": loaded, "alerts": 0}
    ctx.progress("detection: 90 days of alerts")
    # Counted from the start of the current aggregation window, so two loads group their hits alike whenever run.
    rng, now = ctx.rng, services.window_start(timezone.now())
    targets = _targets(rng, systems)
    hits, serial = [], 0
    for _ in range(int(1200 * ctx.scale) or 1):
        system = rng.choice(targets) if rng.random() < 0.7 else rng.choice(systems)
        source = uuid.uuid5(SOURCE_NAMESPACE, f"{system.organization.code}/{system.code}")
        age = datetime.timedelta(minutes=int(rng.triangular(0, 90 * 24 * 60, 0)))
        start = now - age
        if rules and rng.random() < 0.75:
            rule_id, title, level, author, techniques = rng.choice(rules)
            common = {
                "kind": Alert.Kind.SIGMA,
                "signature": rule_id,
                "title": title,
                "severity": level,
                "rule_id": rule_id,
                "rule_author": author,
                "techniques": tuple(techniques.split()),
            }
        else:
            kind, value = rng.choice(IOC_SAMPLES)
            indicator = uuid.uuid5(SOURCE_NAMESPACE, f"{kind}:{value}")
            common = {
                "kind": Alert.Kind.IOC,
                "signature": f"ioc:{indicator}",
                "title": f"IOC {kind}: {value}",
                "severity": rng.choice([Severity.HIGH, Severity.HIGH, Severity.CRITICAL, Severity.MEDIUM]),
                "indicator_id": indicator,
                "indicator_kind": kind,
                "indicator_value": value,
            }
        for _ in range(rng.choice([1, 1, 2, 3, 5, 8, 20])):
            serial += 1
            moment = min(now, start + datetime.timedelta(seconds=rng.randint(0, 600)))
            hits.append(
                services.Hit(
                    event_id=f"demo-{serial:07d}",
                    source_id=source,
                    organization_id=system.organization_id,
                    system_id=system.pk,
                    timestamp=moment,
                    **common,
                )
            )
    created = services.record_hits(hits, notify=False)
    _age_statuses(created, rng, now)
    return {"rules": loaded, "alerts": len(created), "events": len(hits)}


def _targets(rng, systems: list) -> list:
    """A few systems draw most of the attacks, as in real monitoring: two in every ministry, province and
    sector below the authority, so each demo user's organisation has alerts to work on."""
    branches: dict[str, list] = {}
    for system in systems:
        branches.setdefault(system.organization.path.split("/")[2], []).append(system)
    return [target for branch in branches.values() for target in rng.sample(branch, k=min(len(branch), 2))]


def _age_statuses(alerts: list[Alert], rng, now) -> None:
    """Older alerts were handled: most closed with a reason, some acknowledged; the last day's stay open."""
    changed = []
    for alert in alerts:
        age = now - alert.last_seen
        if age < datetime.timedelta(days=1):
            continue
        roll = rng.random()
        if age > datetime.timedelta(days=3) and roll < 0.85:
            alert.status, alert.reason = Alert.Status.CLOSED, rng.choice(CLOSE_REASONS)
        elif roll < 0.6:
            alert.status = Alert.Status.ACKNOWLEDGED
        else:
            continue
        alert.handled_at = alert.last_seen + datetime.timedelta(hours=rng.randint(1, 48))
        changed.append(alert)
    Alert.objects.bulk_update(changed, ["status", "reason", "handled_at"], batch_size=500)
