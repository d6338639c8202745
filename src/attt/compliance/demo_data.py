"""The compliance part of the demo: a history for every demo system that ends on the 2024 letter's figures.

The ministry's 2024 letter counted 2,265 of 3,418 state systems with an approved level (69.2 %; ministries
56 %, provinces 70 %) and about 20.9 % fully implementing their protection plan. The demo reproduces those
shares today (scaled with the number of systems), and its twelve months of monthly reports climb towards
them, so the dashboards, drill-down, trend and reports have something real-looking to show:

- each system gets a level assessment from the regulation engine on its registry facts (most of them),
  an approved dossier with a decision number for the chosen ~69.2 % (decision dates from 2017 to last
  month; after 19 Aug 2026 under Decree 331), and a dossier in every other state for some of the rest,
  some of them past their legal time limit;
- approved systems get their level's checklist, all met for the chosen ~20.9 %, partly met otherwise;
- every system gets a 4-layer record and approved ones their periodic checks (some overdue);
- one national inspection of two provinces with findings in every state;
- each province and ministry has submitted its monthly report for the last twelve months (one late,
  one missing), with figures computed from the same dated history.

Everything is drawn from `ctx.rng` (same seed, same data) and bulk-inserted; one audit event records it.
"""

from __future__ import annotations

import calendar
import datetime
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.utils import timezone

from attt.compliance import reports
from attt.compliance.dashboards import LAYERS, LEVELS, pct
from attt.compliance.models import (
    ChecklistItem,
    ChecklistStatus,
    DossierEvent,
    DossierState,
    Finding,
    Inspection,
    LevelAssessment,
    LevelDossier,
    PeriodicCheck,
    ProtectionLayers,
    StatusReport,
)
from attt.core import audit, demo
from attt.core.models import AuditEvent, Organization, RoleAssignment
from attt.registry import services as registry
from attt.regulation import services as regulation

SEED_APPROVED, SEED_SYSTEMS, SEED_FULLY = 2265, 3418, 0.209
NEW_REGIME_FROM = datetime.date(2026, 8, 19)  # Decree 331/2026 in force (regulation data)
OLD, NEW = "ND85_2016", "ND331_2026"
# Ministries approved 56 % of their systems, provinces 70 % (2024 letter): relative odds of approval.
BRANCH_WEIGHT = {"ministry": 0.55, "province": 1.0}
LIFECYCLE_WEIGHT = {"operating": 1.0, "upgrading": 1.0, "retired": 0.8, "building": 0.3, "planned": 0.08}
RECENT_APPROVALS = 0.16  # share of today's approvals decided in the last twelve months
OPEN_STATES = [  # the dossiers of systems without an approved level, by share
    (DossierState.DRAFT, 30),
    (DossierState.SUBMITTED, 14),
    (DossierState.APPRAISAL, 18),
    (DossierState.APPRAISED, 10),
    (DossierState.RETURNED, 14),
    (DossierState.WITHDRAWN, 4),
    (None, 40),
]
TIMER_OF = {
    DossierState.SUBMITTED: "completeness_check",
    DossierState.APPRAISAL: "appraisal",
    DossierState.APPRAISED: "approval",
}
DECISION_SUFFIX = {
    "bo-tai-chinh": "BTC",
    "bo-gddt": "BGDĐT",
    "bo-khcn": "BKHCN",
    "bo-nnmt": "BNNMT",
    "bo-xay-dung": "BXD",
    "bo-y-te": "BYT",
}
NOT_APPLICABLE_REASONS = [
    "Hệ thống không sử dụng mạng không dây.",
    "Hệ thống không cung cấp dịch vụ ra Internet.",
    "Không phát triển phần mềm nội bộ; sử dụng sản phẩm thương mại.",
]
REMEDIATIONS = [
    "Bổ sung thiết bị tường lửa lớp ứng dụng (WAF) trong dự án nâng cấp năm tới.",
    "Ban hành quy trình sao lưu, phục hồi dữ liệu và diễn tập phục hồi.",
    "Triển khai giải pháp quản lý truy cập đặc quyền cho tài khoản quản trị.",
    "Rà soát, cập nhật quy chế bảo đảm an toàn thông tin của hệ thống.",
    "Thuê đơn vị chuyên nghiệp giám sát an toàn thông tin 24/7.",
    "Bố trí kinh phí đánh giá an toàn thông tin định kỳ.",
]
FINDINGS = [
    (
        "Chưa ban hành quy chế bảo đảm an toàn thông tin cho hệ thống.",
        "Ban hành quy chế theo phương án được phê duyệt.",
    ),
    ("Tài khoản quản trị dùng chung, không có xác thực hai yếu tố.", "Cấp tài khoản riêng, bật xác thực hai yếu tố."),
    ("Nhật ký hệ thống chỉ lưu 7 ngày, thấp hơn yêu cầu.", "Cấu hình lưu nhật ký tối thiểu theo cấp độ."),
    ("Chưa thực hiện kiểm tra, đánh giá an toàn thông tin định kỳ.", "Tổ chức kiểm tra, đánh giá và báo cáo kết quả."),
    ("Máy chủ cơ sở dữ liệu đặt cùng vùng mạng với máy chủ web.", "Tách vùng cơ sở dữ liệu theo phương án."),
    ("Chưa có phương án ứng cứu sự cố được phê duyệt.", "Xây dựng, phê duyệt và diễn tập phương án ứng cứu."),
    ("Phần mềm máy chủ web có bản vá bảo mật quá hạn.", "Cập nhật bản vá và thiết lập quy trình vá định kỳ."),
    ("Chưa kết nối, chia sẻ thông tin với hệ thống giám sát quốc gia.", "Hoàn thành kết nối theo hướng dẫn."),
    ("Sao lưu dữ liệu chưa được kiểm tra khả năng phục hồi.", "Diễn tập phục hồi từ bản sao lưu hằng quý."),
    ("Cán bộ chuyên trách chưa được đào tạo, bồi dưỡng về an toàn thông tin.", "Cử cán bộ tham gia đào tạo."),
]


