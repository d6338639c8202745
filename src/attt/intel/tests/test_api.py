import json
from collections import Counter
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import translation

from attt.core.testing import make_user, query_plan
from attt.intel import services, store
from attt.intel.models import Collection, CollectionGrant, Indicator, StixObject
from attt.intel.tests.factories import indicator_factory, make_report, stix_object_factory

ATTACK = Path(__file__).resolve().parents[5] / "shared" / "testdata" / "attack" / "ics-attack.json"


@pytest.fixture
def responder(tree):
    return make_user(tree.province_a, "incident_responder", username="resp")


def test_create_normalises_and_refuses_duplicates(api, responder, tree):
    api.force_authenticate(responder)
    url = "/api/v1/intel/indicators/"
    created = api.post(
        url, {"organization": str(tree.dept_a.pk), "kind": "domain", "value": "Evil[.]Example.com"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["value"] == "evil.example.com"
    again = api.post(
        url, {"organization": str(tree.dept_a.pk), "kind": "domain", "value": "evil.example.com"}, format="json"
    )
    assert again.status_code == 400 and "value" in again.json()["errors"]
    bad = api.post(url, {"organization": str(tree.dept_a.pk), "kind": "ipv4", "value": "300.1.1.1"}, format="json")
    assert bad.status_code == 400 and bad["Content-Type"].startswith("application/problem+json")
    outside = api.post(
        url, {"organization": str(tree.province_b.pk), "kind": "ipv4", "value": "192.0.2.1"}, format="json"
    )
    assert outside.status_code == 400  # an out-of-scope organisation "does not exist"


def test_search_by_exact_value_and_isolation(api, responder, tree):
    inside = indicator_factory(tree.dept_a)
    outside = indicator_factory(tree.province_b)
    api.force_authenticate(responder)
    found = api.get("/api/v1/intel/indicators/", {"value": inside.value.replace(".", "[.]")}).json()["results"]
    assert [r["id"] for r in found] == [str(inside.pk)]
    assert api.get(f"/api/v1/intel/indicators/{outside.pk}/").status_code == 404
    assert api.get("/api/v1/intel/indicators/", {"value": outside.value}).json()["results"] == []


def test_the_indicator_list_and_export_take_the_same_queries_for_any_number_of_rows(api, responder, tree):
    """Each row names its organisation: loaded with the rows, not one query per row (an export of a million)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api.force_authenticate(responder)

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(url).status_code == 200
        return len(captured)

    indicator_factory(tree.dept_a)
    queries("/api/v1/intel/indicators/")  # the user's scope is worked out once
    few = queries("/api/v1/intel/indicators/"), queries("/api/v1/intel/indicators/export/")
    for _ in range(8):
        indicator_factory(tree.dept_a)
    assert (queries("/api/v1/intel/indicators/"), queries("/api/v1/intel/indicators/export/")) == few


def test_import_endpoint(api, responder, tree):
    api.force_authenticate(responder)
    upload = SimpleUploadedFile("list.txt", b"192.0.2.1\n198.51.100.2\n")
    ok = api.post(
        "/api/v1/intel/indicators/import/",
        {"organization": str(tree.province_a.pk), "file": upload, "tlp": "green"},
        format="multipart",
    )
    assert ok.status_code == 200 and ok.json()["created"] == 2, ok.content.decode()
    bad = SimpleUploadedFile("list.txt", b"192.0.2.1\nnot-an-ioc\n")
    refused = api.post(
        "/api/v1/intel/indicators/import/",
        {"organization": str(tree.province_a.pk), "file": bad},
        format="multipart",
    )
    assert refused.status_code == 400
    with translation.override(refused.wsgi_request.LANGUAGE_CODE):
        expected = translation.gettext("Cannot tell what kind of indicator “%(value)s” is; give the kind explicitly.")
    assert refused.json()["errors"]["file"] == ["line 2: " + expected % {"value": "not-an-ioc"}]
    assert Indicator.objects.count() == 2
    elsewhere = SimpleUploadedFile("list.txt", b"192.0.2.9\n")
    denied = api.post(
        "/api/v1/intel/indicators/import/",
        {"organization": str(tree.province_b.pk), "file": elsewhere},
        format="multipart",
    )
    assert denied.status_code == 400


def test_import_over_the_size_limit_is_refused_unread(api, client, responder, tree, monkeypatch):
    monkeypatch.setattr(store, "MAX_IMPORT_BYTES", 10)
    api.force_authenticate(responder)
    big = SimpleUploadedFile("list.txt", b"192.0.2.1\n198.51.100.2\n")
    refused = api.post(
        "/api/v1/intel/indicators/import/", {"organization": str(tree.province_a.pk), "file": big}, format="multipart"
    )
    assert refused.status_code == 400 and refused.json()["errors"]["file"][0].endswith(" 0 MB.")
    client.force_login(responder)
    big.seek(0)
    page = client.post("/intel/indicators/import/", {"organization": str(tree.province_a.pk), "file": big})
    assert page.status_code == 200 and page.context["errors"] and page.context["result"] is None
    assert Indicator.objects.count() == 0


def test_collections_and_grants(api, responder, tree):
    services.publish(make_report(), organization=tree.province_a)
    collection = Collection.objects.get(organization=tree.province_a)
    api.force_authenticate(responder)
    listed = api.get("/api/v1/intel/collections/").json()["results"]
    assert [c["id"] for c in listed] == [str(collection.pk)] and listed[0]["object_count"] == 15
    granted = api.post(
        f"/api/v1/intel/collections/{collection.pk}/grant/",
        {"grantee": str(tree.province_a.pk), "max_tlp": "amber"},
        format="json",
    )
    assert granted.status_code == 200 and granted.json()["grants"][0]["max_tlp"] == "amber"
    assert CollectionGrant.objects.get().organization == tree.province_a
    changed = api.post(
        f"/api/v1/intel/collections/{collection.pk}/grant/",
        {"grantee": str(tree.province_a.pk), "can_write": True},
        format="json",
    )
    assert changed.status_code == 200 and changed.json()["grants"][0] | {"id": None} == {
        "id": None,
        "grantee": str(tree.province_a.pk),
        "include_subtree": True,
        "can_read": True,
        "can_write": True,
        "max_tlp": "amber",  # a change keeps the rights it does not name
    }
    revoke = f"/api/v1/intel/collections/{collection.pk}/revoke/"
    for bad in ([None, None], {"grantee": "not-an-id"}, {}):  # a JSON list was a 500 (found by schemathesis)
        refused = api.post(revoke, bad, format="json")
        assert refused.status_code == 400 and refused["Content-Type"] == "application/problem+json", bad
    revoked = api.post(revoke, {"grantee": str(tree.province_a.pk)}, format="json")
    assert revoked.status_code == 200 and revoked.json()["grants"] == []
    other = make_user(tree.province_b, "incident_responder", username="resp-b")
    api.force_authenticate(other)
    assert api.get(f"/api/v1/intel/collections/{collection.pk}/").status_code == 404


@pytest.mark.skipif(not ATTACK.exists(), reason="../shared/testdata is not present")
def test_techniques(api, responder):
    call_command("intel", "attack-load", str(ATTACK))
    api.force_authenticate(responder)
    technique = api.get("/api/v1/intel/techniques/T0883/").json()
    assert technique["name"] == "Internet Accessible Device" and technique["tactics"] == ["TA0108"]
    listed = api.get("/api/v1/intel/techniques/", {"tactic": "TA0108"}).json()
    assert listed["count"] >= 5


def test_ui_pages(client, responder, tree):
    indicator = indicator_factory(tree.dept_a)
    services.publish(make_report(), organization=tree.province_a)
    client.force_login(responder)
    page = client.get("/intel/indicators/", {"q": indicator.value})
    assert page.status_code == 200 and indicator.value in page.content.decode()
    assert client.get(indicator.get_absolute_url()).status_code == 200
    collection = Collection.objects.get(organization=tree.province_a)
    detail = client.get(collection.get_absolute_url())
    assert detail.status_code == 200 and "/taxii2/national/collections/" in detail.content.decode()
    per_tlp = Counter(tlp or "—" for tlp in collection.stix_objects.values_list("tlp", flat=True))
    assert dict(detail.context["tlp_counts"]) == per_tlp and sum(per_tlp.values()) == 15
    assert client.get("/intel/attack/").status_code == 200
    assert client.get("/intel/indicators/import/").status_code == 200
    response = client.post(
        "/intel/indicators/import/",
        {"organization": str(tree.province_a.pk), "file": SimpleUploadedFile("x.txt", b"999.9.9.9\n"), "kind": "ipv4"},
    )
    assert response.status_code == 200 and "999.9.9.9" in response.content.decode()
    granted = client.post(
        f"/intel/collections/{collection.pk}/grants/",
        {"grantee": str(tree.ministry.pk), "can_read": "on", "max_tlp": "green"},
    )
    assert granted.status_code == 302 and collection.grants.get().grantee == tree.ministry


def test_soc_analyst_reads_but_cannot_import(client, tree):
    analyst = make_user(tree.province_a, "soc_analyst", username="soc")
    client.force_login(analyst)
    assert client.get("/intel/indicators/").status_code == 200
    assert client.get("/intel/indicators/import/").status_code == 403


def test_stix_output_is_json_serialisable(tree):
    assert json.loads(json.dumps(services.to_stix_bundle(make_report())))["type"] == "bundle"


def test_taxii_with_a_browser_session_reads_only(client, responder, tree):
    services.publish(make_report(), organization=tree.province_a)
    collection = Collection.objects.get(organization=tree.province_a)
    client.force_login(responder)
    url = f"/taxii2/national/collections/{collection.pk}/objects/"
    assert client.get(url).status_code == 200
    body = json.dumps({"objects": []})
    refused = client.post(url, body, content_type="application/taxii+json;version=2.1")
    assert refused.status_code == 401  # no cross-site writes through the cookie


def test_expired_indicators_stop_being_served(tree):
    from django.utils import timezone

    from attt.intel import store

    old = indicator_factory(tree.dept_a)
    old.valid_until = timezone.now() - timezone.timedelta(days=1)
    old.save()
    fresh = indicator_factory(tree.dept_a)
    assert [row[2] for row in services.active_indicators()] == [fresh.pk]  # already left out before expiry
    assert store.expire() == 1
    assert [row[2] for row in services.active_indicators()] == [fresh.pk]


def test_grant_with_or_without_the_units_below(tree):
    from attt.intel import collections

    services.publish(make_report(), organization=tree.province_a)
    collection = Collection.objects.get(organization=tree.province_a)
    # works at the national authority, holds its role on the ministry only: reads through the grant alone
    national = make_user(tree.root, "incident_responder", username="resp-qg", where=tree.ministry)
    province_b = make_user(tree.province_b, "incident_responder", username="resp-b")
    grant = CollectionGrant.objects.create(
        organization=tree.province_a, collection=collection, grantee=tree.root, max_tlp="amber", include_subtree=False
    )
    assert collections.rights(province_b, collection) == (False, False, None)
    assert list(collections.accessible(province_b)) == []
    assert collections.rights(national, collection) == (True, False, "amber")
    grant.include_subtree = True
    grant.save()
    assert collections.rights(province_b, collection) == (True, False, "amber")
    assert list(collections.accessible(province_b)) == [collection]


def test_the_indicator_list_reads_its_index_in_order(tree, responder):
    """The lists' order (newest sighting first) comes from an index, not a sort of every indicator in scope."""
    from attt.core import scoping

    plan = query_plan(scoping.visible(responder, Indicator.objects.all())[:50])
    assert plan.uses("intel_indicator_list") and not plan.sorts, plan.text


def test_a_collection_page_counts_only_what_its_viewer_may_receive(client, responder, tree):
    """A province's responder opening a department's collection saw how many TLP:RED objects it holds: red is served
    to the owning organisation alone, and so is its count."""
    collection = Collection.objects.create(organization=tree.dept_a, title="Sở A")
    for tlp in ("red", "red", "amber", ""):
        obj = stix_object_factory(tree.dept_a)
        StixObject.objects.filter(pk=obj.pk).update(collection=collection, tlp=tlp)
    client.force_login(responder)  # province A: sees the department's collection, up to TLP:AMBER+STRICT
    detail = client.get(collection.get_absolute_url())
    assert dict(detail.context["tlp_counts"]) == {"amber": 1, "—": 1}
    client.force_login(make_user(tree.dept_a, "incident_responder", username="resp-dept-a"))
    assert dict(client.get(collection.get_absolute_url()).context["tlp_counts"]) == {"amber": 1, "red": 2, "—": 1}


def test_the_api_counts_a_collections_objects_up_to_what_its_requester_may_receive(api, responder, tree):
    """`object_count` told a province's responder how many TLP:RED objects a department's collection holds; it now
    counts what the requester may receive, in one query for the whole list."""
    collection = Collection.objects.create(organization=tree.dept_a, title="Sở A")
    for tlp in ("red", "red", "amber", ""):
        obj = stix_object_factory(tree.dept_a)
        StixObject.objects.filter(pk=obj.pk).update(collection=collection, tlp=tlp)
    url = f"/api/v1/intel/collections/{collection.pk}/"
    api.force_authenticate(responder)
    assert api.get(url).json()["object_count"] == 2
    api.force_authenticate(make_user(tree.dept_a, "incident_responder", username="resp-dept-a"))
    assert api.get(url).json()["object_count"] == 4
    # the list costs the same few queries however many collections it shows
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api.force_authenticate(responder)
    counts = []
    for _ in range(2):
        for n in range(5):
            Collection.objects.create(organization=tree.dept_a, title=f"Bộ {n}")
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/api/v1/intel/collections/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
