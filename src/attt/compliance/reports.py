"""Monthly and annual reports on level-based security, generated from the data, submitted up the tree.

Why generated: the 2024 ministry letter asks every ministry and province for a monthly status before
the 20th, and Circular 12/2022 Art 13–14 (Decree 331/2026 Art 35–36, Form 08) for an annual report whose
data window runs 15 Dec – 14 Dec, due from the units to the owner before 20 Dec and from the owner to the
national authority before 25 Dec. Filling these by hand from thousands of systems is what produced the
stale national figures, so the platform computes them from the records of the organisation's subtree.

Rules kept here:
- Windows and deadlines come from the regime's report policy (`regulation.report_policy`), never code.
  A deadline "before day D" is stored as `due_date` = D; a report is late when submitted on or after it.
- A report is a draft until submitted; submitting locks it (figures, notes) for good, records an audit
  event and notifies the parent organisation's holders of `compliance.statusreport.view`.
- A report of an organisation with units lists which units have submitted the same report and which are
  late, so the national report is the roll-up of the whole tree.
- The exported documents (DOCX, XLSX, PDF) are official Vietnamese administrative documents: their
  wording is Vietnamese whatever the user's interface language, in the layout of Decree 30/2020 (national
  motto, issuing body, number and date line, title, sections, signature block).
"""

from __future__ import annotations

import calendar
import datetime
import io
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from attt.compliance import services
from attt.compliance.dashboards import LAYERS, LEVELS, Tally, annotate_status, approved_column
from attt.compliance.documents import MOTTO, Outline, Section, Table, cell_text, outline_docx
from attt.compliance.documents import number_text as _n
from attt.compliance.models import (
    ChecklistItem,
    ChecklistStatus,
    DossierState,
    Finding,
    LevelAssessment,
    LevelDossier,
    PeriodicCheck,
    StatusReport,
)
from attt.core import audit
from attt.core.locks import for_update, lock_current
from attt.core.models import AuditEvent, Organization, User
from attt.core.services.notifications import notify_permission_holders
from attt.registry import services as registry
from attt.regulation import services as regulation
from attt.regulation.errors import RegulationLookupError

POLICY_KIND = {StatusReport.Kind.MONTHLY: "monthly_status", StatusReport.Kind.ANNUAL: "annual"}
DATA_VERSION = 1
# Above this many systems a report lists its units instead of every system (the national report:
# each province's own report has its list); keeps the stored figures and documents readable.
SYSTEM_LIST_LIMIT = 1500
NOTIFY_PERMISSION = "compliance.statusreport.view"


# --- Periods and deadlines ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportPeriod:
    """A reporting period under one regime: data window and the two deadlines of the chain
    (units → owner, owner → national authority; the same day for monthly reports)."""

    kind: str
    start: datetime.date
    end: datetime.date
    regime: str
    due_to_owner: datetime.date
    due_to_authority: datetime.date
    form: str = ""
    title: str = ""

    def due_for(self, organization: Organization) -> datetime.date:
        """The owner (a ministry or province, right under the national root) reports to the authority;
        anything deeper reports to its owner first."""
        return self.due_to_authority if organization.depth <= 1 else self.due_to_owner

    @property
    def label(self) -> str:
        if self.kind == StatusReport.Kind.MONTHLY:
            return f"{self.end:%m/%Y}"
        return str(self.end.year)


def _policy(regime: str, kind: str):
    try:
        return regulation.report_policy(regime, POLICY_KIND[kind])
    except RegulationLookupError as exc:
        raise ValidationError(
            _("The legal regime %(regime)s defines no such periodic report.") % {"regime": regime}
        ) from exc


def _period(kind: str, year: int, month: int | None, regime: str | None) -> ReportPeriod:
    """Window and deadlines from the regime's data. The law words a deadline "before day D": `due_*` hold D
    (the regulation service gives the last day allowed, D − 1), so a report is late on or after D."""
    if kind == StatusReport.Kind.MONTHLY and (month is None or not 1 <= month <= 12):
        raise ValidationError({"month": _("Say which month the report covers (1 to 12).")})
    policy_kind = POLICY_KIND[kind]
    if regime is None:  # the regime in force at the end of the period (both regimes end the year on 14 Dec)
        last = datetime.date(year, month, calendar.monthrange(year, month)[1]) if month else datetime.date(year, 12, 14)
        try:
            regime = regulation.regime_in_force(last).code
        except RegulationLookupError as exc:
            raise ValidationError(
                {"year": _("No legal regime of the platform's data was in force at the end of this period.")}
            ) from exc
    policy = _policy(regime, kind)
    start, end = regulation.report_period(regime, policy_kind, year, month)
    to_owner = to_authority = None
    for deadline, last_day in regulation.report_deadlines(regime, policy_kind, year, month):
        day = last_day + datetime.timedelta(days=1) if deadline.before else last_day
        if deadline.recipient.code == "owner":
            to_owner = day
        else:
            to_authority = day
    to_authority = to_authority or to_owner or end
    return ReportPeriod(
        kind, start, end, regime, to_owner or to_authority, to_authority, policy.form_code or "", policy.label_vi
    )