@dataclass
class History:
    """What the demo decided for one system, with the dates the monthly reports are computed from."""

    system: object
    branch: Organization | None
    facts: dict
    results: dict  # regime -> the regulation engine's assessment
    approved_on: datetime.date | None = None
    fully_since: datetime.date | None = None
    layers: set[str] = field(default_factory=set)
    all_layers_since: datetime.date | None = None

    @property
    def regime(self) -> str:
        return NEW if self.approved_on and self.approved_on >= NEW_REGIME_FROM else OLD

    @property
    def level(self) -> int:
        return self.results[self.regime].level

    @property
    def level_new(self) -> int:
        return self.results[NEW].level


def _months_back(day: datetime.date, months: int) -> datetime.date:
    month0 = day.month - 1 - months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def _between(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=rng.randint(0, max(0, (end - start).days)))


def _weighted_pick(rng: random.Random, items: list, weights: list[float], k: int) -> list:
    """k items without replacement, each with odds proportional to its weight (Efraimidis–Spirakis)."""
    keyed = sorted(((rng.random() ** (1.0 / w) if w > 0 else 0.0), i) for i, w in enumerate(weights))
    return [items[i] for _key, i in keyed[-k:]] if k else []


def _converter(field, connection):
    """How one column's Python value becomes a database value, picked once per column (not per value)."""
    from django.db import models

    if isinstance(field, models.ForeignKey):
        field = field.target_field
    if isinstance(field, models.UUIDField) and not connection.features.has_native_uuid_field:
        return lambda v: v.hex if v is not None else None
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return connection.ops.adapt_datefield_value
    if isinstance(
        field, models.CharField | models.TextField | models.IntegerField | models.BooleanField | models.UUIDField
    ):
        return lambda v: v
    return lambda v: field.get_db_prep_save(v, connection)


