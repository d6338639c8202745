"""The plans pages as the review crawled them: no Add button leads to a blank form that cannot be saved, the
indicator and library forms fill in what the user cannot, the overdue list pages, and the plan words are the
plans' own in Vietnamese (the same English word means something else in another module's catalogue)."""

import datetime
import re

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from attt.core.testing import make_user
from attt.plans import charts
from attt.plans.models import Indicator, LegalDocument, Status
from attt.plans.tests.factories import make_assignment, make_document, make_indicator, make_plan, make_task


@pytest.fixture
def officer(tree):
    """Security officer of Tỉnh A: may add, change and view plans' records in its subtree."""
    return make_user(tree.province_a, "security_officer", username="officer-ui-a")


def add_links(html: str) -> list[str]:
    return re.findall(r'href="([^"]*/add/)"', html)


@pytest.mark.parametrize(
    ("list_name", "add_path"),
    [("plans:task_list", "/plans/tasks/add/"), ("plans:assignment_list", "/plans/assignments/add/")],
)
def test_tasks_and_assignments_have_no_blank_add_page(client, officer, list_name, add_path):
    """Tasks come with their imported plan, assignments from a task's Assign form: their lists offer no Add
    button (the page hides it when the address does not resolve) and the address is gone."""
    client.force_login(officer)
    page = client.get(reverse(list_name))
    assert page.status_code == 200
    assert add_links(page.content.decode()) == []
    assert client.get(add_path).status_code == 404
    with pytest.raises(NoReverseMatch):
        reverse(list_name.replace("_list", "_add"))


@pytest.mark.parametrize("list_name", ["plans:plan_list", "plans:indicator_list", "plans:legaldocument_list"])
def test_every_add_button_opens_a_form(client, officer, list_name):
    client.force_login(officer)
    links = add_links(client.get(reverse(list_name)).content.decode())
    assert links == [reverse(list_name.replace("_list", "_add"))]
    assert client.get(links[0]).status_code == 200


def test_new_indicator_takes_its_plan_owner_and_the_next_number(client, tree, officer):
    plan = make_plan(tree.dept_a)
    make_indicator(tree.dept_a, plan=plan)
    taken = Indicator.objects.get(plan=plan).number
    elsewhere = make_plan(tree.province_b)
    client.force_login(officer)

    form = client.get(reverse("plans:indicator_add")).content.decode()
    assert f'value="{plan.pk}"' in form and str(elsewhere.pk) not in form
    data = {"plan": plan.pk, "number": "", "name": "Tỷ lệ hệ thống được phê duyệt cấp độ", "target": "100%"}
    r = client.post(reverse("plans:indicator_add"), data)
    created = Indicator.objects.get(plan=plan, name=data["name"])
    assert r.status_code == 302 and r.url == created.get_absolute_url()
    assert (created.number, created.organization_id) == (taken + 1, tree.dept_a.pk)

    r = client.post(reverse("plans:indicator_add"), {**data, "number": taken, "name": "Trùng số"})
    assert r.status_code == 200 and not Indicator.objects.filter(name="Trùng số").exists()
    assert r.context["form"].errors
    r = client.post(reverse("plans:indicator_add"), {**data, "plan": elsewhere.pk, "name": "Ngoài phạm vi"})
    assert r.status_code == 200 and "plan" in r.context["form"].errors
    assert not Indicator.objects.filter(name="Ngoài phạm vi").exists()
    r = client.post(reverse("plans:indicator_add"), {**data, "number": 40, "name": "Số chọn"})
    assert r.status_code == 302 and Indicator.objects.get(name="Số chọn").number == 40


def test_indicator_change_keeps_plan_and_number(client, tree, officer):
    indicator = make_indicator(tree.dept_a)
    client.force_login(officer)
    form = client.get(reverse("plans:indicator_edit", args=[indicator.pk])).context["form"]
    assert "plan" not in form.fields and "number" not in form.fields


