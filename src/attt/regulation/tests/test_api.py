"""The read-only regulation API and the assess endpoint."""

import pytest

from attt.core.testing import make_user

BASE = "/api/v1/regulation"


@pytest.fixture
def client(api, tree):
    api.force_authenticate(make_user(tree.dept_a, username="reader"))  # no role at all: public law
    api.cookies["attt_language"] = "en"
    return api


def test_regimes_list_and_detail(client):
    rows = client.get(f"{BASE}/regimes/").json()
    assert [r["code"] for r in rows] == ["ND85_2016", "ND331_2026"]
    detail = client.get(f"{BASE}/regimes/ND331_2026/").json()
    assert detail["national_authorities"][0]["ministry"]["code"] == "MPS"
    assert {t["step"] for t in detail["timers"]} == {"completeness_check", "appraisal", "approval"}
    assert detail["counts"]["requirements"]["3"] == 70
    assert client.get(f"{BASE}/regimes/ND99/").status_code == 404


def test_criteria_and_requirements(client):
    criteria = client.get(f"{BASE}/regimes/ND85_2016/criteria/").json()
    assert len(criteria) == 21 and criteria[0]["examples"]["meet"]
    level3 = client.get(f"{BASE}/regimes/ND85_2016/criteria/?level=3").json()
    assert {c["level"] for c in level3} == {3} and len(level3) == 6
    rows = client.get(f"{BASE}/regimes/ND85_2016/requirements/?level=3").json()
    assert len(rows) == 71 and all(r["level"] == 3 for r in rows)
    vuln = next(r for r in rows if r["key"] == "vulnerability_management")
    assert vuln["clause"] == "7.1.5.7" and vuln["item"] == "I.1.5.7"
    assert len(client.get(f"{BASE}/regimes/ND85_2016/requirements/").json()) == 99
    bad = client.get(f"{BASE}/regimes/ND85_2016/requirements/?level=9")
    assert bad.status_code == 400 and bad["Content-Type"] == "application/problem+json"


def test_assess_returns_the_assessment(client):
    body = {"regime": "ND85_2016", "facts": {"system_type": "citizen_service", "users_with_private_data": 12000}}
    response = client.post(f"{BASE}/assess/", body, format="json")
    assert response.status_code == 200
    data = response.json()
    assert data["level"] == 3 and data["deciding_criterion"]["id"] == "ND85-9.2.c"
    assert data["national_security_important"] is False


def test_assess_uses_the_regime_in_force_on_a_date(client):
    body = {"on": "2026-08-19", "facts": {"system_type": "citizen_service", "resolves_administrative_procedures": True}}
    data = client.post(f"{BASE}/assess/", body, format="json").json()
    assert data["regime"] == "ND331_2026" and data["level"] == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"facts": {"users_with_private_data": -1}}, "facts"),
        ({"facts": []}, "facts"),
        ({"regime": "ND99", "facts": {}}, "regime"),
        ({"facts": {}, "extra": 1}, "extra"),
        ({}, "facts"),
    ],
)
def test_assess_invalid_input_is_a_problem(client, body, field):
    response = client.post(f"{BASE}/assess/", body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400 and field in problem["errors"]


def test_invalid_facts_problem_names_the_path(client):
    response = client.post(f"{BASE}/assess/", {"facts": {"components": [{"operates_24x7": 1}]}}, format="json")
    assert response.json()["errors"]["facts"] == ["facts.components[0].operates_24x7: expected true or false"]


def test_anonymous_requests_are_refused(api, db):
    assert api.get(f"{BASE}/regimes/").status_code in (401, 403)
    assert api.post(f"{BASE}/assess/", {"facts": {}}, format="json").status_code in (401, 403)


def test_openapi_lists_the_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in [
        "/api/v1/regulation/regimes/",
        "/api/v1/regulation/regimes/{code}/requirements/",
        "/api/v1/regulation/assess/",
    ]:
        assert path in paths
