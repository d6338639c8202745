"""How the isolation matrix builds one warning or leak notice in a given organisation."""

import datetime
from itertools import count

from django.utils import timezone

from attt.core.testing import matrix_factory
from attt.registry.tests.factories import make_system
from attt.vulns.models import LeakNotice, Vulnerability, VulnWarning

_serial = count(1)


def make_vulnerability(**fields) -> Vulnerability:
    n = next(_serial)
    return Vulnerability.objects.create(**{"cve_id": f"CVE-2099-{n:06d}", "cvss_score": 7.5, **fields})


def make_warning(system, *, due_in: int = 10, **fields) -> VulnWarning:
    """A warning on `system` for a new CVE, due `due_in` days from today (negative: overdue)."""
    return VulnWarning.objects.create(
        organization_id=system.organization_id,
        system=system,
        vulnerability=make_vulnerability(),
        due_date=timezone.localdate() + datetime.timedelta(days=due_in),
        **fields,
    )


@matrix_factory(VulnWarning, change_payload={"note": "changed"})
def warning_factory(organization) -> VulnWarning:
    system = make_system(organization)
    return VulnWarning.objects.create(
        organization=organization, system=system, vulnerability=make_vulnerability(), due_date=timezone.localdate()
    )


@matrix_factory(LeakNotice, change_payload={"advice": "changed"})
def leak_factory(organization) -> LeakNotice:
    n = next(_serial)
    return LeakNotice.objects.create(
        organization=organization, title=f"Rò rỉ số {n:06d}", source="test", published=timezone.localdate()
    )
