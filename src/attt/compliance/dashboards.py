"""Where the nation, a ministry or a province stands on level-based security, and what lies below it.

The figures answer the questions of the 2024 ministry letter: how many systems have an approved level
(target 100 %), how many fully implement their protection plan (target 100 %), which dossiers and checks
are overdue, how far the 4-layer model is in place, and how this moved month by month.

Everything is computed by the database in a fixed number of queries whatever the number of systems:
each system is annotated with its approved level, whether its checklist is fully met and a bit mask of its
four layers, then the rows are grouped by *branch*, the child organisation the system falls under. An
organisation path is "/<32 hex>/<32 hex>/…/", one segment (33 characters) per level, so the branch of a
record below a node is the prefix of its path one segment longer than the node's path.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Substr
from django.http import Http404
from django.utils import timezone

from attt.compliance import services
from attt.compliance.models import (
    ChecklistItem,
    ChecklistStatus,
    DossierState,
    LevelDossier,
    PeriodicCheck,
    ProtectionLayers,
    StatusReport,
)
from attt.core import dashboard, scoping
from attt.core.models import Organization
from attt.registry import services as registry

SEGMENT = 33  # one step of an organisation path: 32 hex digits and "/"
LEVELS = (1, 2, 3, 4, 5)
LAYERS = ("onsite", "soc", "assessment", "national")
# Who may open the dashboards: the figures are about level dossiers and their follow-up.
VIEW_PERMISSION = "compliance.leveldossier.view"
TREND_MONTHS = 12
OPEN_STATUSES = (ChecklistStatus.UNKNOWN, ChecklistStatus.PARTLY, ChecklistStatus.NOT_MET)


def layer_conditions() -> dict[str, Q]:
    """Each layer of the 4-layer model on ProtectionLayers, one by one; all four together are exactly
    `services.coverage_filter()`, which the dashboards must agree with."""
    return {
        "onsite": Q(onsite_staff__gt=0),
        "soc": Q(soc_provider__isnull=False),
        "assessment": Q(last_assessment__isnull=False),
        "national": Q(national_monitoring_connected=True),
    }


ALL_LAYERS = (1 << len(LAYERS)) - 1


# --- Per-system status --------------------------------------------------------------------------------


def approved_column(column: str) -> Subquery:
    """A column of the system's dossier in force, chosen as `services.approved_level` chooses it."""
    dossiers = LevelDossier.objects.filter(system=OuterRef("pk"), state=DossierState.APPROVED).order_by(
        "-decision_date", "-updated_at"
    )
    return Subquery(dossiers.values(column)[:1])


def _items(**lookups) -> QuerySet:
    """Checklist items of the system under the regime of its approved dossier (its plan in force)."""
    return ChecklistItem.objects.filter(system=OuterRef("pk"), regime=OuterRef("approved_regime"), **lookups)


def _count(queryset: QuerySet) -> Subquery:
    counted = queryset.order_by().values("system").annotate(n=Count("pk")).values("n")
    return Subquery(counted, output_field=IntegerField())


def annotate_status(systems: QuerySet, *, counts: bool = False) -> QuerySet:
    """Add to each system: `approved_level`, `approved_regime`, `fully` (every applicable requirement of
    its approved level met), `layers` (bit mask in LAYERS order, None without a 4-layer record), and with
    `counts` also `items_applicable` / `items_met` / `items_partly` / `items_not_met` for reports.

    A system without an approved level is never "fully implementing": there is no plan to implement.
    """
    mask = sum(
        (
            Case(When(condition, then=Value(1 << bit)), default=Value(0))
            for bit, condition in enumerate(layer_conditions().values())
        ),
        Value(0),
    )
    layers = ProtectionLayers.objects.filter(system=OuterRef("pk")).annotate(mask=mask).values("mask")[:1]
    queryset = systems.annotate(
        approved_level=approved_column("approved_level"),
        approved_regime=approved_column("regime"),
        has_met=Exists(_items(status=ChecklistStatus.MET)),
        has_open=Exists(_items(status__in=OPEN_STATUSES)),
        layers=Subquery(layers, output_field=IntegerField()),
    ).annotate(
        fully=Case(
            When(Q(approved_level__isnull=False, has_met=True, has_open=False), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )
    if counts:
        applicable = _items().exclude(status=ChecklistStatus.NOT_APPLICABLE)
        queryset = queryset.annotate(
            items_applicable=_count(applicable),
            items_met=_count(_items(status=ChecklistStatus.MET)),
            items_partly=_count(_items(status=ChecklistStatus.PARTLY)),
            items_not_met=_count(_items(status=ChecklistStatus.NOT_MET)),
        )
    return queryset


# --- Figures ------------------------------------------------------------------------------------------


def pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


@dataclass
class Tally:
    """The counts of one node or branch; `as_dict()` adds the percentages shown and exported."""

    systems: int = 0
    by_level: dict[str, int] = field(default_factory=lambda: {str(n): 0 for n in LEVELS} | {"none": 0})
    fully: int = 0
    layers: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*LAYERS, "all"), 0))
    dossiers_overdue: int = 0
    checks_overdue: int = 0

    @property
    def approved(self) -> int:
        return self.systems - self.by_level["none"]

    def add_systems(self, level: int | None, fully: bool, mask: int | None, n: int) -> None:
        self.systems += n
        self.by_level[str(level) if level in LEVELS else "none"] += n
        self.fully += n if fully else 0
        for bit, name in enumerate(LAYERS):
            if mask is not None and mask & (1 << bit):
                self.layers[name] += n
        if mask == ALL_LAYERS:
            self.layers["all"] += n

    def merge(self, other: Tally) -> None:
        self.systems += other.systems
        self.fully += other.fully
        self.dossiers_overdue += other.dossiers_overdue
        self.checks_overdue += other.checks_overdue
        for key, n in other.by_level.items():
            self.by_level[key] += n
        for key, n in other.layers.items():
            self.layers[key] += n

    def as_dict(self) -> dict:
        return {
            "systems": self.systems,
            "by_level": dict(self.by_level),
            "approved": self.approved,
            "approved_pct": pct(self.approved, self.systems),
            "fully": self.fully,
            "fully_pct": pct(self.fully, self.systems),
            "dossiers_overdue": self.dossiers_overdue,
            "checks_overdue": self.checks_overdue,
            "layers": dict(self.layers),
            "layers_pct": {name: pct(n, self.systems) for name, n in self.layers.items()},
        }


