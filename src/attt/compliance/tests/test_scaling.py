"""Big lists stay cheap: the query count of the dossier list does not grow with its rows, and the checklist's
default order is read from an index rather than sorted."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from attt.compliance.models import ChecklistItem, LevelAssessment
from attt.compliance.tests.factories_oversight import make_dossier
from attt.core import scoping
from attt.core.testing import make_user, query_plan
from attt.registry.tests.factories import make_system

# Level 4 is appraised by the national authority, level 2 by the owner's side: both kinds of actor.
STATES = [("draft", 2), ("submitted", 2), ("submitted", 4), ("appraised", 4), ("returned", 3)]


def _dossiers(organization, n: int) -> None:
    for i in range(n):
        system = make_system(organization)
        state, level = STATES[i % len(STATES)]
        assessment = LevelAssessment.objects.create(
            organization=organization,
            system=system,
            regime="ND331_2026",
            facts={},
            level=level,
            deciding_criterion="test",
            result={"national_security_important": False},
        )
        make_dossier(system, level, state=state, regime="ND331_2026", assessment=assessment)


def _list_queries(api) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = api.get("/api/v1/compliance/dossiers/?limit=100")
    assert response.status_code == 200
    return len(captured.captured_queries), response.json()["count"]


@pytest.mark.parametrize("role", ["national_admin", "security_officer"])
def test_dossier_list_query_count_does_not_grow_with_its_rows(api, tree, role):
    user = make_user(tree.province_a, role, username=f"list-{role}")
    api.force_authenticate(user)
    _dossiers(tree.dept_a, 5)
    _list_queries(api)  # warm-up: scope and regulation caches
    few, count = _list_queries(api)
    assert count == 5
    _dossiers(tree.dept_a, 20)
    more, count = _list_queries(api)
    assert count == 25
    assert more == few


def test_checklist_default_order_is_served_by_the_unique_index(tree, national_admin):
    officer = make_user(tree.province_a, "security_officer", username="list-officer")
    for user in (national_admin, officer):
        queryset = scoping.visible(user, ChecklistItem.objects.all())[:50]
        assert "registry_informationsystem" not in str(queryset.query)
        plan = query_plan(queryset)
        assert not plan.sorts, plan.text
