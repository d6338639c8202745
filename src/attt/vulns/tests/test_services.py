"""Import (real samples, idempotency, refused files and dates), matching against the registry, priority, lifecycle,
API, exports and the CLI."""

import datetime
import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from attt.core.models import Notification
from attt.core.testing import make_user
from attt.registry.models import Component
from attt.registry.tests.factories import make_system
from attt.vulns import exports, feeds, services
from attt.vulns.models import LeakNotice, MatchCriterion, ProductMapping, Vulnerability, VulnWarning, WarningStatus

DATA = Path("/work/shared/testdata")
pytestmark = [pytest.mark.django_db, pytest.mark.skipif(not DATA.exists(), reason="no shared test data")]

SAMPLES = [DATA / "nvd/nvd-api-2.0", DATA / "nvd/CVE-2023-27997.json", DATA / "nvd/CVE-2011-0611.json"]


@pytest.fixture(autouse=True)
def fresh_index():
    services.forget_index()
    yield
    services.forget_index()


def component(system, **fields):
    return Component.objects.create(system=system, product=fields.pop("product", "x"), **fields)


def test_import_is_idempotent_and_reports_skips():
    first = services.import_paths(SAMPLES, match=False)
    nvd = next(r for r in first if r.kind == "nvd")
    cve5 = next(r for r in first if r.kind == "cve5")
    assert nvd.created == 5 and cve5.created == 2
    count = MatchCriterion.objects.count()
    again = services.import_paths(SAMPLES, match=False)
    assert all(r.created == r.updated == 0 for r in again)
    assert sum(r.unchanged for r in again) == 7
    assert MatchCriterion.objects.count() == count
    bad = services.import_paths([DATA / "kev/known_exploited_vulnerabilities_schema.json"], match=False)
    assert bad[0].kind == "error" and bad[0].skipped


def test_kev_import_and_epss(tmp_path):
    services.import_paths(SAMPLES, match=False)
    report = services.import_paths([DATA / "kev/known_exploited_vulnerabilities.csv"], match=False)[0]
    assert report.kind == "kev" and report.kev_changed >= 1
    assert Vulnerability.objects.get(cve_id="CVE-2023-27997").kev_added.isoformat() == "2023-06-13"
    again = services.import_paths([DATA / "kev/known_exploited_vulnerabilities.csv"], match=False)[0]
    assert again.kev_changed == 0 and again.created == 0
    epss = tmp_path / "epss.csv"
    epss.write_text("#model_version:v1\ncve,epss,percentile\nCVE-2017-5638,0.97,0.999\nCVE-1999-0001,0.1,0.2\n")
    report = services.import_paths([epss], match=False)[0]
    assert report.epss_changed == 1 and report.skipped
    assert Vulnerability.objects.get(cve_id="CVE-2017-5638").epss == 0.97


def test_kev_csv_resaved_by_excel_reports_every_row_and_stores_none_without_its_date(tmp_path):
    lines = (DATA / "kev/known_exploited_vulnerabilities.csv").read_text(encoding="utf-8").splitlines()
    kev = tmp_path / "kev.csv"
    # Excel in a Vietnamese locale re-saves every ISO date as d/m/yyyy: 2025-08-25 -> 25/8/2025.
    kev.write_text(
        "\n".join([lines[0], *(re.sub(r"(\d{4})-0?(\d+)-0?(\d+)", r"\3/\2/\1", line) for line in lines[1:4])]),
        encoding="utf-8",
    )
    report = services.import_paths([kev], match=False)[0]
    assert (report.kind, report.created, report.kev_changed) == ("kev", 0, 0)
    assert [record for record, _ in report.skipped] == ["kev.csv: line 2", "kev.csv: line 3", "kev.csv: line 4"]
    assert "dateAdded '25/8/2025' is not a date in the form YYYY-MM-DD" in report.skipped[0][1]
    assert not Vulnerability.objects.exists()


def test_nvd_record_with_a_bad_kev_date_is_imported_and_the_date_reported(tmp_path):
    record = json.loads((DATA / "nvd/nvd-api-2.0/CVE-2017-5638.json").read_text())
    record["cisaExploitAdd"] = "28/3/2022"
    path = tmp_path / "nvd.json"
    path.write_text(json.dumps(record))
    report = services.import_paths([path], match=False)[0]
    assert report.created == 1
    assert report.skipped == [
        ("nvd.json: CVE-2017-5638", "cisaExploitAdd '28/3/2022' is not a date in the form YYYY-MM-DD; left empty")
    ]
    stored = Vulnerability.objects.get(cve_id="CVE-2017-5638")
    assert stored.kev_added is None and stored.published.isoformat() == "2017-03-11"


