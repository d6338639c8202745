"""With intel's real functions: an incident's shareable part goes out as STIX 2.1 and MISP, comes back in through
the STIX import, and sharing publishes its indicators."""

import pytest

from attt.core.testing import make_user
from attt.incidents import services
from attt.incidents.models import Incident, Observable
from attt.incidents.tests.factories import make_incident
from attt.intel import services as intel

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