@dataclass
class Node:
    """What a dashboard is about: one organisation, or (organization None) everything the user sees
    when the user's roles sit on several unrelated subtrees (`roots`)."""

    organization: Organization | None
    roots: list[Organization]

    @property
    def paths(self) -> list[str]:
        return [self.organization.path] if self.organization else [r.path for r in self.roots]

    def within(self, lookup: str) -> Q:
        condition = Q(pk__in=[])
        for path in self.paths:
            condition |= Q(**{f"{lookup}__startswith": path})
        return condition

    def branch(self, lookup: str):
        """The expression giving, for a record, the path of the row of the drill-down it belongs to."""
        if self.organization is not None:
            return Substr(lookup, 1, len(self.organization.path) + SEGMENT)
        whens = [When(**{f"{lookup}__startswith": r.path}, then=Value(r.path)) for r in self.roots]
        return Case(*whens, default=Value(""))


def _scope_roots(user) -> list[Organization] | None:
    """The organisations at the top of the user's view (None: the whole tree)."""
    paths = scoping.get_scope(user).paths(VIEW_PERMISSION)
    if paths is None:
        return None
    return list(Organization.objects.filter(path__in=paths).order_by("path"))


def resolve_node(user, organization: Organization | str | None = None) -> Node:
    """The node a dashboard shows: the given organisation (404 outside the user's scope), else the
    user's widest visible root. The organisation may be given by id, as in `?organization=<uuid>`."""
    scope = scoping.get_scope(user)
    if not scope.has_anywhere(VIEW_PERMISSION):
        raise Http404
    if organization is not None and not isinstance(organization, Organization):
        organization = Organization.objects.filter(pk=parse_uuid(organization)).first()
        if organization is None:
            raise Http404
    if organization is not None:
        if not scope.allows(VIEW_PERMISSION, organization):
            raise Http404
        return Node(organization, [organization])
    roots = _scope_roots(user)
    if roots is None:
        roots = list(Organization.objects.filter(parent__isnull=True, is_active=True).order_by("path"))
    if len(roots) == 1:
        return Node(roots[0], roots)
    return Node(None, roots)


