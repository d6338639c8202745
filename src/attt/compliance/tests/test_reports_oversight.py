"""Periodic reports: windows and deadlines, contents against a hand-computed set, locking, roll-up, exports."""

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from attt.compliance import reports
from attt.compliance.models import StatusReport
from attt.compliance.tests.factories_oversight import build_sample, make_report
from attt.core.models import AuditEvent, Notification
from attt.core.testing import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def sample(tree, today):
    return build_sample(tree, today)


# --- Windows and deadlines ------------------------------------------------------------------------------


def test_annual_window_and_deadlines_under_decree_331():
    period = reports.annual_period(2026)
    assert (period.start, period.end) == (datetime.date(2025, 12, 15), datetime.date(2026, 12, 14))
    assert period.due_to_owner == datetime.date(2026, 12, 20)
    assert period.due_to_authority == datetime.date(2026, 12, 25)
    assert period.regime == "ND331_2026"
    assert period.form == "Mẫu 08"


def test_annual_window_under_decree_85_has_no_form():
    period = reports.annual_period(2025)
    assert (period.start, period.end) == (datetime.date(2024, 12, 15), datetime.date(2025, 12, 14))
    assert (period.due_to_owner, period.due_to_authority) == (datetime.date(2025, 12, 20), datetime.date(2025, 12, 25))
    assert period.regime == "ND85_2016" and period.form == ""


def test_owner_reports_to_the_authority_and_units_to_their_owner(tree):
    period = reports.annual_period(2026)
    assert period.due_for(tree.province_a) == datetime.date(2026, 12, 25)
    assert period.due_for(tree.dept_a) == datetime.date(2026, 12, 20)


@pytest.mark.parametrize(
    ("year", "month", "end", "due"),
    [
        (2026, 11, datetime.date(2026, 11, 30), datetime.date(2026, 12, 20)),
        (2026, 12, datetime.date(2026, 12, 31), datetime.date(2027, 1, 20)),
        (2026, 2, datetime.date(2026, 2, 28), datetime.date(2026, 3, 20)),
    ],
)
def test_monthly_period_is_due_before_the_20th_of_the_next_month(year, month, end, due):
    period = reports.monthly_period(year, month)
    assert (period.start, period.end, period.due_to_authority) == (datetime.date(year, month, 1), end, due)


def test_monthly_regime_follows_the_end_of_the_month():
    assert reports.monthly_period(2026, 7).regime == "ND85_2016"
    assert reports.monthly_period(2026, 8).regime == "ND331_2026"  # in force from 19 Aug 2026


def test_bad_periods_are_refused():
    with pytest.raises(ValidationError):
        reports.period_for(StatusReport.Kind.MONTHLY, 2026)
    with pytest.raises(ValidationError):
        reports.period_for("weekly", 2026)


def test_a_month_before_any_regime_is_refused_with_a_sentence(api, client, tree, national_admin):
    """A monthly report for March 2016 (the generate form and the API take years from 2016; Decree 85 came into
    force on 1 July 2016) answered 500 (Server Error) instead of saying what is wrong."""
    body = {"organization": str(tree.province_a.pk), "kind": "monthly", "year": 2016, "month": 3}
    api.force_authenticate(national_admin)
    api.cookies["attt_language"] = "en"
    refused = api.post(reverse("api:statusreport-generate"), body, format="json")
    assert refused.status_code == 400 and "No legal regime" in refused.json()["errors"]["year"][0]
    client.force_login(national_admin)
    page = client.post(reverse("compliance:statusreport_add"), body)
    assert page.status_code == 200 and page.context["form"].errors["year"]
    assert not StatusReport.objects.exists()
    assert reports.monthly_period(2016, 7).regime == "ND85_2016"


def test_lateness(tree):
    report = make_report(tree.province_a, due_date=datetime.date(2026, 12, 20))
    assert not reports.is_late(report, datetime.date(2026, 12, 19))
    assert reports.is_late(report, datetime.date(2026, 12, 20))
    report.submitted_at = timezone.make_aware(datetime.datetime(2026, 12, 19, 16, 0))
    assert not reports.is_late(report, datetime.date(2027, 1, 5))


# --- Contents -------------------------------------------------------------------------------------------


