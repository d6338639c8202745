"""A list filter that picks a record (`?plan=`, `?system=`, `?organization=`) must not tell whether a record outside the
user's scope exists: an out-of-scope id is answered exactly like an id nobody ever made. django-filter resolves such
a filter against every row of the table unless told otherwise, so a real out-of-scope id would give an empty list
(200) where a made-up one gives 400, and a page's filter drop-down would list every plan's title: `ScopedChoices`
narrows every such choice to the view scope. The walk covers every list of the API and of the UI, and every FilterSet
of the project, so a new one cannot bring the leak back."""

import uuid

import django_filters
import pytest
from django.test import RequestFactory
from django.urls import URLResolver, get_resolver, reverse
from django_filters.filters import QuerySetRequestMixin

from attt.core import scoping
from attt.core.models import Role, RoleAssignment
from attt.core.testing import make_user, matrix_factories


def _patterns(resolver=None, namespace=()):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern, namespace + ((pattern.namespace,) if pattern.namespace else ()))
        elif pattern.name:
            yield ":".join((*namespace, pattern.name)), pattern


def _choice_filters(filterset) -> list[str]:
    return [name for name, f in filterset.base_filters.items() if isinstance(f, QuerySetRequestMixin)]


def _api_cases() -> list[tuple[str, type, str]]:
    cases = {}
    for name, pattern in _patterns():
        view = getattr(pattern.callback, "cls", None)
        if view is None or not name.endswith("-list") or getattr(view, "queryset", None) is None:
            continue
        for backend in getattr(view, "filter_backends", []):
            if hasattr(backend, "get_filterset_class"):
                filterset = backend().get_filterset_class(view(), view.queryset)
                for field in _choice_filters(filterset) if filterset else []:
                    cases[(name, field)] = filterset
    return [(name, filterset, field) for (name, field), filterset in cases.items()]


def _ui_cases() -> list[tuple[str, str]]:
    cases = {}
    for name, pattern in _patterns():
        filterset = getattr(getattr(pattern.callback, "view_class", None), "filterset_class", None)
        if filterset is not None and not pattern.pattern.converters:
            cases.update({(name, field): None for field in _choice_filters(filterset)})
    return list(cases)


def _filtersets() -> list[type]:
    """Every FilterSet of the project's pages and endpoints (loading the URLs imports their modules), also those a
    view builds itself rather than naming in `filterset_class`."""
    get_resolver().url_patterns  # noqa: B018

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return sorted(
        {fs for fs in subclasses(django_filters.FilterSet) if fs.__module__.startswith("attt.") and fs._meta.model},
        key=lambda fs: f"{fs.__module__}.{fs.__qualname__}",
    )


API_CASES = _api_cases()
UI_CASES = _ui_cases()
FORM_CASES = [(fs, field) for fs in _filtersets() for field in _choice_filters(fs)]


def test_the_walk_finds_the_record_filters():
    assert {("api:task-list", "plan"), ("api:leveldossier-list", "system"), ("api:periodiccheck-list", "system")} <= {
        (name, field) for name, _fs, field in API_CASES
    }
    assert ("plans:task_list", "plan") in UI_CASES
    assert {"TaskFilterSet", "VulnWarningFilterSet"} <= {fs.__name__ for fs, _field in FORM_CASES}


@pytest.fixture
def everyone_in_province_a(tree):
    """Holds every permission, on province A only (department B is outside)."""
    user = make_user(tree.province_a, username="moi-quyen-tinh-a")
    role = Role.objects.create(code="test-everything", name="Mọi quyền", permissions=["*"])
    RoleAssignment.objects.create(user=user, role=role, organization=tree.province_a)
    return user


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def _records(tree, user, filterset, field):
    """A record the filter may pick (in department A), one outside the scope (department B), and a made-up id."""
    choice = filterset(queryset=filterset._meta.model._default_manager.none(), request=_request(user)).filters[field]
    model = choice.get_queryset(_request(user)).model
    if model not in scoping.resources:
        pytest.skip(f"{model._meta.label} is reference data, the same for everyone")
    key = choice.extra.get("to_field_name") or "pk"
    factory = matrix_factories[model].create
    return str(getattr(factory(tree.dept_a), key)), str(getattr(factory(tree.dept_b), key)), str(uuid.uuid4())


def _same(first: bytes, first_id: str, second: bytes, second_id: str) -> None:
    assert first.decode().replace(first_id, "ID") == second.decode().replace(second_id, "ID")


@pytest.mark.parametrize(("name", "filterset", "field"), API_CASES, ids=[f"{n}-{f}" for n, _fs, f in API_CASES])
def test_api_answers_an_unseen_record_like_an_unknown_one(tree, api, everyone_in_province_a, name, filterset, field):
    inside, outside, made_up = _records(tree, everyone_in_province_a, filterset, field)
    api.force_authenticate(everyone_in_province_a)
    url = reverse(name)
    unseen, unknown = api.get(url, {field: outside}), api.get(url, {field: made_up})
    assert unseen.status_code == unknown.status_code == 400
    _same(unseen.content, outside, unknown.content, made_up)
    assert api.get(url, {field: inside}).status_code == 200


@pytest.mark.parametrize(("name", "field"), UI_CASES, ids=[f"{n}-{f}" for n, f in UI_CASES])
def test_ui_list_answers_an_unseen_record_like_an_unknown_one(tree, client, everyone_in_province_a, name, field):
    from django.urls import resolve

    url = reverse(name)
    view = resolve(url).func.view_class
    inside, outside, made_up = _records(tree, everyone_in_province_a, view.filterset_class, field)
    if view.model in matrix_factories:
        matrix_factories[view.model].create(tree.dept_a)  # a row the page lists when the filter is refused
    client.force_login(everyone_in_province_a)
    unseen, unknown = client.get(url, {field: outside}), client.get(url, {field: made_up})
    assert unseen.status_code == unknown.status_code == 200
    assert [o.pk for o in unseen.context["page"]] == [o.pk for o in unknown.context["page"]]
    assert field in unseen.context["filterset"].form.errors
    assert field not in client.get(url, {field: inside}).context["filterset"].form.errors
    page = client.get(url).content.decode()  # the filter's drop-down offers only what the user sees
    assert f'value="{inside}"' in page
    assert f'value="{outside}"' not in page


@pytest.mark.parametrize(
    ("filterset", "field"), FORM_CASES, ids=[f"{fs.__module__}.{fs.__name__}-{f}" for fs, f in FORM_CASES]
)
def test_every_record_filter_chooses_within_the_scope(tree, everyone_in_province_a, filterset, field):
    inside, outside, made_up = _records(tree, everyone_in_province_a, filterset, field)

    def errors(value: str) -> dict:
        queryset = filterset._meta.model._default_manager.none()
        return filterset({field: value}, queryset=queryset, request=_request(everyone_in_province_a)).form.errors

    assert field not in errors(inside)
    unseen, unknown = errors(outside), errors(made_up)
    assert field in unseen
    assert [str(e).replace(outside, "ID") for e in unseen[field]] == [
        str(e).replace(made_up, "ID") for e in unknown[field]
    ]
