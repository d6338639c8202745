"""Free-text search as Vietnamese users type it: without diacritics, in any case, on SQLite and PostgreSQL alike
(the suite runs on both); wildcards typed are only text; every list's `q` and the system picker use it."""

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attt.core.models import Organization
from attt.core.search import _WITH_MARKS, fold
from attt.core.services import organizations


def _names(**lookup) -> set[str]:
    return set(Organization.objects.filter(**lookup).values_list("name", flat=True))


@pytest.fixture
def named(tree):
    for code, name in [
        ("cong", "Cổng thông tin điện tử"),
        ("dien", "ĐIỆN LỰC"),
        ("pct", "Giảm 50%_x"),
        ("en", "Portal"),
    ]:
        organizations.create_organization(parent=tree.root, code=code, name=name, kind="unit")


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("cong thong tin", {"Cổng thông tin điện tử"}),
        ("CỔNG", {"Cổng thông tin điện tử"}),
        ("dien", {"Cổng thông tin điện tử", "ĐIỆN LỰC"}),
        ("Điện Lực", {"ĐIỆN LỰC"}),
        ("50%", {"Giảm 50%_x"}),
        ("%", {"Giảm 50%_x"}),  # a wildcard typed is a character, not "anything"
        ("0%_", {"Giảm 50%_x"}),
        ("_", {"Giảm 50%_x"}),
        ("portal", {"Portal"}),
        ("cổng  x", set()),
    ],
)
def test_a_search_ignores_diacritics_and_case(named, typed, found):
    assert _names(name__fold_contains=typed) - {"Cơ quan quốc gia"} == found
    assert _names(name__fold_contains=typed) <= _names(name__fold_contains=fold(typed))


_vietnamese = st.text(alphabet=_WITH_MARKS + "abcdeghiklmnopqrstuvxyABCDEGHIKLMNOPQRSTUVXY 0123456789", min_size=1).map(
    lambda text: text if len(text) % 2 else unicodedata.normalize("NFD", text)  # precomposed or decomposed marks
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_vietnamese, data=st.data())
def test_the_database_folds_as_python_does(tree, name, data):
    """Any Vietnamese text: the engine's folding (SQLite's registered function, PostgreSQL's translate) finds a
    name by any piece of it typed with or without its marks, in either case, exactly as `fold` says."""
    org = Organization.objects.filter(code="fold").first()
    if org is None:
        org = organizations.create_organization(parent=tree.root, code="fold", name="x", kind="unit")
    Organization.objects.filter(pk=org.pk).update(name=name)
    start = data.draw(st.integers(0, len(name) - 1))
    piece = name[start : data.draw(st.integers(start + 1, len(name)))]
    for typed in (piece, fold(piece), piece.upper(), fold(piece).upper(), unicodedata.normalize("NFC", piece)):
        assert Organization.objects.filter(pk=org.pk, name__fold_contains=typed).exists(), typed
    assert fold(fold(name)) == fold(name) and fold(name).isascii()  # this alphabet folds to ASCII entirely


def test_list_search_and_system_picker_use_it(api, client, tree, named):
    from attt.core.testing import make_user
    from attt.registry import services as registry
    from attt.registry.tests.factories import make_system

    make_system(tree.dept_a, name="Cổng dịch vụ công tỉnh A", code="cong-dvc-a")
    admin = make_user(tree.root, "national_admin", username="fold-admin")
    api.force_authenticate(admin)
    listed = api.get("/api/v1/organizations/", {"q": "CONG THONG"}).json()["results"]
    assert [o["name"] for o in listed] == ["Cổng thông tin điện tử"]
    client.force_login(admin)
    assert "Cổng thông tin điện tử" in client.get("/core/organizations/", {"q": "cong thong"}).content.decode()
    assert [s.name for s in registry.find_systems(admin, "dich vu cong").systems] == ["Cổng dịch vụ công tỉnh A"]


def test_decomposed_marks_fold_like_precomposed_ones(tree):
    """A name pasted with its marks as separate characters was found neither by "cong" nor by "cổng"."""
    organizations.create_organization(
        parent=tree.root, code="nfd", name=unicodedata.normalize("NFD", "Cổng thông tin"), kind="unit"
    )
    for typed in ("cong thong", "Cổng thông", unicodedata.normalize("NFD", "cổng")):
        assert _names(name__fold_contains=typed) == {unicodedata.normalize("NFD", "Cổng thông tin")}, typed


def test_a_search_of_a_field_of_another_type_matches_nothing_rather_than_failing(tree):
    assert not Organization.objects.filter(pk__fold_contains="cong").exists()
    assert Organization.objects.filter(pk__fold_contains=str(tree.root.pk)[:8]).exists()
