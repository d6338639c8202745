"""Changes to the organisation tree: create, rename, move, merge. Each is audited as a workflow step."""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from attt.core import audit, scoping
from attt.core.models import AuditEvent, Organization, OrganizationEvent, RoleAssignment, User


def _event(
    org: Organization, kind: str, when: datetime.date | None, legal_basis: str, details: dict, by: User | None
) -> OrganizationEvent:
    return OrganizationEvent.objects.create(
        organization=org,
        kind=kind,
        effective_date=when or datetime.date.today(),
        legal_basis=legal_basis,
        details=details,
        created_by=by,
    )


@transaction.atomic
def create_organization(
    *,
    parent: Organization | None,
    by: User | None = None,
    effective_date: datetime.date | None = None,
    legal_basis: str = "",
    **fields,
) -> Organization:
    if parent is not None and not parent.is_active and fields.get("is_active", True):
        raise ValidationError(_("An active organisation cannot be placed under a merged or dissolved one."))
    org = Organization(parent=parent, **fields)
    org.full_clean()
    org.save()
    _event(org, OrganizationEvent.Kind.CREATED, effective_date, legal_basis, {"name": org.name}, by)
    return org


@transaction.atomic
def save_changes(org: Organization, *, by: User | None = None) -> Organization:
    """Save edited attributes; a new name is also kept in the organisation's history."""
    old_name = Organization.objects.filter(pk=org.pk).values_list("name", flat=True).get()
    org.full_clean()
    org.save()
    if old_name != org.name:
        _event(org, OrganizationEvent.Kind.RENAMED, None, "", {"from": old_name, "to": org.name}, by)
    return org


@transaction.atomic
def rename(
    org: Organization,
    name: str,
    *,
    effective_date: datetime.date | None = None,
    legal_basis: str = "",
    by: User | None = None,
) -> Organization:
    old = org.name
    org.name = name
    org.full_clean()
    org.save()
    _event(org, OrganizationEvent.Kind.RENAMED, effective_date, legal_basis, {"from": old, "to": name}, by)
    return org


@transaction.atomic
def move(
    org: Organization,
    new_parent: Organization,
    *,
    effective_date: datetime.date | None = None,
    legal_basis: str = "",
    by: User | None = None,
) -> Organization:
    """Put `org` and its whole subtree under `new_parent`; one UPDATE rewrites the subtree's paths."""
    audit.lock_chain()  # before the subtree's rows, as the move's audit entry comes after
    org.refresh_from_db()
    new_parent.refresh_from_db()
    if new_parent.path.startswith(org.path):
        raise ValidationError(_("An organisation cannot be moved under itself or one of its units."))
    if not new_parent.is_active and org.is_active:
        raise ValidationError(_("An active organisation cannot be placed under a merged or dissolved one."))
    old_parent = org.parent
    old_prefix = org.path
    new_prefix = new_parent.path + Organization.segment(org.pk)
    delta = new_parent.depth + 1 - org.depth
    Organization.objects.filter(path__startswith=old_prefix).update(
        path=Concat(Value(new_prefix), Substr("path", len(old_prefix) + 1)),
        depth=F("depth") + delta,
    )
    Organization.objects.filter(pk=org.pk).update(parent=new_parent)
    org.refresh_from_db()
    details = {
        "from": str(old_parent.pk) if old_parent else None,
        "to": str(new_parent.pk),
        "from_name": str(old_parent) if old_parent else None,
        "to_name": str(new_parent),
    }
    audit.record(
        AuditEvent.Action.WORKFLOW,
        obj=org,
        changes={"step": "move", "before": {"parent_id": details["from"]}, "after": {"parent_id": details["to"]}},
    )
    _event(org, OrganizationEvent.Kind.MOVED, effective_date, legal_basis, details, by)
    return org


@transaction.atomic
def merge(
    source: Organization,
    target: Organization,
    *,
    effective_date: datetime.date | None = None,
    legal_basis: str = "",
    by: User | None = None,
) -> dict[str, int]:
    """Merge `source` into `target` (as when provinces or ministries merged in 2025).

    The source's units move under the target, its records and staff are reassigned to the target,
    its role assignments end (the target's administrators grant new ones), and the source stays as
    an inactive node under the target so history still resolves. A once-per-organisation record the
    target holds too stays with the source where a module says so (`stays_on_merge`). Returns counts
    per record type (`<label>_kept`: records that stayed).
    """
    audit.lock_chain()  # before the rows it reassigns, as the audit entries come after
    source.refresh_from_db()
    target.refresh_from_db()
    if source.pk == target.pk or target.path.startswith(source.path):
        raise ValidationError(_("An organisation cannot be merged into itself or one of its units."))
    if not source.is_active:
        raise ValidationError(_("This organisation was already merged or dissolved."))
    if not target.is_active:
        raise ValidationError(_("An organisation cannot be merged into a merged or dissolved one."))
    children = list(source.children.all())
    for child in children:
        move(child, target, effective_date=effective_date, legal_basis=legal_basis, by=by)
    counts: dict[str, int] = {"units_moved": len(children)}
    for resource in scoping.resources.values():
        if resource.before_merge is not None:
            resource.before_merge(source, target)
    for resource in scoping.resources.values():
        if resource.reassign_on_merge and resource.model is not Organization:
            records = resource.model.objects.filter(organization=source)
            if resource.stays_on_merge is not None:
                staying = records.filter(resource.stays_on_merge(source, target))
                if kept := staying.count():
                    counts[f"{resource.model._meta.label_lower}_kept"] = kept
                    records = records.exclude(pk__in=staying.values("pk"))
            try:
                with transaction.atomic():
                    counts[resource.model._meta.label_lower] = records.update(organization=target)
            except IntegrityError:  # one per organisation, and neither `before_merge` nor `stays_on_merge` settled it
                raise ValidationError(
                    _(
                        "The merger was not made: %(source)s and %(target)s each hold %(records)s that an "
                        "organisation may hold only once. Settle them first."
                    )
                    % {"source": source, "target": target, "records": resource.model._meta.verbose_name_plural}
                ) from None
    counts["staff_moved"] = User.objects.filter(organization=source).update(organization=target)
    ended = RoleAssignment.objects.filter(organization=source)
    counts["role_assignments_ended"] = ended.count()
    for assignment in ended:
        assignment.delete()
    move(source, target, effective_date=effective_date, legal_basis=legal_basis, by=by)
    Organization.objects.filter(pk=source.pk).update(is_active=False, merged_into=target)
    source.refresh_from_db()
    audit.record(
        AuditEvent.Action.WORKFLOW,
        obj=source,
        changes={
            "step": "merge",
            "before": {"is_active": True, "merged_into_id": None},
            "after": {"is_active": False, "merged_into_id": str(target.pk)},
            "counts": counts,
        },
    )
    details = {"into": str(target.pk), "into_name": target.name, "counts": counts}
    _event(source, OrganizationEvent.Kind.MERGED, effective_date, legal_basis, details, by)
    _event(
        target,
        OrganizationEvent.Kind.ABSORBED,
        effective_date,
        legal_basis,
        {"from": str(source.pk), "from_name": source.name, "counts": counts},
        by,
    )
    return counts


def resolve(org: Organization) -> Organization:
    """The organisation that now carries `org`'s records (following mergers)."""
    seen = set()
    while org.merged_into_id and org.pk not in seen:
        seen.add(org.pk)
        org = org.merged_into
    return org
