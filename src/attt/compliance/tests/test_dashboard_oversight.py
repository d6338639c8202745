"""Dashboard figures against a hand-computed data set, constant query counts, drill-down isolation, trend."""

import datetime

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from attt.compliance import dashboards, services
from attt.compliance.models import StatusReport
from attt.compliance.tests.factories_oversight import build_sample, make_dossier, make_items, make_layers, make_report
from attt.core.scoping import forget_scope
from attt.core.testing import make_user
from attt.registry.tests.factories import make_system

pytestmark = pytest.mark.django_db


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def sample(tree, today):
    return build_sample(tree, today)


def test_national_figures_match_the_hand_computed_set(national_admin, sample, tree):
    figures = dashboards.node_figures(national_admin)
    assert figures["organization"]["id"] == str(tree.root.pk)
    assert figures["systems"] == 6
    assert figures["by_level"] == {"1": 1, "2": 1, "3": 2, "4": 0, "5": 0, "none": 2}
    assert (figures["approved"], figures["approved_pct"]) == (4, 66.7)
    assert (figures["fully"], figures["fully_pct"]) == (2, 33.3)
    assert (figures["dossiers_overdue"], figures["checks_overdue"]) == (1, 1)
    assert figures["layers"] == {"onsite": 3, "soc": 2, "assessment": 1, "national": 1, "all": 1}
    assert figures["layers_pct"]["all"] == 16.7


def test_approved_level_agrees_with_the_service(national_admin, sample):
    """The dashboard's per-system level is the one services.approved_level() gives (newest decision)."""
    from attt.registry import services as registry

    annotated = {s.pk: s.approved_level for s in dashboards.annotate_status(registry.visible_systems(national_admin))}
    assert annotated == {s.pk: services.approved_level(s) for s in sample.values()}
    assert annotated[sample["s2"].pk] == 2


def test_all_four_layers_agree_with_coverage_filter(national_admin, sample):
    from attt.compliance.models import ProtectionLayers

    covered = set(ProtectionLayers.objects.filter(services.coverage_filter()).values_list("system_id", flat=True))
    from attt.registry import services as registry

    annotated = dashboards.annotate_status(registry.visible_systems(national_admin))
    assert {s.pk for s in annotated if s.layers == dashboards.ALL_LAYERS} == covered


def test_drilldown_rows_per_province(national_admin, sample, tree):
    rows = {row["organization"]["code"]: row for row in dashboards.drilldown(national_admin)}
    assert set(rows) == {"tinh-a", "tinh-b", "bo-m"}
    a, b = rows["tinh-a"], rows["tinh-b"]
    assert (a["systems"], a["approved"], a["approved_pct"], a["fully"], a["fully_pct"]) == (3, 2, 66.7, 1, 33.3)
    assert (b["systems"], b["approved"], b["fully"], b["dossiers_overdue"], b["checks_overdue"]) == (3, 2, 1, 1, 1)
    assert a["layers"]["all"] == 1 and b["layers"]["onsite"] == 1
    assert rows["bo-m"]["systems"] == 0 and not rows["bo-m"]["has_children"]
    assert a["has_children"]


def test_drilldown_below_a_province_keeps_the_nodes_own_systems(national_admin, sample, tree):
    rows = dashboards.drilldown(national_admin, tree.province_b)
    own = [r for r in rows if r["own"]]
    assert len(own) == 1 and own[0]["organization"]["code"] == "tinh-b" and own[0]["systems"] == 1
    dept = next(r for r in rows if r["organization"]["code"] == "so-b")
    assert (dept["systems"], dept["approved"], dept["fully"]) == (2, 2, 1)


def test_province_admin_sees_only_its_province(sample, tree):
    admin_a = make_user(tree.province_a, "org_admin", username="admin-a")
    figures = dashboards.node_figures(admin_a)
    assert figures["organization"]["code"] == "tinh-a"
    assert figures["systems"] == 3
    assert [r["organization"]["code"] for r in dashboards.drilldown(admin_a)] == ["so-a"]
    with pytest.raises(Http404):
        dashboards.node_figures(admin_a, tree.province_b)
    with pytest.raises(Http404):
        dashboards.node_figures(admin_a, str(tree.root.pk))
    with pytest.raises(Http404):
        dashboards.node_figures(admin_a, "not-a-uuid")


def test_user_with_two_subtrees_gets_both_as_rows(sample, tree):
    from attt.core.models import Role, RoleAssignment

    user = make_user(tree.province_a, "leader", username="leader-ab")
    RoleAssignment.objects.create(user=user, role=Role.objects.get(code="leader"), organization=tree.province_b)
    forget_scope(user)
    result = dashboards.overview(user)
    assert result.node.organization is None
    assert [r.organization.code for r in result.rows] == ["tinh-a", "tinh-b"]
    assert result.figures["systems"] == 6


def _queries(func) -> int:
    with CaptureQueriesContext(connection) as captured:
        func()
    return len(captured.captured_queries)


def _systems(org, n, offset=0):
    for i in range(n):
        system = make_system(org)
        if i % 3:
            make_dossier(system, i % 5 + 1)
            make_items(system, "ND85_2016", ["met", "met" if i % 2 else "partly"])
        if i % 2:
            make_layers(system, onsite=True, national=bool(i % 4))


