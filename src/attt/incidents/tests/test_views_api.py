"""Pages and API: intake (authenticated, public with its abuse guard, API, STIX import), the incident page with its
actions, tasks seen by their assignee, the breach list, member pages; out of scope is 404."""

import datetime
import json
import time
from unittest import mock

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from attt.core.testing import make_user, query_plan
from attt.incidents import services
from attt.incidents.forms import PublicReportForm
from attt.incidents.models import Attachment, Incident, IncidentTask, Observable, State
from attt.incidents.tests.factories import make_incident, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(tree):
    make_member(tree.province_b, name="Đội ứng cứu tỉnh B")  # so tasks may go to province B
    return make_user(tree.root, "incident_responder", username="coordinator")


def _issued(seconds_ago: int) -> str:
    """A form issue stamp as if the form had been served `seconds_ago`."""
    signer = signing.TimestampSigner(salt=PublicReportForm.SALT)
    with mock.patch("time.time", return_value=time.time() - seconds_ago):
        return signer.sign("form")


def _public(client, **extra):
    if isinstance(extra.get("issued"), int):
        extra["issued"] = _issued(extra["issued"])
    data = {
        "title": "Trang web giả mạo ngân hàng",
        "description": "Nhận được tin nhắn dẫn tới trang giả mạo.",
        "contact": "0912 555 000",
        "observables": "domain:gia-mao.example\nurl:https://gia-mao.example/login",
        "issued": _issued(30),
        "website": "",
    }
    address = extra.pop("REMOTE_ADDR", "198.51.100.99")
    data.update(extra)
    return client.post(reverse("incidents:public_report"), data, REMOTE_ADDR=address)


def test_public_form_goes_to_the_coordinator(client, tree):
    assert client.get(reverse("incidents:public_report")).status_code == 200
    response = _public(client)
    assert response.status_code == 200
    incident = Incident.objects.get()
    assert incident.organization == tree.root and incident.source == "public" and incident.state == State.RECEIVED
    assert incident.reporter_address == "198.51.100.99"
    assert sorted(incident.observables.values_list("kind", flat=True)) == ["domain", "url"]
    assert incident.number in response.content.decode()


@pytest.mark.parametrize(
    "extra",
    [
        {"website": "http://spam"},
        {"issued": "forged"},
        {"issued": 0},
        {"issued": 3 * 3600},
        {"observables": "ipv4:999.1.1.1"},
        {"observables": "\n".join(f"domain:gia-mao-{n}.example" for n in range(21))},  # more than 20
    ],
)
def test_public_form_abuse_guard(client, tree, extra):
    response = _public(client, **extra)
    assert response.status_code == 400
    assert not Incident.objects.exists()


LONG_URL = "http://a.vn?" + "q" * (2048 - len("http://a.vn?"))  # 2048 characters, 2049 once canonical


@pytest.mark.parametrize("url", [LONG_URL, "http://bộ-công-an.vn/" + "p" * (2048 - len("http://bộ-công-an.vn/"))])
def test_public_form_refuses_a_url_too_long_once_canonical(client, tree, url):
    """It fit the form and the parser, not the 2048-character column: a DataError (500) on PostgreSQL."""
    response = _public(client, observables=f"domain:gia-mao.example\nurl:{url}")
    assert response.status_code == 400 and not Incident.objects.exists()
    (error,) = response.context["form"].errors["observables"]
    assert error.startswith(("Line 2:", "Dòng 2:")) and "2048" in error
    with pytest.raises(ValidationError, match="2048"):
        services.report_incident(
            organization=tree.root, title="Lừa đảo", description="", source="public", observables=[("url", url)]
        )
    assert not Incident.objects.exists()


def test_public_form_rate_limit_per_address(client, tree):
    for _ in range(services.PUBLIC_LIMIT_PER_HOUR):
        assert _public(client).status_code == 200
    response = _public(client)
    assert response.status_code == 429 and response["Retry-After"] == "3600"
    assert Incident.objects.count() == services.PUBLIC_LIMIT_PER_HOUR


