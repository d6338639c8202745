"""How the isolation matrix (and this app's tests) build one plans record in a given organisation."""

import datetime
import itertools

from django.core.files.base import ContentFile

from attt.core.testing import matrix_factory
from attt.plans.models import (
    Assignment,
    Evidence,
    Indicator,
    IndicatorValue,
    LegalDocument,
    Plan,
    ProgressReport,
    Section,
    Task,
)

_n = itertools.count(1)


@matrix_factory(Plan, change_payload={"description": "changed"})
def make_plan(organization, **fields) -> Plan:
    n = next(_n)
    return Plan.objects.create(organization=organization, code=f"plan-{n}", title=f"Kế hoạch {n}", **fields)


def make_section(plan: Plan, code: str = "I") -> Section:
    return Section.objects.get_or_create(plan=plan, code=code, defaults={"title": "Nhiệm vụ"})[0]


@matrix_factory(Task, change_payload={"details": "changed"})
def make_task(organization, plan: Plan | None = None, **fields) -> Task:
    plan = plan or make_plan(organization)
    n = next(_n)
    fields.setdefault("due_date", datetime.date(2024, 12, 31))
    fields.setdefault("deadline_kind", "date")
    return Task.objects.create(
        organization=organization,
        plan=plan,
        section=make_section(plan),
        number=str(n),
        order=n,
        content=f"Nhiệm vụ {n}",
        **fields,
    )


@matrix_factory(Assignment, change_payload={"comment": "changed"})
def make_assignment(organization, task: Task | None = None, **fields) -> Assignment:
    task = task or make_task(organization)
    return Assignment.objects.create(organization=organization, task=task, **fields)


@matrix_factory(ProgressReport, change_payload={"comment": "changed"})
def make_report(organization) -> ProgressReport:
    a = make_assignment(organization)
    return ProgressReport.objects.create(
        organization=organization, assignment=a, period="2024", period_end=datetime.date(2024, 12, 5)
    )


@matrix_factory(Evidence)
def make_evidence(organization) -> Evidence:
    report = make_report(organization)
    e = Evidence(organization=organization, report=report, filename="a.txt", sha256="0" * 64, size=1)
    e.file.save("x.txt", ContentFile(b"x"), save=False)
    e.save()
    return e


@matrix_factory(Indicator, change_payload={"target": "90%"})
def make_indicator(organization, plan: Plan | None = None) -> Indicator:
    plan = plan or make_plan(organization)
    return Indicator.objects.create(
        organization=organization,
        plan=plan,
        number=next(_n),
        name="Chỉ tiêu",
        baseline="53%",
        planned="70%",
        target="80%",
    )


@matrix_factory(IndicatorValue, change_payload={"note": "changed"})
def make_indicator_value(organization) -> IndicatorValue:
    return IndicatorValue.objects.create(
        organization=organization, indicator=make_indicator(organization), period="2024", value="65%", numeric=65
    )


@matrix_factory(LegalDocument, change_payload={"issuer": "changed"})
def make_document(organization) -> LegalDocument:
    n = next(_n)
    return LegalDocument.objects.create(
        organization=organization, kind="Công văn", number=f"{n}/CATTT", title=f"Văn bản {n}", key=f"doc-{n}"
    )