def insert_rows(model, rows: list[dict], chunk: int = 5000) -> None:
    """Insert plain rows (attname → value) with executemany. A national checklist is over 10⁵ rows, and
    bulk_create spends most of its time building model instances and preparing each value one by one."""
    from django.db import connection

    if not rows:
        return
    names = list(rows[0])
    fields = [
        model._meta.get_field(name.removesuffix("_id")) if name.endswith("_id") else model._meta.get_field(name)
        for name in names
    ]
    convert = [_converter(f, connection) for f in fields]
    quote = connection.ops.quote_name
    # Table and column names come from the model; every value is a parameter.
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            cursor.executemany(
                sql,
                [tuple(c(row[n]) for c, n in zip(convert, names, strict=True)) for row in rows[start : start + chunk]],
            )


class Loader:
    """Builds the rows in memory, then inserts them in bulk."""

    def __init__(self, ctx: demo.DemoContext):
        self.ctx, self.rng = ctx, ctx.rng
        self.today = timezone.localdate()
        self.year_ago = _months_back(self.today.replace(day=1), 12)
        self.root = Organization.objects.filter(parent__isnull=True, is_active=True).order_by("path").first()
        self.orgs = {o.path: o for o in Organization.objects.all()}
        self.rows: dict[type, list] = defaultdict(list)
        self.figures: Counter = Counter()
        self.requirements_cache: dict[tuple[str, int], list] = {}

    def branch_of(self, system) -> Organization | None:
        path = system.organization.path
        return self.orgs.get(path[: len(self.root.path) + 33]) if len(path) > len(self.root.path) else None

    # --- choosing ---------------------------------------------------------------------------------------

    def histories(self) -> list[History]:
        systems = list(registry.systems_of_organization(self.root).order_by("organization__code", "code"))
        self.ctx.progress("compliance: levels")
        histories = []
        for system in systems:
            facts = registry.level_facts(system)
            results = {regime: regulation.assess(facts, regime=regime) for regime in (OLD, NEW)}
            histories.append(History(system, self.branch_of(system), facts, results))
        n = len(histories)
        approved_count = round(n * SEED_APPROVED / SEED_SYSTEMS)
        weights = [
            BRANCH_WEIGHT.get(getattr(h.branch, "kind", ""), 0.8) * LIFECYCLE_WEIGHT.get(h.system.lifecycle_status, 1.0)
            for h in histories
        ]
        approved = _weighted_pick(self.rng, histories, weights, approved_count)
        recent = set(map(id, self.rng.sample(approved, round(len(approved) * RECENT_APPROVALS))))
        for h in approved:
            if id(h) in recent:
                h.approved_on = _between(self.rng, self.year_ago, self.today - datetime.timedelta(days=3))
            else:  # older decisions, more of them in the later years
                h.approved_on = _between(
                    self.rng,
                    datetime.date(2017, 1, 1) + datetime.timedelta(days=int(2900 * self.rng.random() ** 0.6)),
                    self.year_ago - datetime.timedelta(days=1),
                )
        fully_count = min(len(approved), round(n * SEED_FULLY))
        fully = _weighted_pick(self.rng, approved, [1.0 if h.level <= 2 else 0.6 for h in approved], fully_count)
        for h in fully:
            earliest = min(self.today, h.approved_on + datetime.timedelta(days=60))
            h.fully_since = _between(self.rng, earliest, self.today) if self.rng.random() < 0.45 else earliest
        for h in histories:
            odds = (
                (0.97, 0.85, 0.8, 0.85)
                if h.fully_since
                else (0.9, 0.55, 0.5, 0.6)
                if h.approved_on
                else (0.5, 0.2, 0.15, 0.25)
            )
            h.layers = {name for name, p in zip(LAYERS, odds, strict=True) if self.rng.random() < p}
            if len(h.layers) == len(LAYERS):
                h.all_layers_since = _between(self.rng, datetime.date(2021, 1, 1), self.today)
        return histories

    # --- rows -------------------------------------------------------------------------------------------

    def requirements(self, regime: str, level: int) -> list:
        key = (regime, level)
        if key not in self.requirements_cache:
            self.requirements_cache[key] = regulation.requirements(regime, level)
        return self.requirements_cache[key]

    def body_names(self, h: History) -> tuple[str, str]:
        """(approving body, decision-number suffix) of a system's owner branch."""
        branch = h.branch
        if branch is not None and branch.kind == "province":
            return f"Ủy ban nhân dân {branch.name[0].lower()}{branch.name[1:]}", "QĐ-UBND"
        if branch is not None and branch.kind == "ministry":
            return branch.name, f"QĐ-{DECISION_SUFFIX.get(branch.code, 'BỘ')}"
        return self.root.name, f"QĐ-{self.root.short_name or 'BCA'}"

    def assessment(self, h: History, regime: str) -> LevelAssessment:
        result = h.results[regime]
        assessment = LevelAssessment(
            organization_id=h.system.organization_id,
            system=h.system,
            regime=regime,
            facts=h.facts,
            level=result.level,
            deciding_criterion=result.deciding_id,
            result=result.to_dict(),
        )
        self.rows[LevelAssessment].append(assessment)
        return assessment

    def events(self, dossier: LevelDossier, steps: list[tuple[str, str, datetime.date]]) -> None:
        for before, after, day in steps:
            event = DossierEvent(dossier=dossier, from_state=before, to_state=after, due=None)
            event.demo_at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(9, 30)))
            self.rows[DossierEvent].append(event)

    def approved_dossier(self, h: History, serial: int) -> None:
        regime, level = h.regime, h.level
        body, suffix = self.body_names(h)
        submitted = h.approved_on - datetime.timedelta(days=self.rng.randint(20, 70))
        last, first = demo.person_name(self.rng)
        dossier = LevelDossier(
            organization_id=h.system.organization_id,
            system=h.system,
            regime=regime,
            proposed_level=level,
            assessment=self.assessment(h, regime),
            state=DossierState.APPROVED,
            title=f"Hồ sơ đề xuất cấp độ {level}: {h.system.name}"[:255],
            summary=f"{h.system.name} (dữ liệu mẫu).",
            justification="Theo kết quả xác định cấp độ.",
            protection_plan="Phương án bảo đảm an toàn theo yêu cầu của cấp độ (dữ liệu mẫu).",
            appraiser="Đơn vị chuyên trách về an toàn thông tin",
            approver=body,
            decision_number=f"{serial}/{suffix}",
            decision_date=h.approved_on,
            approved_by_name=f"{last} {first}",
            approved_level=level,
            step_started=h.approved_on,
            submitted_at=timezone.make_aware(datetime.datetime.combine(submitted, datetime.time(8, 0))),
        )
        self.rows[LevelDossier].append(dossier)
        appraised = h.approved_on - datetime.timedelta(days=self.rng.randint(3, 10))
        self.events(
            dossier,
            [
                (DossierState.DRAFT, DossierState.SUBMITTED, submitted),
                (DossierState.SUBMITTED, DossierState.APPRAISAL, submitted + datetime.timedelta(days=4)),
                (DossierState.APPRAISAL, DossierState.APPRAISED, appraised),
                (DossierState.APPRAISED, DossierState.APPROVED, h.approved_on),
            ],
        )
        self.figures["approved dossiers"] += 1

    def open_dossier(self, h: History) -> None:
        state = self.rng.choices([s for s, _w in OPEN_STATES], weights=[w for _s, w in OPEN_STATES])[0]
        if h.system.lifecycle_status == "retired" or state is None:
            if self.rng.random() < 0.4:
                self.assessment(h, NEW)
            return
        level = h.level_new
        started = self.today - datetime.timedelta(days=int(self.rng.expovariate(1 / 14)) + 1)
        due = None
        if state in TIMER_OF:
            policy = regulation.timer(NEW, TIMER_OF[state], level)
            due = regulation.due_date(started, policy) if policy is not None else None
            if due is not None and due < self.today:
                self.figures["overdue dossiers"] += 1
        dossier = LevelDossier(
            organization_id=h.system.organization_id,
            system=h.system,
            regime=NEW,
            proposed_level=level,
            assessment=self.assessment(h, NEW),
            state=state,
            title=f"Hồ sơ đề xuất cấp độ {level}: {h.system.name}"[:255],
            summary=f"{h.system.name} (dữ liệu mẫu).",
            justification="Theo kết quả xác định cấp độ." if state != DossierState.DRAFT else "",
            protection_plan="" if state == DossierState.DRAFT else "Phương án bảo đảm an toàn (dữ liệu mẫu).",
            appraiser="Đơn vị chuyên trách về an toàn thông tin",
            approver=self.body_names(h)[0],
            step_started=started if state != DossierState.DRAFT else None,
            step_due=due,
            submitted_at=None
            if state == DossierState.DRAFT
            else timezone.make_aware(datetime.datetime.combine(started, datetime.time(8, 0))),
        )
        self.rows[LevelDossier].append(dossier)
        path = {
            DossierState.SUBMITTED: [(DossierState.DRAFT, DossierState.SUBMITTED)],
            DossierState.APPRAISAL: [
                (DossierState.DRAFT, DossierState.SUBMITTED),
                (DossierState.SUBMITTED, DossierState.APPRAISAL),
            ],
            DossierState.APPRAISED: [
                (DossierState.DRAFT, DossierState.SUBMITTED),
                (DossierState.SUBMITTED, DossierState.APPRAISAL),
                (DossierState.APPRAISAL, DossierState.APPRAISED),
            ],
            DossierState.RETURNED: [
                (DossierState.DRAFT, DossierState.SUBMITTED),
                (DossierState.SUBMITTED, DossierState.RETURNED),
            ],
            DossierState.WITHDRAWN: [(DossierState.DRAFT, DossierState.WITHDRAWN)],
        }.get(state, [])
        self.events(
            dossier,
            [(a, b, started - datetime.timedelta(days=len(path) - i)) for i, (a, b) in enumerate(path, start=1)],
        )
        self.figures[f"dossiers {state}"] += 1

    def checklist(self, h: History) -> None:
        regime, level = h.regime, h.level
        requirements = self.requirements(regime, level)
        owner = h.system.organization_id
        if h.fully_since:
            statuses = [
                ChecklistStatus.NOT_APPLICABLE if self.rng.random() < 0.03 else ChecklistStatus.MET
                for _r in requirements
            ]
            if ChecklistStatus.MET not in statuses:
                statuses[0] = ChecklistStatus.MET
        else:
            met_share = self.rng.uniform(0.3, 0.92)
            statuses = [
                ChecklistStatus.MET
                if self.rng.random() < met_share
                else self.rng.choices(
                    [
                        ChecklistStatus.PARTLY,
                        ChecklistStatus.NOT_MET,
                        ChecklistStatus.UNKNOWN,
                        ChecklistStatus.NOT_APPLICABLE,
                    ],
                    weights=[40, 30, 25, 5],
                )[0]
                for _r in requirements
            ]
            if not {ChecklistStatus.PARTLY, ChecklistStatus.NOT_MET, ChecklistStatus.UNKNOWN} & set(statuses):
                statuses[self.rng.randrange(len(statuses))] = ChecklistStatus.PARTLY
        now = timezone.now()
        for requirement, status in zip(requirements, statuses, strict=True):
            item = {
                "id": uuid.UUID(int=self.rng.getrandbits(128), version=4),
                "organization_id": owner,
                "created_at": now,
                "updated_at": now,
                "system_id": h.system.pk,
                "regime": regime,
                "requirement": requirement.code,
                "status": status,
                "reason": "",
                "responsible": "",
                "due_date": None,
                "remediation": "",
            }
            if status == ChecklistStatus.NOT_APPLICABLE:
                item["reason"] = self.rng.choice(NOT_APPLICABLE_REASONS)
            elif status in (ChecklistStatus.PARTLY, ChecklistStatus.NOT_MET):
                item["remediation"] = self.rng.choice(REMEDIATIONS)
                item["due_date"] = self.today + datetime.timedelta(days=self.rng.randint(20, 400))
                item["responsible"] = "Cán bộ chuyên trách an toàn thông tin"
            self.rows[ChecklistItem].append(item)

    def layers(self, h: History, socs: list[Organization], assessors: list[Organization]) -> None:
        has = h.layers.__contains__
        soc = self.rng.choice(socs) if has("soc") and socs else None
        seen = timezone.now() - datetime.timedelta(hours=self.rng.randint(1, 48))
        self.rows[ProtectionLayers].append(
            ProtectionLayers(
                organization_id=h.system.organization_id,
                system=h.system,
                onsite_staff=self.rng.randint(1, 6) if has("onsite") else 0,
                soc_provider=soc,
                soc_contract_until=_between(self.rng, self.today, self.today.replace(year=self.today.year + 2))
                if soc
                else None,
                soc_covers_network=bool(soc),
                soc_covers_application=bool(soc) and self.rng.random() < 0.8,
                soc_covers_database=bool(soc) and self.rng.random() < 0.5,
                soc_covers_endpoint=bool(soc) and self.rng.random() < 0.6,
                assessor=self.rng.choice(assessors) if has("assessment") and assessors else None,
                last_assessment=_between(self.rng, _months_back(self.today, 14), self.today)
                if has("assessment")
                else None,
                national_monitoring_connected=has("national"),
                national_monitoring_seen=seen if has("national") else None,
            )
        )

    def checks(self, h: History) -> None:
        months = regulation.check_interval_months(h.regime, h.level)
        if not months:
            return
        owner = h.system.organization_id
        if self.rng.random() < 0.13:  # the next check is past due and not done
            due = self.today - datetime.timedelta(days=self.rng.randint(5, 150))
            self.figures["overdue checks"] += 1
        else:
            due = self.today + datetime.timedelta(days=self.rng.randint(10, 30 * months))
        done = _months_back(due, months)
        if done > h.approved_on:
            self.rows[PeriodicCheck].append(
                PeriodicCheck(
                    organization_id=owner,
                    system=h.system,
                    regime=h.regime,
                    due_date=done,
                    done_date=done,
                    performer="Đơn vị chuyên trách về an toàn thông tin",
                    result="Đạt yêu cầu; đã khắc phục các điểm yếu.",
                )
            )
        self.rows[PeriodicCheck].append(
            PeriodicCheck(organization_id=owner, system=h.system, regime=h.regime, due_date=due)
        )

    # --- inspection and reports ---------------------------------------------------------------------------

    def inspection(self, histories: list[History]) -> None:
        provinces = list(
            Organization.objects.filter(parent=self.root, kind="province", is_active=True).order_by("code")
        )
        targets = [p for p in provinces if p.code in {"tuyen-quang", "lao-cai"}] or provinces[:2]
        if not targets:
            return
        team = [
            ra.user
            for ra in RoleAssignment.objects.filter(role__code="inspector", organization=self.root).select_related(
                "user"
            )
        ]
        inspection = Inspection.objects.create(
            organization=self.root,
            title=f"Kiểm tra việc bảo đảm an toàn hệ thống thông tin theo cấp độ năm {self.today.year}",
            year=self.today.year,
            regime=NEW,
            state=Inspection.State.IN_PROGRESS,
            starts=self.today - datetime.timedelta(days=75),
            ends=self.today + datetime.timedelta(days=20),
            scope="Kiểm tra việc tuân thủ quy định về xác định cấp độ, triển khai phương án bảo đảm an toàn "
            "và mô hình 4 lớp tại các cơ quan, đơn vị được kiểm tra (dữ liệu mẫu).",
        )
        inspection.team.set(team)
        inspection.targets.set(targets)
        candidates = [
            h
            for h in histories
            if h.approved_on
            and any(
                h.system.organization.path.startswith(t.path) and h.system.organization.path != t.path for t in targets
            )
        ]
        states = (
            [Finding.State.OPEN] * 3
            + [Finding.State.ACKNOWLEDGED] * 3
            + [Finding.State.REMEDIATED] * 2
            + [Finding.State.VERIFIED] * 2
        )
        for (description, remediation), state, h in zip(
            FINDINGS, states, self.rng.sample(candidates, min(len(candidates), len(FINDINGS))), strict=False
        ):
            requirement = self.rng.choice(self.requirements(h.regime, h.level)).code
            overdue = state == Finding.State.OPEN and self.rng.random() < 0.5
            due = self.today + datetime.timedelta(
                days=-self.rng.randint(3, 20) if overdue else self.rng.randint(15, 90)
            )
            acknowledged = (
                None
                if state == Finding.State.OPEN
                else timezone.now() - datetime.timedelta(days=self.rng.randint(5, 40))
            )
            self.rows[Finding].append(
                Finding(
                    organization_id=h.system.organization_id,
                    inspection=inspection,
                    system=h.system,
                    requirement=requirement,
                    severity=self.rng.choice(Finding.Severity.values),
                    description=description,
                    remediation=remediation,
                    due_date=due,
                    state=state,
                    acknowledged_at=acknowledged,
                    evidence="Đã khắc phục, kèm văn bản chứng minh (dữ liệu mẫu)."
                    if state in (Finding.State.REMEDIATED, Finding.State.VERIFIED)
                    else "",
                )
            )

    def monthly_reports(self, histories: list[History]) -> None:
        """Twelve submitted monthly reports per province and ministry, from the dated history above."""
        owners = list(
            Organization.objects.filter(parent=self.root, kind__in=["province", "ministry"], is_active=True).order_by(
                "code"
            )
        )
        by_branch = defaultdict(list)
        for h in histories:
            if h.branch is not None:
                by_branch[h.branch.pk].append(h)
        officers = {
            ra.organization_id: ra.user
            for ra in RoleAssignment.objects.filter(
                role__code="security_officer", organization__in=owners
            ).select_related("user")
        }
        late_owner = owners[0] if owners else None
        missing_owner = owners[-1] if len(owners) > 1 else None
        last_month_end = self.today.replace(day=1) - datetime.timedelta(days=1)
        for back in range(12):
            end = _months_back(last_month_end.replace(day=1), back)
            end = end.replace(day=calendar.monthrange(end.year, end.month)[1])
            period = reports.monthly_period(end.year, end.month)
            for owner in owners:
                if back == 0 and owner == missing_owner:
                    continue
                late = back == 0 and owner == late_owner
                sent = period.due_to_authority + datetime.timedelta(
                    days=self.rng.randint(1, 4) if late else -self.rng.randint(2, 15)
                )
                if sent > self.today:
                    continue
                self.rows[StatusReport].append(
                    StatusReport(
                        organization=owner,
                        kind=StatusReport.Kind.MONTHLY,
                        regime=period.regime,
                        period_start=period.start,
                        period_end=period.end,
                        due_date=period.due_for(owner),
                        state=StatusReport.State.SUBMITTED,
                        data=self.report_data(owner, period, by_branch[owner.pk]),
                        notes="Đề xuất bố trí kinh phí triển khai đầy đủ phương án bảo đảm an toàn (dữ liệu mẫu).",
                        submitted_at=timezone.make_aware(datetime.datetime.combine(sent, datetime.time(15, 0))),
                        submitted_by=officers.get(owner.pk),
                    )
                )

    def report_data(self, owner: Organization, period, histories: list[History]) -> dict:
        end = period.end
        systems = len(histories)
        by_level = Counter(str(h.level) if h.approved_on and h.approved_on <= end else "none" for h in histories)
        approved = systems - by_level.get("none", 0)
        fully = sum(1 for h in histories if h.fully_since and h.fully_since <= end)
        layers = {name: sum(1 for h in histories if name in h.layers) for name in LAYERS}
        layers["all"] = sum(1 for h in histories if h.all_layers_since and h.all_layers_since <= end)
        return {
            "version": reports.DATA_VERSION,
            "kind": StatusReport.Kind.MONTHLY,
            "demo": True,
            "organization": {"id": str(owner.pk), "code": owner.code, "name": owner.name},
            "regime": period.regime,
            "form": period.form,
            "title": period.title,
            "period": {
                "start": period.start.isoformat(),
                "end": end.isoformat(),
                "due_to_owner": period.due_to_owner.isoformat(),
                "due_to_authority": period.due_to_authority.isoformat(),
            },
            "generated_at": timezone.make_aware(datetime.datetime.combine(end, datetime.time(23, 0))).isoformat(),
            "totals": {
                "systems": systems,
                "by_level": {**{str(n): by_level.get(str(n), 0) for n in LEVELS}, "none": by_level.get("none", 0)},
                "approved": approved,
                "approved_pct": pct(approved, systems),
                "fully": fully,
                "fully_pct": pct(fully, systems),
                "dossiers_overdue": 0,
                "checks_overdue": 0,
                "layers": layers,
                "layers_pct": {k: pct(v, systems) for k, v in layers.items()},
                "implementation": {"full": fully, "partial": approved - fully, "none": 0, "n/a": systems - approved},
            },
            "systems_listed": False,
            "systems": [],
            "requirements": [],
            "children": [],
        }

    # --- the whole ---------------------------------------------------------------------------------------

    def run(self) -> dict:
        histories = self.histories()
        socs = list(Organization.objects.filter(kind="soc_provider", is_active=True).order_by("code"))
        assessors = socs + list(Organization.objects.filter(kind="sector_cert", is_active=True).order_by("code"))
        self.ctx.progress("compliance: dossiers")
        serials: Counter = Counter()
        for h in histories:
            if h.approved_on:
                suffix = self.body_names(h)[1]
                serials[suffix] += self.rng.randint(1, 9)
                self.approved_dossier(h, serials[suffix])
                self.checklist(h)
                self.checks(h)
            else:
                self.open_dossier(h)
            self.layers(h, socs, assessors)
        self.ctx.progress("compliance: inspection and reports")
        self.inspection(histories)
        self.monthly_reports(histories)
        self.ctx.progress("compliance: saving")
        for model in (LevelAssessment, LevelDossier, ProtectionLayers, PeriodicCheck, Finding, StatusReport):
            model.objects.bulk_create(self.rows[model], batch_size=2000)
        insert_rows(ChecklistItem, self.rows[ChecklistItem])
        events = self.rows[DossierEvent]
        DossierEvent.objects.bulk_create(events, batch_size=2000)
        for event in events:  # `at` is set on insert; the history needs the dates of the steps
            event.at = event.demo_at
        DossierEvent.objects.bulk_update(events, ["at"], batch_size=2000)
        n = len(histories)
        approved = sum(1 for h in histories if h.approved_on)
        fully = sum(1 for h in histories if h.fully_since)
        summary = {
            "systems": n,
            "approved": f"{approved} ({pct(approved, n)}%)",
            "fully": f"{fully} ({pct(fully, n)}%)",
            "assessments": len(self.rows[LevelAssessment]),
            "dossiers": len(self.rows[LevelDossier]),
            "checklist items": len(self.rows[ChecklistItem]),
            "checks": len(self.rows[PeriodicCheck]),
            "overdue dossiers": self.figures["overdue dossiers"],
            "overdue checks": self.figures["overdue checks"],
            "findings": len(self.rows[Finding]),
            "monthly reports": len(self.rows[StatusReport]),
        }
        audit.record(
            AuditEvent.Action.CREATE,
            object_type="compliance.leveldossier",
            organization=self.root,
            object_repr=f"Demo: compliance history of {n} systems (bulk load)",
            changes={"bulk_create": {k: v for k, v in summary.items() if isinstance(v, int)}},
        )
        return summary


@demo.register("compliance", order=20)
def load(ctx: demo.DemoContext) -> dict:
    """The compliance history of the demo systems (after the registry's loader)."""
    return Loader(ctx).run()
