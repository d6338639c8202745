import csv
import io
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from attt.core.testing import make_user
from attt.registry.models import Component, Contact, Domain, InformationSystem, IPRange, Server
from attt.registry.tests.factories import edit_form, make_system

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    client.cookies["attt_language"] = "en"
    return client


@pytest.fixture
def system(tree):
    system = make_system(tree.dept_a, name="Cổng dịch vụ công tỉnh A", internet_facing=True)
    Component.objects.create(
        system=system, product="HTTP Server", vendor="Apache", cpe23="cpe:2.3:a:apache:http_server:2.4.57:*:*:*:*:*:*:*"
    )
    Server.objects.create(system=system, hostname="web01", ip_address="192.0.2.10", zone="dmz")
    Domain.objects.create(system=system, name="dichvucong.example.gov.vn")
    IPRange.objects.create(system=system, cidr="192.0.2.0/24")
    Contact.objects.create(system=system, role="security_officer", name="Trần Thị Lan")
    make_system(tree.dept_a, name="Một cửa điện tử", parent_system=system)
    return system


def test_pages_render(owner_client, system):
    urls = [
        reverse("registry:system_list"),
        reverse("registry:system_add"),
        reverse("registry:system_detail", args=[system.pk]),
        reverse("registry:system_edit", args=[system.pk]),
        reverse("registry:system_delete", args=[system.pk]),
        reverse("registry:system_import"),
        reverse("home"),
    ]
    for name, model in [
        ("component", Component),
        ("server", Server),
        ("domain", Domain),
        ("iprange", IPRange),
        ("contact", Contact),
    ]:
        record = model.objects.get()
        urls += [
            reverse(f"registry:{name}_list"),
            reverse(f"registry:{name}_add") + f"?system={system.pk}",
            reverse(f"registry:{name}_detail", args=[record.pk]),
            reverse(f"registry:{name}_edit", args=[record.pk]),
            reverse(f"registry:{name}_delete", args=[record.pk]),
        ]
    for url in urls:
        response = owner_client.get(url)
        assert response.status_code == 200, url


def test_detail_shows_every_section_and_the_facts(owner_client, system):
    page = owner_client.get(reverse("registry:system_detail", args=[system.pk])).content.decode()
    for text in [
        "HTTP Server",
        "web01",
        "dichvucong.example.gov.vn",
        "192.0.2.0/24",
        "Trần Thị Lan",
        "Một cửa điện tử",
    ]:
        assert text in page
    assert "information_classes" in page  # the level facts document
    assert reverse("registry:component_add") + f"?system={system.pk}" in page


def test_list_filters_and_columns(owner_client, system, tree):
    make_system(tree.dept_b, name="Hệ thống tỉnh B")
    page = owner_client.get(reverse("registry:system_list"), {"internet_facing": "true"}).content.decode()
    assert "Cổng dịch vụ công tỉnh A" in page and "Một cửa điện tử" not in page
    assert "Hệ thống tỉnh B" not in owner_client.get(reverse("registry:system_list")).content.decode()


# The system form's level facts of a system holding nothing sensitive and offering no online service.
NO_SENSITIVE_FACTS = {
    "state_secret_grade": "none",
    "security_harm": "none",
    "users_with_private_data": "0",
    "data_subjects_basic": "0",
    "data_subjects_sensitive": "0",
    "online_public_service_level": "0",
}


