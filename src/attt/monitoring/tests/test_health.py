"""Source health as people see it: silence warnings (their wording and times), layer 4 of systems covered by
several sources or by a deactivated one, the settings that decide a silence, and the source page's recent
events whatever shape the sender gave them."""

import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from attt.compliance import services as compliance
from attt.core.models import Notification
from attt.core.testing import make_user
from attt.monitoring import services
from attt.monitoring.models import Source
from attt.monitoring.tests.factories import make_source
from attt.registry.tests.factories import make_system


def _silent_for(source: Source, minutes: int) -> None:
    Source.objects.filter(pk=source.pk).update(last_seen_at=timezone.now() - dt.timedelta(minutes=minutes))


def test_a_system_covered_by_two_sources_stays_connected_while_one_of_them_receives(tree):
    """A system watched by a firewall and an EDR whose EDR fell silent: the silence job set its layer 4
    "disconnected" and then "connected" again on every run (two audit entries every 5 minutes, the end state
    depending on the sources' names); it is connected while any source covering it receives."""
    system = make_system(tree.dept_a)
    silent, _ = make_source(tree.dept_a, name="A – EDR", expected_interval_minutes=10)
    receiving, _ = make_source(tree.dept_a, name="B – tường lửa", expected_interval_minutes=10)
    silent.systems.add(system)
    receiving.systems.add(system)
    _silent_for(silent, 60)
    _silent_for(receiving, 1)
    services.check_sources()
    layers = compliance.layers_of(system)
    assert layers.national_monitoring_connected is True
    seen = layers.national_monitoring_seen
    Source.objects.filter(pk=receiving.pk).update(name="0 – tường lửa")  # the order of the sources is not the answer
    services.check_sources()
    assert compliance.layers_of(system).national_monitoring_connected is True
    assert compliance.layers_of(system).national_monitoring_seen == seen  # nothing rewritten
    _silent_for(receiving, 60)
    services.check_sources()
    assert compliance.layers_of(system).national_monitoring_connected is False


def test_a_system_whose_only_source_was_deactivated_is_no_longer_connected(tree):
    """A source switched off by its organisation left the systems it covered "connected to national monitoring"
    for good, though nothing was received any more."""
    system = make_system(tree.dept_a)
    source, _ = make_source(tree.dept_a, expected_interval_minutes=10)
    source.systems.add(system)
    _silent_for(source, 1)
    services.check_sources()
    assert compliance.layers_of(system).national_monitoring_connected is True
    Source.objects.filter(pk=source.pk).update(is_active=False)
    assert services.check_sources()["warned"] == 0  # a deactivated source is not a silence to warn about
    assert compliance.layers_of(system).national_monitoring_connected is False


def test_the_silence_warning_gives_the_local_time_and_says_when_a_source_never_sent(tree, settings):
    """The warning read "No events since 2026-03-01 01:02:03.456789+00:00" (UTC with microseconds, seven
    hours off the reader's clock), and for a source that never sent "No events since never"."""
    officer = make_user(tree.dept_a, "soc_analyst")
    seen = timezone.now() - dt.timedelta(hours=2)
    spoke, _ = make_source(tree.dept_a, name="Đã gửi", expected_interval_minutes=10)
    Source.objects.filter(pk=spoke.pk).update(last_seen_at=seen)
    never, _ = make_source(tree.dept_a, name="Chưa gửi", expected_interval_minutes=10)
    Source.objects.filter(pk=never.pk).update(created_at=seen)
    assert services.check_sources()["warned"] == 2
    bodies = {n.title: n.body for n in Notification.objects.filter(recipient=officer)}
    local = seen.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE)).strftime("%d/%m/%Y %H:%M")
    spoke_body = next(body for title, body in bodies.items() if "Đã gửi" in title)
    never_body = next(body for title, body in bodies.items() if "Chưa gửi" in title)
    assert local in spoke_body and "+00:00" not in spoke_body
    assert local in never_body and "+00:00" not in never_body
    assert never_body != spoke_body.replace("Đã gửi", "Chưa gửi")  # says it never sent, not "since never"


