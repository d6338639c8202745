"""Big lists and maps stay cheap: the exposure map of a CVE costs the same queries for 3 systems as for 30,
and the warning list in its default order is read from an index rather than sorted."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from attt.compliance.tests.factories_oversight import make_dossier
from attt.core import scoping
from attt.core.testing import make_user, query_plan
from attt.registry.tests.factories import make_system
from attt.vulns import services
from attt.vulns.models import VulnWarning
from attt.vulns.tests.factories import make_vulnerability


def _affected(vulnerability, organization, n: int) -> None:
    for i in range(n):
        # Decided level 2 everywhere; every other system was approved at level 3 by a dossier.
        system = make_system(organization, decided_level=2, internet_facing=bool(i % 3))
        if i % 2:
            make_dossier(system, 3)
        VulnWarning.objects.create(
            organization=organization, system=system, vulnerability=vulnerability, due_date=timezone.localdate()
        )


def _exposure(vulnerability, user) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as captured:
        result = services.exposure(vulnerability, user)
    return len(captured.captured_queries), result


def test_exposure_query_count_does_not_grow_with_the_number_of_systems(tree, national_admin):
    vulnerability = make_vulnerability()
    _affected(vulnerability, tree.dept_a, 4)
    _exposure(vulnerability, national_admin)  # warm-up: the user's scope
    few, result = _exposure(vulnerability, national_admin)
    assert (result["systems"], result["exposed"]) == (4, 2)
    _affected(vulnerability, tree.dept_b, 30)
    more, result = _exposure(vulnerability, national_admin)
    assert (result["systems"], result["exposed"]) == (34, 17)
    assert dict(result["by_province"]) == {"Tỉnh A": 2, "Tỉnh B": 15}
    assert more == few


def test_warning_list_in_scope_is_read_in_index_order(tree, national_admin):
    officer = make_user(tree.province_a, "security_officer", username="list-officer")
    listed = VulnWarning.objects.select_related("vulnerability", "system", "organization")
    for user in (national_admin, officer):
        plan = query_plan(scoping.visible(user, listed)[:50])
        assert plan.uses("vulns_warning_list") and not plan.sorts, plan.text
    plan = query_plan(scoping.visible(officer, listed).filter(organization=tree.dept_a)[:50])
    assert plan.uses("vulns_warning_org_list") and not plan.sorts, plan.text
