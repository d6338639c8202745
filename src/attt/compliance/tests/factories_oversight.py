"""How the isolation matrix (and the oversight tests) build one report, inspection or finding in an
organisation. Texts are zero-padded so one record's text is never part of another's."""

import datetime
from itertools import count

from attt.compliance.models import Finding, Inspection, StatusReport
from attt.core.testing import matrix_factory

_serial = count(1)


def make_report(organization, **fields) -> StatusReport:
    """A draft monthly report; each call takes another month so the (organisation, kind, period) stays unique."""
    n = next(_serial)
    year, month = 2000 + n // 12, n % 12 + 1
    end = (datetime.date(year + (month == 12), month % 12 + 1, 1)) - datetime.timedelta(days=1)
    values = {
        "kind": StatusReport.Kind.MONTHLY,
        "regime": "ND85_2016",
        "period_start": end.replace(day=1),
        "period_end": end,
        "due_date": end + datetime.timedelta(days=20),
        "data": {},
        **fields,
    }
    return StatusReport.objects.create(organization=organization, **values)


def make_inspection(organization, *, targets=(), **fields) -> Inspection:
    n = next(_serial)
    values = {"title": f"Đoàn kiểm tra số {n:06d}", "year": 2026, "regime": "ND331_2026", **fields}
    inspection = Inspection.objects.create(organization=organization, **values)
    inspection.targets.set(targets)
    return inspection


def make_finding(organization, *, inspection: Inspection | None = None, **fields) -> Finding:
    n = next(_serial)
    inspection = inspection or make_inspection(organization, targets=[organization])
    values = {"description": f"Phát hiện số {n:06d}", "severity": Finding.Severity.MEDIUM, **fields}
    return Finding.objects.create(organization=organization, inspection=inspection, **values)


@matrix_factory(StatusReport, change_payload={"notes": "changed"})
def statusreport_factory(organization) -> StatusReport:
    return make_report(organization)


@matrix_factory(Inspection, change_payload={"scope": "changed"})
def inspection_factory(organization) -> Inspection:
    return make_inspection(organization, targets=[organization])


@matrix_factory(Finding, change_payload={"remediation": "changed"})
def finding_factory(organization) -> Finding:
    return make_finding(organization)


# --- A small, hand-computed data set shared by the oversight tests ------------------------------------------


def make_dossier(system, level: int | None, *, state: str = "approved", regime: str = "ND85_2016", **fields):
    from attt.compliance.models import LevelDossier

    values = {
        "organization_id": system.organization_id,
        "system": system,
        "regime": regime,
        "proposed_level": level or 1,
        "state": state,
        "title": f"Hồ sơ {system.code}",
        **fields,
    }
    if state == "approved":
        values.setdefault("approved_level", level)
        values.setdefault("decision_number", f"{next(_serial)}/QĐ-UBND")
        values.setdefault("decision_date", datetime.date(2024, 3, 1))
    return LevelDossier.objects.create(**values)


def make_items(system, regime: str, statuses: list[str]) -> None:
    from attt.compliance.models import ChecklistItem

    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            organization_id=system.organization_id,
            system=system,
            regime=regime,
            requirement=f"REQ-{i:02d}",
            status=status,
        )
        for i, status in enumerate(statuses, start=1)
    )


def make_layers(system, *, onsite=False, soc=None, assessment=False, national=False):
    from attt.compliance.models import ProtectionLayers

    return ProtectionLayers.objects.create(
        organization_id=system.organization_id,
        system=system,
        onsite_staff=2 if onsite else 0,
        soc_provider=soc,
        last_assessment=datetime.date(2026, 1, 10) if assessment else None,
        national_monitoring_connected=national,
    )


def build_sample(tree, today: datetime.date) -> dict:
    """Six systems in two provinces, with known levels, checklists, layers and overdue items.

    province A: S1 (dept_a) level 3, all met in its approved regime (ND85), all four layers
                S2 (dept_a) level 2 (a newer decision replaces level 1), one item not met, layers 1–2
                S3 (operator_a) no dossier, no layers
    province B: S4 (dept_b) level 3, all met, layer 1 only, an overdue periodic check
                S5 (dept_b) level 1, no checklist yet
                S6 (province_b) dossier submitted and overdue, no approved level
    National: 6 systems, levels {1: 1, 2: 1, 3: 2, none: 2}, approved 4 (66.7 %), fully 2 (33.3 %),
    1 overdue dossier, 1 overdue check, layers onsite 3, soc 2, assessment 1, national 1, all 1.
    """
    from attt.compliance.models import PeriodicCheck
    from attt.registry.tests.factories import make_system

    s1 = make_system(tree.dept_a, name="Cổng dịch vụ công A")
    s2 = make_system(tree.dept_a, name="Quản lý văn bản A")
    s3 = make_system(tree.operator_a, name="Mạng nội bộ A")
    s4 = make_system(tree.dept_b, name="Cổng dịch vụ công B")
    s5 = make_system(tree.dept_b, name="Thư điện tử B")
    s6 = make_system(tree.province_b, name="Trục liên thông B")
    make_dossier(s1, 3)
    make_items(s1, "ND85_2016", ["met", "met", "not_applicable"])
    make_items(s1, "ND331_2026", ["unknown", "unknown"])  # the new regime's items do not count yet
    make_layers(s1, onsite=True, soc=tree.ministry, assessment=True, national=True)
    make_dossier(s2, 1, decision_date=datetime.date(2019, 5, 1))
    make_dossier(s2, 2, decision_date=datetime.date(2024, 6, 1))
    make_items(s2, "ND85_2016", ["met", "not_met"])
    make_layers(s2, onsite=True, soc=tree.ministry)
    make_dossier(s4, 3)
    make_items(s4, "ND85_2016", ["met", "met"])
    make_layers(s4, onsite=True)
    PeriodicCheck.objects.create(
        organization_id=s4.organization_id, system=s4, regime="ND85_2016", due_date=today - datetime.timedelta(days=10)
    )
    PeriodicCheck.objects.create(
        organization_id=s5.organization_id,
        system=s5,
        regime="ND85_2016",
        due_date=today - datetime.timedelta(days=100),
        done_date=today - datetime.timedelta(days=95),
    )
    make_dossier(s5, 1)
    make_dossier(s6, 4, state="submitted", step_due=today - datetime.timedelta(days=3))
    return {"s1": s1, "s2": s2, "s3": s3, "s4": s4, "s5": s5, "s6": s6}