def test_import_cli_exits_2_when_a_file_is_refused_and_says_which(tmp_path):
    notes = tmp_path / "notes.csv"
    notes.write_text("hello,world\n1,2\n")
    good = DATA / "nvd/nvd-api-2.0/CVE-2024-1709.json"
    out = StringIO()
    with pytest.raises(CommandError, match=r"^2 file\(s\) could not be imported") as refused:
        call_command("vulns", "import", str(notes), str(tmp_path / "missing.json"), str(good), stdout=out)
    assert refused.value.returncode == 2
    printed = out.getvalue()
    assert f"error: {notes}: unknown feed format (notes.csv)" in printed
    assert f"error: {tmp_path / 'missing.json'}: cannot be read: No such file or directory" in printed
    assert "nvd: 1 created" in printed and Vulnerability.objects.filter(cve_id="CVE-2024-1709").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CommandError, match="could not be imported") as nothing:
        call_command("vulns", "import", str(empty), stdout=StringIO())
    assert nothing.value.returncode == 2
    out = StringIO()
    call_command("vulns", "import", str(good), stdout=out)  # all good: exit 0
    assert "nvd: 0 created, 0 updated, 1 unchanged" in out.getvalue()
    with pytest.raises(CommandError) as bad_cpe:
        call_command("vulns", "affected", "not a cpe", stdout=StringIO())
    assert bad_cpe.value.returncode == 2


def test_sync_cli_exits_2_when_a_feed_fails(settings):
    settings.VULNS_FEEDS = {"nvd": str(DATA / "nvd/nvd-api-2.0/CVE-2024-1709.json"), "bad": "/nonexistent/feed.json"}
    out = StringIO()
    with pytest.raises(CommandError, match=r"^1 feed\(s\) could not be synced") as failed:
        call_command("vulns", "sync", stdout=out)
    assert failed.value.returncode == 2 and "error: bad:" in out.getvalue()


def test_affected_cli_on_real_samples():
    services.import_paths(SAMPLES, match=False)
    out = StringIO()
    call_command("vulns", "affected", "cpe:2.3:a:apache:struts:2.3.31:*:*:*:*:*:*:*", "--json", stdout=out)
    rows = json.loads(out.getvalue())
    assert [r["cve"] for r in rows] == ["CVE-2017-5638"]
    assert "< 2.3.32" in rows[0]["criteria"][0]
    out = StringIO()
    call_command("vulns", "affected", "cpe:2.3:a:apache:struts:2.3.32:*:*:*:*:*:*:*", "--json", stdout=out)
    assert json.loads(out.getvalue()) == []
    # FortiOS from the CNA's text (CVE JSON 5), inclusive upper bound
    assert [r["cve"] for r in services.affected("cpe:2.3:o:fortinet:fortios:7.2.4:*:*:*:*:*:*:*")] == ["CVE-2023-27997"]
    assert services.affected("cpe:2.3:o:fortinet:fortios:7.2.5:*:*:*:*:*:*:*") == []
    # Windows build numbers (CVE-2024-21338)
    win = "cpe:2.3:o:microsoft:windows_10_22h2:10.0.19045.3803:*:*:*:*:*:*:*"
    assert [r["cve"] for r in services.affected(win)] == ["CVE-2024-21338"]
    assert services.affected(win.replace("3803", "4046")) == []
    # NetScaler: build suffix and edition
    adc = "cpe:2.3:a:citrix:netscaler_application_delivery_controller:13.1-49.14:*:*:*:-:*:*:*"
    assert [r["cve"] for r in services.affected(adc)] == ["CVE-2023-4966"]
    with pytest.raises(ValueError):
        services.affected("not a cpe")


