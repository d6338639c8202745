import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from attt.core.models import Role, RoleAssignment
from attt.core.testing import make_user, query_plan
from attt.registry.models import Component, Contact, Domain, InformationSystem, IPRange, Server
from attt.registry.tests.factories import make_system

PROBLEM = "application/problem+json"
SYSTEMS = "/api/v1/registry/systems/"


@pytest.fixture
def owner_api(api, owner):
    api.force_authenticate(owner)
    api.cookies["attt_language"] = "en"
    return api


def new_system(tree, **over) -> dict:
    return {
        "organization": str(tree.dept_a.pk),
        "code": "cong-dvc",
        "name": "Cổng dịch vụ công tỉnh A",
        "operator": str(tree.operator_a.pk),
        "system_type": "citizen_service",
        "information_classes": ["public", "personal"],
        "users_with_private_data": 25000,
        "online_public_service_level": 4,
        "resolves_administrative_procedures": True,
        "internet_facing": True,
        "network_zones": ["dmz", "database"],
        "priority_sector": "government_direction",
        **over,
    }


def test_openapi_lists_the_registry(client):
    doc = client.get("/api/v1/openapi.json").json()
    for path in [SYSTEMS, f"{SYSTEMS}{{id}}/", f"{SYSTEMS}import/", f"{SYSTEMS}export/", "/api/v1/registry/ip-ranges/"]:
        assert path in doc["paths"], path


