"""With intel's real functions: an incident's shareable part goes out as STIX 2.1 and MISP, comes back in through
the STIX import (all or nothing, never below the TLP it came with), and sharing publishes its indicators.
Observables are in intel's canonical form."""

import copy
import datetime
import uuid

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attt.core.models import User
from attt.core.testing import make_user
from attt.incidents import services
from attt.incidents.models import Incident, Observable
from attt.incidents.tests.factories import make_incident
from attt.intel import services as intel
from attt.intel.sharing import TLP_LEVELS, SharedObservable, SharedReport

pytestmark = pytest.mark.django_db


def test_stix_round_trip_misp_and_publish(tree):
    coordinator = make_user(tree.root, "incident_responder", username="coord")
    incident = make_incident(
        tree.dept_a,
        observables=[("ipv4", "198.51.100.44"), ("domain", "lua-dao.example"), ("email", "x@noibo.example")],
    )
    Observable.objects.filter(kind="email").update(shareable=False)
    services.classify(incident, by=coordinator, category="fraud/phishing", tlp="green")
    bundle = services.export(incident, "stix")
    assert bundle["type"] == "bundle"
    text = str(bundle)
    assert "198.51.100.44" in text and "x@noibo.example" not in text
    event = services.export(incident, "misp")
    assert "Event" in event and "x@noibo.example" not in str(event)
    [back] = intel.parse_stix_bundle(bundle)
    assert {(o.kind, o.value) for o in back.observables} == {("ipv4", "198.51.100.44"), ("domain", "lua-dao.example")}
    [imported] = services.import_stix(bundle, organization=tree.root, by=coordinator)
    assert Incident.objects.get(pk=imported.pk).tlp == "green"
    assert services.share(incident, by=coordinator) == 2  # the two shareable indicators


def make_report(tlp: str = "amber") -> SharedReport:
    when = datetime.datetime(2026, 3, 2, 8, 30, tzinfo=datetime.UTC)
    return SharedReport(
        id=uuid.UUID("5b7c2a1e-8f3d-4c2b-9a61-0d4e5f6a7b8c"),
        title="Chiến dịch lừa đảo giả mạo ngân hàng",
        description="Trang đăng nhập giả.",
        created=when,
        modified=when,
        tlp=tlp,
        techniques=["T1566.001"],
        observables=[
            SharedObservable("ipv4", "192.0.2.10", comment="C2"),
            SharedObservable("domain", "lua-dao.example"),
            SharedObservable("url", "http://lua-dao.example/dang-nhap"),
            SharedObservable("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            SharedObservable("phone", "+84912345678", to_detect=False),
        ],
        producer="CERT đối tác",
    )


def _coordinator(tree):
    return make_user(tree.root, "incident_responder", username="coord")


def test_a_stix_indicator_marked_stricter_than_its_report_is_not_lowered(tree):
    """A partner's TLP:GREEN report naming a TLP:RED indicator: the incident is not shared below TLP:RED and the
    red observable stays unshareable even if someone lowers the incident's TLP later."""
    report = make_report(tlp="green")
    report.observables[0].tlp = "red"
    [incident] = services.import_stix(intel.to_stix_bundle(report), organization=tree.root, by=_coordinator(tree))
    incident.refresh_from_db()
    assert incident.tlp == "red"
    private = {(o.kind, o.value) for o in incident.observables.filter(shareable=False)}
    assert private == {(report.observables[0].kind, report.observables[0].value)}
    incident.tlp = "green"
    incident.save(update_fields=["tlp"])
    shared = services.shared_report(incident)
    assert report.observables[0].value not in {o.value for o in shared.observables}
    assert len(shared.observables) == incident.observables.count() - 1


def test_incident_observables_are_in_intels_canonical_form(tree):
    """One form for both modules: the value an incident keeps is the indicator intel stores when it is shared."""
    coordinator = _coordinator(tree)
    incident = make_incident(tree.dept_a)
    raw = "hxxps://Lua-Dao[.]Example/Dang-Nhap#top"
    added = services.add_observable(incident, "url", raw, by=coordinator)
    assert added.value == intel.normalise_observable("url", raw) == "https://lua-dao.example/Dang-Nhap#top"


@pytest.mark.parametrize("field", ["name", "description"])
def test_a_report_text_the_database_cannot_keep_refuses_the_import(tree, field):
    """PostgreSQL refuses a NUL character in text (SQLite keeps it): a sentence, and no incident."""
    bundle = intel.to_stix_bundle(make_report())
    next(o for o in bundle["objects"] if o["type"] == "report")[field] = "Lừa đảo\x00"
    with pytest.raises(ValidationError, match="NUL"):
        services.import_stix(bundle, organization=tree.root, by=_coordinator(tree))
    assert not Incident.objects.exists() and not Observable.objects.exists()


# --- property test: import_stix on generated bundles ------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)
KEYS = ["type", "id", "name", "description", "pattern", "pattern_type", "valid_from", "object_refs", "labels",
        "object_marking_refs", "created", "modified", "external_references", "value", "hashes"]  # fmt: skip
BASE = intel.to_stix_bundle(make_report())


@st.composite
def stix_bundles(draw):
    """A shared report's bundle with objects damaged, dropped, duplicated or added, or anything JSON."""
    bundle = copy.deepcopy(BASE)
    objects = bundle["objects"]
    for _ in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(["damage", "drop", "text", "add"]))
        position = draw(st.integers(0, len(objects) - 1)) if objects else 0
        target = objects[position] if objects and isinstance(objects[position], dict) else None
        if action == "damage" and target is not None:
            target[draw(st.sampled_from(KEYS))] = draw(json_values)
        elif action == "drop" and objects:
            objects.pop(position)
        elif action == "text" and target is not None:  # any text where a report keeps it: NUL, long names
            text = st.text(max_size=600) | st.text(alphabet="a\x00ư ", max_size=5)
            target[draw(st.sampled_from(["name", "description"]))] = draw(text)
        else:
            objects.append(draw(json_values))
    return bundle


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=stix_bundles() | json_values)
def test_import_stix_creates_every_incident_or_none(tree, data):
    """Whatever the bundle: incidents for its reports, or a ValidationError and nothing written."""
    coordinator = User.objects.filter(username="coord").first() or _coordinator(tree)
    before = (Incident.objects.count(), Observable.objects.count())
    try:
        created = services.import_stix(data, organization=tree.root, by=coordinator)
    except ValidationError as exc:
        assert " ".join(exc.messages).strip()
        assert (Incident.objects.count(), Observable.objects.count()) == before
        return
    assert created and Incident.objects.count() == before[0] + len(created)
    for incident in created:
        incident.refresh_from_db()
        assert incident.tlp in TLP_LEVELS