def test_matching_registry_priority_and_notifications(tree):
    owner = make_user(tree.dept_a, "system_owner", username="owner-a")
    exposed = make_system(tree.dept_a, internet_facing=True, decided_level=3)
    internal = make_system(tree.dept_b)
    component(exposed, cpe23="cpe:2.3:a:apache:struts:2.3.31:*:*:*:*:*:*:*", product="Struts")
    component(internal, vendor="Fortinet", product="FortiOS", version="7.0.5")
    component(internal, cpe23="cpe:2.3:a:apache:struts:2.5.10.1:*:*:*:*:*:*:*", product="Struts")  # fixed
    reports = services.import_paths(SAMPLES)
    assert sum(r.warnings_created for r in reports) == 1
    warning = VulnWarning.objects.get()
    assert (warning.system, warning.organization) == (exposed, tree.dept_a)
    assert warning.priority == 1 and warning.matches[0]["criterion"].startswith("cpe:2.3:a:apache:struts")
    assert Notification.objects.filter(recipient=owner).exists()
    assert mail.outbox
    # A reviewed mapping turns the FortiOS text into a CPE: the full rematch finds it.
    ProductMapping.objects.create(
        key="text:fortinet|fortios", part="o", vendor="fortinet", product="fortios", reviewed=True
    )
    result = services.rematch_all()
    assert result["created"] == 1
    assert VulnWarning.objects.filter(system=internal, vulnerability__cve_id="CVE-2023-27997").exists()
    assert services.rematch_all()["created"] == 0  # idempotent
    # Upgrading the component retires the warning (still kept, not matched any more).
    Component.objects.filter(system=exposed).update(cpe23="cpe:2.3:a:apache:struts:2.3.32:*:*:*:*:*:*:*")
    services.rematch_all()
    warning.refresh_from_db()
    assert warning.active is False


def test_new_kev_entry_reprioritises_and_warns(tree, tmp_path):
    make_user(tree.dept_b, "system_owner", username="owner-b")
    system = make_system(tree.dept_b, internet_facing=False)
    component(system, cpe23="cpe:2.3:a:adobe:reader:9.3:*:*:*:*:*:*:*", product="Reader")
    services.import_paths([DATA / "nvd/CVE-2011-0611.json"])
    warning = VulnWarning.objects.get()
    before = warning.score
    Vulnerability.objects.filter(pk=warning.vulnerability_id).update(kev_added=None)
    services.reprioritise({warning.vulnerability_id})
    warning.refresh_from_db()
    assert warning.score < before
    kev = tmp_path / "kev.json"
    kev.write_text(
        json.dumps(
            {
                "catalogVersion": "x",
                "vulnerabilities": [
                    {
                        "cveID": "CVE-2011-0611",
                        "vendorProject": "Adobe",
                        "product": "Flash",
                        "dateAdded": "2022-03-03",
                        "dueDate": "2022-03-24",
                        "knownRansomwareCampaignUse": "Known",
                    }
                ],
            }
        )
    )
    Notification.objects.all().delete()
    services.import_paths([kev])
    warning.refresh_from_db()
    assert warning.score == before
    assert Notification.objects.filter(link="/vulns/warnings/").exists()


def test_lifecycle(tree):
    from attt.vulns.tests.factories import warning_factory

    warning = warning_factory(tree.dept_a)
    owner = make_user(tree.dept_a, "system_owner", username="owner-a")
    admin = make_user(tree.root, "national_admin", username="nat")
    with pytest.raises(ValidationError):
        services.transition(warning, WarningStatus.VERIFIED, by=admin)
    services.transition(warning, WarningStatus.ACKNOWLEDGED, by=owner)
    with pytest.raises(ValidationError):
        services.transition(warning, WarningStatus.NOT_AFFECTED, by=owner)  # needs a reason
    services.transition(warning, WarningStatus.NOT_AFFECTED, by=owner, reason="Module not installed")
    with pytest.raises(PermissionDenied):
        services.transition(warning, WarningStatus.VERIFIED, by=owner)  # verifying is not the owner's
    services.transition(warning, WarningStatus.VERIFIED, by=admin)
    assert warning.status == "verified"
    status = services.vulnerability_management_status(warning.system)
    assert status["open"] == 0 and status["status"] == "met"


