"""The registry as other modules see it: the only module they import from `attt.registry`.

compliance reads a system's level facts and lists systems; vulns matches components; monitoring maps
an address or a domain to its system and owner; dashboards count. Everything that takes a `user`
goes through the scoping layer, so a caller never sees more than that user may.
"""

import ipaddress
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Substr
from django.utils import timezone

from attt.core import audit, scoping
from attt.core.models import AuditEvent, Organization, User
from attt.core.scoping import Scope
from attt.registry import transfer
from attt.registry.models import (
    LEVEL_FACT_FIELDS,
    Component,
    Domain,
    InformationSystem,
    IPRange,
    PrioritySector,
    Server,
    network_bounds,
)
from attt.registry.transfer import ImportFileError, ImportReport, RowError
from attt.registry.validators import to_ascii_hostname

__all__ = [
    "ImportFileError",
    "ImportReport",
    "PrioritySector",
    "RowError",
    "SystemMatches",
    "components_of",
    "count_by_branch",
    "count_in_subtrees",
    "export_systems",
    "find_systems",
    "get_visible_system",
    "import_systems",
    "level_facts",
    "move_with_system",
    "prepare_merge",
    "register_owner_change",
    "summary",
    "system_actor",
    "system_labels",
    "system_pks",
    "system_sectors",
    "systems_astray",
    "systems_for_address",
    "systems_for_domain",
    "systems_of_organization",
    "visible_systems",
]


def level_facts(system: InformationSystem) -> dict[str, Any]:
    """The facts document of docs/level-facts.md for `system`, its component systems as `components`.

    This is what the regulation module's level criteria are evaluated on and what compliance stores
    with each assessment, so it holds exactly the documented keys (plus `components`).
    """

    parts: dict[uuid.UUID, list[InformationSystem]] = defaultdict(list)
    seen, level = {system.pk}, [system.pk]
    while level:  # one query per level of composition, not per component system
        found = [
            p for p in InformationSystem.objects.filter(parent_system__in=level).order_by("code") if p.pk not in seen
        ]
        for part in found:
            parts[part.parent_system_id].append(part)
        seen.update(p.pk for p in found)
        level = [p.pk for p in found]

    def facts(node: InformationSystem) -> dict[str, Any]:
        document = {name: getattr(node, name) for name in LEVEL_FACT_FIELDS}
        document["information_classes"] = list(node.information_classes or ["public"])
        document["components"] = [facts(part) for part in parts[node.pk]]
        return document

    return facts(system)


def visible_systems(user, action: str = "view") -> QuerySet[InformationSystem]:
    """The systems `user` may act on with `action` (view, change, export…), owner and operator loaded."""
    queryset = InformationSystem.objects.select_related("organization", "operator")
    return scoping.visible(user, queryset, action)


def get_visible_system(user, pk: uuid.UUID | str) -> InformationSystem | None:
    """The system `pk` if `user` may view it; None when it does not exist, is out of scope, or pk is malformed
    (the three are indistinguishable on purpose)."""
    try:
        key = uuid.UUID(str(pk))
    except ValueError:
        return None
    return visible_systems(user).filter(pk=key).first()


def systems_of_organization(organization: Organization, include_subtree: bool = True) -> QuerySet[InformationSystem]:
    """Systems owned by `organization` (and its units). Not scoped: pass an organisation the caller may see."""
    queryset = InformationSystem.objects.select_related("organization", "operator")
    if include_subtree:
        return queryset.filter(organization__path__startswith=organization.path)
    return queryset.filter(organization=organization)


def components_of(system: InformationSystem) -> QuerySet[Component]:
    """The system's components (for vulnerability matching on `cpe23` / `purl`)."""
    return Component.objects.filter(system=system)


def import_systems(file, fmt: str, user, dry_run: bool = False) -> ImportReport:
    """Create or update systems from a CSV or XLSX file (`fmt` "csv" or "xlsx"), one row per system.

    `file` is bytes or a binary file object (an upload). Rows are matched by (owner code, system code);
    owners and operators must be organisations in `user`'s scope, and `user` needs
    registry.informationsystem.add (new rows) or .change (rows that change a system) on the owner. All or nothing:
    the report lists every bad row, and nothing is written unless the whole file is valid (nor on a
    dry run). Raises ImportFileError when the whole file is refused (over 10 MB or 50,000 rows, not
    UTF-8, not a workbook, unknown format), and django's PermissionDenied when `user` holds
    registry.informationsystem.import nowhere.
    """
    return transfer.import_systems(file, fmt, user, dry_run=dry_run)


def export_systems(queryset: QuerySet[InformationSystem], fmt: str) -> bytes:
    """The systems of `queryset` as a CSV (UTF-8 with BOM) or XLSX file in the import format, so the
    file can be edited and imported back. Spreadsheet formulas are neutralised; the export is audited.
    The caller scopes the queryset (e.g. `visible_systems(user, "export")`)."""
    return transfer.export_systems(queryset, fmt)


