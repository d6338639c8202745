"""`attt demo` part: a collection per national and provincial CERT, a few thousand indicators from made-up but
realistic sources (documentation address ranges, example.* and .invalid domains, fake hashes), three shared
reports published to TAXII, and ATT&CK for ICS when ../shared/testdata is present."""

import datetime
import hashlib
import os
import uuid
from pathlib import Path

import attt
from attt.core import demo
from attt.core.models import Organization
from attt.intel import attack, collections, services, store
from attt.intel.models import CollectionGrant, Source, Tlp
from attt.intel.sharing import SharedObservable, SharedReport

DEMO_NAMESPACE = uuid.UUID("2f0b8d57-3c1e-4f6a-9d2b-7a5e4c3b2a10")
NETS = ["192.0.2.", "198.51.100.", "203.0.113."]
WORDS = [
    "login",
    "secure",
    "update",
    "cdn",
    "mail",
    "vpn",
    "portal",
    "verify",
    "dichvucong",
    "nganhang",
    "thue",
    "bhxh",
]
PARENTS = ["example.com", "example.net", "example.org", "lua-dao.invalid", "gia-mao.invalid"]
SOURCES = [
    ("Cảnh báo phishing tổng hợp", Source.LIST),
    ("Chia sẻ từ mạng lưới ứng cứu", Source.STIX),
    ("Sự kiện MISP của đối tác", Source.MISP),
]
REPORTS = [
    (
        "Chiến dịch giả mạo Cổng Dịch vụ công",
        "Tên miền và địa chỉ lừa đảo thu thập thông tin định danh.",
        ["T1566", "T1204"],
    ),
    (
        "Mã độc đánh cắp thông tin trên máy trạm",
        "Mẫu mã độc phát tán qua tệp đính kèm thư điện tử.",
        ["T1566.001", "T1059.001"],
    ),
    ("Dò quét hệ thống điều khiển công nghiệp", "Hoạt động dò quét thiết bị ICS kết nối Internet.", ["T0883", "T0846"]),
]


def testdata_dir() -> Path:
    default = Path(attt.__file__).resolve().parents[3] / "shared" / "testdata"
    return Path(os.environ.get("ATTT_TESTDATA_DIR") or default)


def _observable(rng, n: int) -> SharedObservable:
    pick = rng.random()
    if pick < 0.35:
        return SharedObservable("ipv4", f"{rng.choice(NETS)}{rng.randint(1, 254)}")
    if pick < 0.40:
        return SharedObservable("ipv6", f"2001:db8:{rng.randint(0, 0xFFFF):x}::{rng.randint(1, 0xFFFF):x}")
    if pick < 0.65:
        return SharedObservable("domain", f"{rng.choice(WORDS)}-{rng.randint(1, 999)}.{rng.choice(PARENTS)}")
    if pick < 0.75:
        host = f"{rng.choice(WORDS)}.{rng.choice(PARENTS)}"
        return SharedObservable("url", f"https://{host}/{rng.choice(WORDS)}/{rng.randint(1000, 9999)}")
    seed = hashlib.sha256(f"attt-demo-{n}-{rng.random()}".encode())
    kind = rng.choice(["md5", "sha1", "sha256"])
    length = {"md5": 32, "sha1": 40, "sha256": 64}[kind]
    return SharedObservable(kind, seed.hexdigest()[:length])


@demo.register("intel", order=60)
def load(ctx: demo.DemoContext) -> dict:
    folder = testdata_dir() / "attack" / "ics-attack.json"
    techniques = 0
    if folder.exists():
        ctx.progress("intel: ATT&CK for ICS")
        techniques = attack.load(attack.read_bundle(folder))[1]
    root = Organization.objects.filter(parent__isnull=True).order_by("created_at").first()
    if root is None:
        return {"indicators": 0}
    certs = [root, *Organization.objects.filter(kind__in=["province", "sector_cert"], is_active=True).order_by("code")]
    now = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
    total = 0
    ctx.progress("intel: collections and indicators")
    for number, org in enumerate(certs):
        collection = collections.default_collection(org)
        if org == root:
            collection.alias = "national"
            collection.save(update_fields=["alias"])
            # everyone on the platform reads the national collection up to TLP:GREEN
            CollectionGrant.objects.get_or_create(
                collection=collection, grantee=root, defaults={"organization": root, "max_tlp": Tlp.GREEN}
            )
        else:
            # provinces and sector CERTs share up to TLP:AMBER with the national authority itself
            CollectionGrant.objects.get_or_create(
                collection=collection,
                grantee=root,
                defaults={"organization": org, "max_tlp": Tlp.AMBER, "include_subtree": False},
            )
        count = int((2000 if org == root else 100) * ctx.scale) or 1
        for label, source in SOURCES:
            items = []
            for n in range(count // len(SOURCES)):
                obs = _observable(ctx.rng, n)
                obs.first_seen = now - datetime.timedelta(days=ctx.rng.randint(1, 300))
                items.append((obs, ctx.rng.choice([Tlp.CLEAR, Tlp.GREEN, Tlp.GREEN, Tlp.AMBER]), label))
            if items:
                total += store.upsert(
                    org, items, source=source, confidence=ctx.rng.choice([50, 70, 85]), label=label
                ).created
        if number < 6:
            title, description, techniques_used = REPORTS[number % len(REPORTS)]
            report = SharedReport(
                id=uuid.uuid5(DEMO_NAMESPACE, f"{org.code}:{number}"),
                title=title,
                description=description,
                created=now - datetime.timedelta(days=number + 3),
                modified=now - datetime.timedelta(days=number + 1),
                tlp=Tlp.GREEN if number % 2 else Tlp.AMBER,
                labels=["phishing" if number % 3 == 0 else "malware"],
                techniques=techniques_used,
                observables=[_observable(ctx.rng, 10_000 + i) for i in range(8)],
                producer=org.name,
            )
            total += services.publish(report, organization=org)
    return {"collections": len(certs), "indicators": total, "techniques": techniques}
