"""The dashboard's arithmetic and query count, the pages, the alert search and the API actions."""

import csv
import datetime
import io
import re
import uuid
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from attt.core.testing import make_user
from attt.detection import services
from attt.detection.models import Alert, SigmaRule
from attt.detection.tests.factories import make_alert, make_rule
from attt.registry.tests.factories import make_system

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 20, 12, 30, tzinfo=datetime.UTC)


@pytest.fixture
def alerts(tree):
    """A hand-built set: Tỉnh A has 3 alerts (2 open), Tỉnh B 1, Bộ M 1 older than 24 h, one 40 days old."""
    health = make_system(tree.dept_a, priority_sector="health", name="Bệnh viện A")
    bank = make_system(tree.dept_b, priority_sector="banking", name="Ngân hàng B")
    hour = datetime.timedelta(hours=1)
    return [
        make_alert(tree.dept_a, signature="r1", title="R1", severity="critical", system=health, at=NOW - hour),
        make_alert(tree.operator_a, signature="r1", title="R1", severity="high", system=health, at=NOW - 2 * hour),
        make_alert(tree.dept_a, signature="r2", title="R2", severity="low", status="closed", at=NOW - 3 * hour),
        make_alert(tree.dept_b, signature="r1", title="R1", severity="high", system=bank, at=NOW - 3 * hour),
        make_alert(tree.ministry, signature="r3", title="R3", severity="medium", at=NOW - 30 * hour),
        make_alert(
            tree.ministry, signature="r3", title="R3", severity="medium", status="closed", at=NOW - 40 * 24 * hour
        ),
    ]


def test_dashboard_arithmetic(tree, national_admin, alerts):
    f = services.dashboard(national_admin, now=NOW)
    sev = {s["value"]: (s["open"], s["day"]) for s in f["severities"]}
    assert sev == {"critical": (1, 1), "high": (2, 2), "medium": (1, 0), "low": (0, 1), "informational": (0, 0)}
    assert (f["open_total"], f["day_total"]) == (4, 4)
    assert {b["name"]: b["n"] for b in f["branches"]} == {"Tỉnh A": 3, "Tỉnh B": 1, "Bộ M": 1}
    assert {s["sector"]: s["n"] for s in f["sectors"]} == {"health": 2, "banking": 1, "": 2}
    assert [(r["signature"], r["n"]) for r in f["rules"]][:1] == [("r1", 3)]
    assert [(s["system__name"], s["n"]) for s in f["systems"]] == [("Bệnh viện A", 2), ("Ngân hàng B", 1)]
    assert len(f["hourly"]) == 24 and sum(p["n"] for p in f["hourly"]) == 4
    assert len(f["daily"]) == 30 and sum(p["n"] for p in f["daily"]) == 5


def test_dashboard_of_one_subtree_groups_by_unit(tree, national_admin, alerts):
    f = services.dashboard(national_admin, tree.province_a, now=NOW)
    assert f["open_total"] == 2
    assert {b["name"]: b["n"] for b in f["branches"]} == {"Sở A": 3}
    deeper = services.dashboard(national_admin, tree.dept_a, now=NOW)
    assert {b["name"]: b["n"] for b in deeper["branches"]} == {"Sở A": 2, "Trung tâm A": 1}


def test_a_province_sees_only_its_alerts_on_the_dashboard(tree, alerts):
    analyst = make_user(tree.province_b, "soc_analyst", username="soc-b")
    f = services.dashboard(analyst, now=NOW)
    assert f["open_total"] == 1 and [b["name"] for b in f["branches"]] == ["Tỉnh B"]


def test_dashboard_query_count_is_constant(tree, national_admin, client, django_assert_max_num_queries):
    client.force_login(national_admin)
    url = reverse("detection:dashboard_live")
    system = make_system(tree.dept_a)
    make_alert(tree.dept_a, system=system)
    client.get(url)  # warm caches (session, content types)
    cache.clear()  # the figures themselves are shared for the poll interval: measure their computation
    with django_assert_max_num_queries(14) as few:
        assert client.get(url).status_code == 200
    for i in range(40):
        make_alert(tree.dept_b if i % 2 else tree.ministry, system=make_system(tree.dept_b), severity="medium")
    cache.clear()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