def system_actor() -> User:
    """An unsaved actor with national scope, for server-side runs without a named user (CLI, jobs)."""
    actor = User(username="system", is_superuser=True, is_active=True)
    actor._attt_scope = Scope(is_superuser=True)
    return actor


# --- Lookups for enrichment ---------------------------------------------------------------------------


def systems_for_address(address: str) -> QuerySet[InformationSystem]:
    """Systems with a server at `address` or an IP range containing it (not scoped: for enrichment jobs).
    An unparsable address matches nothing."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return InformationSystem.objects.none()
    key = network_bounds(ipaddress.ip_network(ip))[0]
    in_range = IPRange.objects.filter(first_address__lte=key, last_address__gte=key).values("system_id")
    on_server = Server.objects.filter(ip_address=str(ip)).values("system_id")
    return InformationSystem.objects.filter(Q(pk__in=in_range) | Q(pk__in=on_server)).select_related("organization")


def systems_for_domain(name: str) -> QuerySet[InformationSystem]:
    """Systems registered for `name` or for a parent domain of it (www.a.gov.vn matches a.gov.vn)."""
    try:
        ascii_name = to_ascii_hostname(name.strip())
    except ValidationError:
        return InformationSystem.objects.none()
    labels = ascii_name.split(".")
    candidates = {".".join(labels[i:]) for i in range(len(labels) - 1)}
    matching = Domain.objects.filter(ascii_name__in=candidates).values("system_id")
    return InformationSystem.objects.filter(pk__in=matching).select_related("organization")


# --- Counting (dashboards) ----------------------------------------------------------------------------

SEGMENT = 33  # one step of an organisation path: 32 hex digits and '/'


def count_by_branch(user, parent: Organization) -> list[tuple[Organization, int]]:
    """Systems `user` sees under `parent`, counted per direct unit of `parent` (its whole subtree) and for
    `parent` itself, largest first. One aggregated query (grouping on the path prefix), one for names."""
    length = len(parent.path) + SEGMENT
    rows = (
        visible_systems(user)
        .filter(organization__path__startswith=parent.path)
        .annotate(branch=Substr("organization__path", 1, length))
        .values("branch")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {row["branch"]: row["n"] for row in rows}
    orgs = {o.path: o for o in Organization.objects.filter(path__in=list(counts))}
    return sorted(((orgs[p], n) for p, n in counts.items() if p in orgs), key=lambda item: (-item[1], item[0].name))


def count_in_subtrees(user, organizations: list[Organization]) -> dict[uuid.UUID, int]:
    """For each organisation, the systems `user` sees in its subtree, in one aggregated query."""
    if not organizations:
        return {}
    aggregates = {
        f"o{index}": Count("pk", filter=Q(organization__path__startswith=org.path))
        for index, org in enumerate(organizations)
    }
    result = visible_systems(user).aggregate(**aggregates)
    return {org.pk: result[f"o{index}"] for index, org in enumerate(organizations)}


def summary(user, within: Organization | None = None) -> dict[str, Any]:
    """Totals for a dashboard card, in one aggregated query: all, internet-facing, national important,
    important to national security, and per lifecycle status."""
    from attt.registry.models import LifecycleStatus

    queryset = visible_systems(user)
    if within is not None:
        queryset = queryset.filter(organization__path__startswith=within.path)
    aggregates = {
        "total": Count("pk"),
        "internet_facing": Count("pk", filter=Q(internet_facing=True)),
        "national_important": Count("pk", filter=Q(national_important=True)),
        "national_security_important": Count("pk", filter=Q(national_security_important=True)),
        **{f"status_{s}": Count("pk", filter=Q(lifecycle_status=s)) for s in LifecycleStatus.values},
    }
    result = queryset.aggregate(**aggregates)
    result["by_status"] = {s: result.pop(f"status_{s}") for s in LifecycleStatus.values}
    return result


def prepare_merge(source: Organization, target: Organization) -> None:
    """Before `source`'s systems move to `target` (a merger): codes stay unique within the new owner
    (a clashing code gets the source's code as prefix), and systems operated by the source are now
    operated by the target."""
    taken = set(InformationSystem.objects.filter(organization=target).values_list("code", flat=True))
    max_length = InformationSystem._meta.get_field("code").max_length
    for system in InformationSystem.objects.filter(organization=source, code__in=taken):
        system.code = f"{source.code}-{system.code}"[:max_length]
        system.save(update_fields=["code", "updated_at"])
    InformationSystem.objects.filter(operator=source).update(operator=target)


# --- Picking systems by a search ---------------------------------------------------------------------

SYSTEM_MATCHES = 20  # systems one search of a picker lists: a choice, never the country's register
SYSTEM_QUERY_WORDS = 6
SYSTEM_QUERY_LENGTH = 100


@dataclass(frozen=True)
class SystemMatches:
    """One search of a form's system picker: what was looked for, the first matches, and whether the
    search found more than it lists."""

    query: str
    systems: list
    more: bool


def system_pks(values) -> list[uuid.UUID]:
    """The well-formed ids among `values` (text from a form or a query string, or systems): a malformed one is
    left out, so a lookup never fails on it (the form field reports it)."""
    ids = []
    for value in values or ():
        try:
            ids.append(uuid.UUID(str(getattr(value, "pk", value))))
        except ValueError:
            continue
    return ids


def find_systems(user: User, text: str, *, exclude=()) -> SystemMatches:
    """The systems `user` may see (`registry.visible_systems`) whose name, code or owner's name holds every word
    of `text`, the first `SYSTEM_MATCHES` by name, leaving out `exclude` (the ones already chosen). No text, no
    match: a picker never lists every system a national user may see (the incident form's)."""
    query = " ".join((text or "").replace("\x00", "").split()[:SYSTEM_QUERY_WORDS])[:SYSTEM_QUERY_LENGTH].strip()
    if not query:
        return SystemMatches("", [], False)
    systems = visible_systems(user)
    for word in query.split():
        systems = systems.filter(
            Q(name__fold_contains=word) | Q(code__fold_contains=word) | Q(organization__name__fold_contains=word)
        )
    if chosen := system_pks(exclude):
        systems = systems.exclude(pk__in=chosen)
    found = list(systems.order_by("name", "pk")[: SYSTEM_MATCHES + 1])
    return SystemMatches(query, found[:SYSTEM_MATCHES], len(found) > SYSTEM_MATCHES)


# --- A system changing owner ---------------------------------------------------------------------------

OwnerChange = Callable[[InformationSystem, uuid.UUID, uuid.UUID], None]
_owner_change_callbacks: list[OwnerChange] = []


def register_owner_change(callback: OwnerChange) -> None:
    """Call `callback(system, former_organization_id, new_organization_id)` whenever a system's owner changes (its
    edit page, the API, any service's `save`), inside the transaction of that save, after the system and its
    records were written: a module whose records carry their system's owner moves them at once, or the change
    is undone with it. Called in an app's `ready()`. A merger of organisations moves every record itself (one
    UPDATE per model, no system saved), so it calls no callback."""
    if callback not in _owner_change_callbacks:
        _owner_change_callbacks.append(callback)


def move_with_system(
    records: QuerySet, system: InformationSystem, new_organization_id: uuid.UUID, *, label: str | None = None
) -> int:
    """For an owner-change callback: `records` (a module's rows of `system`, owned by its owner) go to the new owner
    with one UPDATE, each move in the audit log (step `follow_owner`, the organisation before and after). The audit
    chain's lock comes first, before the rows', so the lock order holds whoever calls. `label`: a field whose
    value names each record in the log (else the model's name). Returns how many moved."""
    audit.lock_chain()
    moving = records.exclude(organization_id=new_organization_id)
    rows = list(moving.values_list("pk", "organization_id", *([label] if label else [])))
    if not rows:
        return 0
    moving.update(organization_id=new_organization_id, updated_at=timezone.now())
    model = records.model
    audit.record_many(
        [
            {
                "action": AuditEvent.Action.WORKFLOW,
                "object_type": model._meta.label_lower,
                "object_id": str(pk),
                "object_repr": f"{named[0] if named else model._meta.verbose_name} — {system}"[:255],
                "organization": system.organization,
                "changes": {
                    "step": "follow_owner",
                    "before": {"organization_id": str(former)},
                    "after": {"organization_id": str(new_organization_id)},
                },
            }
            for pk, former, *named in rows
        ]
    )
    return len(rows)


def systems_astray(records: QuerySet) -> QuerySet[InformationSystem]:
    """For a module's nightly safety net of its owner-change callback: the systems some of whose `records` (rows
    with `system` and `organization`) are not owned by the system's owner now (an owner written without a save,
    such as an UPDATE of the row, or a change made before the module had its callback)."""
    owner = InformationSystem.objects.filter(pk=OuterRef("system_id")).values("organization_id")[:1]
    astray = records.exclude(organization_id=Subquery(owner)).values("system_id")
    return InformationSystem.objects.filter(pk__in=astray).select_related("organization")


def announce_owner_change(system: InformationSystem, former: uuid.UUID, new: uuid.UUID) -> None:
    """What `InformationSystem.save` calls when it has changed the owner (a failing callback undoes the change)."""
    for callback in _owner_change_callbacks:
        callback(system, former, new)


def system_sectors(system_ids) -> Iterator[tuple[uuid.UUID, str]]:
    """(id, priority sector or "") of the given systems; ``system_ids`` may be a list or a sub-query."""
    return (
        InformationSystem.objects.filter(pk__in=system_ids)
        .values_list("pk", "priority_sector")
        .iterator(chunk_size=2000)
    )


def system_labels(system_ids) -> dict[uuid.UUID, tuple[str, str]]:
    """id → (system name, owner's name) for display lists such as "most attacked systems"."""
    return {
        pk: (name, owner)
        for pk, name, owner in InformationSystem.objects.filter(pk__in=system_ids).values_list(
            "pk", "name", "organization__name"
        )
    }
