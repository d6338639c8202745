"""The TAXII 2.1 server driven by the OASIS client (taxii2-client) over HTTP, plus the media-type and error
rules the client does not exercise."""

import base64
import datetime
import json
import uuid

import pytest
import requests
from requests.exceptions import HTTPError
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import ApiRoot, Server, as_pages
from taxii2client.v21 import Collection as TaxiiCollection

from attt.core.models import ApiToken
from attt.core.testing import PASSWORD, build_tree, make_user
from attt.intel import services
from attt.intel.models import Collection, CollectionGrant, Indicator, StixObject
from attt.intel.tests.factories import make_report

TAXII = "application/taxii+json;version=2.1"
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def world(db):
    tree = build_tree()
    responder = make_user(tree.province_a, "incident_responder", username="resp-a")
    outsider = make_user(tree.province_b, "incident_responder", username="resp-b")
    services.publish(make_report(), organization=tree.province_a)
    collection = Collection.objects.get(organization=tree.province_a, is_default=True)
    return tree, responder, outsider, collection


def _root(live_server, user) -> ApiRoot:
    return ApiRoot(f"{live_server.url}/taxii2/national/", user=user.username, password=PASSWORD)


def _collection(live_server, user, collection) -> TaxiiCollection:
    url = f"{live_server.url}/taxii2/national/collections/{collection.pk}/"
    return TaxiiCollection(url, user=user.username, password=PASSWORD)


def test_discovery_and_api_root(live_server, world, settings):
    settings.ATTT_TAXII_CONTACT = "soc@example.invalid"
    _tree, responder, _outsider, collection = world
    server = Server(f"{live_server.url}/taxii2/", user=responder.username, password=PASSWORD)
    assert server.title == "attt TAXII 2.1" and server.contact == "soc@example.invalid"
    (root,) = server.api_roots
    assert root.url == f"{live_server.url}/taxii2/national/" and server.default.url == root.url
    assert root.versions == [TAXII] and root.max_content_length > 0
    (found,) = root.collections
    assert found.id == str(collection.pk) and found.can_read and found.can_write


def test_get_objects_valid_and_paged(live_server, world):
    _tree, responder, _outsider, collection = world
    client = _collection(live_server, responder, collection)
    everything = client.get_objects()
    assert everything["more"] is False
    expected = len(services.to_stix_bundle(make_report())["objects"])
    assert len(everything["objects"]) == expected
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": everything["objects"]}
    assert validate_instance(bundle, ValidationOptions(version="2.1")).is_valid
    pages = list(as_pages(client.get_objects, per_request=4))
    assert [len(p.get("objects", [])) for p in pages][:-1] == [4] * (len(pages) - 1)
    ids = [o["id"] for p in pages for o in p.get("objects", [])]
    assert sorted(ids) == sorted(o["id"] for o in everything["objects"])
    indicators = client.get_objects(type="indicator")
    assert {o["type"] for o in indicators["objects"]} == {"indicator"}


def test_manifest_filters_and_headers(live_server, world):
    _tree, responder, _outsider, collection = world
    client = _collection(live_server, responder, collection)
    manifest = client.get_manifest()
    assert {e["media_type"] for e in manifest["objects"]} == {"application/stix+json;version=2.1"}
    report_id = f"report--{make_report().id}"
    only = client.get_objects(id=report_id)
    assert [o["id"] for o in only["objects"]] == [report_id]
    raw = client._conn.session.get(client.objects_url, headers={"Accept": TAXII})
    assert raw.headers["Content-Type"] == TAXII
    assert raw.headers["X-TAXII-Date-Added-First"] <= raw.headers["X-TAXII-Date-Added-Last"]
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1)
    assert client.get_objects(added_after=later) == {}


