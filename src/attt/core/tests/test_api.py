import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attt.core.models import Organization, RoleAssignment
from attt.core.testing import make_user

PROBLEM = "application/problem+json"


@pytest.fixture
def admin_api(api, tree, national_admin):
    api.force_authenticate(national_admin)
    api.cookies["attt_language"] = "en"
    return api


def new_org(tree, **over):
    return {"code": "don-vi-moi", "name": "Đơn vị mới", "kind": "unit", "parent": str(tree.dept_a.pk), **over}


def test_openapi_document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = json.loads(response.content)
    assert doc["openapi"].startswith("3.")
    for path in [
        "/api/v1/organizations/",
        "/api/v1/users/",
        "/api/v1/role-assignments/",
        "/api/v1/audit-events/",
        "/api/v1/organizations/{id}/merge/",
    ]:
        assert path in doc["paths"], path


def test_openapi_document_lists_each_operations_errors_as_problems(client):
    """A client generated from the document knows each error's problem+json shape: a version-checked change
    lists 412, a lookup 404, a body 400; an error a view describes keeps its words and gains the body."""
    doc = json.loads(client.get("/api/v1/openapi.json").content)
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}

    def errors(path, method):
        answers = doc["paths"][path][method]["responses"]
        return {code: answer for code, answer in answers.items() if code >= "400"}

    change = errors("/api/v1/registry/systems/{id}/", "patch")
    assert set(change) == {"400", "401", "403", "404", "409", "412"}  # no 429: tests turn the user rate off
    assert all(answer["content"] == {PROBLEM: problem} for answer in change.values())
    assert set(errors("/api/v1/registry/systems/", "get")) == {"401", "403"}
    assert "412" not in errors("/api/v1/compliance/periodic-checks/{id}/complete/", "post")
    ingest = errors("/api/v1/ingest/events", "post")
    assert ingest["401"]["description"].startswith("Unknown or inactive source token")
    assert ingest["401"]["content"] == {PROBLEM: problem} and "409" not in ingest and "429" in ingest
    assert set(doc["components"]["schemas"]["Problem"]["required"]) == {"type", "title", "status", "detail"}


