"""A source edited from a copy loaded before a token rotation, a batch or a silence warning (the API's PATCH, the
edit page) keeps what was written meanwhile; the silence job does not warn about a source that spoke while it
ran."""

import datetime as dt

import pytest
from django.test import RequestFactory
from django.utils import timezone

from attt.core.models import Notification
from attt.core.testing import make_user
from attt.monitoring import services
from attt.monitoring.models import Source
from attt.monitoring.tests.factories import make_source
from attt.monitoring.views import SourceEditView, SourceForm

pytestmark = pytest.mark.django_db


def _copy(source: Source) -> Source:
    return Source.objects.get(pk=source.pk)


def _silent(source: Source) -> None:
    Source.objects.filter(pk=source.pk).update(last_seen_at=timezone.now() - dt.timedelta(minutes=30))


def test_an_api_edit_from_a_copy_loaded_before_a_rotation_keeps_the_new_token(tree):
    from attt.monitoring.api.views import SourceSerializer

    source, old_token = make_source(tree.dept_a)
    loaded = _copy(source)  # what the PATCH request read
    new_token = services.rotate_token(_copy(source))
    serializer = SourceSerializer(loaded, data={"description": "Cụm tường lửa tầng 2"}, partial=True)
    assert serializer.is_valid(), serializer.errors
    serializer.save()
    assert services.authenticate(old_token) is None  # the rotated-away token stays dead
    assert services.authenticate(new_token).pk == source.pk
    assert _copy(source).description == "Cụm tường lửa tầng 2"


def test_a_page_edit_from_a_copy_loaded_before_a_silence_warning_keeps_it(tree):
    make_user(tree.dept_a, "soc_analyst")
    source, _token = make_source(tree.dept_a, expected_interval_minutes=10)
    _silent(source)
    loaded = _copy(source)  # what the edit page's request read
    assert services.check_sources()["warned"] == 1
    data = {
        "organization": tree.dept_a.pk,
        "name": "Nguồn đã đổi tên",
        "description": "",
        "log_format": "ndjson",
        "expected_interval_minutes": 10,
        "expected_events_per_minute": 0,
        "is_active": "on",
    }
    form = SourceForm(data, instance=loaded)
    assert form.is_valid(), form.errors
    view = SourceEditView()
    view.request = RequestFactory().post("/")
    view.save(form)
    stored = _copy(source)
    assert stored.name == "Nguồn đã đổi tên" and stored.silent_since is not None
    assert services.check_sources()["warned"] == 0  # still one warning for one silence


def test_no_silence_warning_for_a_source_that_spoke_while_the_job_ran(tree, monkeypatch):
    make_user(tree.dept_a, "soc_analyst")
    source, _token = make_source(tree.dept_a, expected_interval_minutes=10)
    _silent(source)
    real = services.is_silent

    def a_batch_arrives_first(read, now=None):
        services.mark_seen(_copy(read))  # ingest, after the job read the source
        return real(read, now)

    monkeypatch.setattr(services, "is_silent", a_batch_arrives_first)
    assert services.check_sources()["warned"] == 0
    assert _copy(source).silent_since is None
    assert not Notification.objects.filter(level=Notification.Level.WARNING).exists()
