"""Write a parsed plan into the database: idempotent (keyed by plan code, section code and task
number), units matched to organisations of the tree, names that match nothing or several kept on
the task for review."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.db import transaction

from attt.core import audit
from attt.core.models import Organization
from attt.plans.models import Indicator, LegalDocument, Objective, Plan, Section, Task
from attt.plans.parsing import fold, parse_deadline, split_units
from attt.plans.seeds import ParsedPlan, parse_file


class UnitMatcher:
    """Organisation lookup by name, short name or code, case- and accent-insensitive."""

    def __init__(self) -> None:
        self.index: dict[str, set] = {}
        for org in Organization.objects.filter(is_active=True).only("id", "name", "short_name", "code"):
            for value in (org.name, org.short_name, org.code):
                if value:
                    self.index.setdefault(fold(value), set()).add(org.pk)

    def candidates(self, name: str) -> set:
        return self.index.get(fold(name).rstrip(". "), set())

    def match(self, name: str):
        """The organisation id when exactly one matches, else None."""
        found = self.candidates(name)
        return next(iter(found)) if len(found) == 1 else None


def owner_for(parsed: ParsedPlan, owner: Organization | None) -> Organization:
    if owner is not None:
        return owner
    matcher = UnitMatcher()
    pk = matcher.match(parsed.owner_name) if parsed.owner_name else None
    if pk:
        from attt.core.services.organizations import resolve

        return resolve(Organization.objects.get(pk=pk))
    root = Organization.objects.filter(parent__isnull=True, is_active=True).order_by("created_at").first()
    if root is None:
        raise ValueError("No organisation exists yet: load the organisation tree first (attt demo).")
    return root


def import_plan(path: Path, *, owner: Organization | None = None, parent: Plan | None = None) -> dict:
    """Create or update the plan in `path`; returns the summary (counts per section, unparsed lines).
    All or nothing: the file is read and checked whole first (ValueError when it is refused), then
    written in one transaction."""
    path = Path(path)
    parsed = parse_file(path)  # before the transaction: reading a large workbook holds no lock
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with transaction.atomic():
        audit.lock_chain()  # update_or_create locks rows before their audited saves
        return _write(parsed, path.name, digest, owner, parent)


def _write(parsed: ParsedPlan, source_file: str, digest: str, owner: Organization | None, parent: Plan | None) -> dict:
    owner = owner_for(parsed, owner)
    matcher = UnitMatcher()
    plan, created = Plan.objects.update_or_create(
        code=parsed.code,
        defaults={
            "organization": owner,
            "title": parsed.title[:500],
            "kind": parsed.kind,
            "year_start": parsed.year_start,
            "year_end": parsed.year_end,
            "description": parsed.description,
            "source_file": source_file,
            "source_sha256": digest,
        },
    )
    if parent is not None:
        from attt.plans.services import set_parent

        set_parent(plan, parent)  # idempotent; refuses a cycle
    for _order, ind in enumerate(parsed.indicators):
        Indicator.objects.update_or_create(
            plan=plan,
            number=ind.number,
            defaults={
                "organization": owner,
                "name": ind.name,
                "baseline": ind.baseline[:100],
                "planned": ind.planned[:100],
                "target": ind.target[:100],
            },
        )
    Objective.objects.filter(plan=plan).delete()
    Objective.objects.bulk_create(
        [Objective(plan=plan, category=c, text=t, order=i) for i, (c, t) in enumerate(parsed.objectives)]
    )
    review = 0
    for s_order, ps in enumerate(parsed.sections):
        section, _ = Section.objects.update_or_create(
            plan=plan, code=ps.code, defaults={"title": ps.title[:500], "order": s_order}
        )
        for t_order, pt in enumerate(ps.tasks):
            deadline = parse_deadline(pt.deadline, default_year=parsed.year_start)
            lead_names = split_units(pt.lead)
            lead_pk = matcher.match(lead_names[0]) if len(lead_names) == 1 else None
            unmatched = [
                {"name": n, "candidates": len(matcher.candidates(n))}
                for n in lead_names + split_units(pt.coordination)
                if matcher.match(n) is None
            ]
            existing = Task.objects.filter(section=section, number=pt.number).first()
            if existing and existing.unit_matched and not lead_pk:
                lead_pk = existing.organization_id  # a reviewer's choice survives re-import
                unmatched = [u for u in unmatched if u["name"] not in lead_names]
            review += bool(unmatched)
            Task.objects.update_or_create(
                section=section,
                number=pt.number,
                defaults={
                    "plan": plan,
                    "organization_id": lead_pk or owner.pk,
                    "order": t_order,
                    "content": pt.content,
                    "details": pt.details,
                    "lead_text": pt.lead,
                    "coordination_text": pt.coordination,
                    "expected_result": pt.result,
                    "indicator_refs": pt.indicators,
                    "deadline_text": deadline.raw[:255],
                    "deadline_kind": deadline.kind,
                    "start_date": deadline.start,
                    "due_date": deadline.due,
                    "recurrence_day": deadline.day,
                    "unit_matched": bool(lead_pk),
                    "unmatched_units": unmatched,
                },
            )
    for doc in parsed.documents:
        LegalDocument.objects.update_or_create(
            key=LegalDocument.key_for(doc.kind, doc.number, doc.date, doc.title),
            defaults={
                "organization": owner,
                "plan": plan,
                "category": doc.category[:200],
                "kind": doc.kind,
                "number": doc.number,
                "date": doc.date,
                "issuer": doc.issuer[:200],
                "title": doc.title,
            },
        )
    summary = parsed.summary() | {
        "created": created,
        "tasks_to_review": review,
        "owner": owner.name,
        "parent": plan.parent.code if plan.parent_id else None,
    }
    audit.record(
        "workflow",
        obj=plan,
        changes={"step": "plans.import"}
        | {k: summary[k] for k in ("sections", "total_tasks", "indicators", "documents", "created", "parent")},
    )
    return summary