def test_dashboard_figures_are_shared_for_the_poll_interval(tree, national_admin, django_assert_num_queries):
    cache.clear()
    first = services.cached_dashboard(national_admin)
    with django_assert_num_queries(0):
        assert services.cached_dashboard(national_admin) == first
    analyst = make_user(tree.province_a, "soc_analyst", username="soc-a")
    make_alert(tree.dept_a)
    assert services.cached_dashboard(analyst)["open_total"] == 1  # another scope: computed on its own


def test_dashboard_page_embeds_monitoring(tree, national_admin, client, alerts):
    client.force_login(national_admin)
    page = client.get(reverse("detection:dashboard"))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'hx-get="/detection/live/"' in body
    assert reverse("monitoring:live_stats") in body
    home = client.get(reverse("home")).content.decode()
    assert 'data-testid="detection-widget"' in home
    scoped = client.get(reverse("detection:dashboard"), {"org": tree.province_a.pk})
    assert scoped.status_code == 200 and "Tỉnh A" in scoped.content.decode()


def test_dashboard_embeds_the_monitoring_card_only_for_those_who_may_see_sources(tree, client):
    """A role given alerts but not event sources gets the dashboard without the card its page would refuse;
    the card's address carries the dashboard's ?org=."""
    from attt.core.models import Role

    Role.objects.create(code="alerts-only", name="Alerts only", permissions=["detection.*.view"])
    client.force_login(make_user(tree.province_a, "alerts-only", username="alerts-only"))
    page = client.get(reverse("detection:dashboard")).content.decode()
    assert 'data-testid="detection-live"' in page and "monitoring-live" not in page
    client.force_login(make_user(tree.province_a, "soc_analyst", username="soc-card"))
    page = client.get(reverse("detection:dashboard"), {"org": tree.dept_a.pk}).content.decode()
    assert f'hx-get="{reverse("monitoring:live_stats")}?org={tree.dept_a.pk}"' in page


def test_dashboard_refuses_an_organisation_out_of_scope(tree, client):
    analyst = make_user(tree.province_a, "soc_analyst", username="soc-a")
    client.force_login(analyst)
    assert client.get(reverse("detection:dashboard"), {"org": tree.province_b.pk}).status_code == 404
    assert client.get(reverse("detection:dashboard"), {"org": "nonsense"}).status_code == 404
    outsider = make_user(tree.province_a, "inspector", username="insp-a")
    client.force_login(make_user(tree.province_a, None, username="nobody"))
    assert client.get(reverse("detection:dashboard")).status_code == 403
    client.force_login(outsider)
    assert client.get(reverse("detection:dashboard")).status_code == 200


# --- Search -----------------------------------------------------------------------------------------------


def test_alert_search_filters(tree, national_admin, client, alerts):
    client.force_login(national_admin)
    url = reverse("detection:alert_list")

    def titles(**params):
        page = client.get(url, params)
        assert page.status_code == 200
        return sorted(str(a.pk) for a in Alert.objects.all() if str(a.pk) in page.content.decode())

    assert len(titles()) == 6
    assert titles(severity=["high", "critical"]) == sorted(str(a.pk) for a in [*alerts[:2], alerts[3]])
    assert titles(status="closed") == sorted(str(a.pk) for a in (alerts[2], alerts[5]))
    assert titles(within=tree.province_a.pk) == sorted(str(a.pk) for a in alerts[:3])
    assert titles(since=(NOW - datetime.timedelta(days=2)).date().isoformat(), until=NOW.date().isoformat()) == sorted(
        str(a.pk) for a in alerts[:5]
    )
    assert titles(system=alerts[3].system_id) == [str(alerts[3].pk)]
    assert titles(rule="r3") == sorted(str(a.pk) for a in alerts[4:])
    assert titles(q="Bệnh viện") == sorted(str(a.pk) for a in alerts[:2])
    export = client.get(url, {"export": "csv", "kind": "sigma"})
    body = b"".join(export.streaming_content).decode()
    assert export.status_code == 200 and body.count("\n") == 7