def test_public_form_rate_limit_counts_an_ipv6_subscriber_once(client, tree):
    """From one IPv6 /64 (one subscriber's share), a sender changing the last bits of its address for every
    report sent as many reports as it liked: the hourly limit counted each address apart."""
    for n in range(services.PUBLIC_LIMIT_PER_HOUR):
        assert _public(client, REMOTE_ADDR=f"2001:db8:7:9::{n + 1:x}").status_code == 200
    assert _public(client, REMOTE_ADDR="2001:db8:7:9:ffff::1").status_code == 429
    assert _public(client, REMOTE_ADDR="2001:db8:7:a::1").status_code == 200  # the next /64 is someone else
    assert _public(client, REMOTE_ADDR="::ffff:198.51.100.7").status_code == 200  # an IPv4 address, counted as one


def test_authenticated_intake_and_incident_page(client, tree, coordinator):
    client.force_login(coordinator)
    response = client.post(
        reverse("incidents:incident_add"),
        {
            "organization": tree.dept_a.pk,
            "source": "operator",
            "title": "Máy chủ bị xâm nhập",
            "description": "Phát hiện webshell",
            "category": "intrusions/system-compromise",
            "observables": "sha256:" + "a" * 64,
        },
    )
    incident = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == incident.get_absolute_url()
    page = client.get(incident.get_absolute_url())
    assert page.status_code == 200
    assert b'data-testid="classify-form"' in page.content and b'data-testid="timeline"' in page.content
    client.post(
        reverse("incidents:incident_classify", args=[incident.pk]),
        {"category": "intrusions/system-compromise", "tlp": "amber"},
    )
    incident.refresh_from_db()
    assert incident.state == State.CLASSIFIED
    client.post(
        reverse("incidents:incident_task_add", args=[incident.pk]),
        {
            "assignee": tree.province_b.pk,
            "kind": "support",
            "title": "Phân tích webshell",
            "due_date": timezone.localdate().isoformat(),
        },
    )
    task = IncidentTask.objects.get()
    assert task.organization == tree.province_b and task.kind == "support"
    upload = SimpleUploadedFile("nhat-ky.txt", b"log line", content_type="text/plain")
    client.post(reverse("incidents:incident_attachment_add", args=[incident.pk]), {"file": upload})
    attachment = Attachment.objects.get()
    assert attachment.size == 8 and len(attachment.sha256) == 64
    download = client.get(reverse("incidents:attachment_download", args=[attachment.pk]))
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    form = client.get(reverse("incidents:incident_form", args=[incident.pk, "notification"]))
    assert form.status_code == 200 and form.content[:2] == b"PK"


def test_attachment_type_and_size_are_checked(client, tree, coordinator):
    client.force_login(coordinator)
    incident = make_incident(tree.dept_a)
    client.post(
        reverse("incidents:incident_attachment_add", args=[incident.pk]), {"file": SimpleUploadedFile("x.exe", b"MZ")}
    )
    assert not Attachment.objects.exists()


def test_out_of_scope_is_404(client, tree):
    incident = make_incident(tree.dept_b)
    user = make_user(tree.province_a, "incident_responder", username="resp-a")
    client.force_login(user)
    assert client.get(incident.get_absolute_url()).status_code == 404
    assert client.post(reverse("incidents:incident_classify", args=[incident.pk]), {}).status_code == 404
    assert client.get(reverse("incidents:incident_form", args=[incident.pk, "notification"])).status_code == 404


