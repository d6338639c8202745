"""`attt demo` part: the real public samples of ../shared/testdata (NVD and CVE 5 records, the CISA KEV
catalogue) when present, matched against the demo registry so owners see warnings; and a few made-up data-leak
notices (counts only, as the platform keeps no leaked data) for the provinces and ministry the demo users work in."""

import datetime
import os
from pathlib import Path

from django.utils import translation

import attt
from attt.core import demo
from attt.core.models import Organization
from attt.vulns import services
from attt.vulns.models import LeakNotice

LEAK_SOURCE = "Báo cáo giám sát không gian mạng (dữ liệu mẫu)"
# (owner code, title, days before today, records, accounts, passwords, handled)
LEAKS = [
    ("ha-noi", "Lộ lọt tài khoản người dùng {system}", 12, 18_400, 3_150, 2_900, False),
    ("ha-noi", "Tài khoản quản trị {system} rao bán trên diễn đàn", 47, 0, 6, 6, True),
    ("tuyen-quang", "Lộ lọt dữ liệu đăng nhập {system}", 5, 2_730, 412, 388, False),
    ("bo-y-te", "Cơ sở dữ liệu sao lưu {system} bị công bố", 31, 96_000, 0, 0, True),
]


def testdata_dir() -> Path:
    default = Path(attt.__file__).resolve().parents[3] / "shared" / "testdata"
    return Path(os.environ.get("ATTT_TESTDATA_DIR") or default)


@demo.register("vulns", order=40)
def load(ctx: demo.DemoContext) -> dict:
    folder = testdata_dir()
    feeds = [p for p in (folder / "nvd", folder / "kev" / "known_exploited_vulnerabilities.json") if p.exists()]
    leaks = _leak_notices(ctx)
    if not feeds:
        ctx.stdout.write(f"vulns: no public samples under {folder}; only the data-leak notices are made up.")
        return {"feeds": 0, "leaks": leaks}
    ctx.progress("vulns: import and match")
    reports = services.import_paths(feeds, match=True, notify=False)
    # as the nightly job does after matching: otherwise the Level-based figures changed at the server's first start
    checklist_items = services.update_checklists()
    return {
        "files": len(reports),
        "records": sum(r.created + r.updated for r in reports),
        "kev": sum(r.kev_changed for r in reports),
        "warnings": sum(r.warnings_created for r in reports),
        "checklist_items": checklist_items,
        "leaks": leaks,
    }


def _leak_notices(ctx: demo.DemoContext) -> int:
    """A few notices on systems of the organisations the demo users work in, one of them already handled."""
    from attt.registry import services as registry

    today = datetime.date.today()
    with translation.override("vi"):
        advice = str(services.LEAK_ADVICE)
    made = 0
    for code, title, days, records, accounts, passwords, handled in LEAKS:
        owner = Organization.objects.filter(code=code, is_active=True).first()
        systems = list(registry.systems_of_organization(owner).order_by("code")) if owner else []
        if not systems:
            continue
        system = ctx.rng.choice(systems)
        LeakNotice.objects.create(
            organization=owner,
            system=system,
            title=title.format(system=system.name),
            source=LEAK_SOURCE,
            published=today - datetime.timedelta(days=days),
            record_count=records,
            account_count=accounts,
            password_count=passwords,
            advice=advice,
            status=LeakNotice.Status.HANDLED if handled else LeakNotice.Status.NEW,
        )
        made += 1
    return made