def test_add_objects_status_versions_and_delete(live_server, world):
    _tree, responder, _outsider, collection = world
    client = _collection(live_server, responder, collection)
    indicator_id = f"indicator--{uuid.uuid4()}"
    first = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": indicator_id,
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "C2",
        "description": "C2 server",
        "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
    }
    second = {**first, "modified": "2026-02-01T00:00:00.000Z", "pattern": "[ipv4-addr:value = '198.51.100.8']"}
    broken = {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}"}
    before = client._conn.session.get(client.objects_url, headers={"Accept": TAXII})
    published_until = before.headers["X-TAXII-Date-Added-Last"]
    status = client.add_objects({"objects": [first, second, broken]})
    assert status.status == "complete" and status.success_count == 2 and status.failure_count == 1
    assert status.failures[0]["id"] == broken["id"]
    pushed = Indicator.objects.get(value="198.51.100.8")
    assert (pushed.source, pushed.organization, pushed.tlp) == ("taxii", collection.organization, "amber")
    root = _root(live_server, responder)
    assert root.get_status(status.id).success_count == 2
    newer = client.get_objects(added_after=published_until, version="all")["objects"]
    assert sorted(o["modified"] for o in newer) == ["2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"]
    assert client.get_manifest(added_after=published_until)["objects"][0]["id"] == indicator_id
    versions = client.object_versions(indicator_id)["versions"]
    assert versions == ["2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"]
    last = client.get_object(indicator_id)["objects"]
    assert [o["modified"] for o in last] == ["2026-02-01T00:00:00.000Z"]
    firsts = client.get_object(indicator_id, version="first")["objects"]
    assert [o["modified"] for o in firsts] == ["2026-01-01T00:00:00.000Z"]
    assert len(client.get_object(indicator_id, version="all")["objects"]) == 2
    client.delete_object(indicator_id, version="2026-01-01T00:00:00.000Z")
    assert client.object_versions(indicator_id)["versions"] == ["2026-02-01T00:00:00.000Z"]


def test_outsider_sees_nothing_until_granted_and_tlp_is_respected(live_server, world):
    tree, _responder, outsider, collection = world
    root = _root(live_server, outsider)
    assert root.collections == []
    with pytest.raises(HTTPError) as caught:
        _collection(live_server, outsider, collection).get_objects()
    assert caught.value.response.status_code == 404
    CollectionGrant.objects.create(
        organization=collection.organization, collection=collection, grantee=tree.province_b, max_tlp="green"
    )
    client = _collection(live_server, outsider, collection)
    assert client.can_read and not client.can_write
    served = client.get_objects()
    # the report is TLP:AMBER: only unmarked objects (the marking definition, the identity) reach a green grantee
    assert {o["type"] for o in served["objects"]} == {"marking-definition", "identity"}
    refused = requests.post(
        client.objects_url,
        data=json.dumps({"objects": []}),
        auth=(outsider.username, PASSWORD),
        headers={"Accept": TAXII, "Content-Type": TAXII},
        timeout=10,
    )
    assert refused.status_code == 403
    CollectionGrant.objects.filter(grantee=tree.province_b).update(max_tlp="amber")
    assert any(o["type"] == "report" for o in client.get_objects()["objects"])


def test_red_only_for_the_owning_organisation(live_server, world):
    tree, responder, _outsider, _collection_a = world
    services.publish(make_report(id=uuid.uuid4(), tlp="red"), organization=tree.province_a)
    red = StixObject.objects.filter(tlp="red", type="report").get()
    collection = red.collection
    own = _collection(live_server, responder, collection).get_objects(type="report")
    assert len(own["objects"]) == 2
    national = make_user(tree.root, "incident_responder", username="resp-qg")
    theirs = _collection(live_server, national, collection).get_objects(type="report")
    assert [o["id"] for o in theirs["objects"]] == [f"report--{make_report().id}"]