def test_province_report_figures(sample, tree, today):
    period = reports.annual_period(2026)
    data = reports.build_figures(tree.province_b, period, today=today)
    totals = data["totals"]
    assert totals["systems"] == 3
    assert totals["by_level"] == {"1": 1, "2": 0, "3": 1, "4": 0, "5": 0, "none": 1}
    assert (totals["approved"], totals["approved_pct"], totals["fully"], totals["fully_pct"]) == (2, 66.7, 1, 33.3)
    assert totals["implementation"] == {"full": 1, "partial": 0, "none": 1, "n/a": 1}
    assert totals["proposed_by_level"] == {"1": 1, "2": 0, "3": 1, "4": 1, "5": 0, "none": 0}
    assert totals["dossiers"] == {"approved": 2, "submitted": 1}
    assert (totals["dossiers_overdue"], totals["checks_overdue"]) == (1, 1)
    assert totals["layers"]["onsite"] == 1 and totals["layers"]["all"] == 0
    systems = {s["name"]: s for s in data["systems"]}
    assert set(systems) == {"Cổng dịch vụ công B", "Thư điện tử B", "Trục liên thông B"}
    portal = systems["Cổng dịch vụ công B"]
    assert (portal["approved_level"], portal["implementation"], portal["dossier_phase"]) == (3, "full", "approved")
    assert portal["decision_number"].endswith("/QĐ-UBND")
    assert systems["Trục liên thông B"]["dossier_phase"] == "sent"
    assert systems["Trục liên thông B"]["proposed_level"] == 4
    assert systems["Thư điện tử B"]["implementation"] == "none"
    requirements = {(r["regime"], r["code"]): r for r in data["requirements"]}
    assert requirements[("ND85_2016", "REQ-01")]["met"] == 1
    assert [c["code"] for c in data["children"]] == ["so-b"]
    assert data["form"] == "Mẫu 08" and data["regime"] == "ND331_2026"


def test_checked_systems_follow_the_window(sample, tree, today):
    """S5's check was done 95 days ago: inside a window that covers it, outside one that ends before."""
    done = today - datetime.timedelta(days=95)
    inside = reports.build_figures(tree.province_b, reports.monthly_period(done.year, done.month), today=today)
    assert inside["totals"]["systems_checked"] == 1 and inside["totals"]["checks_done_in_period"] == 1
    earlier = done.replace(day=1) - datetime.timedelta(days=1)
    outside = reports.build_figures(tree.province_b, reports.monthly_period(earlier.year, earlier.month), today=today)
    assert outside["totals"]["systems_checked"] == 0


def test_partial_implementation(sample, tree, today):
    data = reports.build_figures(tree.province_a, reports.annual_period(2026), today=today)
    assert data["totals"]["implementation"] == {"full": 1, "partial": 1, "none": 0, "n/a": 1}
    quan_ly = next(s for s in data["systems"] if s["name"] == "Quản lý văn bản A")
    assert (quan_ly["items_applicable"], quan_ly["items_met"]) == (2, 1)


def test_national_rollup_shows_who_submitted_and_who_is_late(sample, tree, national_admin):
    period = reports.monthly_period(2026, 10)
    on_time = reports.generate(tree.province_a, StatusReport.Kind.MONTHLY, year=2026, month=10, by=national_admin)
    reports.submit(on_time, by=national_admin)
    rollup = reports.rollup(
        tree.root,
        StatusReport.Kind.MONTHLY,
        year=2026,
        month=10,
        today=period.due_to_authority + datetime.timedelta(days=1),
    )
    assert rollup["totals"]["systems"] == 6
    states = {c["code"]: (c["state"], c["late"]) for c in rollup["children"]}
    assert states["tinh-a"][0] == "submitted"
    assert states["tinh-b"] == ("missing", True) and states["bo-m"] == ("missing", True)
    assert rollup["submitted"] == 1 and set(rollup["late"]) >= {"Tỉnh B", "Bộ M"}


def test_large_reports_list_units_instead_of_systems(sample, tree, today, monkeypatch):
    monkeypatch.setattr(reports, "SYSTEM_LIST_LIMIT", 2)
    data = reports.build_figures(tree.root, reports.annual_period(2026), today=today)
    assert data["systems"] == [] and not data["systems_listed"]
    assert data["totals"]["systems"] == 6


# --- Life cycle -----------------------------------------------------------------------------------------