def test_assignee_task_page_shows_the_shareable_part(client, tree, coordinator):
    incident = make_incident(tree.dept_a, observables=[("ipv4", "198.51.100.3")])
    services.classify(incident, by=coordinator, category="other/other", tlp="green")
    task = services.add_task(
        incident, by=coordinator, assignee=tree.province_b, title="Kiểm tra", due_date=timezone.localdate()
    )
    member = make_user(tree.province_b, "incident_responder", username="member")
    client.force_login(member)
    page = client.get(task.get_absolute_url())
    assert page.status_code == 200 and b"198.51.100.3" in page.content
    assert client.get(incident.get_absolute_url()).status_code == 404
    client.post(reverse("incidents:incidenttask_step", args=[task.pk]), {"status": "acknowledged"})
    task.refresh_from_db()
    assert task.status == "acknowledged"


def test_lists_breaches_and_members(client, tree, coordinator):
    make_incident(tree.dept_a, occurred_at=timezone.now() - datetime.timedelta(days=10))
    member = make_member(tree.province_b, contact_name="Đầu mối B")
    client.force_login(coordinator)
    by_title = client.get(reverse("incidents:incident_list"), {"q": "Sự cố"})
    assert by_title.status_code == 200 and b"SC" in by_title.content
    typed = client.get(reverse("incidents:incident_list"), {"q": "SU CO"})  # as often typed: no marks
    assert [obj for obj, _cells in typed.context["rows"]] == [obj for obj, _cells in by_title.context["rows"]]
    assert typed.context["rows"]
    hit = make_incident(tree.dept_a, title="Dò quét", observables=[("ipv4", "192.0.2.33")])
    by_value = client.get(reverse("incidents:incident_list"), {"q": " 192.0.2.33 "})
    assert [obj for obj, _cells in by_value.context["rows"]] == [hit]  # the observable's incident, and only it
    breaches = client.get(reverse("incidents:breach_list"))
    assert breaches.status_code == 200 and b"SC" in breaches.content
    assert client.get(reverse("incidents:breach_list"), {"met_late": "1"}).status_code == 200
    assert client.get(member.get_absolute_url()).status_code == 200
    assert client.get(reverse("incidents:observable_list")).status_code == 200
    home = client.get(reverse("home"))
    assert b'data-testid="incidents-widget"' in home.content


