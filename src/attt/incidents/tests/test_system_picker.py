"""The intake form's affected systems, picked through a search: the page never loads the systems a national user
may see (the whole country's register), a search lists only visible systems and a bounded number of them, the
no-script Find posts the form back keeping what was typed, and a system out of the reporter's scope is refused
as it always was."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.forms import ModelMultipleChoiceField
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attt.core.models import User
from attt.core.testing import make_user
from attt.incidents import forms
from attt.incidents.models import Incident
from attt.registry import services as registry
from attt.registry.models import InformationSystem
from attt.registry.tests.factories import make_system

pytestmark = pytest.mark.django_db

SYSTEMS_TABLE = InformationSystem._meta.db_table
FORM = reverse("incidents:incident_add")
SEARCH = reverse("incidents:system_search")


@pytest.fixture
def officer_a(tree):
    """Reports incidents and sees the systems of province A only."""
    return make_user(tree.province_a, "security_officer", username="officer-a")


@pytest.fixture
def systems(tree):
    """Portals in both provinces (the same words in their names) and one system of a ministry."""
    return {
        "a": make_system(tree.dept_a, name="Cổng dịch vụ công tỉnh A", code="cong-dvc-a"),
        "a2": make_system(tree.operator_a, name="Hệ thống thư điện tử", code="thu-dien-tu-a"),
        "b": make_system(tree.dept_b, name="Cổng dịch vụ công tỉnh B", code="cong-dvc-b"),
        "m": make_system(tree.ministry, name="Cơ sở dữ liệu ngành", code="csdl-nganh"),
    }


def _ticks(html: str) -> dict[str, bool]:
    """The system boxes of a page or fragment: id → ticked."""
    boxes = re.findall(r'<input class="form-check-input" type="checkbox" name="systems" value="([^"]+)"([^>]*)>', html)
    return {pk: " checked" in rest for pk, rest in boxes}


def _searched(client, text: str, chosen=()) -> dict[str, bool]:
    response = client.get(SEARCH, {forms.SYSTEM_QUERY: text, "systems": list(chosen)})
    assert response.status_code == 200
    return _ticks(response.content.decode())


def test_the_form_page_reads_no_system(client, tree, national_admin, systems):
    """Every visible system was an <option>: 3,418 at demo scale, 0.65 s and 500 KB for a national user. The
    page now reads the systems table not once, whatever the register holds."""
    for n in range(30):
        make_system(tree.province_b, name=f"Hệ thống quận {n}")
    client.force_login(national_admin)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(FORM)
    assert page.status_code == 200
    assert not [q["sql"] for q in queries if SYSTEMS_TABLE in q["sql"]]
    html = page.content.decode()
    assert _ticks(html) == {} and "Hệ thống quận" not in html and systems["m"].name not in html
    assert 'data-testid="system-picker"' in html and f'hx-get="{SEARCH}"' in html


def test_a_search_lists_only_visible_systems(client, officer_a, systems):
    client.force_login(officer_a)
    assert _searched(client, "cổng dịch vụ") == {str(systems["a"].pk): False}
    assert _searched(client, "cong-dvc") == {str(systems["a"].pk): False}  # by code
    assert _searched(client, "csdl") == {}  # the ministry's, out of scope
    assert _searched(client, "Trung tâm A") == {str(systems["a2"].pk): False}  # by owner's name
    assert _searched(client, "cổng thư") == {}  # every word must match
    assert _searched(client, "cổng", chosen=[systems["a"].pk, "not-an-id"]) == {}  # the chosen are left out
    assert _searched(client, "cổng\x00 dịch") == {str(systems["a"].pk): False}  # PostgreSQL refuses a NUL
    html = client.get(SEARCH, {forms.SYSTEM_QUERY: "  "}).content.decode()
    assert _ticks(html) == {} and "form-text" in html  # no text, no list: a hint
    assert registry.find_systems(officer_a, " \n ").systems == []


def test_a_search_lists_at_most_the_limit(client, tree, national_admin, monkeypatch):
    monkeypatch.setattr(registry, "SYSTEM_MATCHES", 3)
    for word in ("một", "hai", "ba", "bốn", "năm"):
        make_system(tree.province_b, name=f"Cổng thông tin {word}")
    client.force_login(national_admin)
    response = client.get(SEARCH, {forms.SYSTEM_QUERY: "cổng thông tin"})
    shown = _ticks(response.content.decode())
    expected = InformationSystem.objects.order_by("name")[:3]
    assert list(shown) == [str(s.pk) for s in expected]
    assert response.context["matches"].more
    assert not registry.find_systems(national_admin, "cổng thông tin bốn").more


def test_the_search_needs_a_reporter(client, tree, systems):
    response = client.get(SEARCH, {forms.SYSTEM_QUERY: "cổng"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    leader = make_user(tree.root, "leader", username="lanh-dao")  # sees every system, may not report
    client.force_login(leader)
    assert registry.visible_systems(leader).exists()
    assert client.get(SEARCH, {forms.SYSTEM_QUERY: "cổng"}).status_code == 403
    assert client.post(FORM, {forms.SYSTEM_QUERY: "cổng", forms.SYSTEM_FIND: "1"}).status_code == 403


def test_find_without_script_keeps_what_was_typed(client, tree, officer_a, systems):
    """The Find button posts the form back: the page shows the typed fields again, the ticked systems ticked,
    the matches to tick, no error for what is not filled in yet, and saves nothing."""
    client.force_login(officer_a)
    typed = {
        "organization": str(tree.dept_a.pk),
        "title": "Tấn công thay đổi giao diện",
        "description": "Trang chủ bị thay nội dung",
        "observables": "ipv4:203.0.113.9",
        "discovered_at": "2026-03-02T08:15",
        "systems": [str(systems["a2"].pk), str(systems["b"].pk)],
        forms.SYSTEM_QUERY: "cổng",
        forms.SYSTEM_FIND: "1",
    }
    page = client.post(FORM, typed)
    assert page.status_code == 200 and not Incident.objects.exists()
    html = page.content.decode()
    # the chosen one kept ticked, the match to tick; province B's system is neither chosen nor listed
    assert _ticks(html) == {str(systems["a2"].pk): True, str(systems["a"].pk): False}
    for value in ("Tấn công thay đổi giao diện", "Trang chủ bị thay nội dung", "ipv4:203.0.113.9", "2026-03-02T08:15"):
        assert value in html
    assert re.search(rf'<option value="{tree.dept_a.pk}" selected>', html)
    assert "is-invalid" not in html and 'value="cổng"' in html


def test_a_chosen_system_out_of_scope_is_refused(client, tree, officer_a, systems):
    """A system id the reporter may not see (or no id at all) is refused with the error the select of every
    visible system gave: the stock field's, over the same systems."""
    client.force_login(officer_a)
    select = ModelMultipleChoiceField(queryset=registry.visible_systems(officer_a))
    data = {"organization": str(tree.dept_a.pk), "source": "operator", "title": "Mã độc", "description": "x"}
    for refused in (str(systems["b"].pk), "not-an-id"):
        chosen = [str(systems["a"].pk), refused]
        page = client.post(FORM, {**data, "systems": chosen})
        assert page.status_code == 200 and not Incident.objects.exists()
        with pytest.raises(ValidationError) as stock:
            select.clean(chosen)
        assert page.context["form"].errors["systems"] == stock.value.messages
        assert refused in stock.value.messages[0]
        html = page.content.decode()
        assert _ticks(html) == {str(systems["a"].pk): True}  # the visible one stays ticked, the other is not shown
    page = client.post(FORM, {**data, "systems": [str(systems["a"].pk), str(systems["a2"].pk)]})
    incident = Incident.objects.get()
    assert page.status_code == 302 and set(incident.systems.all()) == {systems["a"], systems["a2"]}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300) | st.text(alphabet="%_\\ \x00cổng'\"", max_size=12))
def test_any_search_text_gives_visible_systems_only(tree, systems, text):
    """Whatever is typed (wildcards, quotes, NUL, very long text): no error, never more than the limit, never a
    system out of scope."""
    officer = User.objects.filter(username="officer-fuzz").first() or make_user(
        tree.province_a, "security_officer", username="officer-fuzz"
    )
    found = registry.find_systems(officer, text)
    assert len(found.systems) <= registry.SYSTEM_MATCHES
    assert {s.pk for s in found.systems} <= {systems["a"].pk, systems["a2"].pk}
    assert len(found.query) <= registry.SYSTEM_QUERY_LENGTH