def test_overdue_reminders(tree):
    import datetime

    from attt.vulns.tests.factories import warning_factory

    owner_a = make_user(tree.dept_a, "system_owner", username="owner-a")
    owner_b = make_user(tree.dept_b, "system_owner", username="owner-b")
    for n in range(32):  # mixed priorities, B's warnings made in between: still one notice per organisation
        warning = warning_factory(tree.dept_a)
        VulnWarning.objects.filter(pk=warning.pk).update(priority=1 + n % 3)
        if n % 10 == 5:
            warning_factory(tree.dept_b)
    assert services.remind_overdue(datetime.date.today() + datetime.timedelta(days=1)) == 2
    (to_a,) = Notification.objects.filter(link="/vulns/warnings/?overdue=1", recipient=owner_a)
    assert "32" in to_a.title and len(to_a.body.splitlines()) == 30  # the count is all, the list the first 30
    assert to_a.body.splitlines()[0].startswith("P1") and to_a.body.splitlines()[-1].startswith("P3")
    (to_b,) = Notification.objects.filter(link="/vulns/warnings/?overdue=1", recipient=owner_b)
    assert "3" in to_b.title and len(to_b.body.splitlines()) == 3


def test_api_transition_and_stix(tree, api):
    from attt.vulns.tests.factories import warning_factory

    warning = warning_factory(tree.dept_a)
    owner = make_user(tree.dept_a, "system_owner", username="owner-a")
    api.force_authenticate(owner)
    url = reverse("api:vulnwarning-transition", args=[warning.pk])
    assert api.post(url, {"status": "patched"}, format="json").status_code == 200
    assert api.post(url, {"status": "new"}, format="json").status_code == 400
    outside = warning_factory(tree.dept_b)
    assert (
        api.post(
            reverse("api:vulnwarning-transition", args=[outside.pk]), {"status": "patched"}, format="json"
        ).status_code
        == 404
    )
    assert api.get(reverse("api:vulnerability-list")).status_code == 200
    bundle = exports.stix_bundle(VulnWarning.objects.filter(pk=warning.pk))
    types = [o["type"] for o in bundle["objects"]]
    assert types == ["identity", "vulnerability", "indicator", "relationship"]
    stix2 = pytest.importorskip("stix2")
    stix2.parse(bundle, allow_custom=False)


def test_sync_refuses_ssrf_and_reads_local_files(tmp_path, settings):
    for url in [
        "ftp://example.org/x",
        "http://127.0.0.1/feed.json",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "http://10.0.0.1/x",
        "gopher://x",
    ]:
        with pytest.raises(feeds.FeedError):
            services.check_url(url)
    settings.VULNS_ALLOWED_HOSTS = ["127.0.0.1"]
    services.check_url("http://127.0.0.1/feed.json")
    reports = services.sync_feeds(
        {
            "nvd": str(DATA / "nvd/nvd-api-2.0/CVE-2024-1709.json"),
            "bad": "file:///nonexistent/feed.json",
            "evil": "http://10.1.2.3/x",
        }
    )
    assert reports[0].created == 1
    assert [r.kind for r in reports[1:]] == ["error", "error"]


def test_pages(tree, client):
    from attt.vulns.tests.factories import warning_factory

    warning = warning_factory(tree.dept_a)
    owner = make_user(tree.dept_a, "system_owner", username="owner-a")
    client.force_login(owner)
    assert client.get(reverse("vulns:vulnwarning_list")).status_code == 200
    page = client.get(reverse("vulns:vulnwarning_detail", args=[warning.pk]))
    assert page.status_code == 200 and b"step-form" in page.content
    assert client.get(reverse("vulns:vulnwarning_list"), {"export": "stix"}).status_code == 200  # owners export
    client.force_login(make_user(tree.dept_a, "leader", username="leader-a"))
    assert client.get(reverse("vulns:vulnwarning_list"), {"export": "stix"}).status_code == 403  # no export
    client.force_login(make_user(tree.province_a, "security_officer", username="officer-a"))
    stix = client.get(reverse("vulns:vulnwarning_list"), {"export": "stix"})
    assert stix.status_code == 200 and json.loads(stix.content)["type"] == "bundle"
    detail = client.get(reverse("vulns:vulnerability_detail", args=[warning.vulnerability_id]))
    assert detail.status_code == 200 and b"exposure" in detail.content
    response = client.post(reverse("vulns:vulnwarning_step", args=[warning.pk]), {"status": "acknowledged"})
    assert response.status_code == 302
    warning.refresh_from_db()
    assert warning.status == "acknowledged"