def monthly_period(year: int, month: int, *, regime: str | None = None) -> ReportPeriod:
    """The calendar month; due before the 20th of the next month (2024 letter)."""
    return _period(StatusReport.Kind.MONTHLY, year, month, regime)


def annual_period(year: int, *, regime: str | None = None) -> ReportPeriod:
    """15 Dec of the year before – 14 Dec; units → owner before 20 Dec, owner → authority before 25 Dec."""
    return _period(StatusReport.Kind.ANNUAL, year, None, regime)


def period_for(kind: str, year: int, month: int | None = None) -> ReportPeriod:
    if kind not in POLICY_KIND:
        raise ValidationError({"kind": _("Unknown kind of report.")})
    return _period(kind, year, month if kind == StatusReport.Kind.MONTHLY else None, None)


def default_period(kind: str, today: datetime.date | None = None) -> tuple[int, int | None]:
    """The period one would report on today: last month, or the annual window that ends this December
    (or last December's during the first half of the month before the window turns)."""
    today = today or timezone.localdate()
    if kind == StatusReport.Kind.MONTHLY:
        return (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return (today.year + 1 if (today.month, today.day) >= (12, 15) else today.year), None


def period_of(report: StatusReport) -> ReportPeriod:
    """The period of a stored report (its regime as stored)."""
    if report.kind == StatusReport.Kind.MONTHLY:
        return monthly_period(report.period_end.year, report.period_end.month, regime=report.regime)
    return annual_period(report.period_end.year, regime=report.regime)


def is_late(report: StatusReport, today: datetime.date | None = None) -> bool:
    """Submitted on or after the due date, or still not submitted when it has come."""
    if report.submitted_at is not None:
        return timezone.localdate(report.submitted_at) >= report.due_date
    return (today or timezone.localdate()) >= report.due_date


# --- Figures --------------------------------------------------------------------------------------------

DOSSIER_PHASE = {  # Form 08 column 6
    DossierState.DRAFT: "drafting",
    DossierState.RETURNED: "drafting",
    DossierState.SUBMITTED: "sent",
    DossierState.APPRAISAL: "sent",
    DossierState.APPRAISED: "appraised",
    DossierState.APPROVED: "approved",
}
OPEN_FINDING_STATES = (Finding.State.OPEN, Finding.State.ACKNOWLEDGED)


def _latest_dossier(column: str) -> Subquery:
    dossiers = LevelDossier.objects.filter(system=OuterRef("pk")).exclude(state=DossierState.WITHDRAWN)
    return Subquery(dossiers.order_by("-created_at").values(column)[:1])


def _system_rows(organization: Organization, period: ReportPeriod) -> list[dict]:
    """One row per system of the subtree with what the report shows about it, in one query."""
    latest_assessment = LevelAssessment.objects.filter(system=OuterRef("pk")).order_by("-created_at")
    open_items = ChecklistItem.objects.filter(
        system=OuterRef("pk"),
        regime=OuterRef("approved_regime"),
        status__in=[ChecklistStatus.PARTLY, ChecklistStatus.NOT_MET],
    )
    checks = PeriodicCheck.objects.filter(system=OuterRef("pk"), done_date__isnull=False)
    queryset = annotate_status(registry.systems_of_organization(organization), counts=True).annotate(
        proposed_level=Coalesce(_latest_dossier("proposed_level"), Subquery(latest_assessment.values("level")[:1])),
        dossier_state=_latest_dossier("state"),
        decision_number=approved_column("decision_number"),
        decision_date=approved_column("decision_date"),
        approver=approved_column("approver"),
        open_due=Subquery(open_items.order_by().values("system").annotate(d=Max("due_date")).values("d")),
        checked=Exists(checks.filter(done_date__gte=period.start, done_date__lte=period.end)),
        last_check=Subquery(checks.filter(done_date__lte=period.end).order_by("-done_date").values("done_date")[:1]),
    )
    return list(
        queryset.order_by("organization__path", "name").values(
            "pk",
            "code",
            "name",
            "organization__name",
            "organization__path",
            "operator__name",
            "approved_level",
            "approved_regime",
            "fully",
            "layers",
            "items_applicable",
            "items_met",
            "items_partly",
            "items_not_met",
            "proposed_level",
            "dossier_state",
            "decision_number",
            "decision_date",
            "approver",
            "open_due",
            "checked",
            "last_check",
        )
    )


def implementation(row: dict) -> str:
    """'full', 'partial', 'none' or 'n/a' (no approved plan yet) for one system row."""
    if row["approved_level"] is None:
        return "n/a"
    if row["fully"]:
        return "full"
    return "partial" if (row["items_met"] or 0) + (row["items_partly"] or 0) else "none"


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _system_entry(row: dict) -> dict:
    return {
        "id": str(row["pk"]),
        "code": row["code"],
        "name": row["name"],
        "owner": row["organization__name"],
        "operator": row["operator__name"] or "",
        "proposed_level": row["proposed_level"],
        "approved_level": row["approved_level"],
        "dossier_phase": DOSSIER_PHASE.get(row["dossier_state"], "none") if row["dossier_state"] else "none",
        "decision_number": row["decision_number"] or "",
        "decision_date": _iso(row["decision_date"]),
        "approver": row["approver"] or "",
        "implementation": implementation(row),
        "items_applicable": row["items_applicable"] or 0,
        "items_met": row["items_met"] or 0,
        "expected_full": _iso(row["open_due"]),
        "checked": bool(row["checked"]),
        "last_check": _iso(row["last_check"]),
        "layers": [name for bit, name in enumerate(LAYERS) if row["layers"] is not None and row["layers"] & (1 << bit)],
    }


def _requirement_rows(organization: Organization) -> list[dict]:
    """Per requirement of the checklists in force under the organisation: how many systems stand where."""
    rows = (
        ChecklistItem.objects.filter(organization__path__startswith=organization.path)
        .values("regime", "requirement", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    table: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for row in rows:
        table[(row["regime"], row["requirement"])][row["status"]] += row["n"]
    texts = _requirement_texts(sorted(table))
    return [
        {
            "regime": regime,
            "code": code,
            "text": texts.get((regime, code), ""),
            **{status: counts.get(status, 0) for status in ChecklistStatus.values},
        }
        for (regime, code), counts in sorted(table.items())
    ]


def _requirement_texts(keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    texts = {}
    for regime, code in keys:
        try:
            texts[(regime, code)] = regulation.requirement(regime, code).text_vi
        except RegulationLookupError:
            texts[(regime, code)] = ""
    return texts


def _children_status(
    organization: Organization, kind: str, period: ReportPeriod, tallies: dict[str, Tally], today: datetime.date
) -> list[dict]:
    children = list(organization.children.filter(is_active=True).order_by("name"))
    reports = {
        r.organization_id: r
        for r in StatusReport.objects.filter(organization__in=children, kind=kind, period_end=period.end)
    }
    result = []
    for child in children:
        report = reports.get(child.pk)
        tally = tallies.get(child.path, Tally()).as_dict()
        result.append(
            {
                "id": str(child.pk),
                "code": child.code,
                "name": child.name,
                "systems": tally["systems"],
                "approved": tally["approved"],
                "approved_pct": tally["approved_pct"],
                "fully": tally["fully"],
                "fully_pct": tally["fully_pct"],
                "layers_all": tally["layers"]["all"],
                "due": period.due_for(child).isoformat(),
                "report_id": str(report.pk) if report else None,
                "state": report.state if report else "missing",
                "submitted_at": report.submitted_at.isoformat() if report and report.submitted_at else None,
                "late": is_late(report, today) if report else today >= period.due_for(child),
            }
        )
    return result


def build_figures(organization: Organization, period: ReportPeriod, *, today: datetime.date | None = None) -> dict:
    """Everything a report states, from the records of the organisation's subtree (not user-scoped: it is
    the organisation's own report; who may generate it is checked by `generate`)."""
    today = today or timezone.localdate()
    path = organization.path
    rows = _system_rows(organization, period)
    totals, tallies = Tally(), defaultdict(Tally)
    branch_length = len(path) + 33
    implementation_counts: Counter = Counter()
    proposed: Counter = Counter()
    for row in rows:
        args = (row["approved_level"], row["fully"], row["layers"], 1)
        totals.add_systems(*args)
        tallies[row["organization__path"][:branch_length]].add_systems(*args)
        implementation_counts[implementation(row)] += 1
        proposed[str(row["proposed_level"]) if row["proposed_level"] in LEVELS else "none"] += 1
    dossiers = LevelDossier.objects.filter(organization__path__startswith=path)
    checks = PeriodicCheck.objects.filter(organization__path__startswith=path)
    totals.dossiers_overdue = services.overdue_dossiers(dossiers, today).count()
    totals.checks_overdue = services.overdue_checks(checks, today).count()
    findings = Finding.objects.filter(organization__path__startswith=path)
    finding_counts = dict(findings.values_list("state").annotate(n=Count("pk")).order_by())
    figures = totals.as_dict()
    figures.update(
        implementation={key: implementation_counts.get(key, 0) for key in ("full", "partial", "none", "n/a")},
        proposed_by_level={key: proposed.get(key, 0) for key in [*map(str, LEVELS), "none"]},
        dossiers=dict(dossiers.values_list("state").annotate(n=Count("pk")).order_by()),
        approved_in_period=dossiers.filter(
            state=DossierState.APPROVED, decision_date__gte=period.start, decision_date__lte=period.end
        ).count(),
        checks_done_in_period=checks.filter(done_date__gte=period.start, done_date__lte=period.end).count(),
        systems_checked=sum(1 for row in rows if row["checked"]),
        findings={state: finding_counts.get(state, 0) for state in Finding.State.values}
        | {"overdue": findings.filter(state__in=OPEN_FINDING_STATES, due_date__lt=today).count()},
    )
    listed = len(rows) <= SYSTEM_LIST_LIMIT
    return {
        "version": DATA_VERSION,
        "kind": period.kind,
        "organization": {"id": str(organization.pk), "code": organization.code, "name": organization.name},
        "regime": period.regime,
        "form": period.form,
        "title": period.title,
        "period": {
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "due_to_owner": period.due_to_owner.isoformat(),
            "due_to_authority": period.due_to_authority.isoformat(),
        },
        "generated_at": timezone.now().isoformat(timespec="seconds"),
        "totals": figures,
        "systems_listed": listed,
        "systems": [_system_entry(row) for row in rows] if listed else [],
        "requirements": _requirement_rows(organization),
        "children": _children_status(organization, period.kind, period, tallies, today),
    }


# --- Life cycle -----------------------------------------------------------------------------------------


def stays_on_merge(source: Organization, target: Organization) -> Q:
    """When two organisations that each filed the report of one period merge, each report stays as it was filed:
    the merged-away one's with it (an inactive unit under the target, in the target's subtree)."""
    filed = StatusReport.objects.filter(organization=target, kind=OuterRef("kind"), period_end=OuterRef("period_end"))
    return Q(Exists(filed))


class ReportLocked(ValidationError):
    """Raised on any change to a submitted report (the API answers 409)."""


def ensure_editable(report: StatusReport) -> None:
    """A submitted report is a record of what was sent: nothing about it changes afterwards."""
    if report.state == StatusReport.State.SUBMITTED:
        raise ReportLocked(_("This report was submitted and is locked; it can no longer be changed."))


@transaction.atomic
def generate(
    organization: Organization,
    kind: str,
    *,
    year: int,
    month: int | None = None,
    by: User | None = None,
    today: datetime.date | None = None,
) -> StatusReport:
    """Create the organisation's report for the period, or refresh the figures of its draft. The caller
    checks that `by` holds compliance.statusreport.add on the organisation."""
    period = period_for(kind, year, month)
    figures = build_figures(organization, period, today=today)
    stored = for_update(StatusReport.objects.filter(organization=organization, kind=kind, period_end=period.end))
    report = stored.first()
    if report is None:
        report = StatusReport(organization=organization, kind=kind, period_end=period.end)
        _fill(report, period, organization, figures)
        try:
            with transaction.atomic():  # a savepoint: another generation of the period may have created it
                report.save()
            return report
        except IntegrityError:
            report = stored.get()  # theirs, committed: refreshed as a draft is
    ensure_editable(report)
    _fill(report, period, organization, figures)
    report.save(update_fields=["regime", "period_start", "due_date", "data", "updated_at"])
    return report


def _fill(report: StatusReport, period: ReportPeriod, organization: Organization, figures: dict) -> None:
    report.regime = period.regime
    report.period_start = period.start
    report.due_date = period.due_for(organization)
    report.data = figures


@transaction.atomic
def update_notes(report: StatusReport, notes: str) -> StatusReport:
    lock_current(report)
    ensure_editable(report)
    report.notes = notes
    report.save(update_fields=["notes", "updated_at"])
    return report


@transaction.atomic
def submit(report: StatusReport, *, by: User) -> StatusReport:
    """Lock the report as sent, record it, and tell the parent organisation it has arrived."""
    lock_current(report)
    ensure_editable(report)
    report.state = StatusReport.State.SUBMITTED
    report.submitted_at = timezone.now()
    report.submitted_by = by
    report.save(update_fields=["state", "submitted_at", "submitted_by", "updated_at"])
    late = is_late(report)
    audit.record(
        AuditEvent.Action.WORKFLOW,
        obj=report,
        changes={
            "step": "submit",
            "before": {"state": StatusReport.State.DRAFT},
            "after": {"state": StatusReport.State.SUBMITTED, "late": late, "due_date": report.due_date.isoformat()},
        },
    )
    parent = report.organization.parent
    if parent is not None:
        notify_permission_holders(
            NOTIFY_PERMISSION,
            parent,
            title=_("%(org)s submitted: %(report)s")
            % {"org": report.organization.name, "report": report.get_kind_display()},
            body=_("Period ending %(end)s.") % {"end": report.period_end.strftime("%d/%m/%Y")}
            + (" " + _("Submitted late.") if late else ""),
            link=report.get_absolute_url(),
            level="warning" if late else "info",
        )
    return report


# --- The document -----------------------------------------------------------------------------------------
# One neutral outline, three writers: the DOCX, the XLSX and the PDF say the same thing.

LEVEL_TEXT = {"none": "Chưa phê duyệt", **{str(n): f"Cấp độ {n}" for n in LEVELS}}
PHASE_TEXT = {
    "drafting": "Đang dự thảo",
    "sent": "Đã gửi thẩm định",
    "appraised": "Đã thẩm định",
    "approved": "Đã được phê duyệt",
    "none": "Chưa có hồ sơ",
}
IMPLEMENTATION_TEXT = {
    "full": "Đã triển khai đầy đủ",
    "partial": "Đã triển khai một số hạng mục",
    "none": "Chưa triển khai",
    "n/a": "Chưa có phương án được phê duyệt",
}
LAYER_TEXT = {
    "onsite": "Lớp 1 – Lực lượng tại chỗ",
    "soc": "Lớp 2 – Giám sát, bảo vệ chuyên nghiệp",
    "assessment": "Lớp 3 – Kiểm tra, đánh giá độc lập",
    "national": "Lớp 4 – Kết nối giám sát quốc gia",
    "all": "Đủ cả 4 lớp",
}
STATUS_TEXT = {
    ChecklistStatus.MET: "Đáp ứng",
    ChecklistStatus.PARTLY: "Đáp ứng một phần",
    ChecklistStatus.NOT_MET: "Chưa đáp ứng",
    ChecklistStatus.UNKNOWN: "Chưa đánh giá",
    ChecklistStatus.NOT_APPLICABLE: "Không áp dụng",
}
FINDING_TEXT = {
    "open": "Chưa xử lý",
    "acknowledged": "Đã tiếp nhận",
    "remediated": "Đã khắc phục",
    "verified": "Đã xác minh",
    "overdue": "Quá hạn khắc phục",
}
SYSTEM_COLUMNS = [
    "STT",
    "Tên HTTT",
    "Chủ quản HTTT",
    "Đơn vị vận hành HTTT",
    "Cấp độ đề xuất",
    "Tình trạng phê duyệt cấp độ",
    "Quyết định phê duyệt cấp độ (số, ngày, cơ quan)",
    "Triển khai phương án bảo đảm an toàn",
    "Dự kiến thời điểm triển khai đầy đủ",
    "Kiểm tra, đánh giá trong kỳ",
]


def _d(value: str | None) -> str:
    return datetime.date.fromisoformat(value).strftime("%d/%m/%Y") if value else ""


def outline(report: StatusReport) -> Outline:
    data = report.data or {}
    totals = data.get("totals", {})
    organization = report.organization
    parent = organization.parent
    when = timezone.localtime(report.submitted_at).date() if report.submitted_at else timezone.localdate()
    monthly = report.kind == StatusReport.Kind.MONTHLY
    period_text = (
        f"tháng {report.period_end.month:02d}/{report.period_end.year}"
        if monthly
        else f"năm {report.period_end.year} (số liệu từ {report.period_start:%d/%m/%Y} "
        f"đến {report.period_end:%d/%m/%Y})"
    )
    subtitle = (data.get("title") or "Tình hình bảo đảm an toàn hệ thống thông tin theo cấp độ") + f" {period_text}"
    systems = totals.get("systems", 0)
    sections = [
        Section(
            "I. THÔNG TIN CHUNG",
            [
                f"Cơ quan, tổ chức báo cáo: {organization.name}.",
                f"Kỳ báo cáo: {period_text}. Hạn gửi báo cáo: trước ngày {report.due_date:%d/%m/%Y}.",
                f"Căn cứ pháp lý áp dụng: {report.regime}"
                + (f"; biểu mẫu: {data['form']}." if data.get("form") else "."),
                "Số liệu được tổng hợp từ Nền tảng quản lý an toàn thông tin lúc "
                f"{_timestamp(data.get('generated_at'))}.",
            ],
        ),
        Section(
            "II. HỆ THỐNG THÔNG TIN VÀ CẤP ĐỘ",
            [
                f"Tổng số hệ thống thông tin thuộc phạm vi quản lý: {_n(systems)}.",
                f"Số hệ thống được phê duyệt hồ sơ đề xuất cấp độ: {_n(totals.get('approved', 0))}/{_n(systems)} "
                f"(đạt {_n(float(totals.get('approved_pct', 0.0)))}%; chỉ tiêu 100%).",
                f"Số hồ sơ được phê duyệt trong kỳ: {_n(totals.get('approved_in_period', 0))}; "
                f"số hồ sơ quá hạn xử lý: {_n(totals.get('dossiers_overdue', 0))}.",
            ],
            [
                Table(
                    ["Cấp độ", "Cấp độ đề xuất (số hệ thống)", "Cấp độ được phê duyệt (số hệ thống)"],
                    [
                        [
                            LEVEL_TEXT[key] if key != "none" else "Chưa xác định / chưa phê duyệt",
                            totals.get("proposed_by_level", {}).get(key, 0),
                            totals.get("by_level", {}).get(key, 0),
                        ]
                        for key in [*map(str, LEVELS), "none"]
                    ],
                    widths=[2, 2, 2],
                )
            ],
        ),
        Section(
            "III. TRIỂN KHAI PHƯƠNG ÁN BẢO ĐẢM AN TOÀN THEO CẤP ĐỘ",
            [
                f"Số hệ thống triển khai đầy đủ phương án bảo đảm an toàn: {_n(totals.get('fully', 0))}/{_n(systems)} "
                f"(đạt {_n(float(totals.get('fully_pct', 0.0)))}%; chỉ tiêu 100%).",
            ],
            [
                Table(
                    ["Tình trạng triển khai", "Số hệ thống"],
                    [
                        [IMPLEMENTATION_TEXT[key], totals.get("implementation", {}).get(key, 0)]
                        for key in ("full", "partial", "none", "n/a")
                    ],
                    widths=[4, 2],
                )
            ],
        ),
        Section(
            "IV. KIỂM TRA, ĐÁNH GIÁ VÀ MÔ HÌNH 4 LỚP",
            [
                f"Số hệ thống được kiểm tra, đánh giá trong kỳ: {_n(totals.get('systems_checked', 0))}; "
                f"số lượt kiểm tra hoàn thành: {_n(totals.get('checks_done_in_period', 0))}; "
                f"số lượt kiểm tra định kỳ quá hạn: {_n(totals.get('checks_overdue', 0))}.",
                "Phát hiện qua kiểm tra: "
                + "; ".join(
                    f"{FINDING_TEXT[k]} {_n(v)}" for k, v in totals.get("findings", {}).items() if k in FINDING_TEXT
                )
                + ".",
            ],
            [
                Table(
                    ["Lớp bảo vệ", "Số hệ thống", "Tỷ lệ (%)"],
                    [
                        [
                            LAYER_TEXT[key],
                            totals.get("layers", {}).get(key, 0),
                            float(totals.get("layers_pct", {}).get(key, 0.0)),
                        ]
                        for key in (*LAYERS, "all")
                    ],
                    widths=[4, 2, 2],
                )
            ],
        ),
    ]
    system_rows = [
        [
            i,
            s["name"],
            s["owner"],
            s["operator"],
            s["proposed_level"] or "",
            PHASE_TEXT.get(s["dossier_phase"], ""),
            ", ".join(x for x in (s["decision_number"], _d(s["decision_date"]), s["approver"]) if x),
            IMPLEMENTATION_TEXT[s["implementation"]],
            _d(s["expected_full"]),
            "Định kỳ" if s["checked"] else "",
        ]
        for i, s in enumerate(data.get("systems", []), start=1)
    ]
    if data.get("systems_listed", True):
        sections.append(
            Section(
                "V. DANH SÁCH HỆ THỐNG THÔNG TIN",
                [
                    f"Danh sách theo {data['form']}."
                    if data.get("form")
                    else "Danh sách hệ thống thông tin thuộc phạm vi báo cáo."
                ],
                [Table(SYSTEM_COLUMNS, system_rows, widths=[0.6, 3, 2.2, 2.2, 1, 1.6, 2.2, 1.8, 1.4, 1.2])],
            )
        )
    else:
        sections.append(
            Section(
                "V. DANH SÁCH HỆ THỐNG THÔNG TIN",
                [
                    f"Phạm vi báo cáo có {_n(systems)} hệ thống; danh sách chi tiết từng hệ thống có trong báo cáo "
                    "của các đơn vị trực thuộc."
                ],
            )
        )
    requirement_rows = [
        [r["regime"], r["code"], r["text"], *(r.get(status, 0) for status in STATUS_TEXT)]
        for r in data.get("requirements", [])
    ]
    sections.append(
        Section(
            "VI. ĐÁNH GIÁ VIỆC TRIỂN KHAI THEO TỪNG YÊU CẦU",
            ["Số hệ thống theo tình trạng đáp ứng của từng yêu cầu an toàn (theo phương án được phê duyệt)."]
            if requirement_rows
            else ["Chưa có hệ thống nào được đồng bộ danh mục yêu cầu."],
            [
                Table(
                    ["Chế độ", "Mã", "Yêu cầu", *STATUS_TEXT.values()],
                    requirement_rows,
                    widths=[1.2, 1.2, 5, 1, 1, 1, 1, 1],
                )
            ]
            if requirement_rows
            else [],
        )
    )
    children = data.get("children", [])
    if children:
        submitted = sum(1 for c in children if c["state"] == StatusReport.State.SUBMITTED)
        late = sum(1 for c in children if c["late"])
        sections.append(
            Section(
                "VII. TÌNH HÌNH BÁO CÁO CỦA CÁC ĐƠN VỊ TRỰC THUỘC",
                [f"Đã nộp {submitted}/{len(children)} đơn vị; chậm hoặc chưa nộp khi đến hạn: {late} đơn vị."],
                [
                    Table(
                        [
                            "Đơn vị",
                            "Số HTTT",
                            "Được phê duyệt",
                            "Tỷ lệ (%)",
                            "Triển khai đầy đủ",
                            "Tỷ lệ (%)",
                            "Tình trạng báo cáo",
                        ],
                        [
                            [
                                c["name"],
                                c["systems"],
                                c["approved"],
                                float(c["approved_pct"]),
                                c["fully"],
                                float(c["fully_pct"]),
                                _report_state_text(c),
                            ]
                            for c in children
                        ],
                        widths=[4, 1, 1.2, 1, 1.2, 1, 2.2],
                    )
                ],
            )
        )
    sections.append(
        Section(
            f"{'VIII' if children else 'VII'}. KHÓ KHĂN, VƯỚNG MẮC VÀ ĐỀ XUẤT, KIẾN NGHỊ",
            [line for line in (report.notes or "Không có.").splitlines() if line.strip()],
        )
    )
    recipients = [f"{parent.name};" if parent is not None else "Lãnh đạo Bộ (để báo cáo);", "Lưu: VT."]
    return Outline(
        parent_name=(parent.name if parent else "").upper(),
        organization_name=organization.name.upper(),
        form=data.get("form", ""),
        number_line="Số:        /BC-" + (organization.short_name or organization.code.upper())[:20],
        date_line=f"……, ngày {when.day:02d} tháng {when.month:02d} năm {when.year}",
        title="BÁO CÁO",
        subtitle=subtitle,
        sections=sections,
        recipients=recipients,
        signer="THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ",
    )


def _timestamp(value: str | None) -> str:
    if not value:
        return ""
    moment = timezone.localtime(datetime.datetime.fromisoformat(value))
    return moment.strftime("%H:%M ngày %d/%m/%Y")


def _report_state_text(child: dict) -> str:
    if child["state"] == StatusReport.State.SUBMITTED:
        text = f"Đã nộp {_d(child['submitted_at'][:10])}"
        return text + " (chậm)" if child["late"] else text
    if child["state"] == StatusReport.State.DRAFT:
        return "Đang dự thảo" + (" (quá hạn)" if child["late"] else "")
    return "Chưa nộp" + (" (quá hạn)" if child["late"] else "")


def render_docx(report: StatusReport) -> bytes:
    """The report as a Word document in the Decree 30/2020 layout (Times New Roman 13, A4 margins)."""
    return outline_docx(outline(report))


def render_xlsx(report: StatusReport) -> bytes:
    """The report as a workbook: a summary sheet and one sheet per table, ready for consolidation."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    from attt.core.spreadsheets import append_row

    doc_outline = outline(report)
    workbook = Workbook()
    summary = workbook.active
    summary.title = "Tổng hợp"
    bold = Font(bold=True)
    lines = [
        [doc_outline.organization_name],
        [doc_outline.title + " – " + doc_outline.subtitle],
        [doc_outline.form] if doc_outline.form else None,
        [],
    ]
    for line in filter(lambda x: x is not None, lines):
        append_row(summary, line)
    summary["A1"].font = summary["A2"].font = bold
    sheet_names = {"Tổng hợp"}
    for block in doc_outline.sections:
        append_row(summary, [block.heading])
        summary.cell(row=summary.max_row, column=1).font = bold
        for text in block.paragraphs:
            append_row(summary, [text])
        for table in block.tables:
            name = _sheet_name(block.heading, sheet_names)
            sheet = workbook.create_sheet(name)
            append_row(sheet, table.headers)
            for cell in sheet[1]:
                cell.font = bold
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            for row in table.rows:
                append_row(sheet, row)
            for index, width in enumerate(table.widths or [2] * len(table.headers), start=1):
                sheet.column_dimensions[get_column_letter(index)].width = max(8, width * 10)
            sheet.freeze_panes = "A2"
    summary.column_dimensions["A"].width = 120
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_name(heading: str, taken: set[str]) -> str:
    base = heading.split(". ", 1)[-1][:28].strip() or "Bảng"
    for ch in "[]:*?/\\":
        base = base.replace(ch, " ")
    name, n = base, 2
    while name in taken:
        name, n = f"{base[:25]} {n}", n + 1
    taken.add(name)
    return name


VIETNAMESE_SAMPLE = "ẠảẤầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđĐơƯư"
FONT_CANDIDATES = [
    ("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    (
        "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf",
    ),
    ("/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf", "/usr/share/fonts/truetype/noto/NotoSerif-Bold.ttf"),
]


@cache
def pdf_fonts() -> tuple[str, str]:
    """Register and return (regular, bold) font names that have every Vietnamese glyph.

    reportlab's own fonts (Helvetica, Vera) lack most of them, so a system font is required: Debian's
    fonts-dejavu-core first. A font is accepted only if it covers the sample of Vietnamese letters.
    """
    from reportlab import rl_config
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    bundled = [(str(Path(d) / "Vera.ttf"), str(Path(d) / "VeraBd.ttf")) for d in rl_config.TTFSearchPath]
    for regular, bold in [*FONT_CANDIDATES, *bundled]:
        if not (Path(regular).is_file() and Path(bold).is_file()):
            continue
        font = TTFont("attt-regular", regular)
        if all(ord(ch) in font.face.charToGlyph for ch in VIETNAMESE_SAMPLE):
            pdfmetrics.registerFont(font)
            pdfmetrics.registerFont(TTFont("attt-bold", bold))
            return "attt-regular", "attt-bold"
    raise RuntimeError("No font with Vietnamese glyphs found for PDF export: install Debian's fonts-dejavu-core.")


def render_pdf(report: StatusReport) -> bytes:
    """The report as an A4 PDF with the same outline, in a font that has the Vietnamese glyphs."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_RIGHT
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.platypus import NextPageTemplate, PageBreak, PageTemplate, Paragraph, Spacer, TableStyle
    from reportlab.platypus import Table as PdfTable
    from reportlab.platypus.doctemplate import BaseDocTemplate
    from reportlab.platypus.frames import Frame

    regular, bold = pdf_fonts()
    doc_outline = outline(report)
    base = ParagraphStyle("base", fontName=regular, fontSize=11, leading=14)
    styles = {
        "center": ParagraphStyle("center", parent=base, alignment=TA_CENTER),
        "center_bold": ParagraphStyle("center_bold", parent=base, fontName=bold, alignment=TA_CENTER),
        "motto": ParagraphStyle("motto", parent=base, fontName=bold, fontSize=10, alignment=TA_CENTER),
        "title": ParagraphStyle("title", parent=base, fontName=bold, fontSize=14, leading=18, alignment=TA_CENTER),
        "heading": ParagraphStyle("heading", parent=base, fontName=bold, spaceBefore=8, spaceAfter=4),
        "body": ParagraphStyle("body", parent=base, alignment=TA_JUSTIFY, firstLineIndent=1 * cm, spaceAfter=4),
        "right": ParagraphStyle("right", parent=base, fontName=bold, alignment=TA_RIGHT),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10),
        "cell_bold": ParagraphStyle("cell_bold", parent=base, fontName=bold, fontSize=8, leading=10),
        "italic": ParagraphStyle("italic", parent=base, alignment=TA_CENTER),
    }

    def p(text: str, style: str = "body") -> Paragraph:
        return Paragraph(escape(str(text)), styles[style])

    buffer = io.BytesIO()
    portrait_frame = Frame(3 * cm, 2 * cm, A4[0] - 5 * cm, A4[1] - 4 * cm, id="portrait")
    wide = landscape(A4)
    landscape_frame = Frame(2 * cm, 2 * cm, wide[0] - 4 * cm, wide[1] - 4 * cm, id="landscape")
    document = BaseDocTemplate(
        buffer,
        pagesize=A4,
        title=f"{doc_outline.title} – {doc_outline.subtitle}",
        author=doc_outline.organization_name,
        lang="vi",
    )
    document.addPageTemplates(
        [
            PageTemplate(id="portrait", frames=[portrait_frame], pagesize=A4),
            PageTemplate(id="landscape", frames=[landscape_frame], pagesize=wide),
        ]
    )
    story: list = []
    if doc_outline.form:
        story.append(p(doc_outline.form, "right"))
    left = [p(doc_outline.parent_name, "center")] if doc_outline.parent_name else []
    left += [
        p(doc_outline.organization_name, "center_bold"),
        p("_______", "center"),
        p(doc_outline.number_line, "center"),
    ]
    right = [
        p(MOTTO[0], "motto"),
        p(MOTTO[1], "center_bold"),
        p("_______________________", "center"),
        p(doc_outline.date_line, "italic"),
    ]
    story.append(PdfTable([[left, right]], colWidths=[6 * cm, 10 * cm]))
    story += [Spacer(1, 12), p(doc_outline.title, "title"), p(doc_outline.subtitle, "title"), Spacer(1, 12)]
    width = {"portrait": A4[0] - 5 * cm, "landscape": wide[0] - 4 * cm}
    current = "portrait"
    for block in doc_outline.sections:
        story.append(p(block.heading, "heading"))
        story += [p(text) for text in block.paragraphs]
        for table in block.tables:
            if len(table.headers) > 7 and current != "landscape":
                story += [NextPageTemplate("landscape"), PageBreak()]
                current = "landscape"
            weights = table.widths or [1] * len(table.headers)
            total = sum(weights)
            cells = [[p(h, "cell_bold") for h in table.headers]]
            cells += [[p(cell_text(v), "cell") for v in row] for row in table.rows]
            grid = PdfTable(cells, colWidths=[width[current] * w / total for w in weights], repeatRows=1)
            grid.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                    ]
                )
            )
            story += [grid, Spacer(1, 6)]
    story.append(Spacer(1, 12))
    recipients = [p("Nơi nhận:", "cell_bold")] + [p(f"- {line}", "cell") for line in doc_outline.recipients]
    signer = [p(doc_outline.signer, "center_bold"), p("(Ký, ghi rõ họ tên, đóng dấu)", "italic")]
    story.append(PdfTable([[recipients, signer]], colWidths=[width[current] / 2] * 2))
    document.build(story)
    return buffer.getvalue()