def test_docs_page_has_no_inline_script(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_anonymous_gets_401_problem(api, tree):
    response = api.get("/api/v1/organizations/")
    assert response.status_code == 401 or response.status_code == 403
    assert response["Content-Type"] == PROBLEM
    assert response.json()["status"] == response.status_code


def test_a_top_level_organisation_is_created_by_a_superuser_and_refused_to_others(admin_api, api, tree):
    """Sent without a parent: a superuser creates a new root; anyone else gets a 403 (it was a 500 for all)."""
    from django.contrib.auth import get_user_model

    refused = admin_api.post("/api/v1/organizations/", new_org(tree, parent=None, code="goc-1"), format="json")
    assert refused.status_code == 403, refused.content  # a national administrator is not a superuser
    root_admin = get_user_model().objects.create_superuser("root-api", "root@example.invalid", "x")
    api.force_authenticate(root_admin)
    body = new_org(tree, code="goc-moi", kind="enterprise")
    del body["parent"]
    created = api.post("/api/v1/organizations/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["parent"] is None and created.json()["depth"] == 0


def test_create_and_list_with_filters(admin_api, tree):
    response = admin_api.post("/api/v1/organizations/", new_org(tree), format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["depth"] == 3
    listing = admin_api.get("/api/v1/organizations/", {"kind": "unit", "q": "mới"}).json()
    assert [row["id"] for row in listing["results"]] == [created["id"]]
    within = admin_api.get("/api/v1/organizations/", {"within": str(tree.province_b.pk)}).json()
    assert {row["code"] for row in within["results"]} == {"tinh-b", "so-b"}


def test_pagination(admin_api, tree):
    page = admin_api.get("/api/v1/organizations/", {"limit": 2, "offset": 1}).json()
    assert page["count"] == Organization.objects.count()
    assert len(page["results"]) == 2
    assert "offset=3" in page["next"]


def test_malformed_json(admin_api):
    response = admin_api.generic("POST", "/api/v1/organizations/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert response.json()["title"] == "Malformed request"


def test_unknown_and_read_only_fields_are_rejected(admin_api, tree):
    response = admin_api.post("/api/v1/organizations/", new_org(tree, colour="blue", depth=9), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "Invalid input"
    assert set(body["errors"]) == {"colour", "depth"}
    assert not Organization.objects.filter(code="don-vi-moi").exists()


def test_over_long_value(admin_api, tree):
    response = admin_api.post("/api/v1/organizations/", new_org(tree, name="x" * 300), format="json")
    assert response.status_code == 400
    assert "name" in response.json()["errors"]


def test_wrong_media_type(admin_api):
    response = admin_api.generic("POST", "/api/v1/organizations/", "a=b", content_type="text/plain")
    assert response.status_code == 415
    assert response["Content-Type"] == PROBLEM


def test_unknown_endpoint_is_a_problem_404(admin_api):
    response = admin_api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM


def test_parent_outside_scope_is_not_found_not_forbidden(api, tree):
    officer = make_user(tree.province_a, "org_admin", username="a-admin")
    api.force_authenticate(officer)
    response = api.post("/api/v1/organizations/", new_org(tree, parent=str(tree.province_b.pk)), format="json")
    assert response.status_code == 400
    assert "parent" in response.json()["errors"]
    assert not Organization.objects.filter(code="don-vi-moi").exists()


def test_deleting_an_organisation_with_units_is_a_conflict(admin_api, tree):
    response = admin_api.delete(f"/api/v1/organizations/{tree.province_a.pk}/")
    assert response.status_code == 409
    assert Organization.objects.filter(pk=tree.province_a.pk).exists()


def test_move_and_merge_endpoints(admin_api, tree):
    response = admin_api.post(
        f"/api/v1/organizations/{tree.dept_a.pk}/move/",
        {"parent": str(tree.province_b.pk), "legal_basis": "QĐ 1/2026"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["parent"] == str(tree.province_b.pk)
    response = admin_api.post(
        f"/api/v1/organizations/{tree.province_a.pk}/merge/",
        {"into": str(tree.province_b.pk), "effective_date": "2025-07-01"},
        format="json",
    )
    assert response.status_code == 200, response.content
    tree.province_a.refresh_from_db()
    assert not tree.province_a.is_active and tree.province_a.merged_into_id == tree.province_b.pk


def test_move_under_own_unit_is_refused(admin_api, tree):
    response = admin_api.post(
        f"/api/v1/organizations/{tree.province_a.pk}/move/", {"parent": str(tree.operator_a.pk)}, format="json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM


def test_role_grant_cannot_exceed_the_granter(api, tree):
    org_admin = make_user(tree.province_a, "org_admin", username="a-admin")
    target = make_user(tree.dept_a, username="someone")
    api.force_authenticate(org_admin)
    body = {"user": str(target.pk), "organization": str(tree.dept_a.pk)}
    refused = api.post("/api/v1/role-assignments/", {**body, "role": "national_admin"}, format="json")
    assert refused.status_code == 403
    assert not RoleAssignment.objects.filter(user=target).exists()
    granted = api.post("/api/v1/role-assignments/", {**body, "role": "leader"}, format="json")
    assert granted.status_code == 201, granted.content


def test_role_assignments_filter_by_account_id_or_user_name(admin_api, tree):
    leader = make_user(tree.dept_a, "leader", username="Lanh-Dao")
    make_user(tree.dept_a, "leader", username="someone-else")
    for value in (str(leader.pk), "lanh-dao", " Lanh-Dao "):
        rows = admin_api.get("/api/v1/role-assignments/", {"user": value}).json()["results"]
        assert [row["user"] for row in rows] == [str(leader.pk)], value
    assert admin_api.get("/api/v1/role-assignments/", {"user": "nobody"}).json()["results"] == []


def test_users_api_never_returns_password_hash(admin_api, tree):
    make_user(tree.dept_a, username="someone")
    rows = admin_api.get("/api/v1/users/").json()["results"]
    assert rows and all("password" not in row for row in rows)


def test_create_user_with_weak_password_is_refused(admin_api, tree):
    response = admin_api.post(
        "/api/v1/users/", {"username": "newbie", "password": "123", "organization": str(tree.dept_a.pk)}, format="json"
    )
    assert response.status_code == 400
    assert "password" in response.json()["errors"]


def test_notifications_are_private(api, tree):
    from attt.core.services.notifications import notify

    alice = make_user(tree.dept_a, username="alice")
    bob = make_user(tree.dept_a, username="bob")
    notify([alice], title="Chào Alice", email=False)
    api.force_authenticate(bob)
    assert api.get("/api/v1/notifications/").json()["count"] == 0
    api.force_authenticate(alice)
    assert api.get("/api/v1/notifications/").json()["results"][0]["title"] == "Chào Alice"
    assert api.post("/api/v1/notifications/mark-read/", {}, format="json").json() == {"marked": 1}


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=300),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.dictionaries(
        st.sampled_from(["code", "name", "kind", "parent", "email", "x", "depth"]), JSON_VALUES, max_size=6
    )
)
def test_any_json_body_gets_a_4xx_problem_or_a_valid_create(admin_api, tree, body):
    """Fuzz: whatever JSON arrives, the answer is a clear problem or a clean create, never a 500."""
    response = admin_api.post("/api/v1/organizations/", body, format="json")
    assert response.status_code in {201, 400, 403}, response.content
    if response.status_code != 201:
        assert response["Content-Type"] == PROBLEM
        assert response.json()["detail"]


def test_every_list_endpoint_names_the_fields_it_sorts_by():
    """DRF's OrderingFilter sorts by any serializer field when a view names none: at national scale `?ordering=`
    on an unindexed column sorts every row in scope. Every view lists its own (possibly none)."""
    from drf_spectacular.generators import EndpointEnumerator
    from rest_framework.filters import OrderingFilter

    views = {getattr(endpoint[3], "cls", None) for endpoint in EndpointEnumerator().get_api_endpoints()}
    sorting = [
        v
        for v in views
        if v is not None and any(issubclass(b, OrderingFilter) for b in getattr(v, "filter_backends", ()))
    ]
    assert len(sorting) > 30
    assert [v.__name__ for v in sorting if not isinstance(getattr(v, "ordering_fields", None), list)] == []


def test_ordering_on_a_field_a_view_does_not_name_is_ignored(admin_api, tree):
    def codes(**query) -> list[str]:
        return [row["code"] for row in admin_api.get("/api/v1/organizations/", query).json()["results"]]

    assert codes(ordering="-kind") == codes()  # not named: the default order
    assert codes(ordering="-name") == sorted(codes(), key=lambda c: Organization.objects.get(code=c).name)[::-1]


def test_no_multiple_choice_filter_adds_distinct():
    """django-filter puts DISTINCT on a multiple-choice filter unless told not to, and DISTINCT makes a list's
    page count scan its whole table: every one in the project is a `ChoicesFilter` (or says distinct=False)."""
    import importlib

    import django_filters
    from django.apps import apps

    for app in apps.get_app_configs():
        if app.name.startswith("attt."):
            try:
                importlib.import_module(f"{app.name}.filtersets")
            except ModuleNotFoundError:
                continue

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    fields = {
        (filterset.__name__, name): field
        for filterset in subclasses(django_filters.FilterSet)
        if filterset.__module__.startswith("attt.")
        for name, field in filterset.base_filters.items()
        if isinstance(field, django_filters.MultipleChoiceFilter)
    }
    assert {("AlertFilterSet", "status"), ("AuditEventFilterSet", "action")} <= set(fields)
    assert [key for key, field in fields.items() if field.distinct] == []


def test_if_match_is_not_checked_on_a_record_without_a_version(admin_api, tree):
    """A user account has no `updated_at`, so no ETag: an If-Match sent with a change to it cannot name an older
    version and is not a reason to refuse it."""
    user = make_user(tree.dept_a, username="no-version")
    url = f"/api/v1/users/{user.pk}/"
    assert "ETag" not in admin_api.get(url)
    changed = admin_api.patch(url, {"job_title": "Chuyên viên"}, format="json", HTTP_IF_MATCH='"2026-01-01"')
    assert changed.status_code == 200, changed.content
