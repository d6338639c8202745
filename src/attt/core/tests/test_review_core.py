"""Defects found reviewing the platform core: each test says what a user or an attacker saw before the fix."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from attt.core import audit, scoping, uploads
from attt.core.models import AuditEvent
from attt.core.models.audit import GENESIS_HASH
from attt.core.services import organizations
from attt.core.testing import PASSWORD, make_user


def test_no_unit_is_created_under_a_merged_organisation(tree):
    """After Tỉnh A merged into Tỉnh B, the API still created a new, active unit under the merged-away
    province: an active organisation hung under an inactive one, which a move is refused to make."""
    organizations.merge(tree.province_a, tree.province_b)
    tree.province_a.refresh_from_db()
    with pytest.raises(ValidationError):
        organizations.create_organization(parent=tree.province_a, code="moi", name="Đơn vị mới", kind="unit")


def test_a_merged_organisation_page_offers_no_add_unit(client, tree, national_admin):
    """A merged province's page showed *Add unit*; the form it opened then refused its own parent ("Select a
    valid choice")."""
    organizations.merge(tree.province_a, tree.province_b)
    client.login(username=national_admin.username, password=PASSWORD)
    page = client.get(reverse("core:organization_detail", args=[tree.province_a.pk]))
    assert page.status_code == 200
    assert f"?parent={tree.province_a.pk}" not in page.content.decode()
    active = client.get(reverse("core:organization_detail", args=[tree.province_b.pk]))
    assert f"?parent={tree.province_b.pk}" in active.content.decode()


def test_verify_finds_an_event_forged_before_the_first(tree):
    """An event inserted with sequence number 0 (or below) was never read by `attt audit verify`, which said
    OK, while the audit log page listed the forged event among the real ones."""
    assert audit.verify_chain().ok
    forged = AuditEvent(
        seq=0,
        timestamp=AuditEvent.objects.order_by("seq").first().timestamp,
        actor_name="forger",
        action="delete",
        object_type="core.organization",
        prev_hash=GENESIS_HASH,
    )
    forged.hash = forged.compute_hash()
    AuditEvent.objects.bulk_create([forged])
    report = audit.verify_chain()
    assert not report.ok and report.broken_seq == 0


def test_a_long_document_name_keeps_its_type():
    """A decision uploaded under its full Vietnamese title (over 200 characters) was refused as a file "of a type
    not accepted": the name was cut before its extension was read."""
    name = "Quyết định phê duyệt hồ sơ đề xuất cấp độ hệ thống thông tin " * 4 + ".pdf"
    checked = uploads.check_upload(SimpleUploadedFile(name, b"%PDF-1.4 demo"), max_bytes=2**20)
    assert checked.extension == ".pdf" and checked.name.endswith(".pdf") and len(checked.name) <= 200


def test_a_name_cut_short_does_not_change_the_type():
    """A 200-character name followed by '.exe' was cut to its first 200 characters, ending '.pdf', and accepted
    as a PDF document."""
    name = "a" * 196 + ".pdf" + ".exe"
    with pytest.raises(ValidationError):
        uploads.check_upload(SimpleUploadedFile(name, b"MZ"), max_bytes=2**20)


def test_a_merge_records_cannot_absorb_is_refused_with_a_sentence(tree, monkeypatch):
    """Merging two provinces that had each filed their report of one month (a record an organisation holds once)
    ended in a database error (500) instead of saying what stood in the way. Compliance now keeps both reports
    (`stays_on_merge`); a module that settles nothing still gets the sentence."""
    from attt.compliance.models import StatusReport
    from attt.compliance.tests.factories_oversight import make_report

    monkeypatch.setattr(scoping.resources[StatusReport], "stays_on_merge", None)
    report = make_report(tree.province_a)
    make_report(tree.province_b, period_start=report.period_start, period_end=report.period_end)
    with pytest.raises(ValidationError) as refused, transaction.atomic():
        organizations.merge(tree.province_a, tree.province_b)
    assert str(StatusReport._meta.verbose_name_plural) in refused.value.messages[0]
    tree.province_a.refresh_from_db()
    assert tree.province_a.is_active


def test_a_merger_keeps_both_reports_of_one_month_as_filed(tree, api):
    from attt.compliance.models import StatusReport
    from attt.compliance.tests.factories_oversight import make_report

    report = make_report(tree.province_a, notes="Tỉnh A")
    theirs = make_report(tree.province_b, period_start=report.period_start, period_end=report.period_end)
    other = make_report(tree.province_a)
    counts = organizations.merge(tree.province_a, tree.province_b)
    assert counts["compliance.statusreport_kept"] == 1 and counts["compliance.statusreport"] == 1
    owners = dict(StatusReport.objects.values_list("pk", "organization_id"))
    assert owners == {report.pk: tree.province_a.pk, theirs.pk: tree.province_b.pk, other.pk: tree.province_b.pk}
    api.force_authenticate(make_user(tree.province_b, "security_officer", username="can-bo-tinh-b"))
    assert api.get(f"/api/v1/compliance/status-reports/{report.pk}/").status_code == 200


def test_notifications_reach_only_people_whose_role_still_holds(tree):
    """A role left on a merged-away province (granted there through the API after the merger) gives no access
    (the scoping layer skips inactive organisations), yet its holder was still sent the notices about that
    province's subtree, titles included."""
    from attt.core.models import Role, RoleAssignment
    from attt.core.services.notifications import permission_holders
    from attt.core.testing import make_user

    organizations.merge(tree.province_a, tree.province_b)
    tree.province_a.refresh_from_db()
    stale = make_user(tree.province_b, username="stale-admin")
    RoleAssignment.objects.create(user=stale, role=Role.objects.get(code="org_admin"), organization=tree.province_a)
    assert not scoping.can_in(stale, "core.organization.view", tree.province_a)
    assert stale not in permission_holders("core.organization.view", tree.province_a)
