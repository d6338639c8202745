"""Defects an analyst or a hand-made request ran into: input that gave a 500, a dashboard link to a 404, an
indicator escalated with a cut value, times in UTC in texts analysts read."""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from attt.core.testing import make_user
from attt.detection import services
from attt.detection.models import Alert
from attt.detection.tests.factories import make_alert, make_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst(tree):
    return make_user(tree.province_a, "soc_analyst", username="soc-a")


@pytest.mark.parametrize("bounds", [{"since": "0001-01-01"}, {"until": "9999-12-31"}])
def test_dates_at_the_ends_of_the_calendar_are_no_bound(tree, client, api, national_admin, bounds):
    """A search from 01/01/0001 or up to 31/12/9999 (a date picker's extremes) answered "Server error" on the
    page, its CSV export and the API (the day's midnight in UTC is outside what a timestamp holds): it is no
    bound, every alert is listed."""
    alert = make_alert(tree.dept_a)
    client.force_login(national_admin)
    page = client.get(reverse("detection:alert_list"), bounds)
    assert page.status_code == 200 and str(alert.pk) in page.content.decode()
    export = client.get(reverse("detection:alert_list"), {**bounds, "export": "csv"})
    assert export.status_code == 200 and str(alert.pk) in b"".join(export.streaming_content).decode()
    api.force_authenticate(national_admin)
    listed = api.get("/api/v1/detection/alerts/", bounds)
    assert listed.status_code == 200 and [r["id"] for r in listed.json()["results"]] == [str(alert.pk)]
    assert api.get("/api/v1/detection/alerts/export/", bounds).status_code == 200


def test_ticked_rule_ids_not_in_a_stored_form_are_ignored(tree, client, national_admin):
    """A rule list posted with an id such as "²" (a digit to Python, not to the database) or one past 64 bits
    gave "Server error" to the national administrator: they are not ids of any rule and are ignored."""
    rule = make_rule()
    client.force_login(national_admin)
    response = client.post(
        reverse("detection:sigmarule_toggle"), {"rule": ["²", "9" * 23, "9" * 5000, str(rule.pk)], "enabled": "0"}
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert not rule.enabled


def test_a_close_reason_with_a_nul_character_is_refused(tree, client, analyst):
    """A reason pasted with a NUL character closed the alert on SQLite but gave "Server error" on PostgreSQL
    (no text column keeps NUL): it is refused with a message and the alert stays open."""
    alert = make_alert(tree.dept_a)
    with pytest.raises(ValidationError):
        services.close(alert, by=analyst, reason="dương tính giả\x00")
    client.force_login(analyst)
    response = client.post(reverse("detection:alert_step", args=[alert.pk, "close"]), {"reason": "a\x00b"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN


def test_dashboard_links_only_to_organisations_the_user_may_open(tree, client):
    """A department's analyst saw their province as a link on the national dashboard and got "Not found" on
    clicking it (they hold no role on the province): the row is shown without a link."""
    make_alert(tree.dept_a)
    client.force_login(make_user(tree.dept_a, "soc_analyst", username="soc-dept"))
    dashboard = reverse("detection:dashboard")
    body = client.get(dashboard).content.decode()
    assert "Tỉnh A" in body
    links = re.findall(r'href="(\?org=[^"]+)"', body)
    assert all(client.get(dashboard + link).status_code == 200 for link in links)
    client.force_login(make_user(tree.province_a, "soc_analyst", username="soc-prov"))
    links = re.findall(r'href="\?org=([^"]+)"', client.get(dashboard).content.decode())
    assert links == [str(tree.province_a.pk)]


def test_a_long_url_indicator_is_kept_whole_and_escalated_whole(tree, analyst):
    """An indicator URL longer than 500 characters (intel keeps up to 2,048) was cut in the alert, so the
    incident opened from it carried another URL than the one seen: the value is kept whole."""
    from attt.incidents.models import Incident

    url = "http://evil.example/" + "a" * 900
    at = timezone.now()
    (alert,) = services.record_hits(
        [
            services.Hit(
                event_id="e1",
                source_id=tree.dept_a.pk,
                organization_id=tree.dept_a.pk,
                timestamp=at,
                kind=Alert.Kind.IOC,
                signature="ioc:00000000-0000-4000-8000-000000000001",
                title=f"IOC url: {url}"[:255],
                severity="high",
                indicator_kind="url",
                indicator_value=url,
            )
        ],
        notify=False,
    )
    alert.refresh_from_db()
    assert alert.indicator_value == url
    services.escalate(alert, by=analyst)
    incident = Incident.objects.get(pk=Alert.objects.get(pk=alert.pk).incident_id)
    assert list(incident.observables.values_list("value", flat=True)) == [url]


def test_texts_analysts_read_give_local_times(tree, analyst, settings):
    """The incident opened from an alert and the high alert's notification said "2026-11-20 01:00:00+00:00"
    (UTC, as Python prints it) to analysts working in Vietnam's time: they give the local time."""
    from attt.core.models import Notification

    settings.TIME_ZONE = "Asia/Ho_Chi_Minh"
    moment = datetime.datetime(2026, 11, 20, 1, 0, tzinfo=datetime.UTC)
    alert = make_alert(tree.dept_a, at=moment)
    text = services.incident_description(alert)
    assert "20/11/2026 08:00" in text and "+00:00" not in text
    hit = services.Hit("e1", tree.dept_a.pk, tree.dept_a.pk, moment, Alert.Kind.SIGMA, "r-h", "Rule h", "high")
    services.record_hits([hit])
    (body,) = Notification.objects.filter(recipient=analyst).values_list("body", flat=True)
    assert "20/11/2026 08:00" in body and "+00:00" not in body