def test_many_products_at_once_are_read_in_batches(tree):
    """A feed touching thousands of products (the KEV catalogue) must not build one giant query."""
    from attt.registry.models import Component
    from attt.registry.tests.factories import make_system
    from attt.vulns import services

    system = make_system(tree.dept_a)
    Component.objects.create(
        system=system, vendor="v0999", product="p0999", version="1", cpe23="cpe:2.3:a:v0999:p0999:1:*:*:*:*:*:*:*"
    )
    keys = {(f"v{n:04d}", f"p{n:04d}") for n in range(1000)}
    rows = services._components_for_keys(keys)
    assert len(rows) == 1


def test_rematch_skips_unchanged_warnings_by_fingerprint(tree):
    system = make_system(tree.dept_a)
    struts = component(system, cpe23="cpe:2.3:a:apache:struts:2.3.31:*:*:*:*:*:*:*", product="Struts")
    services.import_paths(SAMPLES, notify=False)
    warning = VulnWarning.objects.get()
    assert warning.fingerprint and warning.matches[0]["component"] == str(struts.pk)
    stamp = warning.updated_at
    result = services.rematch_all(notify=False)
    assert result["created"] == 0
    warning.refresh_from_db()
    assert warning.updated_at == stamp  # unchanged: not written
    # Another component of the same key on the same system changes the match list: rewritten.
    other = component(system, cpe23="cpe:2.3:a:apache:struts:2.3.31:*:*:*:*:*:*:*", product="Struts 2")
    services.rematch_all(notify=False)
    warning.refresh_from_db()
    assert {m["component"] for m in warning.matches} == {str(struts.pk), str(other.pk)}
    assert warning.updated_at > stamp


def test_warnings_feed_the_vulnerability_management_checklist_item(tree):
    """The Level-based module's checklist item follows the system's warnings."""

    from attt.compliance import services as compliance
    from attt.compliance.models import ChecklistItem
    from attt.registry.tests.factories import make_system
    from attt.regulation import services as regulation
    from attt.vulns import services
    from attt.vulns.tests.factories import make_warning

    system = make_system(tree.dept_a, regime="ND331_2026")
    compliance.sync_checklist(system, "ND331_2026", 3)
    code = regulation.requirement("ND331_2026", "vulnerability_management", 3).code
    item = ChecklistItem.objects.get(system=system, requirement=code)
    assert services.update_checklists([system]) == 1
    item.refresh_from_db()
    assert item.status == "met"
    overdue, _due = (make_warning(system, due_in=days) for days in (-1, 3))
    services.update_checklists([system])
    item.refresh_from_db()
    assert item.status == "not_met" and "2" in item.reason and item.remediation
    item.status, item.reason = "not_applicable", "Không có phần mềm bên ngoài"
    item.save()
    VulnWarning.objects.filter(pk=overdue.pk).update(status=WarningStatus.PATCHED)  # now only partly
    assert services.update_checklists([system]) == 0
    item.refresh_from_db()
    assert item.status == "not_applicable"


def _nvd_file(tmp_path, cve_id: str, *matches: dict, name: str = "nvd.json", summary: str = "x") -> Path:
    """A minimal NVD API 2.0 response with one record whose one configuration holds `matches`."""
    record = {
        "id": cve_id,
        "descriptions": [{"lang": "en", "value": summary}],
        "configurations": [{"nodes": [{"operator": "OR", "cpeMatch": list(matches)}]}],
    }
    path = tmp_path / name
    path.write_text(json.dumps({"vulnerabilities": [{"cve": record}]}))
    return path


def test_a_new_cve_warns_components_whose_cpe_quotes_a_sign(tree, tmp_path):
    """NVD writes Notepad++ as `notepad\\+\\+`: a system registered with that CPE got no warning when the CVE was
    imported (only from the nightly rematch), and the next import of the CVE retired the warning again."""
    system = make_system(tree.dept_a)
    component(system, cpe23=r"cpe:2.3:a:notepad-plus-plus:notepad\+\+:8.4:*:*:*:*:*:*:*", product="Notepad++")
    typed = make_system(tree.dept_a)
    component(typed, cpe23="cpe:2.3:a:notepad-plus-plus:notepad++:8.4:*:*:*:*:*:*:*", product="Notepad++")
    match = {"vulnerable": True, "criteria": r"cpe:2.3:a:notepad-plus-plus:notepad\+\+:*:*:*:*:*:*:*:*"}
    services.import_paths([_nvd_file(tmp_path, "CVE-2099-0001", {**match, "versionEndExcluding": "8.5"})])
    assert set(VulnWarning.objects.filter(active=True).values_list("system", flat=True)) == {system.pk, typed.pk}
    services.import_paths([_nvd_file(tmp_path, "CVE-2099-0001", {**match, "versionEndExcluding": "8.6"})])
    assert VulnWarning.objects.filter(active=True).count() == 2


