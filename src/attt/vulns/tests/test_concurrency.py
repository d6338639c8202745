"""Warning steps on a stale copy (what a page or an API request loaded before another user or the nightly job
wrote): a step works on the stored status, so one the warning has left is refused, and no field the matcher,
the priority job or another request wrote is lost. The last test runs two steps really at once (PostgreSQL
only)."""

import pytest
from django.core.exceptions import ValidationError

from attt.core import scoping
from attt.core.testing import at_once, build_tree, make_user, postgresql_only, stored_copy
from attt.registry.tests.factories import make_system
from attt.vulns import services
from attt.vulns.models import WarningStatus
from attt.vulns.tests.factories import make_warning


@pytest.fixture
def owner(tree):
    return make_user(tree.dept_a, "system_owner", username="owner-a")


@pytest.mark.django_db
def test_a_stale_step_from_a_status_already_left_is_refused(tree, owner):
    warning = make_warning(make_system(tree.dept_a))
    stale = stored_copy(warning)  # still "new" on the page
    services.transition(warning, WarningStatus.PATCHED, by=owner)
    with pytest.raises(ValidationError) as refused:
        services.transition(stale, WarningStatus.NOT_AFFECTED, by=owner, reason="Không dùng mô-đun này")
    with pytest.raises(ValidationError) as wrong_step:  # the same refusal as on the current object
        services.transition(warning, WarningStatus.NOT_AFFECTED, by=owner, reason="Không dùng mô-đun này")
    assert refused.value.message_dict == wrong_step.value.message_dict
    stored = stored_copy(warning)
    assert (stored.status, stored.reason) == (WarningStatus.PATCHED, "")
    assert stale.status == WarningStatus.PATCHED  # the caller's object shows what is stored


@pytest.mark.django_db
def test_a_step_on_a_stale_copy_keeps_what_the_nightly_jobs_wrote(tree, owner):
    warning = make_warning(make_system(tree.dept_a), score=0)
    stale = stored_copy(warning)
    services.reprioritise({warning.vulnerability_id})  # the CVSS score counts now
    services.rematch_all(notify=False)  # no component matches any more
    written = stored_copy(warning)
    assert written.score > 0 and written.active is False
    services.transition(stale, WarningStatus.ACKNOWLEDGED, by=owner)
    stored = stored_copy(warning)
    assert stored.status == WarningStatus.ACKNOWLEDGED
    assert (stored.score, stored.priority, stored.due_date, stored.active) == (
        written.score,
        written.priority,
        written.due_date,
        False,
    )


@pytest.mark.django_db
def test_an_api_note_sent_while_a_step_is_taken_keeps_the_step(tree, owner, api, monkeypatch):
    """A step commits after a PATCH of the note read the warning: the note must not write back the status the
    request loaded."""
    from attt.core.testing import read_meanwhile

    warning = make_warning(make_system(tree.dept_a))
    read_meanwhile(
        monkeypatch,
        lambda: services.transition(
            stored_copy(warning), WarningStatus.NOT_AFFECTED, by=owner, reason="Không dùng mô-đun này"
        ),
    )
    api.force_authenticate(owner)
    response = api.patch(f"/api/v1/vulns/warnings/{warning.pk}/", {"note": "Đã báo nhà cung cấp"}, format="json")
    assert response.status_code == 200, response.content
    stored = stored_copy(warning)
    assert (stored.note, stored.status, stored.reason) == (
        "Đã báo nhà cung cấp",
        WarningStatus.NOT_AFFECTED,
        "Không dùng mô-đun này",
    )
    assert stored.handled_by == owner


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_steps_at_once_one_is_refused(monkeypatch):
    """Two owners answer the same new warning at the same moment, each from the page they loaded: without the
    row lock both pass the status check and the second silently replaces the first's answer."""
    tree = build_tree()
    owner = make_user(tree.dept_a, "system_owner", username="owner-a")
    warning = make_warning(make_system(tree.dept_a))
    first, second = stored_copy(warning), stored_copy(warning)
    outcomes = at_once(
        monkeypatch,
        scoping,
        "can",
        lambda: services.transition(first, WarningStatus.PATCHED, by=owner),
        lambda: services.transition(second, WarningStatus.NOT_AFFECTED, by=owner, reason="Không dùng"),
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["ValidationError", "VulnWarning"], outcomes


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_feed_import_and_a_warning_step_take_turns(monkeypatch):
    """The daily EPSS import re-prioritises open warnings (their rows) and records the import (the audit chain);
    a person's step takes the chain, then the warning. The import takes the chain first too."""
    from attt.core.testing import crossing
    from attt.vulns.feeds import EPSSScore, Feed

    tree = build_tree()
    owner = make_user(tree.dept_a, "system_owner", username="owner-feed")
    warning = make_warning(make_system(tree.dept_a))
    feed = Feed("epss", [EPSSScore(warning.vulnerability.cve_id, 0.9, 0.99)])
    outcomes = crossing(
        monkeypatch,
        lambda: services.import_feed(feed, match=False, notify=False),
        lambda: services.transition(stored_copy(warning), WarningStatus.ACKNOWLEDGED, by=owner),
    )
    assert outcomes == [None, None], outcomes
    assert stored_copy(warning).status == WarningStatus.ACKNOWLEDGED