def test_system_crud(owner_api, tree):
    created = owner_api.post(SYSTEMS, new_system(tree), format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["organization"] == str(tree.dept_a.pk)
    assert body["counts"] == dict.fromkeys(
        ["components", "servers", "domains", "ip_ranges", "contacts", "subsystems"], 0
    )
    url = f"{SYSTEMS}{body['id']}/"

    changed = owner_api.patch(url, {"lifecycle_status": "upgrading", "decided_level": 3}, format="json")
    assert changed.status_code == 200 and changed.json()["decided_level"] == 3
    system = InformationSystem.objects.get(pk=body["id"])
    Component.objects.create(system=system, product="nginx")
    assert owner_api.get(url).json()["counts"]["components"] == 1

    assert owner_api.delete(url).status_code == 204
    assert not InformationSystem.objects.exists()


def test_an_api_change_goes_onto_the_row_as_stored_now(owner_api, tree, monkeypatch):
    """A PATCH of one field must not write back the other fields of the copy the request loaded: another person's
    change committed after the request read the row stays."""
    from attt.core.testing import read_meanwhile

    system = make_system(tree.dept_a, name="Cổng dịch vụ công", internet_facing=False)
    read_meanwhile(monkeypatch, lambda: InformationSystem.objects.filter(pk=system.pk).update(internet_facing=True))
    changed = owner_api.patch(f"{SYSTEMS}{system.pk}/", {"name": "Cổng dịch vụ công mới"}, format="json")
    assert changed.status_code == 200, changed.content
    system.refresh_from_db()
    assert (system.name, system.internet_facing) == ("Cổng dịch vụ công mới", True)


def test_an_api_change_for_a_version_read_before_someone_else_saved_is_refused(owner_api, tree):
    """Optimistic locking: a record carries its version as an ETag; a change sent with If-Match for an older one
    is refused with 412 and nothing is written; the current ETag (or none, or `*`) goes through."""
    system = make_system(tree.dept_a, name="Cổng dịch vụ công")
    url = f"{SYSTEMS}{system.pk}/"
    read = owner_api.get(url)["ETag"]
    other = InformationSystem.objects.get(pk=system.pk)
    other.description = "Người khác sửa"
    other.save()
    refused = owner_api.patch(url, {"name": "Tên mới"}, format="json", HTTP_IF_MATCH=read)
    assert refused.status_code == 412 and refused["Content-Type"] == PROBLEM
    assert InformationSystem.objects.get(pk=system.pk).name == "Cổng dịch vụ công"
    current = owner_api.get(url)["ETag"]
    assert current != read
    changed = owner_api.patch(url, {"name": "Tên mới"}, format="json", HTTP_IF_MATCH=current)
    assert changed.status_code == 200 and changed["ETag"] not in (read, current)
    assert owner_api.patch(url, {"name": "Tên khác"}, format="json", HTTP_IF_MATCH="*").status_code == 200
    assert owner_api.patch(url, {"name": "Tên cuối"}, format="json").status_code == 200


def test_filters(owner_api, tree):
    make_system(tree.dept_a, name="Cổng dịch vụ công", internet_facing=True, system_type="citizen_service")
    make_system(tree.operator_a, name="Mạng nội bộ", lifecycle_status="retired", priority_sector="information")
    make_system(tree.dept_b, name="Không thấy")

    def codes(**params):
        return {row["name"] for row in owner_api.get(SYSTEMS, params).json()["results"]}

    assert codes() == {"Cổng dịch vụ công", "Mạng nội bộ"}
    assert codes(q="cổng") == {"Cổng dịch vụ công"}
    assert codes(internet_facing="true") == {"Cổng dịch vụ công"}
    assert codes(system_type="citizen_service") == {"Cổng dịch vụ công"}
    assert codes(lifecycle_status="retired", priority_sector="information") == {"Mạng nội bộ"}
    assert codes(organization=str(tree.operator_a.pk)) == {"Mạng nội bộ"}
    assert codes(national_important="true") == set()
    out_of_scope = owner_api.get(SYSTEMS, {"organization": str(tree.dept_b.pk)})
    assert out_of_scope.status_code == 400 and out_of_scope["Content-Type"] == PROBLEM


def test_bad_input_is_problem_json(owner_api, tree):
    bad = new_system(tree, code="Not a slug", information_classes=["secret"], online_public_service_level=7)
    response = owner_api.post(SYSTEMS, bad, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert response.json()["title"] == "Invalid input"
    assert {"code", "information_classes", "online_public_service_level"} <= set(response.json()["errors"])
    unknown = owner_api.post(SYSTEMS, new_system(tree, colour="blue", created_at="2020-01-01"), format="json")
    assert set(unknown.json()["errors"]) == {"colour", "created_at"}
    duplicate = owner_api.post(SYSTEMS, new_system(tree, information_classes=["public", "public"]), format="json")
    assert "information_classes" in duplicate.json()["errors"]
    make_system(tree.dept_a, code="cong-dvc")
    taken = owner_api.post(SYSTEMS, new_system(tree), format="json")
    assert taken.status_code == 400 and taken["Content-Type"] == PROBLEM


def test_references_outside_the_scope_do_not_exist(owner_api, tree):
    for field in ("organization", "operator"):
        response = owner_api.post(SYSTEMS, new_system(tree, **{field: str(tree.dept_b.pk)}), format="json")
        assert response.status_code == 400
        assert "does not exist" in str(response.json()["errors"][field])
    parent = make_system(tree.dept_b)
    response = owner_api.post(SYSTEMS, new_system(tree, parent_system=str(parent.pk)), format="json")
    assert "parent_system" in response.json()["errors"]


def test_creating_needs_the_add_permission_on_the_owner(api, tree):
    inspector = make_user(tree.province_a, "inspector")  # may view the province, add nothing
    api.force_authenticate(inspector)
    assert api.post(SYSTEMS, new_system(tree), format="json").status_code == 403
    owner = make_user(tree.dept_a, "system_owner", username="o2")
    api.force_authenticate(owner)
    below = api.post(SYSTEMS, new_system(tree, organization=str(tree.operator_a.pk)), format="json")
    assert below.status_code == 201


def test_owner_cannot_create_in_a_visible_organisation_without_add(api, tree):
    owner = make_user(tree.dept_a, "system_owner", username="o3")
    # A read-only view of the whole province too: the owner sees province_a but may not add there.
    RoleAssignment.objects.create(user=owner, role=Role.objects.get(code="leader"), organization=tree.province_a)
    api.force_authenticate(owner)
    response = api.post(SYSTEMS, new_system(tree, organization=str(tree.province_a.pk)), format="json")
    assert response.status_code == 403
    assert not InformationSystem.objects.exists()


def test_composite_rules_in_the_api(owner_api, tree):
    parent = make_system(tree.dept_a)
    other = make_system(tree.operator_a)
    response = owner_api.post(
        SYSTEMS, new_system(tree, parent_system=str(other.pk)), format="json"
    )  # a part with another owner
    assert response.status_code == 400 and "parent_system" in response.json()["errors"]
    ok = owner_api.post(SYSTEMS, new_system(tree, parent_system=str(parent.pk)), format="json")
    assert ok.status_code == 201
    cycle = owner_api.patch(f"{SYSTEMS}{parent.pk}/", {"parent_system": ok.json()["id"]}, format="json")
    assert cycle.status_code == 400


@pytest.mark.parametrize(
    ("path", "payload", "bad"),
    [
        (
            "components",
            {
                "kind": "application",
                "vendor": "Apache",
                "product": "HTTP Server",
                "version": "2.4.57",
                "cpe23": "cpe:2.3:a:apache:http_server:2.4.57:*:*:*:*:*:*:*",
                "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1",
            },
            {"cpe23": "cpe:2.3:a:apache:http_server", "purl": "maven/log4j"},
        ),
        (
            "servers",
            {"hostname": "web01", "ip_address": "192.0.2.10", "zone": "dmz", "role": "web"},
            {"hostname": "web 01", "ip_address": "999.0.0.1"},
        ),
        ("domains", {"name": "dichvucong.example.gov.vn"}, {"name": "localhost"}),
        ("ip-ranges", {"cidr": "198.51.100.0/24", "description": "DMZ"}, {"cidr": "198.51.100.1/24"}),
        (
            "contacts",
            {
                "role": "security_officer",
                "name": "Trần Thị Lan",
                "email": "lan@demo.attt.invalid",
                "phone": "+84 24 3123 4567",
            },
            {"role": "boss", "email": "not-an-address"},
        ),
    ],
)
def test_records_crud(owner_api, tree, path, payload, bad):
    system = make_system(tree.dept_a)
    url = f"/api/v1/registry/{path}/"
    created = owner_api.post(url, {"system": str(system.pk), **payload}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["organization"] == str(tree.dept_a.pk)
    listing = owner_api.get(url, {"system": str(system.pk)}).json()
    assert [row["id"] for row in listing["results"]] == [body["id"]]
    invalid = owner_api.post(url, {"system": str(system.pk), **payload, **bad}, format="json")
    assert invalid.status_code == 400 and invalid["Content-Type"] == PROBLEM
    assert set(bad) <= set(invalid.json()["errors"])
    export = owner_api.get(f"{url}export/")
    assert export.status_code == 200 and body["id"] in b"".join(export.streaming_content).decode()
    assert owner_api.delete(f"{url}{body['id']}/").status_code == 204


def test_records_cannot_be_added_to_systems_outside_the_scope(owner_api, tree):
    outside = make_system(tree.dept_b)
    response = owner_api.post(
        "/api/v1/registry/domains/", {"system": str(outside.pk), "name": "x.gov.vn"}, format="json"
    )
    assert response.status_code == 400
    assert "does not exist" in str(response.json()["errors"]["system"])
    assert not Domain.objects.exists()


def test_records_need_their_own_add_permission_on_the_system_owner(api, tree):
    system = make_system(tree.dept_a)
    leader = make_user(tree.province_a, "leader")
    api.force_authenticate(leader)
    assert (
        api.post("/api/v1/registry/ip-ranges/", {"system": str(system.pk), "cidr": "192.0.2.0/24"}).status_code == 403
    )
    assert not IPRange.objects.exists()


def test_moving_a_record_to_a_system_where_one_may_not_add(api, tree):
    mine, theirs = make_system(tree.dept_a), make_system(tree.dept_b)
    user = make_user(tree.dept_a, "system_owner", username="mover")
    RoleAssignment.objects.create(user=user, role=Role.objects.get(code="leader"), organization=tree.dept_b)
    component = Component.objects.create(system=mine, product="php")
    api.force_authenticate(user)
    response = api.patch(f"/api/v1/registry/components/{component.pk}/", {"system": str(theirs.pk)}, format="json")
    assert response.status_code == 403
    component.refresh_from_db()
    assert component.system == mine and component.organization_id == tree.dept_a.pk


def _upload(text: str, name: str = "systems.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_import_endpoint(owner_api, tree):
    text = "owner,code,name\nso-a,a,Hệ thống A\ntt-a,b,Hệ thống B\n"
    dry = owner_api.post(f"{SYSTEMS}import/", {"file": _upload(text), "dry_run": "true"}, format="multipart")
    assert dry.status_code == 200, dry.content
    assert dry.json()["created"] == 2 and dry.json()["written"] is False
    assert not InformationSystem.objects.exists()
    done = owner_api.post(f"{SYSTEMS}import/", {"file": _upload(text)}, format="multipart")
    assert done.status_code == 200 and done.json()["written"] is True
    assert InformationSystem.objects.count() == 2


def test_import_endpoint_reports_bad_rows_as_problem(owner_api, tree):
    text = "owner,code,name,decided_level\nso-a,a,A,9\nso-b,b,B,\nso-a,c,C,2\n"
    response = owner_api.post(f"{SYSTEMS}import/", {"file": _upload(text)}, format="multipart")
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM
    report = response.json()["report"]
    assert report["bad_rows"] == [2, 3]
    assert {(e["row"], e["column"]) for e in report["errors"]} == {(2, "decided_level"), (3, "owner")}
    assert not InformationSystem.objects.exists()


def test_import_endpoint_refuses_bad_files(owner_api, tree):
    workbook = SimpleUploadedFile("x.xlsx", b"PK\x03\x04garbage", content_type="application/octet-stream")
    response = owner_api.post(f"{SYSTEMS}import/", {"file": workbook}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["errors"]
    missing = owner_api.post(f"{SYSTEMS}import/", {"dry_run": "true"}, format="multipart")
    assert missing.status_code == 400 and "file" in missing.json()["errors"]


def test_import_needs_the_import_permission(api, tree):
    officer = make_user(tree.province_a, "security_officer")
    api.force_authenticate(officer)
    response = api.post(f"{SYSTEMS}import/", {"file": _upload("owner,code,name\n")}, format="multipart")
    assert response.status_code == 403


def test_export_is_csv_of_the_visible_systems(owner_api, tree):
    inside, outside = make_system(tree.dept_a), make_system(tree.dept_b)
    response = owner_api.get(f"{SYSTEMS}export/")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert str(inside.pk) in body and str(outside.pk) not in body
    assert io.StringIO(body).readline().startswith("id,organization,code")


def test_export_serialises_a_run_of_records_at_a_time(owner_api, tree, monkeypatch):
    """Serialising once per cell (rows × columns serializers, each building its fields) made an export of the demo's
    components take 21 s, past the server's request timeout, which cut the download; now 0.6 s."""
    from attt.core import exports
    from attt.registry.api import serializers

    made = []
    original = serializers.InformationSystemSerializer.__init__

    def counted(self, *args, **kwargs):
        made.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(serializers.InformationSystemSerializer, "__init__", counted)
    monkeypatch.setattr(exports, "PREPARED_RUN", 10)
    systems = [make_system(tree.dept_a) for _ in range(25)]
    body = b"".join(owner_api.get(f"{SYSTEMS}export/").streaming_content).decode("utf-8-sig")
    assert all(str(system.pk) in body for system in systems) and len(body.splitlines()) == 26
    assert len(made) <= 5  # the header's fields, then one per run of 10 (3 runs)


@pytest.mark.parametrize(
    ("model", "index"),
    [
        (InformationSystem, "registry_system_name"),
        (Component, "registry_component_order"),
        (Domain, "registry_domain_name"),
        (Server, "registry_server_hostname"),
        (IPRange, "registry_iprange_cidr"),
        (Contact, "registry_contact_order"),
    ],
)
def test_the_lists_read_their_index_in_order(tree, model, index):
    """A page of a national list reads an index in the list's order instead of sorting every record in scope."""
    from attt.core import scoping

    user = make_user(tree.province_a, "system_owner", username="owner-plan")
    plan = query_plan(scoping.visible(user, model.objects.all())[:50])
    assert plan.uses(index) and not plan.sorts, plan.text


def test_a_domain_already_there_in_other_letters_is_a_field_error(owner_api, tree):
    """Posting 'WWW.Example.gov.vn.' to a system that has www.example.gov.vn answered a 409 'clashes with a
    record' without saying which field (the check compared the typed text, the save wrote it lower case)."""
    system = make_system(tree.dept_a)
    Domain.objects.create(system=system, name="www.example.gov.vn")
    response = owner_api.post(
        "/api/v1/registry/domains/", {"system": str(system.pk), "name": "WWW.Example.gov.vn."}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "unique" in str(response.json()["errors"])
    created = owner_api.post(
        "/api/v1/registry/domains/", {"system": str(system.pk), "name": "Dichvucong.Example.gov.vn"}, format="json"
    )
    assert created.status_code == 201 and created.json()["name"] == "dichvucong.example.gov.vn"


def test_no_information_classes_means_public(owner_api, tree, national_admin):
    """A system posted with `information_classes: []` was stored so, unlike the form and the import (public): the
    level facts read it as public, and re-importing its export counted it as changed."""
    from attt.registry import services

    created = owner_api.post(SYSTEMS, new_system(tree, information_classes=[]), format="json")
    assert created.status_code == 201 and created.json()["information_classes"] == ["public"]
    data = services.export_systems(InformationSystem.objects.all(), "csv")
    report = services.import_systems(data, "csv", national_admin, dry_run=True)
    assert (report.updated, report.unchanged) == (0, 1)


def test_a_system_read_and_sent_back_keeps_an_operator_outside_ones_scope(owner_api, tree):
    """A system operated by a unit outside the owner's scope (set by the national authority) could not be sent
    back as read (GET then PUT): 'object does not exist' on `operator`, so a client had to drop the field."""
    system = make_system(tree.dept_a, operator=tree.ministry)
    url = f"{SYSTEMS}{system.pk}/"
    body = {k: v for k, v in owner_api.get(url).json().items() if k not in {"id", "created_at", "updated_at", "counts"}}
    response = owner_api.put(url, {**body, "name": "Đổi tên"}, format="json")
    assert response.status_code == 200, response.content
    system.refresh_from_db()
    assert system.name == "Đổi tên" and system.operator == tree.ministry
    response = owner_api.patch(url, {"operator": str(tree.dept_b.pk)}, format="json")
    assert response.status_code == 400 and "operator" in response.json()["errors"]
