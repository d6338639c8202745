"""Every API action that hands records out as a file or bundle reads them from the user's export scope, not the wider
view scope (a leader's read-only role at the top must not widen what a unit may take away); and a record is created
in, or moved to, no organisation only by someone who holds the permission nationally."""

import pytest
from django.urls import URLResolver, get_resolver
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from attt.core.api.base import ScopedModelViewSet
from attt.core.models import Role, RoleAssignment, User
from attt.core.testing import make_user, matrix_factories


def _viewsets() -> list[type[ScopedModelViewSet]]:
    found: dict[type, None] = {}

    def walk(resolver):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern)
            else:
                cls = getattr(pattern.callback, "cls", None)
                if isinstance(cls, type) and issubclass(cls, ScopedModelViewSet):
                    found[cls] = None

    walk(get_resolver())
    return list(found)


EXPORT_ACTIONS = [
    (cls, extra.__name__)
    for cls in _viewsets()
    for extra in cls.get_extra_actions()
    if getattr(extra, "scope_action", None) == "export"
]
EXPORT_IDS = [f"{cls.__name__}-{name}" for cls, name in EXPORT_ACTIONS]


def test_the_walk_finds_the_export_actions():
    names = {(cls.__name__, name) for cls, name in EXPORT_ACTIONS}
    assert {("VulnWarningViewSet", "stix"), ("PlanViewSet", "export"), ("UserViewSet", "export")} <= names


@pytest.fixture
def viewer_exporter(tree):
    """Sees everything (a read-only role at the root) but exports only its own department."""
    user = make_user(tree.dept_a, username="xem-het")
    viewer = Role.objects.create(code="test-viewer", name="Xem", permissions=["*.view"])
    exporter = Role.objects.create(code="test-exporter", name="Xuất", permissions=["*.view", "*.export"])
    RoleAssignment.objects.create(user=user, role=viewer, organization=tree.root)
    RoleAssignment.objects.create(user=user, role=exporter, organization=tree.dept_a)
    return user


@pytest.mark.parametrize(("viewset", "name"), EXPORT_ACTIONS, ids=EXPORT_IDS)
def test_an_export_action_reads_the_export_scope(tree, viewer_exporter, viewset, name):
    model = viewset.queryset.model
    factory = matrix_factories[model]
    inside, outside = factory.create(tree.dept_a), factory.create(tree.dept_b)
    request = Request(APIRequestFactory().get("/"))
    request.user = viewer_exporter
    view = viewset(request=request, format_kwarg=None, kwargs={}, args=())

    view.action = "list"
    assert {inside.pk, outside.pk} <= set(view.get_queryset().values_list("pk", flat=True))  # the user sees both
    view.action = name
    exported = set(view.get_queryset().values_list("pk", flat=True))
    assert inside.pk in exported
    assert outside.pk not in exported


def test_stix_bundle_holds_only_exportable_warnings(tree, api, viewer_exporter):
    from attt.vulns.tests.factories import warning_factory

    own, other = warning_factory(tree.dept_a), warning_factory(tree.dept_b)
    api.force_authenticate(viewer_exporter)
    response = api.get("/api/v1/vulns/warnings/stix/")
    assert response.status_code == 200
    text = str(response.json())
    assert own.vulnerability.cve_id in text
    assert other.vulnerability.cve_id not in text


def test_stix_bundle_needs_the_export_permission(tree, api):
    leader = make_user(tree.root, "leader", username="lanh-dao")
    assert not any("vulns" in p and p.endswith("export") for p in Role.objects.get(code="leader").permissions)
    api.force_authenticate(leader)
    assert api.get("/api/v1/vulns/warnings/").status_code == 200
    assert api.get("/api/v1/vulns/warnings/stix/").status_code == 403


# --- No organisation is the national level ------------------------------------------------------------------


def _new_user(**fields) -> dict:
    return {"username": "tai-khoan-moi", "email": "moi@example.invalid", **fields}


@pytest.mark.parametrize("organization", [{"organization": None}, {}], ids=["null", "left-out"])
def test_province_admin_cannot_create_an_account_without_organisation(tree, api, organization):
    api.force_authenticate(make_user(tree.province_a, "org_admin", username="qt-tinh-a"))
    response = api.post("/api/v1/users/", _new_user(**organization), format="json")
    assert response.status_code == 403
    assert not User.objects.filter(username="tai-khoan-moi").exists()
    inside = api.post("/api/v1/users/", _new_user(organization=str(tree.dept_a.pk)), format="json")
    assert inside.status_code == 201, inside.content


def test_province_admin_cannot_move_an_account_to_no_organisation(tree, api):
    api.force_authenticate(make_user(tree.province_a, "org_admin", username="qt-tinh-a"))
    staff = make_user(tree.dept_a, username="chuyen-vien")
    response = api.patch(f"/api/v1/users/{staff.pk}/", {"organization": None}, format="json")
    assert response.status_code == 403
    staff.refresh_from_db()
    assert staff.organization == tree.dept_a
    moved = api.patch(f"/api/v1/users/{staff.pk}/", {"organization": str(tree.operator_a.pk)}, format="json")
    assert moved.status_code == 200, moved.content


def test_national_admin_may_keep_an_account_without_organisation(tree, api, national_admin):
    api.force_authenticate(national_admin)
    created = api.post("/api/v1/users/", _new_user(organization=None), format="json")
    assert created.status_code == 201, created.content
    staff = make_user(tree.dept_a, username="chuyen-vien")
    moved = api.patch(f"/api/v1/users/{staff.pk}/", {"organization": None}, format="json")
    assert moved.status_code == 200, moved.content
    staff.refresh_from_db()
    assert staff.organization is None
