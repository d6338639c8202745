"""The pages, for any logged-in user, and the menu entry."""

import pytest
from django.urls import reverse

from attt.core import navigation, permissions
from attt.core.testing import make_user


@pytest.fixture
def reader(client, tree):
    client.force_login(make_user(tree.dept_a, username="reader"))
    client.cookies["attt_language"] = "en"
    return client


def test_pages_need_login(client, db):
    for name, args in [
        ("regulation:regime_list", []),
        ("regulation:assess", []),
        ("regulation:regime_detail", ["ND85_2016"]),
    ]:
        response = client.get(reverse(name, args=args))
        assert response.status_code == 302 and response.url.startswith("/login/")


def test_regime_list_and_detail_render(reader):
    page = reader.get(reverse("regulation:regime_list")).content.decode()
    assert "ND85_2016" in page and "ND331_2026" in page
    old = reader.get(reverse("regulation:regime_detail", args=["ND85_2016"])).content.decode()
    assert "ND85-9.2.c" in old and "M.OPS.VULN" in old
    new = reader.get(reverse("regulation:regime_detail", args=["ND331_2026"])).content.decode()
    assert "ND331-16.4" in new and "unverified" in new and "Mẫu 08" in new
    assert reader.get(reverse("regulation:regime_detail", args=["ND99"])).status_code == 404


def test_pages_have_no_inline_script_or_style(reader):
    for url in [reverse("regulation:regime_detail", args=["ND331_2026"]), reverse("regulation:assess")]:
        html = reader.get(url).content.decode()
        assert "<script>" not in html and "style=" not in html and "onclick" not in html


def test_calculator_shows_the_result(reader):
    url = reverse("regulation:assess")
    form = reader.get(url).content.decode()
    assert "(Art 9.2.c)" in form  # help texts cite the article
    query = {
        "regime": "ND331_2026",
        "system_type": "citizen_service",
        "information_classes": ["public", "personal"],
        "state_secret_grade": "none",
        "security_harm": "none",
        "online_public_service_level": "0",
        "users_with_private_data": "0",
        "data_subjects_basic": "100000",
        "data_subjects_sensitive": "0",
        "infrastructure_scope": "none",
        "construction_grade": "none",
        "decided_level": "",
    }
    page = reader.get(url, query).content.decode()
    assert 'data-testid="assessment-result"' in page
    assert "Level 3" in page and "ND331-13.2.c" in page


def test_calculator_reports_bad_answers(reader):
    page = reader.get(reverse("regulation:assess"), {"system_type": "web", "users_with_private_data": "-4"})
    assert page.status_code == 200
    assert 'data-testid="assessment-result"' not in page.content.decode()
    assert "invalid-feedback" in page.content.decode()


def test_the_page_speaks_vietnamese_by_default(client, tree):
    client.force_login(make_user(tree.dept_a, username="reader-vi"))
    page = client.get(reverse("regulation:regime_list")).content.decode()
    assert "Chế độ pháp lý" in page


def test_menu_section_and_permission_are_registered():
    section = next(s for s in navigation.sections if s.key == "regulation")
    assert section.icon == "bi-journal-text"
    assert {i.permission for i in section.items} == {"regulation.regime.view"}
    assert [i.url for i in section.items] == [reverse("regulation:regime_list"), reverse("regulation:assess")]
    assert "regulation.regime.view" in permissions.all_permissions()
