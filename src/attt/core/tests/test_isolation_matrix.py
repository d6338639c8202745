"""For every role and every scoped resource: what is inside the user's subtree is reachable as the
role allows, what is outside is invisible (404, never 403 that would confirm it exists), through the
API (list, read, change, delete, export) and the UI (list, detail, CSV export)."""

import csv
import io

import pytest
from django.urls import NoReverseMatch, resolve, reverse

from attt.core import scoping
from attt.core.models import Role
from attt.core.permissions import grants, load_role_definitions, model_permission
from attt.core.testing import make_user, matrix_factories

ROLES = [r["code"] for r in load_role_definitions()]
RESOURCES = sorted(scoping.resources.values(), key=lambda r: r.model._meta.label)


def test_every_scoped_resource_has_a_matrix_factory():
    missing = [r.model._meta.label for r in RESOURCES if r.model not in matrix_factories]
    assert not missing, f"register a matrix_factory for: {missing}"


def _allowed(role_code: str, model, action: str) -> bool:
    return grants(Role.objects.get(code=role_code).permissions, model_permission(model, action))


def _key(obj) -> str:
    return str(obj.pk)


@pytest.fixture
def setting(tree, request):
    role_code, resource = request.param
    factory = matrix_factories[resource.model]
    user = make_user(tree.province_a, role_code, username=f"u-{role_code}")
    inside = factory.create(tree.dept_a)
    outside = factory.create(tree.dept_b)
    return role_code, resource, factory, user, inside, outside


CASES = [(role, res) for role in ROLES for res in RESOURCES]
IDS = [f"{role}-{res.model._meta.model_name}" for role, res in CASES]


@pytest.mark.parametrize("setting", CASES, ids=IDS, indirect=True)
def test_api_isolation(setting, api):
    role, resource, factory, user, inside, outside = setting
    if not resource.api_basename:
        pytest.skip("no API endpoint")
    model = resource.model
    api.force_authenticate(user)
    base = resource.api_basename
    can_view = _allowed(role, model, "view")

    listing = api.get(reverse(f"api:{base}-list"), {"limit": 1000})
    if can_view:
        assert listing.status_code == 200
        keys = {str(row.get("id", row.get("seq"))) for row in listing.json()["results"]}
        assert _key(inside) in keys
        assert _key(outside) not in keys
    else:
        assert listing.status_code == 403

    detail_out = api.get(reverse(f"api:{base}-detail", args=[_key(outside)]))
    assert detail_out.status_code in ({404} if can_view else {403, 404})
    detail_in = api.get(reverse(f"api:{base}-detail", args=[_key(inside)]))
    assert detail_in.status_code == (200 if can_view else 403)

    export = api.get(reverse(f"api:{base}-export"))
    if _allowed(role, model, "export"):
        assert export.status_code == 200
        keys = _csv_keys(export)
        assert _key(inside) in keys
        assert _key(outside) not in keys
    else:
        assert export.status_code == 403

    if factory.change_payload is not None:
        before = model.objects.filter(pk=outside.pk).values().get()
        out = api.patch(reverse(f"api:{base}-detail", args=[_key(outside)]), factory.change_payload, format="json")
        can_change = _allowed(role, model, "change")
        # Without the permission anywhere the answer is 403 for every id, so it reveals nothing.
        assert out.status_code == (404 if can_change else 403)
        assert model.objects.filter(pk=outside.pk).values().get() == before
        inn = api.patch(reverse(f"api:{base}-detail", args=[_key(inside)]), factory.change_payload, format="json")
        assert inn.status_code == (200 if can_view and can_change else 403)

    deletable = "delete" in [m.lower() for m in _methods(base)]
    if deletable:
        out = api.delete(reverse(f"api:{base}-detail", args=[_key(outside)]))
        assert out.status_code == (404 if _allowed(role, model, "delete") else 403)
        assert model.objects.filter(pk=outside.pk).exists()
        inn = api.delete(reverse(f"api:{base}-detail", args=[_key(inside)]))
        if can_view and _allowed(role, model, "delete"):
            assert inn.status_code in {204, 409}
        else:
            assert inn.status_code == 403
            assert model.objects.filter(pk=inside.pk).exists()


def _csv_keys(response) -> set[str]:
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    return {row.get("id") or row.get("seq") for row in rows}


def _methods(basename: str) -> list[str]:
    return resolve(reverse(f"api:{basename}-list")).func.cls.http_method_names


@pytest.mark.parametrize("setting", CASES, ids=IDS, indirect=True)
def test_ui_isolation(setting, client):
    role, resource, _factory, user, inside, outside = setting
    if not resource.ui_namespace:
        pytest.skip("no UI pages")
    model = resource.model
    client.force_login(user)
    can_view = _allowed(role, model, "view")
    page = client.get(reverse(f"{resource.ui_namespace}_list"), {"q": ""})
    if not can_view:
        assert page.status_code == 403
        return
    assert page.status_code == 200
    try:
        detail = reverse(f"{resource.ui_namespace}_detail", args=[outside.pk])
    except NoReverseMatch:
        detail = None
    if detail:
        assert client.get(detail).status_code == 404
        assert client.get(reverse(f"{resource.ui_namespace}_detail", args=[inside.pk])).status_code == 200
    export = client.get(reverse(f"{resource.ui_namespace}_list"), {"export": "csv"})
    if _allowed(role, model, "export"):
        body = b"".join(export.streaming_content).decode()
        assert export.status_code == 200
        assert str(outside) not in body or str(outside) == str(inside)
    else:
        assert export.status_code == 403