def test_the_alert_list_leaves_ids_to_its_export(tree, national_admin, client, alerts):
    """Thirteen columns, two of them UUIDs, pushed the list past the page's width and made each row many lines
    tall; the rule id, its author and the alert id are in the CSV export, not on the page."""
    from django.utils import translation
    from django.utils.translation import gettext

    client.force_login(national_admin)
    url = reverse("detection:alert_list")
    page = client.get(url).content.decode()
    export = b"".join(client.get(url, {"export": "csv"}).streaming_content).decode()
    headers = next(csv.reader(io.StringIO(export.lstrip("\ufeff"))))
    with translation.override("vi"):
        hidden = [gettext("Rule id"), gettext("Rule author"), gettext("id")]
        for header in hidden:
            assert f'<th scope="col">{header}</th>' not in page and header in headers
        assert f'<th scope="col">{gettext("Last seen")}</th>' in page
    # every severity in sight in the filter (browsers show four rows of a multiple choice: "critical" was hidden)
    (select,) = re.findall(r'<select name="severity"[^>]*>', page)
    assert 'size="5"' in select and "multiple" in select


def test_alert_page_shows_attribution_and_steps(tree, client, fake_incident):
    analyst = make_user(tree.province_a, "soc_analyst", username="soc-a")
    rule = make_rule(rule_id="r-x", author="Nasreddine Bencherchali")
    alert = make_alert(tree.dept_a, rule_id=rule.rule_id, rule_author=rule.author)
    client.force_login(analyst)
    body = client.get(alert.get_absolute_url()).content.decode()
    assert "Nasreddine Bencherchali" in body and "DRL" in body
    response = client.post(reverse("detection:alert_step", args=[alert.pk, "close"]), {"reason": ""})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == "open"
    client.post(reverse("detection:alert_step", args=[alert.pk, "escalate"]))
    alert.refresh_from_db()
    assert alert.status == "escalated" and alert.incident_id == fake_incident


@pytest.fixture
def fake_incident(monkeypatch):
    ident = uuid.UUID(int=99)
    monkeypatch.setattr("attt.incidents.services.report_incident", lambda **kw: SimpleNamespace(pk=ident))
    return ident


# --- Rules ------------------------------------------------------------------------------------------------


def test_only_national_rule_changers_toggle_rules(tree, client, national_admin):
    rule = make_rule(author="Florian Roth")
    provincial = make_user(tree.province_a, "soc_analyst", username="soc-a")
    client.force_login(provincial)
    listing = client.get(reverse("detection:sigmarule_list"))
    assert listing.status_code == 200 and "Florian Roth" in listing.content.decode()
    assert client.post(reverse("detection:sigmarule_toggle"), {"rule": rule.pk, "enabled": "0"}).status_code == 403
    client.force_login(national_admin)
    client.post(reverse("detection:sigmarule_toggle"), {"rule": rule.pk, "enabled": "0"})
    rule.refresh_from_db()
    assert not rule.enabled
    detail = client.get(rule.get_absolute_url()).content.decode()
    assert "DRL" in detail and "Florian Roth" in detail


# --- API --------------------------------------------------------------------------------------------------