def test_create_form_groups_the_level_facts(owner_client, tree):
    page = owner_client.get(reverse("registry:system_add")).content.decode()
    assert page.count("<fieldset") == 4
    assert "Level facts" in page and "ND85 Art 6.1" in page
    response = owner_client.post(
        reverse("registry:system_add"),
        {
            "organization": str(tree.dept_a.pk),
            "code": "qlvb",
            "name": "Hệ thống quản lý văn bản",
            "lifecycle_status": "operating",
            "regime": "ND331_2026",
            "user_count": "120",
            "system_type": "internal",
            "information_classes": ["public", "private"],
            **NO_SENSITIVE_FACTS,
            "infrastructure_scope": "one_organisation",
            "construction_grade": "none",
            "network_zones": ["internal", "dmz"],
            "operates_24x7": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = InformationSystem.objects.get(code="qlvb")
    assert created.information_classes == ["public", "private"]
    assert created.operates_24x7 is True
    assert response.url == created.get_absolute_url()


def test_the_form_offers_only_organisations_where_one_may_add(owner_client, tree):
    page = owner_client.get(reverse("registry:system_add")).content.decode()
    assert str(tree.dept_a.pk) in page and str(tree.operator_a.pk) in page
    assert str(tree.dept_b.pk) not in page


def test_add_a_record_from_the_system_page_and_back(owner_client, system):
    url = reverse("registry:domain_add") + f"?system={system.pk}"
    assert f'value="{system.pk}" selected' in owner_client.get(url).content.decode()
    response = owner_client.post(url, {"system": str(system.pk), "name": "www.example.gov.vn"})
    assert response.status_code == 302 and response.url == system.get_absolute_url()
    domain = Domain.objects.get(name="www.example.gov.vn")
    deleted = owner_client.post(reverse("registry:domain_delete", args=[domain.pk]))
    assert deleted.url == system.get_absolute_url()
    assert not Domain.objects.filter(pk=domain.pk).exists()


def test_records_cannot_be_added_to_a_system_outside_the_scope(owner_client, tree):
    outside = make_system(tree.dept_b)
    response = owner_client.post(
        reverse("registry:domain_add"), {"system": str(outside.pk), "name": "x.example.gov.vn"}
    )
    assert response.status_code == 200  # the form again, with an error
    assert not Domain.objects.exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_list_exports_in_the_import_format(owner_client, system, tree, fmt):
    make_system(tree.dept_b, name="Hệ thống tỉnh B")
    response = owner_client.get(reverse("registry:system_list"), {"export": fmt, "q": "Cổng"})
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    assert f".{fmt}" in response["Content-Disposition"]
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        values = list(sheet.values)
        rows = [dict(zip(values[0], row, strict=True)) for row in values[1:]]
    assert [row["name"] for row in rows] == ["Cổng dịch vụ công tỉnh A"]
    assert rows[0]["owner"] == "so-a"


def test_export_needs_the_permission(client, tree, system):
    soc = make_user(tree.province_a, "soc_analyst")
    client.force_login(soc)
    assert client.get(reverse("registry:system_list"), {"export": "xlsx"}).status_code == 403


def test_import_page_dry_run_then_import(owner_client, tree):
    text = "owner,code,name\nso-a,a,Hệ thống A\n"
    page = owner_client.get(reverse("registry:system_import")).content.decode()
    assert 'name="dry_run"' in page and "checked" in page
    dry = owner_client.post(
        reverse("registry:system_import"), {"file": SimpleUploadedFile("s.csv", text.encode()), "dry_run": "on"}
    )
    assert dry.status_code == 200 and "1 to create" in dry.content.decode()
    assert not InformationSystem.objects.exists()
    done = owner_client.post(reverse("registry:system_import"), {"file": SimpleUploadedFile("s.csv", text.encode())})
    assert done.status_code == 302
    assert InformationSystem.objects.get().name == "Hệ thống A"


def test_import_page_lists_every_bad_row(owner_client, tree):
    text = "owner,code,name,decided_level\nso-a,a,A,7\nso-b,b,B,\nso-a,c,C,1\n"
    response = owner_client.post(
        reverse("registry:system_import"), {"file": SimpleUploadedFile("s.csv", text.encode())}
    )
    page = response.content.decode()
    assert response.status_code == 422
    assert "2 rows are not valid" in page
    assert "<td>2</td><td><code>decided_level</code></td>" in page
    assert "<td>3</td><td><code>owner</code></td>" in page
    assert not InformationSystem.objects.exists()


def test_import_page_refuses_whole_files_with_a_sentence(owner_client, tree):
    bad = SimpleUploadedFile("s.xlsx", b"PK\x03\x04 broken")
    page = owner_client.post(reverse("registry:system_import"), {"file": bad}).content.decode()
    assert "not a readable XLSX workbook" in page


def test_import_page_needs_the_permission(client, tree):
    client.force_login(make_user(tree.province_a, "security_officer"))
    assert client.get(reverse("registry:system_import")).status_code == 403


def test_dashboard_card(owner_client, system):
    page = owner_client.get(reverse("home")).content.decode()
    assert 'data-testid="system-count">2<' in page


def test_menu_entries(owner_client, system):
    page = owner_client.get(reverse("registry:system_list")).content.decode()
    assert reverse("registry:system_import") in page and "bi-hdd-network" in page


def test_templates_have_no_inline_script_or_style():
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text and "style=" not in text and "<style" not in text, path


def test_parents_offered_are_the_owners_systems(owner_client, system, tree):
    other_owner = make_system(tree.operator_a, name="Hệ thống của trung tâm")
    edit = owner_client.get(reverse("registry:system_edit", args=[system.pk])).content.decode()
    assert "Một cửa điện tử" in edit and str(other_owner.pk) not in edit
    add = owner_client.get(reverse("registry:system_add")).content.decode()
    assert "Save the system first" in add
    garbage = owner_client.post(reverse("registry:system_add"), {"organization": "not-a-uuid", "code": "x"})
    assert garbage.status_code == 200 and not InformationSystem.objects.filter(code="x").exists()


def test_detail_page_queries_do_not_grow_with_records(owner_client, system, django_assert_max_num_queries):
    for n in range(30):
        Component.objects.create(system=system, product=f"lib{n}")
    with django_assert_max_num_queries(30):
        assert owner_client.get(reverse("registry:system_detail", args=[system.pk])).status_code == 200


@pytest.mark.parametrize(
    ("name", "model", "field", "stored", "typed"),
    [
        ("domain", Domain, "name", "www.example.gov.vn", "WWW.Example.gov.vn."),
        ("iprange", IPRange, "cidr", "2001:db8::/32", "2001:DB8:0::/32"),
    ],
)
def test_a_record_written_differently_but_already_there_is_a_form_error(
    owner_client, system, name, model, field, stored, typed
):
    """Adding a domain or a network the system already has, typed in other letters or another notation, gave a
    500 page (the check compared the text as typed; the save wrote it normalised and hit the unique index)."""
    model.objects.create(system=system, **{field: stored})
    response = owner_client.post(reverse(f"registry:{name}_add"), {"system": str(system.pk), field: typed})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert model.objects.filter(system=system, **{field: stored}).count() == 1


def test_the_edit_form_keeps_an_operator_outside_ones_scope(owner_client, tree):
    """A system operated by a unit the owner's officer cannot see (set by the national authority) lost its
    operating unit when the officer saved any change: the drop-down did not offer it, so the browser sent none."""
    system = make_system(tree.dept_a, operator=tree.ministry)
    page = owner_client.get(reverse("registry:system_edit", args=[system.pk])).content.decode()
    assert f'value="{tree.ministry.pk}" selected' in page
    data = edit_form(system, name="Đổi tên")
    response = owner_client.post(reverse("registry:system_edit", args=[system.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    system.refresh_from_db()
    assert system.name == "Đổi tên" and system.operator == tree.ministry
    # another unit outside the scope is still not on offer
    response = owner_client.post(
        reverse("registry:system_edit", args=[system.pk]), {**data, "operator": tree.dept_b.pk}
    )
    assert response.status_code == 200 and "valid choice" in response.content.decode()


def test_the_system_page_reads_component_systems_level_by_level(owner_client, tree, django_assert_max_num_queries):
    """The system page ran one query per component system for its level facts (a composite of hundreds of parts
    took hundreds of queries); now one per level of composition."""
    composite = make_system(tree.dept_a)
    url = reverse("registry:system_detail", args=[composite.pk])
    part = make_system(tree.dept_a, parent_system=composite)
    make_system(tree.dept_a, parent_system=part)
    with CaptureQueriesContext(connection) as few:
        assert owner_client.get(url).status_code == 200
    for _n in range(10):
        make_system(tree.dept_a, parent_system=make_system(tree.dept_a, parent_system=composite))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert owner_client.get(url).status_code == 200