@pytest.mark.parametrize("interval", [0, -1])
def test_an_expected_interval_below_one_minute_is_refused(api, tree, interval):
    """An expected interval of 0 minutes was accepted: the source was then silent a moment after every batch,
    and its organisation was warned every 5 minutes however well it sent."""
    api.force_authenticate(make_user(tree.dept_a, "soc_analyst"))
    created = api.post(
        reverse("api:eventsource-list"),
        {"organization": str(tree.dept_a.pk), "name": "Cảm biến", "expected_interval_minutes": interval},
        format="json",
    )
    assert created.status_code == 400, created.content
    assert "expected_interval_minutes" in str(created.json())


def test_the_source_page_shows_events_whose_host_or_event_field_is_a_plain_value(client, tree):
    """NDJSON keeps a sender's fields as sent: an event with `"host": "web01"` made the source's page fail
    (500) for as long as it was among the 20 newest."""
    source, _ = make_source(tree.dept_a)
    services.accept(source, b'{"host": "web01", "message": "a"}\n{"host": ["x"], "message": "b"}')
    client.force_login(make_user(tree.dept_a, "soc_analyst"))
    page = client.get(source.get_absolute_url())
    assert page.status_code == 200
    assert "web01" in page.content.decode()


def test_the_source_page_does_not_say_receiving_for_a_deactivated_or_never_heard_source(client, tree):
    """A deactivated source's page, and that of a source that has not sent anything yet, read "State: Receiving"
    (the live table said "Inactive" for the first)."""
    client.force_login(make_user(tree.dept_a, "soc_analyst"))
    new, _ = make_source(tree.dept_a)
    off, _ = make_source(tree.dept_a, is_active=False)
    receiving, _ = make_source(tree.dept_a)
    Source.objects.filter(pk__in=[off.pk, receiving.pk]).update(last_seen_at=timezone.now())

    def state(source: Source) -> str:
        page = client.get(source.get_absolute_url()).content.decode()
        return page.split('data-testid="source-state"', 1)[1].split("</strong>", 1)[0]

    assert "Receiving" in state(receiving) or "Đang nhận" in state(receiving)
    assert "Receiving" not in state(off) and "Đang nhận" not in state(off)
    assert "Receiving" not in state(new) and "Đang nhận" not in state(new)
    live = client.get(reverse("monitoring:live_fragment")).content.decode()
    row = live.split(new.name, 1)[1].split("</tr>", 1)[0]
    assert "Receiving" not in row and "Đang nhận" not in row


def test_the_systems_a_source_covers_are_audited_as_changes_of_the_source(tree):
    """Which systems a source covers decides their layer 4; adding one left no trace in the audit log, and a
    removal showed only as the deletion of a link-table row no organisation could read."""
    from attt.core import audit
    from attt.core.models import AuditEvent
    from attt.registry.tests.factories import make_system

    source, _ = make_source(tree.dept_a)
    a, b = make_system(tree.dept_a), make_system(tree.dept_a)
    both = sorted([str(a.pk), str(b.pk)])
    source.systems.set([a, b])
    source.systems.remove(a)
    source.systems.clear()
    recorded = AuditEvent.objects.filter(object_id=str(source.pk), action="update").order_by("seq")
    assert [e.changes for e in recorded] == [
        {"before": {"systems": []}, "after": {"systems": both}},
        {"before": {"systems": both}, "after": {"systems": [str(b.pk)]}},
        {"before": {"systems": [str(b.pk)]}, "after": {"systems": []}},
    ]
    assert {e.organization_id for e in recorded} == {tree.dept_a.pk}
    assert not AuditEvent.objects.filter(object_type="monitoring.source_systems").exists()
    assert audit.verify_chain().ok