def test_api_actions_and_wrong_state_as_problem_json(tree, api, fake_incident):
    analyst = make_user(tree.province_a, "soc_analyst", username="soc-a")
    alert = make_alert(tree.dept_a)
    api.force_authenticate(analyst)
    base = "/api/v1/detection/alerts/"
    assert api.post(f"{base}{alert.pk}/acknowledge/").json()["status"] == "acknowledged"
    again = api.post(f"{base}{alert.pk}/acknowledge/")
    assert again.status_code == 409 and again["Content-Type"] == "application/problem+json"
    assert again.json()["status"] == 409
    missing = api.post(f"{base}{alert.pk}/close/", {}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()["errors"]
    unknown = api.post(f"{base}{alert.pk}/close/", {"reason": "x", "status": "open"}, format="json")
    assert unknown.status_code == 400
    escalated = api.post(f"{base}{alert.pk}/escalate/")
    assert escalated.status_code == 200 and escalated.json()["incident_id"] == str(fake_incident)
    closed = api.post(f"{base}{alert.pk}/close/", {"reason": "xong"}, format="json")
    assert closed.status_code == 409
    other = make_alert(tree.dept_b)
    assert api.post(f"{base}{other.pk}/acknowledge/").status_code == 404
    leader = make_user(tree.province_a, "leader", username="leader-a")
    api.force_authenticate(leader)
    assert api.post(f"{base}{make_alert(tree.dept_a).pk}/acknowledge/").status_code == 403
    assert api.post(base, {"title": "x"}, format="json").status_code == 403


def test_api_filters_and_rules(tree, api, national_admin):
    make_alert(tree.dept_a, severity="low")
    make_alert(tree.dept_a, severity="critical", at=timezone.now() - datetime.timedelta(days=80))
    api.force_authenticate(national_admin)
    rows = api.get("/api/v1/detection/alerts/", {"severity": "critical"}).json()["results"]
    assert [r["severity"] for r in rows] == ["critical"]
    rule = make_rule(author="Florian Roth")
    listing = api.get("/api/v1/detection/rules/").json()["results"]
    assert "Florian Roth" in listing[0]["attribution"] and "DRL" in listing[0]["attribution"]
    assert api.post(f"/api/v1/detection/rules/{rule.pk}/disable/").json()["enabled"] is False
    provincial = make_user(tree.province_a, "soc_analyst", username="soc-a")
    api.force_authenticate(provincial)
    assert api.get("/api/v1/detection/rules/").status_code == 200
    refused = api.post(f"/api/v1/detection/rules/{rule.pk}/enable/")
    assert refused.status_code == 403 and refused["Content-Type"] == "application/problem+json"
    assert not SigmaRule.objects.get(pk=rule.pk).enabled


def test_alert_search_stays_on_its_indexes(tree, api, national_admin):
    """Severity and status filters add no DISTINCT (it made the page count scan every alert), and the API sorts
    only by indexed times: `?ordering=count` is ignored, not a sort of every alert in scope."""
    from attt.detection.filtersets import AlertFilterSet

    query = str(AlertFilterSet({"severity": ["critical", "high"], "status": ["open"]}, Alert.objects.all()).qs.query)
    assert "DISTINCT" not in query.upper() and '"severity" = critical' in query
    busy = make_alert(tree.dept_a, count=50, at=timezone.now() - datetime.timedelta(days=2))
    quiet = make_alert(tree.dept_a, count=1)
    api.force_authenticate(national_admin)

    def ids(ordering: str) -> list[str]:
        return [r["id"] for r in api.get("/api/v1/detection/alerts/", {"ordering": ordering}).json()["results"]]

    assert ids("-count") == [str(quiet.pk), str(busy.pk)]  # ignored: newest first, as by default
    assert ids("first_seen") == [str(busy.pk), str(quiet.pk)]


def _reference_figures(user, within=None, *, now):
    """The dashboard's figures computed the plain way (a date function and a join on every row), as before
    the stored hour bucket and the index-only aggregates: the optimised figures must equal these."""
    from collections import Counter

    from django.db.models import Count, Sum
    from django.db.models.functions import Substr, TruncDate, TruncHour

    from attt.core import scoping

    alerts = scoping.visible(user, Alert.objects.all())
    if within is not None:
        alerts = alerts.filter(organization__path__startswith=within.path)
    day, month = now - datetime.timedelta(hours=24), now - datetime.timedelta(days=30)
    recent = alerts.filter(last_seen__gte=month)
    depth = within.depth + 1 if within is not None else 1
    branches = Counter()
    for row in recent.annotate(b=Substr("organization__path", 2 + 33 * depth, 32)).values("b").annotate(n=Count("pk")):
        branches[row["b"]] += row["n"]
    sectors = Counter()
    for sector, n in recent.values_list("system__priority_sector").annotate(Count("pk")).order_by():
        sectors[sector or ""] += n  # no system and a system without a sector are both "No sector"
    hourly = Counter()
    for row in (
        alerts.filter(first_seen__gte=day).annotate(h=TruncHour("first_seen")).values("h").annotate(n=Count("pk"))
    ):
        hourly[timezone.localtime(row["h"])] += row["n"]
    daily = Counter()
    for row in (
        alerts.filter(first_seen__gte=month).annotate(d=TruncDate("first_seen")).values("d").annotate(n=Count("pk"))
    ):
        daily[row["d"]] += row["n"]
    return {
        "open": Counter(
            dict(alerts.filter(status__in=services.OPEN_STATUSES).values_list("severity").annotate(Count("pk")))
        ),
        "day": {
            r["severity"]: (r["n"], r["e"])
            for r in alerts.filter(last_seen__gte=day).values("severity").annotate(n=Count("pk"), e=Sum("count"))
        },
        "branches": sorted(branches.values()),
        "sectors": sectors,
        "rules": {
            r["signature"]: (r["n"], r["e"]) for r in recent.values("signature").annotate(n=Count("pk"), e=Sum("count"))
        },
        "systems": {
            r["system_id"]: (r["n"], r["e"])
            for r in recent.filter(system__isnull=False).values("system_id").annotate(n=Count("pk"), e=Sum("count"))
        },
        "hourly": hourly,
        "daily": daily,
    }


@pytest.mark.parametrize("where", ["national", "province", "unit"])
def test_optimised_dashboard_figures_equal_the_plain_computation(tree, national_admin, where, settings):
    """A hand-built set around every edge: the 24 h and 30 day limits, local midnight (UTC+7), alerts with and
    without a system or sector, several rules, branches and depths, open and handled alerts."""
    settings.TIME_ZONE = "Asia/Ho_Chi_Minh"
    health = make_system(tree.dept_a, priority_sector="health", name="Bệnh viện A")
    bank = make_system(tree.dept_b, priority_sector="banking", name="Ngân hàng B")
    plain = make_system(tree.operator_a, priority_sector="", name="Cổng thông tin")
    minute = datetime.timedelta(minutes=1)
    moments = [
        NOW - 5 * minute,
        NOW - 24 * 60 * minute + minute,  # just inside the last 24 h
        NOW - 24 * 60 * minute - minute,  # just outside
        NOW - 30 * 24 * 60 * minute + minute,  # just inside the month
        NOW - 30 * 24 * 60 * minute - minute,  # just outside
        datetime.datetime(2026, 11, 19, 16, 59, tzinfo=datetime.UTC),  # 23:59 local on the 19th
        datetime.datetime(2026, 11, 19, 17, 0, tzinfo=datetime.UTC),  # 00:00 local on the 20th
        NOW - 7 * 24 * 60 * minute,
        NOW - 90 * 24 * 60 * minute,
    ]
    places = [
        (tree.dept_a, health),
        (tree.operator_a, plain),
        (tree.dept_b, bank),
        (tree.ministry, None),
        (tree.province_a, None),
        (tree.root, None),
    ]
    statuses = ["open", "acknowledged", "closed", "escalated"]
    n = 0
    for i, at in enumerate(moments):
        for j, (org, system) in enumerate(places):
            n += 1
            make_alert(
                org,
                signature=f"r{(i + j) % 4}",
                title=f"R{(i + j) % 4}",
                severity=["critical", "high", "medium", "low", "informational"][n % 5],
                status=statuses[n % 4],
                system=system,
                count=n,
                at=at,
                first_seen=at - (j % 3) * minute,
            )
    within = {"national": None, "province": tree.province_a, "unit": tree.dept_a}[where]
    f = services.dashboard(national_admin, within, now=NOW)
    ref = _reference_figures(national_admin, within, now=NOW)
    assert {s["value"]: s["open"] for s in f["severities"] if s["open"]} == dict(ref["open"])
    assert {s["value"]: (s["day"], s["events"]) for s in f["severities"] if s["day"]} == ref["day"]
    assert sorted(b["n"] for b in f["branches"]) == ref["branches"]
    assert {s["sector"]: s["n"] for s in f["sectors"]} == dict(ref["sectors"])
    assert {r["signature"]: (r["n"], r["events"]) for r in f["rules"]} == ref["rules"]
    assert {s["system_id"]: (s["n"], s["events"]) for s in f["systems"]} == ref["systems"]
    hours = {p["key"]: p["n"] for p in f["hourly"]}
    assert {k: v for k, v in ref["hourly"].items() if k in hours} == {k: v for k, v in hours.items() if v}
    days = {p["key"]: p["n"] for p in f["daily"]}
    assert {k: v for k, v in ref["daily"].items() if k in days} == {k: v for k, v in days.items() if v}
    assert sum(days.values()) > 0 and sum(hours.values()) > 0
