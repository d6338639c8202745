"""`attt demo` part: the response network (units of the demo tree, the sector CERTs, two fictitious foreign CERTs)
and a few dozen Vietnamese incidents across the demo organisations in every state of the lifecycle. Contact details
are invented (reserved .invalid domains, 0 2xx 555 xxxx numbers)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from attt.core import demo
from attt.core.models import Organization, User
from attt.incidents import services
from attt.incidents.models import Incident, NetworkMember, Source
from attt.registry import services as registry

MEMBERS = [  # (organisation code, kind, sector)
    ("ttuc-quoc-gia", "mandatory", ""),
    ("ttgs-quoc-gia", "mandatory", ""),
    ("ha-noi-ttcntt", "mandatory", ""),
    ("tuyen-quang-ttcntt", "mandatory", ""),
    ("tp-hcm-ttcntt", "mandatory", ""),
    ("da-nang-ttcntt", "mandatory", ""),
    ("btc-cuc-cntt", "mandatory", "finance"),
    ("byt-cntt", "mandatory", "health"),
    ("cert-ngan-hang", "mandatory", "banking"),
    ("cert-nang-luong", "mandatory", "energy"),
    ("cert-giao-thong", "mandatory", "transport"),
    ("soc-sao-viet", "voluntary", ""),
    ("soc-phuong-nam", "voluntary", ""),
]
FOREIGN = [
    ("Lotus Islands CERT (fictitious)", "XA"),
    ("Northwind National CSIRT (fictitious)", "XB"),
]
SCENARIOS = [  # (title, category, observables)
    (
        "Tấn công thay đổi giao diện cổng thông tin điện tử",
        "intrusions/application-compromise",
        [("ipv4", "198.51.100.23"), ("url", "http://cong-tt.demo.invalid/index.php")],
    ),
    (
        "Mã độc tống tiền mã hóa máy chủ tệp",
        "malicious-code/infected-system",
        [("sha256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"), ("ipv4", "203.0.113.45")],
    ),
    (
        "Tấn công từ chối dịch vụ phân tán vào hệ thống dịch vụ công",
        "availability/ddos",
        [("ipv4", "192.0.2.77"), ("ipv4", "192.0.2.78")],
    ),
    (
        "Thư điện tử lừa đảo giả mạo cơ quan thuế",
        "fraud/phishing",
        [("email", "hotro@thue-gia-mao.invalid"), ("domain", "thue-gia-mao.invalid")],
    ),
    ("Dò mật khẩu hàng loạt vào cổng đăng nhập một cửa", "intrusion-attempts/brute-force", [("ipv4", "203.0.113.45")]),
    (
        "Lộ lọt dữ liệu hồ sơ bệnh án",
        "information-content-security/data-leak",
        [("url", "https://paste.demo.invalid/raw/abc123")],
    ),
    (
        "Máy trạm kết nối tới máy chủ điều khiển mã độc",
        "malicious-code/c2-server",
        [("domain", "c2-update.demo.invalid"), ("ipv4", "198.51.100.23")],
    ),
    (
        "Lừa đảo chuyển khoản qua trang giả mạo ngân hàng",
        "fraud/phishing",
        [("domain", "nganhang-xacthuc.invalid"), ("bank_account", "0123456789012"), ("phone", "0245550199")],
    ),
    ("Dò quét lỗ hổng từ địa chỉ nước ngoài", "information-gathering/scanner", [("ipv4", "192.0.2.200")]),
    (
        "Chiếm quyền tài khoản quản trị hệ thống thư điện tử",
        "intrusions/privileged-account-compromise",
        [("email", "quantri@demo.invalid")],
    ),
]
# How far each incident goes: (states to walk through, share of the incidents)
PATHS = [
    ([], 6),
    (["classify"], 6),
    (["classify", "task"], 8),
    (["classify", "task", "ack", "respond"], 6),
    (["classify", "task", "ack", "done", "respond", "closure_report"], 4),
    (["classify", "task", "ack", "done", "respond", "closure_report", "close"], 8),
]


def _phone(rng) -> str:
    return f"024 555 {rng.randint(1000, 9999)}"


@demo.register("incidents", order=50)
def load(ctx: demo.DemoContext) -> dict:
    rng = ctx.rng
    root = services.national_coordinator()
    coordinator = User.objects.filter(username="qg.incidentresponder").first() or User.objects.get(username="admin")
    members = []
    for code, kind, sector in MEMBERS:
        org = Organization.objects.filter(code=code, is_active=True).first()
        if org is None:
            continue
        members.append(
            NetworkMember.objects.create(
                organization=org,
                name=org.name,
                kind=kind,
                sector=sector,
                contact_name=f"Đầu mối ứng cứu sự cố – {org.short_name or org.code}",
                contact_email=f"ungcuu.{org.code}@demo.attt.invalid",
                contact_phone=_phone(rng),
                on_call="Trực 24/7 theo ca; ngoài giờ gọi số trực.",
                contact_updated_at=timezone.now(),
            )
        )
    for name, country in FOREIGN:
        members.append(
            NetworkMember.objects.create(
                organization=root,
                name=name,
                kind="external",
                country=country,
                contact_name="Duty officer",
                contact_email=f"duty@{country.lower()}-cert.invalid",
                contact_phone="+999 555 0100",
                on_call="24/7 duty desk (fictitious).",
            )
        )
    member_orgs = [m.organization for m in members if m.kind != "external"]
    systems = list(registry.systems_of_organization(root).order_by("code")[:300])
    plan = [steps for steps, n in PATHS for _ in range(max(1, round(n * min(ctx.scale, 4))))]
    now = timezone.now()
    made = 0
    for i, steps in enumerate(plan):
        title, category, observables = SCENARIOS[i % len(SCENARIOS)]
        system = systems[rng.randrange(len(systems))] if systems else None
        owner = system.organization if system else root
        discovered = now - datetime.timedelta(days=rng.randint(0, 150), hours=rng.randint(0, 23))
        incident = services.report_incident(
            organization=owner,
            title=f"{title} ({owner.short_name or owner.name})",
            description="Dữ liệu mẫu: mô tả diễn biến, thời điểm phát hiện và biện pháp ban đầu.",
            source=rng.choice([Source.OPERATOR, Source.SOC, Source.MEMBER, Source.FOREIGN_CERT]),
            systems=[system.pk] if system else [],
            observables=observables,
            occurred_at=discovered,
        )
        for step in steps:
            if step == "classify":
                serious = rng.random() < 0.2
                services.classify(
                    incident,
                    by=coordinator,
                    category=category,
                    tlp=rng.choice(["green", "amber", "amber", "clear"]),
                    impacts=["service_interruption"] if serious else [],
                    beyond_capacity=serious,
                    severity="serious" if serious else None,
                )
                services.mark_report_sent(incident, "notification", by=coordinator)
            elif step == "task" and member_orgs:
                task = services.add_task(
                    incident,
                    by=coordinator,
                    assignee=rng.choice(member_orgs),
                    title="Phân tích mẫu mã độc và nhật ký, đề xuất biện pháp ngăn chặn",
                    due_date=timezone.localdate() + datetime.timedelta(days=rng.randint(-5, 10)),
                )
            elif step == "ack":
                task.status, task.acknowledged_at = (
                    "acknowledged",
                    task.created_at + datetime.timedelta(hours=rng.randint(1, 30)),
                )
                task.save()
            elif step == "done":
                task.status, task.completed_at = "done", timezone.now()
                task.evidence = "Đã chặn địa chỉ tấn công trên tường lửa, gỡ mã độc, khôi phục từ bản sao lưu."
                task.save()
            elif step in ("respond", "closure_report", "close"):
                services.take_step(incident, step, by=coordinator)
        made += 1
    return {"members": len(members), "incidents": made, "states": Incident.objects.values("state").distinct().count()}
