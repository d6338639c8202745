"""The forms the regime asks for (notification, initial report, closure report, member report) as DOCX, written by
the compliance report writer from a neutral outline (title and legal form from regulation data)."""

from __future__ import annotations

from django.utils import timezone

from attt.compliance import services as compliance_services
from attt.incidents import services
from attt.incidents.models import Incident, MemberReport
from attt.regulation import services as regulation

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _d(value) -> str:
    return timezone.localtime(value).strftime("%H:%M %d/%m/%Y") if value else ""


def _header(organization, form, regime: str):
    policy = regulation.incident_policy(regime)
    today = timezone.localdate()
    return {
        "parent_name": organization.parent.name.upper() if organization.parent else "",
        "organization_name": organization.name.upper(),
        "form": form.form_vi,
        "number_line": "Số:      /BC-" + (organization.code or "").upper()[:12],
        "date_line": f"ngày {today.day:02d} tháng {today.month:02d} năm {today.year}",
        "recipients": [policy.coordinator_vi, "Lưu: VT."],
        "signer": "THỦ TRƯỞNG ĐƠN VỊ",
    }


def _reporter(incident: Incident) -> str:
    name = incident.reporter_name or (incident.reporter.get_full_name() if incident.reporter else "")
    return f"{name} {incident.reporter_contact}".strip()


def incident_form(incident: Incident, code: str) -> tuple[bytes, str]:
    """One of the incident's forms ("notification", "initial_report", "closure_report") as (DOCX, file name)."""
    Outline, Section, Table = compliance_services.Outline, compliance_services.Section, compliance_services.Table
    policy = regulation.incident_policy(incident.regime)
    form = policy.forms[code]
    kind = services.taxonomy().get(incident.category)
    systems = list(incident.systems.select_related("organization", "operator"))
    observables = list(incident.observables.all()[:200])
    sections = [
        Section(
            "1. Thông tin về đơn vị báo cáo và hệ thống bị sự cố",
            [
                f"Đơn vị báo cáo: {incident.organization.name}.",
                f"Người báo cáo: {_reporter(incident)}.",
            ],
            [
                Table(
                    ["STT", "Tên hệ thống", "Chủ quản", "Đơn vị vận hành", "Cấp độ"],
                    [
                        [
                            i + 1,
                            s.name,
                            s.organization.name,
                            s.operator.name if s.operator else "",
                            s.decided_level or "",
                        ]
                        for i, s in enumerate(systems)
                    ],
                )
            ]
            if systems
            else [],
        ),
        Section(
            "2. Mô tả sự cố",
            [
                f"Số hiệu sự cố: {incident.number}. Thời điểm phát hiện: {_d(incident.discovered_at)}.",
                f"Loại sự cố: {kind.label('vi') if kind else 'Chưa phân loại'}. Mức độ: "
                f"{'Nghiêm trọng' if incident.severity == 'serious' else 'Thông thường'}. TLP:{incident.tlp.upper()}.",
                incident.title + ". " + incident.description,
            ],
            [Table(["Loại", "Giá trị"], [[o.kind, o.value] for o in observables])] if observables else [],
        ),
        Section(
            "3. Kết quả xử lý, đề xuất, kiến nghị",
            [
                f"{t.organization.name}: {t.title} – {t.get_status_display()}. {t.evidence}".strip()
                for t in incident.tasks.select_related("organization")
            ]
            or ["Đang xử lý."],
        ),
    ]
    legal = "; ".join(r.cite("vi") for r in form.legal_basis)
    doc_outline = Outline(
        **_header(incident.organization, form, incident.regime),
        title=form.title_vi,
        subtitle=f"(Căn cứ {legal})",
        sections=sections,
    )
    return compliance_services.outline_docx(doc_outline), f"{incident.number}-{code}.docx"


def member_report_docx(report: MemberReport) -> tuple[bytes, str]:
    Outline, Section, Table = compliance_services.Outline, compliance_services.Section, compliance_services.Table
    regime = regulation.regime_in_force(report.due_date).code
    form = regulation.incident_policy(regime).forms["member_report"]
    f = report.figures or {}
    doc_outline = Outline(
        **_header(report.member.organization, form, regime),
        title=form.title_vi,
        subtitle=f"Kỳ báo cáo: {services.period_label(report, 'vi')} năm {report.year}",
        sections=[
            Section(
                "1. Thông tin đầu mối",
                [
                    f"{report.member.name}; đầu mối: {report.member.contact_name}; "
                    f"điện thoại trực 24/7: {report.member.contact_phone}; "
                    f"thư điện tử: {report.member.contact_email}."
                ],
            ),
            Section(
                "2. Kết quả tham gia điều phối, ứng cứu sự cố",
                [],
                [
                    Table(
                        ["Số nhiệm vụ được giao", "Đã hoàn thành", "Thời gian tiếp nhận trung bình (giờ)"],
                        [[f.get("handled", 0), f.get("done", 0), f.get("ack_hours") or ""]],
                    )
                ],
            ),
        ],
    )
    return compliance_services.outline_docx(doc_outline), f"bao-cao-thanh-vien-{report.year}-{report.period}.docx"
