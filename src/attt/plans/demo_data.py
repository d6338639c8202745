"""`attt demo` part: the real seed plans when ../shared/seeds is present, and a plan with progress
history (assignments down the tree, reports over past periods) so every page has something to show."""

import datetime
import os
from pathlib import Path

import attt
from attt.core import demo


def seeds_dir() -> Path:
    default = Path(attt.__file__).resolve().parents[3] / "shared" / "seeds"
    return Path(os.environ.get("ATTT_SEEDS_DIR") or default)


CASCADE = ("001_", "003_")  # the department and provincial plans implement the national action plan (000)


def link_cascade(national) -> int:
    """Link the department/provincial seed plans under the national one, so the tree shows the cascade."""
    from attt.plans.models import Plan
    from attt.plans.services import set_parent

    linked = 0
    for prefix in CASCADE:
        for plan in Plan.objects.filter(source_file__startswith=prefix).exclude(pk=national.pk):
            set_parent(plan, national)
            linked += 1
    return linked


# Used only where the seed documents are absent: a short plan of our own wording, so the demo still has
# a plan with progress history (the real plans come from ../shared/seeds).
BUILTIN_TASKS = (
    ("1", "Rà soát, phê duyệt hồ sơ đề xuất cấp độ cho toàn bộ hệ thống thông tin đang vận hành", "Tháng 9/2024"),
    ("2", "Triển khai đầy đủ phương án bảo đảm an toàn thông tin theo cấp độ đã được phê duyệt", "Quý II-IV/2024"),
    ("3", "Duy trì mô hình bảo vệ 4 lớp và kết nối giám sát với hệ thống quốc gia", "Thường xuyên"),
    ("4", "Kiểm tra, đánh giá an toàn thông tin định kỳ các hệ thống cấp độ 3 trở lên", "Hàng năm"),
    ("5", "Tổ chức diễn tập thực chiến bảo đảm an toàn thông tin mạng", "2024-2025"),
)


def builtin_plan():
    """The fallback national plan (see BUILTIN_TASKS), created once."""
    from attt.core.models import Organization
    from attt.plans.models import Plan, Section, Task
    from attt.plans.parsing import parse_deadline

    root = Organization.objects.filter(parent__isnull=True, is_active=True).order_by("code").first()
    plan, _created = Plan.objects.get_or_create(
        code="ke-hoach-mau-2024",
        defaults={
            "organization": root,
            "title": "Kế hoạch hành động bảo đảm an toàn thông tin năm 2024 (dữ liệu mẫu)",
            "kind": "ministry",
            "year_start": 2024,
            "year_end": 2025,
        },
    )
    section, _created = Section.objects.get_or_create(
        plan=plan, code="PLI-II", defaults={"title": "Nhiệm vụ hướng dẫn các bộ, ngành, địa phương"}
    )
    for order, (number, content, deadline_text) in enumerate(BUILTIN_TASKS):
        deadline = parse_deadline(deadline_text, default_year=2024)
        Task.objects.get_or_create(
            section=section,
            number=number,
            defaults={
                "plan": plan,
                "organization": root,
                "order": order,
                "content": content,
                "deadline_text": deadline_text,
                "deadline_kind": deadline.kind,
                "start_date": deadline.start,
                "due_date": deadline.due,
                "recurrence_day": deadline.day,
            },
        )
    return plan


@demo.register("plans", order=30)
def load(ctx: demo.DemoContext) -> dict:
    from attt.core.models import Organization, RoleAssignment
    from attt.plans.importer import import_plan
    from attt.plans.models import Plan, Task
    from attt.plans.services import assign, create_occurrences, report_progress

    counts = {"plans": 0, "tasks": 0, "assignments": 0, "reports": 0}
    folder = seeds_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.txt")):
            try:
                summary = import_plan(path)
            except ValueError as exc:
                ctx.progress(f"plans: skipped {path.name}: {exc}")
                continue
            counts["plans"] += 1
            counts["tasks"] += summary["total_tasks"]
    else:
        ctx.progress(f"plans: no seed folder at {folder}; skipping the real plans")
    national = (
        Plan.objects.filter(source_file__startswith="000_").first() or Plan.objects.filter(kind="ministry").first()
    )
    if national is None:
        national = builtin_plan()
        counts["plans"] += 1
        counts["tasks"] += national.tasks.count()
    counts["linked"] = link_cascade(national)
    # The provinces whose staff have demo log-ins first, so their users find assignments to report on.
    staffed = set(RoleAssignment.objects.values_list("organization__path", flat=True))
    provinces = sorted(
        Organization.objects.filter(kind="province", is_active=True),
        key=lambda o: (not any(path.startswith(o.path) for path in staffed), o.code),
    )[:3]
    tasks = list(Task.objects.filter(plan=national, section__code="PLI-II").order_by("order")[:5])
    for task in tasks:
        for a in assign(task, provinces):
            counts["assignments"] += 1
            depts = list(Organization.objects.filter(parent=a.organization, is_active=True).order_by("code")[:2])
            children = assign(task, depts, parent=a) if depts else []
            counts["assignments"] += len(children)
            for child in children or [a]:
                progress = ctx.rng.choice([0, 20, 40, 60, 80, 100])
                status = "done" if progress == 100 else ("in_progress" if progress else "not_started")
                report_progress(
                    child,
                    period="2024",
                    status=status,
                    progress=progress,
                    comment="Đã triển khai theo kế hoạch.",
                    difficulties="Thiếu nhân lực chuyên trách.",
                    proposals="Bố trí kinh phí năm sau.",
                )
                counts["reports"] += 1
    counts["reports"] += create_occurrences(datetime.date.today().year)
    return counts