def test_a_new_cve_warns_a_component_whose_cpe_was_typed_with_capitals(tree, tmp_path):
    """The registry accepted `cpe:2.3:a:Apache:…` as typed, and a new CVE's lookup by NVD's lower-case name missed
    it until the nightly rematch: names are kept in lower case."""
    system = make_system(tree.dept_a)
    component(system, cpe23="cpe:2.3:a:Apache:HTTP_Server:2.4.49:*:*:*:*:*:*:*", product="HTTP Server")
    match = {"vulnerable": True, "criteria": "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"}
    services.import_paths([_nvd_file(tmp_path, "CVE-2099-0002", match)])
    assert VulnWarning.objects.filter(active=True, system=system).count() == 1


def test_api_leak_notice_domains_are_a_list_of_names(tree, api):
    """`domains` took any JSON through the API (a number, an object, one string): the notice was stored and its
    edit page then failed with a server error."""
    api.force_authenticate(make_user(tree.dept_a, "org_admin", username="admin-a"))
    url = reverse("api:leaknotice-list")
    base = {"organization": str(tree.dept_a.pk), "title": "Rò rỉ", "source": "diễn đàn", "published": "2026-11-01"}
    for bad in [[1, {"a": 2}], "example.vn", {"x": "y"}, ["a" * 300]]:
        response = api.post(url, {**base, "domains": bad}, format="json")
        assert response.status_code == 400, bad
        assert "domains" in response.json()["errors"], bad
    created = api.post(url, {**base, "domains": [" Mail.Example.VN ", "mail.example.vn"]}, format="json")
    assert created.status_code == 201 and created.json()["domains"] == ["mail.example.vn"]


def test_leak_notice_names_only_a_system_of_its_organisation(tree, api, client):
    """A user who sees two provinces could file a notice of province B naming a system of province A: B's staff
    then saw A's system on B's notice."""
    admin = make_user(tree.root, "national_admin", username="nat")
    other = make_system(tree.dept_a)
    own = make_system(tree.dept_b)
    api.force_authenticate(admin)
    base = {"organization": str(tree.province_b.pk), "title": "Rò rỉ", "source": "x", "published": "2026-11-01"}
    response = api.post(reverse("api:leaknotice-list"), {**base, "system": str(other.pk)}, format="json")
    assert response.status_code == 400 and "system" in response.json()["errors"]
    assert api.post(reverse("api:leaknotice-list"), {**base, "system": str(own.pk)}, format="json").status_code == 201
    client.force_login(admin)
    form = {**base, "system": str(other.pk), "record_count": 0, "account_count": 0, "password_count": 0}
    page = client.post(reverse("vulns:leaknotice_add"), {**form, "status": "new", "advice": "x"})
    assert page.status_code == 200 and LeakNotice.objects.count() == 1  # the form is shown again with the error