def test_library_form_makes_the_key_and_refuses_a_copy(client, tree, officer):
    client.force_login(officer)
    form = client.get(reverse("plans:legaldocument_add")).content.decode()
    assert 'name="key"' not in form
    data = {
        "organization": tree.province_a.pk,
        "kind": "Nghị định",
        "number": "85/2016/NĐ-CP",
        "date": "2016-07-01",
        "title": "Về bảo đảm an toàn hệ thống thông tin theo cấp độ",
    }
    r = client.post(reverse("plans:legaldocument_add"), data)
    assert r.status_code == 302
    document = LegalDocument.objects.get(number=data["number"])
    assert document.key == LegalDocument.key_for(data["kind"], data["number"], datetime.date(2016, 7, 1), data["title"])

    r = client.post(reverse("plans:legaldocument_add"), {**data, "title": data["title"].upper()})
    assert r.status_code == 200 and r.context["form"].non_field_errors()
    assert LegalDocument.objects.filter(number=data["number"]).count() == 1


def test_library_copy_held_out_of_sight_is_kept_apart(client, tree, officer):
    """The same document in another province's library: not announced, saved as this unit's own copy."""
    theirs = LegalDocument.objects.create(
        organization=tree.province_b, kind="Luật", number="24/2018/QH14", title="An ninh mạng"
    )
    client.force_login(officer)
    data = {"organization": tree.province_a.pk, "kind": "Luật", "number": "24/2018/QH14", "title": "An ninh mạng"}
    r = client.post(reverse("plans:legaldocument_add"), data)
    assert r.status_code == 302
    ours = LegalDocument.objects.exclude(pk=theirs.pk).get(number="24/2018/QH14")
    assert ours.organization_id == tree.province_a.pk and ours.key != theirs.key
    assert ours.key.startswith(theirs.key)


def test_a_document_saved_without_a_key_gets_one(tree):
    """The API and the demo save documents without one: the key is made rather than left empty (a second
    empty key would break the unique constraint)."""
    first = LegalDocument.objects.create(organization=tree.root, kind="Luật", number="1", title="A")
    second = LegalDocument.objects.create(organization=tree.root, kind="Luật", number="2", title="B")
    assert first.key and second.key and first.key != second.key
    assert make_document(tree.root).key.startswith("doc-")  # a key given is kept


def test_overdue_list_pages_by_fifty(client, tree, officer):
    task = make_task(tree.dept_a, due_date=datetime.date(2020, 1, 1))
    units = [tree.province_a, tree.dept_a, tree.operator_a]
    for i in range(51):
        unit = units[i % 3] if i < 3 else make_organisation_under(tree.dept_a, i)
        make_assignment(unit, task=task, due_date=datetime.date(2020, 1, 1) + datetime.timedelta(days=i))
    client.force_login(officer)
    first = client.get(reverse("plans:overdue"))
    assert len(first.context["page"].object_list) == 50
    assert "page=2" in first.content.decode()
    second = client.get(reverse("plans:overdue"), {"page": 2})
    assert len(second.context["page"].object_list) == 1
    shown = {a.pk for a in first.context["page"]} | {a.pk for a in second.context["page"]}
    assert len(shown) == 51


def make_organisation_under(parent, n):
    from attt.core.services.organizations import create_organization

    return create_organization(parent=parent, code=f"don-vi-{n}", name=f"Đơn vị {n}", kind="unit")


def test_plan_words_are_the_plans_own_in_vietnamese(tree):
    """ "Done" and "Timeline" are also compliance's words (a date done, a handling history); the plans' ones
    carry their own context."""
    task = make_task(tree.dept_a, status=Status.DONE)
    with translation.override("vi"):
        assert task.get_status_display() == "Hoàn thành"
        assert str(Status.IN_PROGRESS.label) == "Đang triển khai"
        svg = charts.gantt([task], today=datetime.date(2024, 6, 1))
        assert "<title>Tiến độ thời gian</title>" in svg
        chart = charts.indicator_chart(make_indicator(tree.dept_a), [])
        assert "<title>Cơ sở: 53</title>" in chart and "<title>Mục tiêu: 80</title>" in chart


def test_timeline_page_title_is_the_plans_word(client, tree, officer):
    client.force_login(officer)
    with translation.override("vi"):
        page = client.get(reverse("plans:timeline"), HTTP_ACCEPT_LANGUAGE="vi")
    assert page.context["title"] == "Tiến độ thời gian"
