"""A system handed to another organisation takes its compliance along in the same transaction (registry's
owner-change hook): level assessment, dossier with its attachment, checklist, 4-layer record and periodic checks
go to the new owner, each move audited; an inspection's finding about the system stays with the inspection.
Before, they stayed with the former owner, who kept seeing the system's level records while the new owner, who
answers for the system, did not."""

import datetime

from django.core.files.base import ContentFile
from django.db import transaction

from attt.compliance.models import (
    Attachment,
    ChecklistItem,
    LevelAssessment,
    LevelDossier,
    PeriodicCheck,
    ProtectionLayers,
)
from attt.compliance.tests.factories_oversight import make_dossier, make_finding, make_items, make_layers
from attt.core.models import AuditEvent
from attt.core.testing import make_user
from attt.registry.tests.factories import make_system

KEPT_WITH_SYSTEM = (LevelAssessment, LevelDossier, ChecklistItem, ProtectionLayers, PeriodicCheck, Attachment)


def _compliance_of(system) -> dict:
    LevelAssessment.objects.create(
        organization_id=system.organization_id,
        system=system,
        regime="ND85_2016",
        facts={},
        level=3,
        deciding_criterion="test",
    )
    dossier = make_dossier(system, 3)
    attachment = Attachment(
        organization_id=system.organization_id, dossier=dossier, kind="other", filename="qd.pdf", size=1
    )
    attachment.file.save("qd.pdf", ContentFile(b"%PDF-1.7"), save=False)
    attachment.save()
    make_items(system, "ND85_2016", ["met", "not_met"])
    make_layers(system)
    PeriodicCheck.objects.create(
        organization_id=system.organization_id, system=system, regime="ND85_2016", due_date=datetime.date(2027, 1, 1)
    )
    return {"dossier": dossier}


def test_a_system_handed_over_takes_its_compliance_along(api, tree):
    system = make_system(tree.dept_a, code="cong-dvc")
    other = make_system(tree.dept_a, code="thu-dien-tu")
    records = _compliance_of(system)
    _compliance_of(other)
    finding = make_finding(tree.province_a, system=system)
    system.organization = tree.dept_b
    system.save()
    for model in KEPT_WITH_SYSTEM:
        owners = set(model.objects.exclude(organization_id=tree.dept_a.pk).values_list("organization_id", flat=True))
        assert owners == {tree.dept_b.pk}, model
        assert model.objects.filter(organization_id=tree.dept_a.pk).exists(), model  # the other system's stay
    finding.refresh_from_db()
    assert finding.organization_id == tree.province_a.pk
    moves = AuditEvent.objects.filter(action="workflow", changes__step="follow_owner")
    assert moves.count() == 7  # assessment, dossier, attachment, two checklist items, layers, check
    assert {m.object_type for m in moves} == {model._meta.label_lower for model in KEPT_WITH_SYSTEM}
    url = f"/api/v1/compliance/dossiers/{records['dossier'].pk}/"
    api.force_authenticate(make_user(tree.dept_a, "security_officer"))
    assert api.get(url).status_code == 404
    api.force_authenticate(make_user(tree.dept_b, "security_officer"))
    assert api.get(url).status_code == 200


def test_a_hand_over_rolled_back_leaves_the_compliance_where_it_was(tree):
    system = make_system(tree.dept_a)
    _compliance_of(system)
    try:
        with transaction.atomic():
            system.organization = tree.dept_b
            system.save()
            raise RuntimeError("refused later in the same request")
    except RuntimeError:
        pass
    for model in KEPT_WITH_SYSTEM:
        assert not model.objects.exclude(organization_id=tree.dept_a.pk).exists(), model


def test_the_daily_job_moves_the_compliance_of_a_system_whose_owner_was_written_without_a_save(tree):
    """Systems handed over before the hook existed, or by an UPDATE of their row, kept their compliance with the
    former owner for good; the daily job moves it, audited, and then finds nothing more to do."""
    from attt.compliance import services
    from attt.registry.models import InformationSystem

    system = make_system(tree.dept_a)
    _compliance_of(system)
    _compliance_of(make_system(tree.dept_a))  # in place: untouched
    InformationSystem.objects.filter(pk=system.pk).update(organization=tree.dept_b)
    assert services.follow_owners() == 7
    for model in KEPT_WITH_SYSTEM:
        assert model.objects.filter(organization_id=tree.dept_b.pk).exists(), model
    assert services.follow_owners() == 0
