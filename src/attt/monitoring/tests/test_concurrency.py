"""A source edited from a copy loaded before a token rotation, a batch or a silence warning (the API's PATCH, the
edit page) keeps what was written meanwhile; the silence job does not warn about a source that spoke while it
ran."""

import datetime as dt

import pytest
from django.utils import timezone

from attt.core.models import Notification
from attt.core.testing import (
    build_tree,
    crossing,
    in_another_transaction,
    make_user,
    postgresql_only,
    read_meanwhile,
    shown_version,
    stored_copy,
)
from attt.monitoring import services
from attt.monitoring.models import Source
from attt.monitoring.tests.factories import make_source

pytestmark = pytest.mark.django_db


def _silent(source: Source) -> None:
    Source.objects.filter(pk=source.pk).update(last_seen_at=timezone.now() - dt.timedelta(minutes=30))


def test_an_api_edit_while_the_token_is_rotated_keeps_the_new_token(tree, api, monkeypatch):
    """The token is rotated after a PATCH read the source: the edit must not write back the token the request
    loaded."""
    source, old_token = make_source(tree.dept_a)
    rotated = []
    read_meanwhile(monkeypatch, lambda: rotated.append(services.rotate_token(stored_copy(source))))
    api.force_authenticate(make_user(tree.dept_a, "soc_analyst", username="soc-patch"))
    response = api.patch(f"/api/v1/monitoring/sources/{source.pk}/", {"description": "Tầng 2"}, format="json")
    assert response.status_code == 200, response.content
    assert services.authenticate(old_token) is None  # the rotated-away token stays dead
    assert services.authenticate(rotated[0]).pk == source.pk
    assert stored_copy(source).description == "Tầng 2"


def _page_data(tree, name: str) -> dict:
    return {
        "organization": tree.dept_a.pk,
        "name": name,
        "description": "",
        "log_format": "ndjson",
        "expected_interval_minutes": 10,
        "expected_events_per_minute": 0,
        "is_active": "on",
    }


def test_a_page_edit_keeps_a_silence_warned_while_it_ran(tree, client, monkeypatch):
    from attt.core.locks import VERSION_FIELD
    from attt.monitoring.views import SourceForm

    analyst = make_user(tree.dept_a, "soc_analyst", username="soc-page")
    source, _token = make_source(tree.dept_a, expected_interval_minutes=10)
    _silent(source)
    client.force_login(analyst)
    url = f"/monitoring/sources/{source.pk}/edit/"
    shown = shown_version(client.get(url))
    clean, warned = SourceForm.clean, []

    def meanwhile(form):  # the silence job runs after the request read the source
        with in_another_transaction():
            warned.append(services.check_sources()["warned"])
        return clean(form)

    monkeypatch.setattr(SourceForm, "clean", meanwhile)
    response = client.post(url, {**_page_data(tree, "Nguồn đã đổi tên"), VERSION_FIELD: shown})
    assert warned == [1]
    assert response.status_code == 302
    stored = stored_copy(source)
    assert stored.name == "Nguồn đã đổi tên" and stored.silent_since is not None
    assert services.check_sources()["warned"] == 0  # still one warning for one silence


def test_a_page_edit_older_than_someone_elses_save_is_refused(tree, client):
    from attt.core.locks import VERSION_FIELD
    from attt.core.views.generic import CONFLICT_MESSAGE

    source, _token = make_source(tree.dept_a)
    client.force_login(make_user(tree.dept_a, "soc_analyst", username="soc-stale"))
    url = f"/monitoring/sources/{source.pk}/edit/"
    shown = shown_version(client.get(url))
    other = stored_copy(source)
    other.description = "Sửa bởi người khác"
    other.save()
    refused = client.post(url, {**_page_data(tree, "Tên của tôi"), VERSION_FIELD: shown})
    assert refused.status_code == 200 and refused.context["form"].errors == {"__all__": [str(CONFLICT_MESSAGE)]}
    assert (stored_copy(source).name, stored_copy(source).description) == (source.name, "Sửa bởi người khác")


def test_no_silence_warning_for_a_source_that_spoke_while_the_job_ran(tree, monkeypatch):
    make_user(tree.dept_a, "soc_analyst")
    source, _token = make_source(tree.dept_a, expected_interval_minutes=10)
    _silent(source)
    real = services.is_silent

    def a_batch_arrives_first(read, now=None):
        services.mark_seen(stored_copy(read))  # ingest, after the job read the source
        return real(read, now)

    monkeypatch.setattr(services, "is_silent", a_batch_arrives_first)
    assert services.check_sources()["warned"] == 0
    assert stored_copy(source).silent_since is None
    assert not Notification.objects.filter(level=Notification.Level.WARNING).exists()


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_first_batch_after_a_silence_and_a_source_edit_take_turns(monkeypatch):
    """The first batch after a silence clears the source's flag (its row) and reconnects layer 4 (an audited
    write, the chain); the edit page takes the chain, then the source's row. Layer 4 waits for the batch's
    commit, so the two never wait on each other."""
    from attt.compliance import services as compliance
    from attt.core.locks import lock_current
    from attt.registry.tests.factories import make_system

    tree = build_tree()
    source, _token = make_source(tree.dept_a)
    system = make_system(tree.dept_a)
    source.systems.add(system)
    Source.objects.filter(pk=source.pk).update(silent_since=timezone.now())
    outcomes = crossing(
        monkeypatch,
        lambda: services.mark_seen(stored_copy(source)),
        lambda: lock_current(stored_copy(source)),
    )
    assert outcomes == [None, None], outcomes
    assert stored_copy(source).silent_since is None
    assert compliance.layers_of(system).national_monitoring_connected is True
