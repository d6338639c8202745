"""How the isolation matrix (and this app's tests) build one compliance record in a given organisation."""

import datetime

from attt.compliance.models import (
    Attachment,
    ChecklistItem,
    LevelAssessment,
    LevelDossier,
    PeriodicCheck,
    ProtectionLayers,
)
from attt.core.testing import matrix_factory
from attt.registry.tests.factories import make_system


@matrix_factory(LevelAssessment)
def assessment_factory(organization) -> LevelAssessment:
    system = make_system(organization)
    return LevelAssessment.objects.create(
        organization=organization, system=system, regime="ND85_2016", facts={}, level=2, deciding_criterion="test"
    )


@matrix_factory(LevelDossier, change_payload={"summary": "changed"})
def dossier_factory(organization) -> LevelDossier:
    system = make_system(organization)
    return LevelDossier.objects.create(
        organization=organization, system=system, regime="ND85_2016", proposed_level=2, title=f"Hồ sơ {system.code}"
    )


@matrix_factory(ChecklistItem, change_payload={"status": "met"})
def checklist_item_factory(organization) -> ChecklistItem:
    system = make_system(organization)
    return ChecklistItem.objects.create(
        organization=organization, system=system, regime="ND85_2016", requirement="test.requirement"
    )


@matrix_factory(ProtectionLayers, change_payload={"onsite_staff": 3})
def layers_factory(organization) -> ProtectionLayers:
    return ProtectionLayers.objects.create(organization=organization, system=make_system(organization))


@matrix_factory(PeriodicCheck, change_payload={"due_date": "2027-02-01"})
def check_factory(organization) -> PeriodicCheck:
    return PeriodicCheck.objects.create(
        organization=organization,
        system=make_system(organization),
        regime="ND85_2016",
        due_date=datetime.date(2027, 1, 1),
    )


@matrix_factory(Attachment)
def attachment_factory(organization) -> Attachment:
    from django.core.files.base import ContentFile

    dossier = dossier_factory(organization)
    attachment = Attachment(
        organization=organization,
        dossier=dossier,
        kind="other",
        filename="a.txt",
        content_type="text/plain",
        size=1,
        sha256="0" * 64,
    )
    attachment.file.save("a.txt", ContentFile(b"a"), save=False)
    attachment.save()
    return attachment