def test_query_count_does_not_grow_with_the_number_of_systems(national_admin, tree, today):
    _systems(tree.dept_a, 3)
    _systems(tree.dept_b, 2)
    make_report(
        tree.province_a,
        state=StatusReport.State.SUBMITTED,
        data={"totals": {"systems": 5, "approved": 3, "fully": 1, "layers": {"all": 0}}},
        period_end=today.replace(day=1) - datetime.timedelta(days=1),
    )
    forget_scope(national_admin)
    small = _queries(lambda: dashboards.overview(national_admin))
    small_rows = _queries(lambda: dashboards.drilldown(national_admin, tree.province_a))
    _systems(tree.dept_a, 25)
    _systems(tree.operator_a, 10)
    _systems(tree.dept_b, 10)
    forget_scope(national_admin)
    assert dashboards.node_figures(national_admin)["systems"] == 50
    forget_scope(national_admin)
    assert _queries(lambda: dashboards.overview(national_admin)) == small
    assert _queries(lambda: dashboards.drilldown(national_admin, tree.province_a)) == small_rows
    assert small <= 8


def test_trend_counts_only_top_most_reports(national_admin, tree, today):
    last = today.replace(day=1) - datetime.timedelta(days=1)
    before = last.replace(day=1) - datetime.timedelta(days=1)

    def totals(systems, approved, fully, covered=0):
        return {"totals": {"systems": systems, "approved": approved, "fully": fully, "layers": {"all": covered}}}

    submitted = StatusReport.State.SUBMITTED
    make_report(tree.province_a, state=submitted, period_end=before, data=totals(10, 5, 1))
    make_report(tree.province_b, state=submitted, period_end=before, data=totals(10, 6, 2))
    make_report(tree.province_a, state=submitted, period_end=last, data=totals(10, 7, 3, 2))
    make_report(tree.dept_a, state=submitted, period_end=last, data=totals(4, 4, 2))  # inside province A's
    make_report(tree.province_b, state=StatusReport.State.DRAFT, period_end=last, data=totals(10, 9, 9))
    trend = dashboards.node_figures(national_admin)["trend"]
    assert [(p["period"], p["systems"], p["approved"], p["fully"]) for p in trend] == [
        (before.strftime("%Y-%m"), 20, 11, 3),
        (last.strftime("%Y-%m"), 10, 7, 3),
    ]
    assert trend[0]["approved_pct"] == 55.0 and trend[1]["layers_all_pct"] == 20.0


def test_home_widget_and_dashboard_pages(client, national_admin, sample, tree):
    client.force_login(national_admin)
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert b"66.7%" in home.content or b"66,7%" in home.content
    page = client.get(reverse("compliance:dashboard"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "<title" in html and "<desc" in html
    assert 'style="' not in html.split("<main", 1)[1]  # nothing the CSP would block
    assert f"?organization={tree.province_a.pk}" in html
    drill = client.get(reverse("compliance:dashboard"), {"organization": tree.province_a.pk})
    assert drill.status_code == 200 and "Sở A" in drill.content.decode()
    listing = client.get(reverse("compliance:system_status_list"), {"organization": tree.dept_a.pk})
    assert listing.status_code == 200
    body = listing.content.decode()
    assert "Cổng dịch vụ công A" in body and "Cổng dịch vụ công B" not in body
    assert f'name="organization" value="{tree.dept_a.pk}"' in body  # the filter form keeps the subtree
    filtered = client.get(reverse("compliance:system_status_list"), {"level": "3", "fully": "yes"})
    assert "Cổng dịch vụ công B" in filtered.content.decode()
    assert "Quản lý văn bản A" not in filtered.content.decode()
    typed = client.get(reverse("compliance:system_status_list"), {"q": "QUAN LY VAN BAN"}).content.decode()
    assert "Quản lý văn bản A" in typed and "Cổng dịch vụ công B" not in typed  # diacritics and case aside


def test_dashboard_pages_respect_scope(client, sample, tree):
    user = make_user(tree.province_a, "leader", username="leader-a")
    client.force_login(user)
    assert client.get(reverse("compliance:dashboard"), {"organization": tree.province_b.pk}).status_code == 404
    assert client.get(reverse("compliance:system_status_list"), {"organization": tree.province_b.pk}).status_code == 404
    page = client.get(reverse("compliance:system_status_list"))
    assert page.status_code == 200 and "Cổng dịch vụ công B" not in page.content.decode()
    nobody = make_user(tree.province_a, None, username="no-role")
    client.force_login(nobody)
    assert client.get(reverse("compliance:dashboard")).status_code == 403


def test_dashboard_api(api, national_admin, sample, tree):
    api.force_authenticate(national_admin)
    response = api.get(reverse("api:compliance-dashboard-list"), {"organization": str(tree.province_b.pk)})
    assert response.status_code == 200
    body = response.json()
    assert body["organization"]["code"] == "tinh-b"
    assert body["systems"] == 3 and body["approved"] == 2
    assert {c["organization"]["code"] for c in body["children"]} == {"tinh-b", "so-b"}
    leader = make_user(tree.province_a, "leader", username="leader-api")
    api.force_authenticate(leader)
    outside = api.get(reverse("api:compliance-dashboard-list"), {"organization": str(tree.province_b.pk)})
    assert outside.status_code == 404
