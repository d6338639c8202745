"""How the isolation matrix (and the module's tests) build incident-response records in a given organisation."""

from itertools import count

from django.core.files.base import ContentFile
from django.utils import timezone

from attt.core.testing import matrix_factory
from attt.incidents import services
from attt.incidents.models import (
    Attachment,
    Deadline,
    Incident,
    IncidentTask,
    MemberReport,
    NetworkMember,
    Observable,
    TimelineEntry,
)

_serial = count(1)


@matrix_factory(Incident, change_payload={"title": "changed"})
def make_incident(organization, **fields) -> Incident:
    n = next(_serial)
    return services.report_incident(
        organization=organization,
        title=fields.pop("title", f"Sự cố thử {n:05d}"),
        description="test",
        source=fields.pop("source", "operator"),
        **fields,
    )


@matrix_factory(IncidentTask, change_payload={"evidence": "changed"})
def make_task(organization, incident=None) -> IncidentTask:
    incident = incident or make_incident(organization)
    return IncidentTask.objects.create(
        incident=incident, organization=organization, title=f"Nhiệm vụ {next(_serial)}", due_date=timezone.localdate()
    )


@matrix_factory(Observable, change_payload={"comment": "changed"})
def make_observable(organization) -> Observable:
    incident = make_incident(organization)
    n = next(_serial)
    return Observable.objects.create(
        incident=incident,
        organization=organization,
        kind="ipv4",
        value=f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
    )


@matrix_factory(TimelineEntry)
def make_entry(organization) -> TimelineEntry:
    return make_incident(organization).timeline.first()


@matrix_factory(Deadline)
def make_deadline(organization) -> Deadline:
    return make_incident(organization).deadlines.first()


@matrix_factory(Attachment)
def make_attachment(organization) -> Attachment:
    incident = make_incident(organization)
    attachment = Attachment(
        incident=incident, organization=organization, name="log.txt", content_type="text/plain", size=3, sha256="0" * 64
    )
    attachment.file.save(f"t{next(_serial)}.txt", ContentFile(b"abc"), save=False)
    attachment.save()
    return attachment


@matrix_factory(NetworkMember, change_payload={"contact_name": "changed"})
def make_member(organization, **fields) -> NetworkMember:
    return NetworkMember.objects.create(
        organization=organization, name=fields.pop("name", f"Thành viên {next(_serial)}"), **fields
    )


@matrix_factory(MemberReport)
def make_member_report(organization) -> MemberReport:
    member = make_member(organization)
    return MemberReport.objects.create(
        member=member, organization=organization, period="annual", year=2026, due_date=timezone.localdate()
    )