def test_a_notice_whose_system_was_handed_over_can_still_be_edited(tree, api, client):
    """A notice naming its organisation's system refused every later edit (400 on `system`, even a status change)
    once the system was handed to another organisation; only a change of its organisation or system is checked."""
    officer = make_user(tree.province_b, "security_officer", username="leak-officer")
    system = make_system(tree.dept_b)
    notice = LeakNotice.objects.create(
        organization=tree.province_b, system=system, title="Rò rỉ", source="x", published=datetime.date(2026, 11, 1)
    )
    system.organization = tree.dept_a
    system.save()
    api.force_authenticate(officer)
    url = reverse("api:leaknotice-detail", args=[notice.pk])
    assert api.patch(url, {"status": "handled"}, format="json").status_code == 200
    read = {k: v for k, v in api.get(url).json().items() if k not in {"id", "created_at"}}
    assert read["system"] == str(system.pk)
    assert api.put(url, {**read, "title": "Rò rỉ (đã xử lý)"}, format="json").status_code == 200  # sent back as read
    other = make_system(tree.dept_a)
    assert api.patch(url, {"system": str(other.pk)}, format="json").status_code == 400  # a change is still checked
    client.force_login(officer)
    form = {"organization": str(tree.province_b.pk), "title": "Rò rỉ dữ liệu", "source": "x", "published": "2026-11-01",
            "system": str(system.pk), "record_count": 0, "account_count": 0, "password_count": 0, "status": "handled",
            "advice": "x", "domains_text": ""}  # fmt: skip
    assert client.post(reverse("vulns:leaknotice_edit", args=[notice.pk]), form).status_code == 302
    notice.refresh_from_db()
    assert notice.title == "Rò rỉ dữ liệu" and notice.system_id == system.pk
    moved = client.post(reverse("vulns:leaknotice_edit", args=[notice.pk]), {**form, "system": str(other.pk)})
    assert moved.status_code == 200  # shown again with the error


def test_kev_notice_only_when_a_cve_enters_the_catalogue(tree, tmp_path):
    """Every KEV import that changed an entry's text or due date (CISA edits them) sent the owners "Known exploited
    vulnerability affects …" again for a CVE that had been in the catalogue for years."""
    make_user(tree.dept_b, "system_owner", username="owner-b")
    system = make_system(tree.dept_b)
    component(system, cpe23="cpe:2.3:a:adobe:reader:9.3:*:*:*:*:*:*:*", product="Reader")
    services.import_paths([DATA / "nvd/CVE-2011-0611.json"])
    assert VulnWarning.objects.get().vulnerability.in_kev
    entry = {"cveID": "CVE-2011-0611", "dateAdded": "2022-03-03", "dueDate": "2022-03-24", "requiredAction": "a"}
    kev = tmp_path / "kev.json"
    for action in ("Apply updates.", "Apply updates per vendor instructions."):
        Notification.objects.all().delete()
        kev.write_text(json.dumps({"catalogVersion": "x", "vulnerabilities": [{**entry, "requiredAction": action}]}))
        assert services.import_paths([kev])[0].kev_changed == 1
        assert not Notification.objects.exists()


def test_warnings_follow_their_system_to_its_new_owner(tree, api):
    """A system handed to another organisation kept its warnings in the former owner's list (who still saw the
    system's software and could close them) while the new owner saw none of them, rematch after rematch."""
    from attt.registry.models import InformationSystem

    system = make_system(tree.dept_a)
    component(system, cpe23="cpe:2.3:a:apache:struts:2.3.31:*:*:*:*:*:*:*", product="Struts")
    services.import_paths(SAMPLES, notify=False)
    warning = VulnWarning.objects.get()
    InformationSystem.objects.filter(pk=system.pk).update(organization=tree.dept_b)  # as the system's edit page does
    services.rematch_all(notify=False)
    warning.refresh_from_db()
    assert warning.organization == tree.dept_b
    api.force_authenticate(make_user(tree.dept_a, "system_owner", username="owner-a"))
    assert api.get(reverse("api:vulnwarning-detail", args=[warning.pk])).status_code == 404
    api.force_authenticate(make_user(tree.dept_b, "system_owner", username="owner-b"))
    assert api.get(reverse("api:vulnwarning-detail", args=[warning.pk])).status_code == 200


def test_overdue_list_counts_what_the_reminder_counts(tree, api):
    """The reminder "1 vulnerability warnings are overdue" linked to a list (?overdue=1) that also showed the
    overdue warnings no component matches any more (retired by the rematch), so the list and the reminder
    disagreed."""
    import datetime

    from attt.vulns.tests.factories import make_warning

    system = make_system(tree.dept_a)
    owner = make_user(tree.dept_a, "system_owner", username="owner-a")
    current = make_warning(system, due_in=-3)
    make_warning(system, due_in=-3, active=False)
    assert services.remind_overdue(datetime.date.today()) == 1
    assert "1" in Notification.objects.get(recipient=owner).title
    api.force_authenticate(owner)
    listed = api.get(reverse("api:vulnwarning-list"), {"overdue": "true"}).json()["results"]
    assert [w["id"] for w in listed] == [str(current.pk)]