def test_generate_submit_locks_audits_and_notifies(sample, tree, national_admin):
    officer = make_user(tree.province_a, "security_officer", username="officer-a")
    report = reports.generate(tree.dept_a, StatusReport.Kind.ANNUAL, year=2026, by=officer)
    assert report.due_date == datetime.date(2026, 12, 20)  # a unit reports to its owner first
    assert report.data["totals"]["systems"] == 3  # Sở A and its operating centre
    report = reports.update_notes(report, "Thiếu nhân lực chuyên trách.")
    again = reports.generate(tree.dept_a, StatusReport.Kind.ANNUAL, year=2026, by=officer)
    assert again.pk == report.pk and again.notes == "Thiếu nhân lực chuyên trách."  # a draft is refreshed
    submitted = reports.submit(report, by=officer)
    assert submitted.state == StatusReport.State.SUBMITTED and submitted.submitted_by == officer
    event = AuditEvent.objects.filter(object_id=str(report.pk), action=AuditEvent.Action.WORKFLOW).get()
    assert event.changes["step"] == "submit"
    # the parent (province A) is told: the officer holds compliance.statusreport.view there
    assert Notification.objects.filter(recipient=officer, link=report.get_absolute_url()).exists()
    assert Notification.objects.filter(recipient=national_admin, link=report.get_absolute_url()).exists()
    with pytest.raises(reports.ReportLocked):
        reports.update_notes(submitted, "changed")
    with pytest.raises(reports.ReportLocked):
        reports.submit(submitted, by=officer)
    with pytest.raises(reports.ReportLocked):
        reports.generate(tree.dept_a, StatusReport.Kind.ANNUAL, year=2026, by=officer)
    submitted.refresh_from_db()
    assert submitted.notes == "Thiếu nhân lực chuyên trách."


def test_notes_written_on_a_page_older_than_another_save_are_refused(client, sample, tree, national_admin):
    """The notes page saves through `update_notes`, not the base form save, and is still refused when the report
    was saved after the page was opened (here, another person's notes): nothing written, a sentence shown."""
    from attt.core.locks import VERSION_FIELD
    from attt.core.testing import shown_version
    from attt.core.views.generic import CONFLICT_MESSAGE

    report = reports.generate(tree.province_a, StatusReport.Kind.MONTHLY, year=2026, month=10, by=national_admin)
    client.force_login(national_admin)
    url = reverse("compliance:statusreport_edit", args=[report.pk])
    shown = shown_version(client.get(url))
    reports.update_notes(StatusReport.objects.get(pk=report.pk), "Ghi chú của người khác")
    refused = client.post(url, {"notes": "Ghi chú của tôi", VERSION_FIELD: shown})
    assert refused.status_code == 200 and refused.context["form"].errors == {"__all__": [str(CONFLICT_MESSAGE)]}
    assert StatusReport.objects.get(pk=report.pk).notes == "Ghi chú của người khác"
    saved = client.post(url, {"notes": "Ghi chú của tôi", VERSION_FIELD: shown_version(refused)})
    assert saved.status_code == 302 and StatusReport.objects.get(pk=report.pk).notes == "Ghi chú của tôi"


def test_locked_report_refuses_edits_in_the_ui_and_api(client, api, sample, tree, national_admin):
    report = reports.generate(tree.province_a, StatusReport.Kind.MONTHLY, year=2026, month=10, by=national_admin)
    client.force_login(national_admin)
    assert client.get(reverse("compliance:statusreport_edit", args=[report.pk])).status_code == 200
    response = client.post(reverse("compliance:statusreport_submit", args=[report.pk]))
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.state == StatusReport.State.SUBMITTED
    assert client.get(reverse("compliance:statusreport_edit", args=[report.pk])).status_code == 403
    assert client.post(reverse("compliance:statusreport_edit", args=[report.pk]), {"notes": "x"}).status_code == 403
    assert client.post(reverse("compliance:statusreport_delete", args=[report.pk])).status_code == 403
    assert client.post(reverse("compliance:statusreport_regenerate", args=[report.pk])).status_code == 403
    detail = client.get(reverse("compliance:statusreport_detail", args=[report.pk]))
    assert detail.status_code == 200 and b"statusreport_submit" not in detail.content
    api.force_authenticate(national_admin)
    url = reverse("api:statusreport-detail", args=[report.pk])
    assert api.patch(url, {"notes": "x"}, format="json").status_code == 409
    assert api.delete(url).status_code == 409
    assert api.post(reverse("api:statusreport-submit", args=[report.pk])).status_code == 409
    generate = api.post(
        reverse("api:statusreport-generate"),
        {"organization": str(tree.province_a.pk), "kind": "monthly", "year": 2026, "month": 10},
        format="json",
    )
    assert generate.status_code == 409
    report.refresh_from_db()
    assert report.notes == ""