def test_api_intake_classify_and_task(api, tree, coordinator, fake_intel):
    api.force_authenticate(coordinator)
    created = api.post(
        "/api/v1/incidents/incidents/",
        {
            "organization": str(tree.dept_a.pk),
            "title": "DDoS",
            "source": "soc",
            "observables": [{"kind": "ipv4", "value": "192.0.2.1"}],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    bad = api.post(
        "/api/v1/incidents/incidents/",
        {
            "organization": str(tree.dept_a.pk),
            "title": "x",
            "source": "soc",
            "observables": [{"kind": "ipv4", "value": "x"}],
        },
        format="json",
    )
    assert bad.status_code == 400 and bad["Content-Type"].startswith("application/problem+json")
    classify = api.post(
        f"/api/v1/incidents/incidents/{pk}/classify/", {"category": "availability/ddos", "tlp": "clear"}, format="json"
    )
    assert classify.status_code == 200 and classify.json()["state"] == "classified"
    task = api.post(
        f"/api/v1/incidents/incidents/{pk}/tasks/",
        {"assignee": str(tree.province_b.pk), "title": "Chặn", "due_date": "2026-12-01"},
        format="json",
    )
    assert task.status_code == 201
    assert api.get(f"/api/v1/incidents/incidents/{pk}/stix/").json()["type"] == "bundle"
    assert api.post(f"/api/v1/incidents/incidents/{pk}/share/").json() == {"shared": 1}
    member = make_user(tree.province_b, "incident_responder", username="m")
    api.force_authenticate(member)
    step = api.post(f"/api/v1/incidents/tasks/{task.json()['id']}/step/", {"status": "acknowledged"}, format="json")
    assert step.status_code == 200 and step.json()["status"] == "acknowledged"
    assert api.get(f"/api/v1/incidents/incidents/{pk}/").status_code == 404


def test_api_stix_import(api, tree, coordinator, monkeypatch):
    from attt.intel import services as intel
    from attt.intel.sharing import SharedReport

    now = timezone.now()
    monkeypatch.setattr(
        intel,
        "parse_stix_bundle",
        lambda data: [
            SharedReport(
                id=__import__("uuid").uuid4(),
                title="Báo cáo CERT nước ngoài",
                description="",
                created=now,
                modified=now,
            )
        ],
    )
    api.force_authenticate(coordinator)
    response = api.post(
        f"/api/v1/incidents/incidents/import-stix/?organization={tree.root.pk}",
        {"type": "bundle", "objects": []},
        format="json",
    )
    assert response.status_code == 201 and len(response.json()["created"]) == 1
    outsider = make_user(tree.province_a, "incident_responder", username="pa")
    api.force_authenticate(outsider)
    refused = api.post(f"/api/v1/incidents/incidents/import-stix/?organization={tree.root.pk}", {}, format="json")
    assert refused.status_code == 400


def test_stix_import_page(client, tree, coordinator, monkeypatch):
    from attt.intel import services as intel

    monkeypatch.setattr(intel, "parse_stix_bundle", lambda data: [])
    client.force_login(coordinator)
    upload = SimpleUploadedFile("b.json", json.dumps({"type": "bundle"}).encode())
    page = client.post(reverse("incidents:incident_import"), {"organization": tree.root.pk, "bundle": upload})
    assert page.status_code == 200 and not Incident.objects.exists()
    with translation.override(page.wsgi_request.LANGUAGE_CODE):
        expected = translation.gettext("The bundle holds no report or indicator.")
    assert page.context["form"].errors["bundle"] == [expected]


def test_duplicate_action(client, tree, coordinator):
    original = make_incident(tree.dept_a, observables=[("domain", "trung.example")])
    again = make_incident(tree.dept_a, observables=[("domain", "trung.example")])
    client.force_login(coordinator)
    page = client.get(again.get_absolute_url())
    assert original.number.encode() in page.content
    client.post(reverse("incidents:incident_duplicate", args=[again.pk]), {"original": original.pk})
    again.refresh_from_db()
    assert again.duplicate_of == original and again.state == State.REJECTED
    outsider = make_incident(tree.dept_b)
    province_user = make_user(tree.province_a, "incident_responder", username="pa-dup")
    client.force_login(province_user)
    fresh = make_incident(tree.dept_a)
    assert (
        client.post(reverse("incidents:incident_duplicate", args=[fresh.pk]), {"original": outsider.pk}).status_code
        == 404
    )


def test_api_member_contact_change_is_stamped(api, tree, coordinator):
    member = make_member(tree.province_b, contact_name="Đầu mối B")
    api.force_authenticate(coordinator)
    url = f"/api/v1/incidents/members/{member.pk}/"
    assert api.patch(url, {"active": True}, format="json").status_code == 200
    member.refresh_from_db()
    assert member.contact_updated_at is None  # nothing of the contact point changed
    assert api.patch(url, {"contact_phone": "024 3999 0000"}, format="json").status_code == 200
    member.refresh_from_db()
    assert member.contact_updated_at is not None


def test_observables_per_incident_are_bounded_on_every_intake(api, tree, coordinator, monkeypatch):
    """A report names at most MAX_OBSERVABLES observables (the public form 20): checked by the service whatever
    the channel, and by the API's serializer before it (the service is not reached)."""
    many = [("domain", f"a{n}.example") for n in range(services.MAX_OBSERVABLES + 1)]
    with pytest.raises(ValidationError):
        services.report_incident(
            organization=tree.dept_a, title="t", description="", source="operator", observables=many
        )
    with pytest.raises(ValidationError):
        services.report_public(title="t", description="", name="", contact="x", address=None, observables=many[:21])
    api.force_authenticate(coordinator)
    monkeypatch.setattr(services, "report_incident", lambda **_: pytest.fail("the serializer let it through"))
    payload = {"organization": str(tree.dept_a.pk), "source": "operator", "title": "t", "description": "d"}
    payload["observables"] = [{"kind": k, "value": v} for k, v in many]
    refused = api.post("/api/v1/incidents/incidents/", payload, format="json")
    assert refused.status_code == 400 and "observables" in refused.json()["errors"]
    assert not Incident.objects.exists()


def test_a_number_already_taken_draws_another(tree, monkeypatch):
    taken = make_incident(tree.dept_a).number
    draws = iter([taken, taken, "SC26-00BEEF"])
    monkeypatch.setattr(services, "_number", lambda: next(draws))
    assert make_incident(tree.dept_a).number == "SC26-00BEEF"


def test_searching_a_common_observable_finds_the_users_own_incident(client, tree):
    """Thousands of other organisations' incidents holding the same phishing domain do not crowd out the user's."""
    value = "common-phish.example"
    others = Incident.objects.bulk_create(
        Incident(organization=tree.province_b, number=f"SC26-X{n:05d}", title="khác", source="operator",
                 regime="ND331_2026", discovered_at=timezone.now())
        for n in range(5001)
    )  # fmt: skip
    Observable.objects.bulk_create(
        Observable(incident=i, organization=tree.province_b, kind="domain", value=value) for i in others
    )
    own = make_incident(tree.dept_a, observables=[("domain", value)])
    client.force_login(make_user(tree.province_a, "incident_responder", username="resp-a"))
    found = client.get(reverse("incidents:incident_list"), {"q": value})
    assert [obj for obj, _cells in found.context["rows"]] == [own]


def test_public_report_keeps_the_reporter_on_the_returned_incident(tree):
    incident = services.report_public(
        title="Trang giả mạo", description="", name="Nguyễn Văn A", contact="a@vidu.example", address="192.0.2.9"
    )
    stored = Incident.objects.get(pk=incident.pk)
    assert (incident.reporter_name, stored.reporter_name, stored.reporter_address) == (
        "Nguyễn Văn A",
        "Nguyễn Văn A",
        "192.0.2.9",
    )


@pytest.mark.parametrize("name", ["incident_observable_add", "incident_techniques", "incident_attachment_add"])
def test_changes_to_a_visible_incident_need_change(client, tree, name):
    incident = make_incident(tree.dept_a)
    client.force_login(make_user(tree.root, "soc_analyst", username="analyst"))  # sees incidents, may not change them
    assert client.get(incident.get_absolute_url()).status_code == 200
    data = {"kind": "ipv4", "value": "192.0.2.50", "techniques": "T1566", "file": SimpleUploadedFile("a.txt", b"x")}
    assert client.post(reverse(f"incidents:{name}", args=[incident.pk]), data).status_code == 403
    incident.refresh_from_db()
    assert (incident.observables.count(), incident.techniques, incident.attachments.count()) == (0, [], 0)


def test_the_observable_list_reads_its_index_in_order(tree):
    """The observable list's order (kind, value) comes from an index, not a sort of every observable in scope."""
    from attt.core import scoping

    user = make_user(tree.province_a, "incident_responder", username="resp-plan")
    plan = query_plan(scoping.visible(user, Observable.objects.all())[:50])
    assert plan.uses("incidents_observable_list") and not plan.sorts, plan.text


def test_the_coordinator_sees_how_to_reach_a_public_reporter(client, api, tree, coordinator):
    """The public form asks for "E-mail or phone to reach you", but the incident's page and the API showed neither
    it nor the reporter's name: the coordinator verifying the report had no way to call back."""
    _public(client, name="Trần Thị B", contact="0912 555 111")
    incident = Incident.objects.get()
    client.force_login(coordinator)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Trần Thị B" in page and "0912 555 111" in page
    api.force_authenticate(coordinator)
    body = api.get(f"/api/v1/incidents/incidents/{incident.pk}/").json()
    assert (body["reporter_name"], body["reporter_contact"]) == ("Trần Thị B", "0912 555 111")
    mine = make_incident(tree.dept_a, reporter=coordinator)
    assert api.get(f"/api/v1/incidents/incidents/{mine.pk}/").json()["reporter"] == str(coordinator.pk)
    assert "coordinator" in client.get(mine.get_absolute_url()).content.decode()


@pytest.mark.parametrize("code", ["member_report", "no-such-form"])
def test_marking_a_form_the_incident_has_not_as_sent_is_404(client, tree, coordinator, code):
    """Marking as sent a form the regime does not give incidents answered "Recorded as sent." and wrote a
    "Report sent" line on the timeline, while the download of the same form was 404."""
    incident = make_incident(tree.dept_a)
    client.force_login(coordinator)
    assert client.get(reverse("incidents:incident_form", args=[incident.pk, code])).status_code == 404
    assert client.post(reverse("incidents:incident_form", args=[incident.pk, code])).status_code == 404
    assert not incident.timeline.filter(action="report_sent").exists()


@pytest.mark.parametrize("discovered", ["1990-01-01T09:00:00+07:00", "2099-01-01T09:00:00+07:00"])
def test_api_and_form_refuse_a_discovery_time_no_regime_can_judge(client, api, tree, coordinator, discovered):
    """The API answered a discovery in 1990 with a server error (500) and took one in 2099 with its deadlines
    there; the form did the same."""
    api.force_authenticate(coordinator)
    body = {"organization": str(tree.dept_a.pk), "title": "Tấn công", "source": "soc", "discovered_at": discovered}
    refused = api.post("/api/v1/incidents/incidents/", body, format="json")
    assert refused.status_code == 400 and refused["Content-Type"].startswith("application/problem+json")
    assert "discovered_at" in json.dumps(refused.json())
    client.force_login(coordinator)
    page = client.post(
        reverse("incidents:incident_add"),
        {
            "organization": tree.dept_a.pk,
            "source": "operator",
            "title": "Tấn công",
            "description": "x",
            "discovered_at": discovered[:16],
        },
    )
    assert page.status_code == 200 and [m.level_tag for m in page.context["messages"]] == ["error"]
    assert not Incident.objects.exists()


def test_the_incident_page_names_observable_kinds(client, tree, coordinator):
    """The incident's observables table showed the kinds' codes ("ipv4", "bank_account") where the observable list
    shows their names ("Địa chỉ IPv4")."""
    incident = make_incident(tree.dept_a, observables=[("ipv4", "192.0.2.61")])
    client.force_login(coordinator)
    rows = client.get(incident.get_absolute_url()).content.decode()
    assert "<td>Địa chỉ IPv4</td>" in rows and "<td>ipv4</td>" not in rows


def test_an_api_step_sent_for_a_version_changed_since_is_refused(api, tree, coordinator, fake_intel):
    """A client classifying from what it last read overrode a classification made meanwhile (TLP:RED lowered to
    CLEAR). Sent with the `If-Match` of its read, the step is refused with 412 and nothing changes; with the
    current version it goes through; without `If-Match` it goes onto the record as stored now."""
    incident = make_incident(tree.dept_a)
    api.force_authenticate(coordinator)
    url = f"/api/v1/incidents/incidents/{incident.pk}/"
    read = api.get(url)["ETag"]
    services.classify(incident, by=coordinator, category="availability/ddos", tlp="red")  # meanwhile, by someone else
    body = {"category": "availability/ddos", "tlp": "clear"}
    stale = api.post(url + "classify/", body, format="json", HTTP_IF_MATCH=read)
    assert stale.status_code == 412 and stale["Content-Type"] == "application/problem+json"
    assert Incident.objects.get(pk=incident.pk).tlp == "red"
    current = api.get(url)["ETag"]
    assert (
        api.post(url + "classify/", {**body, "tlp": "amber"}, format="json", HTTP_IF_MATCH=current).status_code == 200
    )
    assert Incident.objects.get(pk=incident.pk).tlp == "amber"