def parse_uuid(value: str) -> uuid.UUID | None:
    """The UUID in a query parameter, or None when it is malformed (then nothing matches: 404)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _tallies(user, node: Node, today: datetime.date) -> dict[str, Tally]:
    """One Tally per branch path (three grouped queries: systems, overdue dossiers, overdue checks)."""
    tallies: dict[str, Tally] = {}
    systems = registry.visible_systems(user).filter(node.within("organization__path"))
    rows = (
        annotate_status(systems.annotate(branch=node.branch("organization__path")))
        .values("branch", "approved_level", "fully", "layers")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        tallies.setdefault(row["branch"], Tally()).add_systems(
            row["approved_level"], row["fully"], row["layers"], row["n"]
        )
    for attribute, queryset in (
        ("dossiers_overdue", services.overdue_dossiers(LevelDossier.objects.all(), today)),
        ("checks_overdue", services.overdue_checks(PeriodicCheck.objects.all(), today)),
    ):
        grouped = (
            scoping.visible(user, queryset.filter(node.within("organization__path")))
            .annotate(branch=node.branch("organization__path"))
            .values("branch")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for row in grouped:
            setattr(tallies.setdefault(row["branch"], Tally()), attribute, row["n"])
    return tallies


@dataclass
class Row:
    """One line of the drill-down: a child organisation (or the node's own records) and its figures."""

    organization: Organization
    figures: dict
    own: bool = False  # the records held by the node itself rather than by a unit below it
    has_children: bool = False


@dataclass
class Overview:
    node: Node
    figures: dict
    rows: list[Row]
    trend: list[dict]
    generated: datetime.date


def overview(
    user, organization: Organization | str | None = None, *, today: datetime.date | None = None, with_trend: bool = True
) -> Overview:
    """The node's figures, its drill-down and its trend, in a constant number of queries."""
    today = today or timezone.localdate()
    node = resolve_node(user, organization)
    tallies = _tallies(user, node, today)
    total = Tally()
    for tally in tallies.values():
        total.merge(tally)
    rows = _rows(node, tallies)
    trend = monthly_trend(user, node, today=today) if with_trend else []
    return Overview(node, total.as_dict(), rows, trend, today)


def _rows(node: Node, tallies: dict[str, Tally]) -> list[Row]:
    if node.organization is not None:
        children = list(node.organization.children.filter(is_active=True).order_by("name"))
    else:
        children = list(node.roots)
    parents_with_children = set(
        Organization.objects.filter(parent__in=children, is_active=True).values_list("parent_id", flat=True)
    )
    rows = [
        Row(child, tallies.get(child.path, Tally()).as_dict(), has_children=child.pk in parents_with_children)
        for child in children
    ]
    rows.sort(key=lambda r: (-r.figures["systems"], r.organization.name))
    if node.organization is not None and node.organization.path in tallies:
        rows.insert(0, Row(node.organization, tallies[node.organization.path].as_dict(), own=True))
    return rows


def node_figures(user, organization: Organization | str | None = None) -> dict:
    """The figures of one node (default: the user's widest visible root), as a plain dict."""
    result = overview(user, organization)
    node = result.node
    return {
        "organization": org_dict(node.organization) if node.organization else None,
        **result.figures,
        "trend": result.trend,
    }


def drilldown(user, organization: Organization | str | None = None) -> list[dict]:
    """The figures of each visible child of the node (and of the node's own records, if any)."""
    return [
        {"organization": org_dict(row.organization), "own": row.own, "has_children": row.has_children, **row.figures}
        for row in overview(user, organization, with_trend=False).rows
    ]


def org_dict(org: Organization) -> dict:
    return {"id": str(org.pk), "code": org.code, "name": org.name, "kind": org.kind}


# --- Trend ----------------------------------------------------------------------------------------------


def monthly_trend(user, node: Node, *, today: datetime.date | None = None, months: int = TREND_MONTHS) -> list[dict]:
    """Month by month, the totals stored in the submitted monthly reports under the node.

    For each month only the top-most reports count (a province's report already includes its
    departments'), so nothing is counted twice; months without any report are left out.
    """
    today = today or timezone.localdate()
    since = _month_start(today, -months)
    reports = (
        scoping.visible(user, StatusReport.objects.all())
        .filter(
            node.within("organization__path"),
            kind=StatusReport.Kind.MONTHLY,
            state=StatusReport.State.SUBMITTED,
            period_end__gte=since,
        )
        .values_list(
            "organization__path",
            "period_end",
            KT("data__totals__systems"),
            KT("data__totals__approved"),
            KT("data__totals__fully"),
            KT("data__totals__layers__all"),
        )
    )
    by_month: dict[datetime.date, list[tuple]] = {}
    for path, period_end, *values in reports:
        by_month.setdefault(period_end, []).append((path, [int(v or 0) for v in values]))
    series = []
    for period_end in sorted(by_month):
        entries = by_month[period_end]
        paths = [p for p, _ in entries]
        top = [vals for p, vals in entries if not any(q != p and p.startswith(q) for q in paths)]
        systems, approved, fully, covered = (sum(col) for col in zip(*top, strict=True))
        series.append(
            {
                "period": period_end.strftime("%Y-%m"),
                "period_end": period_end.isoformat(),
                "reports": len(top),
                "systems": systems,
                "approved": approved,
                "approved_pct": pct(approved, systems),
                "fully": fully,
                "fully_pct": pct(fully, systems),
                "layers_all": covered,
                "layers_all_pct": pct(covered, systems),
            }
        )
    return series


def _month_start(day: datetime.date, offset: int) -> datetime.date:
    month0 = day.month - 1 + offset
    return datetime.date(day.year + month0 // 12, month0 % 12 + 1, 1)


# --- Home widget ---------------------------------------------------------------------------------------


@dashboard.register
def compliance_widget(request) -> tuple[str, dict] | None:
    """The home card: approval and implementation rates of the user's widest node."""
    if not scoping.get_scope(request.user).has_anywhere(VIEW_PERMISSION):
        return None
    result = overview(request.user, with_trend=False)
    return "compliance/oversight/widget.html", {"node": result.node, "figures": result.figures}