def test_api_generate_patch_submit(api, sample, tree, national_admin):
    api.force_authenticate(national_admin)
    response = api.post(
        reverse("api:statusreport-generate"),
        {"organization": str(tree.province_b.pk), "kind": "annual", "year": 2026},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["data"]["totals"]["systems"] == 3 and body["due_date"] == "2026-12-25"
    url = reverse("api:statusreport-detail", args=[body["id"]])
    assert api.patch(url, {"notes": "Đề xuất bổ sung kinh phí."}, format="json").status_code == 200
    assert api.patch(url, {"state": "submitted"}, format="json").status_code == 400  # read-only field
    assert api.post(reverse("api:statusreport-list"), {}, format="json").status_code == 405
    submitted = api.post(reverse("api:statusreport-submit", args=[body["id"]]))
    assert submitted.status_code == 200 and submitted.json()["state"] == "submitted"


def test_report_generation_is_scoped(api, client, sample, tree):
    officer_a = make_user(tree.province_a, "security_officer", username="officer-a2")
    api.force_authenticate(officer_a)
    refused = api.post(
        reverse("api:statusreport-generate"),
        {"organization": str(tree.province_b.pk), "kind": "monthly", "year": 2026, "month": 10},
        format="json",
    )
    assert refused.status_code == 400  # province B is not an organisation this user can name
    foreign = make_report(tree.province_b)
    assert api.get(reverse("api:statusreport-detail", args=[foreign.pk])).status_code == 404
    client.force_login(officer_a)
    assert client.get(reverse("compliance:statusreport_detail", args=[foreign.pk])).status_code == 404
    form = client.post(
        reverse("compliance:statusreport_add"),
        {"organization": tree.province_b.pk, "kind": "monthly", "year": 2026, "month": 10},
    )
    assert form.status_code == 200
    assert not StatusReport.objects.filter(
        organization=tree.province_b, period_end=datetime.date(2026, 10, 31)
    ).exists()
    ok = client.post(
        reverse("compliance:statusreport_add"),
        {"organization": tree.province_a.pk, "kind": "monthly", "year": 2026, "month": 10},
    )
    assert ok.status_code == 302


# --- Exports --------------------------------------------------------------------------------------------


@pytest.fixture
def annual(sample, tree, national_admin):
    report = reports.generate(tree.province_a, StatusReport.Kind.ANNUAL, year=2026, by=national_admin)
    return reports.update_notes(report, "Khó khăn: thiếu kinh phí.\nĐề xuất: tập huấn.")


def test_docx_reads_back(annual):
    from docx import Document

    content, content_type, name = reports.export(annual, "docx")
    assert name.endswith(".docx") and "wordprocessingml" in content_type
    document = Document(io.BytesIO(content))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(c.text for t in document.tables for row in t.rows for c in row.cells)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in cells and "Độc lập - Tự do - Hạnh phúc" in cells
    assert "TỈNH A" in cells and "Số:" in cells
    assert "BÁO CÁO" in text and "Mẫu 08" in text
    assert "Cổng dịch vụ công A" in cells and "Khó khăn: thiếu kinh phí." in text
    assert AuditEvent.objects.filter(object_id=str(annual.pk), action=AuditEvent.Action.EXPORT).exists()


def test_docx_takes_notes_pasted_with_control_characters(annual):
    """A vertical tab pasted from a word processor: python-docx refuses it, which failed the whole download."""
    from docx import Document

    pasted = reports.update_notes(annual, "Khó khăn:\x0bthiếu kinh phí.\x07")
    content, _type, _name = reports.export(pasted, "docx")
    text = "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)
    assert "thiếu kinh phí." in text and "\x07" not in text


def test_xlsx_reads_back(annual):
    from openpyxl import load_workbook

    content, _type, _name = reports.export(annual, "xlsx")
    workbook = load_workbook(io.BytesIO(content))
    assert workbook.sheetnames[0] == "Tổng hợp"
    values = [c for ws in workbook.worksheets for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert "Cổng dịch vụ công A" in values
    assert 3 in values  # counts stay numbers


def test_xlsx_never_turns_text_into_formulas(tree, national_admin):
    from openpyxl import load_workbook

    from attt.registry.tests.factories import make_system

    make_system(tree.dept_a, name='=HYPERLINK("http://example.invalid")')
    report = reports.generate(tree.province_a, StatusReport.Kind.MONTHLY, year=2026, month=10, by=national_admin)
    workbook = load_workbook(io.BytesIO(reports.render_xlsx(report)))
    cells = [c for ws in workbook.worksheets for row in ws.iter_rows() for c in row if c.value]
    assert all(c.data_type != "f" for c in cells)


def test_pdf_has_pages_and_vietnamese_text(annual):
    from pypdf import PdfReader

    content, content_type, _name = reports.export(annual, "pdf")
    assert content.startswith(b"%PDF") and content_type == "application/pdf"
    pdf = PdfReader(io.BytesIO(content))
    assert len(pdf.pages) >= 1
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert "Báo cáo" in text and "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text


def test_exports_through_the_ui_and_api(client, api, annual, national_admin, tree):
    client.force_login(national_admin)
    for fmt in reports.EXPORTS:
        response = client.get(reverse("compliance:statusreport_export", args=[annual.pk, fmt]))
        assert response.status_code == 200 and response["Content-Disposition"].endswith(f'.{fmt}"')
    assert client.get(reverse("compliance:statusreport_export", args=[annual.pk, "odt"])).status_code == 404
    api.force_authenticate(national_admin)
    pdf = api.get(reverse("api:statusreport-document", args=[annual.pk]), {"as": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert api.get(reverse("api:statusreport-document", args=[annual.pk]), {"as": "odt"}).status_code == 400
    admin_b = make_user(tree.province_b, "org_admin", username="admin-b")  # may export, but not province A's
    api.force_authenticate(admin_b)
    assert api.get(reverse("api:statusreport-document", args=[annual.pk])).status_code == 404
    leader_a = make_user(tree.province_a, "leader", username="leader-a")  # may view, never export
    api.force_authenticate(leader_a)
    assert api.get(reverse("api:statusreport-document", args=[annual.pk])).status_code == 403


def test_report_pages_render(client, annual, national_admin, tree):
    client.force_login(national_admin)
    listing = client.get(reverse("compliance:statusreport_list"))
    assert listing.status_code == 200 and "Tỉnh A" in listing.content.decode()
    assert client.get(reverse("compliance:statusreport_list"), {"export": "csv"}).status_code == 200
    assert client.get(reverse("compliance:statusreport_add")).status_code == 200
    detail = client.get(reverse("compliance:statusreport_detail", args=[annual.pk]))
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "Cổng dịch vụ công A" in html and "Sở A" in html


@pytest.mark.parametrize(("year", "status"), [("2026", 200), ("0", 400), ("0.0", 400), ("2026.5", 400), ("x", 400)])
def test_a_year_filter_takes_a_calendar_year_or_answers_400(api, national_admin, year, status):
    """?year=0 made the date lookup fail inside the database layer (a 500, found by schemathesis)."""
    api.force_authenticate(national_admin)
    for name in ("statusreport", "inspection"):
        response = api.get(reverse(f"api:{name}-list"), {"year": year})
        assert response.status_code == status, (name, response.content)


def test_the_api_document_offers_generate_not_a_plain_create(client):
    """POST on the list always answers 405 (reports are made from the data): the document must not offer it."""
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "post" not in paths["/api/v1/compliance/status-reports/"]
    assert "post" in paths["/api/v1/compliance/status-reports/generate/"]


def test_a_report_submitted_while_its_figures_are_refreshed_stays_as_sent(
    client, sample, tree, national_admin, monkeypatch
):
    """Someone submits the draft between the page being read and "refresh figures" being pressed: the refresh
    answered with a server error; it now says the report is locked, and the report stays as submitted."""
    from attt.compliance.views.oversight import StatusReportRegenerateView
    from attt.core.testing import in_another_transaction

    report = reports.generate(tree.province_a, StatusReport.Kind.MONTHLY, year=2026, month=10, by=national_admin)
    read = StatusReportRegenerateView.report

    def then_submitted(self, request, pk, action):
        found = read(self, request, pk, action)
        with in_another_transaction():
            reports.submit(StatusReport.objects.get(pk=pk), by=national_admin)
        return found

    monkeypatch.setattr(StatusReportRegenerateView, "report", then_submitted)
    client.force_login(national_admin)
    response = client.post(reverse("compliance:statusreport_regenerate", args=[report.pk]), follow=True)
    assert response.status_code == 200 and "đã khóa" in " ".join(str(m) for m in response.context["messages"])
    report.refresh_from_db()
    assert report.state == StatusReport.State.SUBMITTED