def test_bearer_token_and_auth_errors(live_server, world, client):
    _tree, responder, _outsider, collection = world
    _token, key = ApiToken.issue(responder, "taxii")
    url = f"{live_server.url}/taxii2/national/collections/{collection.pk}/objects/"
    ok = requests.get(url, headers={"Accept": TAXII, "Authorization": f"Bearer {key}"}, timeout=10)
    assert ok.status_code == 200 and ok.json()["objects"]
    anonymous = requests.get(url, headers={"Accept": TAXII}, timeout=10)
    assert anonymous.status_code == 401 and anonymous.headers["Content-Type"] == TAXII
    assert anonymous.json()["http_status"] == "401" and "WWW-Authenticate" in anonymous.headers
    wrong = requests.get(url, headers={"Accept": TAXII}, auth=(responder.username, "nope"), timeout=10)
    assert wrong.status_code == 401
    not_taxii = requests.get(
        url, headers={"Accept": "application/xml"}, auth=(responder.username, PASSWORD), timeout=10
    )
    assert not_taxii.status_code == 406
    bad_type = requests.post(
        url,
        data=json.dumps({"objects": []}),
        auth=(responder.username, PASSWORD),
        headers={"Accept": TAXII, "Content-Type": "application/json"},
        timeout=10,
    )
    assert bad_type.status_code == 415
    bad_body = requests.post(
        url,
        data="[]",
        auth=(responder.username, PASSWORD),
        headers={"Accept": TAXII, "Content-Type": TAXII},
        timeout=10,
    )
    assert bad_body.status_code == 400 and bad_body.json()["title"] == "Bad envelope."
    bad_next = requests.get(
        url, params={"next": "zz"}, headers={"Accept": TAXII}, auth=(responder.username, PASSWORD), timeout=10
    )
    assert bad_next.status_code == 400


def test_lockout_applies_to_basic_auth(live_server, world, settings):
    _tree, responder, _outsider, _collection_a = world
    url = f"{live_server.url}/taxii2/"
    for _ in range(settings.ATTT_LOGIN_MAX_FAILURES):
        requests.get(url, auth=(responder.username, "wrong"), timeout=10)
    locked = requests.get(url, auth=(responder.username, PASSWORD), timeout=10)
    assert locked.status_code == 401 and "failed" in locked.json()["title"]
    header = base64.b64encode(b"x").decode()
    assert requests.get(url, headers={"Authorization": f"Basic {header}!"}, timeout=10).status_code == 401


def test_basic_auth_is_refused_to_an_account_with_two_step_verification(world, client):
    """A password alone would open collections the log-in page guards with a second step; a token still works."""
    _tree, responder, _outsider, collection = world
    responder.totp_secret = "JBSWY3DPEHPK3PXP"
    responder.save(update_fields=["totp_secret"])
    url = f"/taxii2/national/collections/{collection.pk}/objects/"
    credentials = base64.b64encode(f"{responder.username}:{PASSWORD}".encode()).decode()
    refused = client.get(url, HTTP_ACCEPT=TAXII, HTTP_AUTHORIZATION=f"Basic {credentials}")
    assert refused.status_code == 401 and refused.json()["description"] == "Use a Bearer API token."
    _token, key = ApiToken.issue(responder, "taxii")
    assert client.get(url, HTTP_ACCEPT=TAXII, HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200


def test_bad_content_length_is_a_taxii_error(world, client):
    _tree, responder, _outsider, collection = world
    credentials = base64.b64encode(f"{responder.username}:{PASSWORD}".encode()).decode()
    refused = client.post(
        f"/taxii2/national/collections/{collection.pk}/objects/",
        data=json.dumps({"objects": []}),
        content_type=TAXII,
        HTTP_ACCEPT=TAXII,
        HTTP_AUTHORIZATION=f"Basic {credentials}",
        CONTENT_LENGTH="many",
    )
    assert refused.status_code == 400 and refused.json()["description"] == "Content-Length is not a number."


def test_the_collection_list_costs_the_same_queries_for_any_number_of_collections(world, client):
    """A national poll lists every organisation's default collection: their owners and grants are loaded with the
    list, not two queries per collection."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    tree, responder, _outsider, _collection = world
    credentials = base64.b64encode(f"{responder.username}:{PASSWORD}".encode()).decode()

    def listed() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            answer = client.get(
                "/taxii2/national/collections/", HTTP_ACCEPT=TAXII, HTTP_AUTHORIZATION=f"Basic {credentials}"
            )
        assert answer.status_code == 200
        return len(answer.json()["collections"]), len(captured)

    listed()  # the user's scope is worked out once
    few, queries = listed()
    for n in range(6):  # granted by another province, and the user's own unit's
        shared = Collection.objects.create(organization=tree.province_b, title=f"Chia sẻ {n}")
        CollectionGrant.objects.create(
            collection=shared, organization=tree.province_b, grantee=tree.province_a, can_read=True
        )
        Collection.objects.create(organization=tree.dept_a, title=f"Riêng {n}")
    more, more_queries = listed()
    assert more == few + 12 and more_queries == queries