EXPORTS = {
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", render_docx),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", render_xlsx),
    "pdf": ("application/pdf", render_pdf),
}


def export(report: StatusReport, fmt: str) -> tuple[bytes, str, str]:
    """(content, content type, file name) of the report in `fmt`; the export is audited."""
    if fmt not in EXPORTS:
        raise ValidationError(_("Unknown format; choose one of %(formats)s.") % {"formats": ", ".join(EXPORTS)})
    content_type, render = EXPORTS[fmt]
    content = render(report)
    audit.record(AuditEvent.Action.EXPORT, obj=report, changes={"format": fmt, "bytes": len(content)})
    name = f"bao-cao-{report.kind}-{report.organization.code}-{report.period_end:%Y%m%d}.{fmt}"
    return content, content_type, name


# --- National roll-up -----------------------------------------------------------------------------------


def rollup(
    organization: Organization, kind: str, *, year: int, month: int | None = None, today: datetime.date | None = None
) -> dict:
    """Who under `organization` has sent the period's report and who is late, with the live figures of
    the whole subtree: what the national authority reads before generating its own report."""
    period = period_for(kind, year, month)
    figures = build_figures(organization, period, today=today)
    children = figures["children"]
    return {
        "period": figures["period"],
        "totals": figures["totals"],
        "children": children,
        "submitted": sum(1 for c in children if c["state"] == StatusReport.State.SUBMITTED),
        "late": [c["name"] for c in children if c["late"]],
    }
