"""Business rules of plan tracking: assignment down the tree, roll-up, periodic occurrences of
recurring tasks, overdue detection, reminders and escalation, evidence upload."""

from __future__ import annotations

import calendar
import datetime
import re
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from attt.core import audit, uploads
from attt.core.locks import lock_current
from attt.core.models import Organization
from attt.core.services.notifications import notify_permission_holders
from attt.plans.models import Assignment, Evidence, Indicator, IndicatorValue, Plan, ProgressReport, Status, Task

MAX_EVIDENCE_BYTES = 20 * 2**20
REMIND_DAYS = (14, 7, 1)
YEARLY_REPORT_DAY = (12, 5)  # yearly implementation reports are due before 5 December
PERIOD = re.compile(r"[1-9][0-9]{3}(-Q[1-4]|-(0[1-9]|1[0-2]))?")


# --- assignment and roll-up ------------------------------------------------------------------------


def _is_below(child: Organization, parent: Organization) -> bool:
    return child.path.startswith(parent.path)


@transaction.atomic
def assign(task: Task, organizations: list[Organization], *, parent: Assignment | None = None) -> list[Assignment]:
    """Hand a task (or a parent assignment) down to units; under a parent only its subtree may be
    chosen, so a province cannot assign to another province. Existing assignments are kept."""
    out = []
    for org in organizations:
        if parent is not None and not _is_below(org, parent.organization):
            raise ValidationError(_("%(org)s is not under %(parent)s.") % {"org": org, "parent": parent.organization})
        assignment, _created = Assignment.objects.get_or_create(
            task=task, organization=org, defaults={"parent": parent, "due_date": task.due_date}
        )
        out.append(assignment)
    roll_up(task)  # a unit just given a finished task has not finished it
    audit.record(
        "workflow",
        obj=task,
        changes={
            "step": "plans.assign",
            "assigned_to": [str(a.organization) for a in out],
            "parent": str(parent.pk) if parent else None,
        },
    )
    return out


def rolled_status(statuses: list[str]) -> str:
    """Done when all are done; blocked or overdue when any is; in progress when any has started."""
    if not statuses:
        return Status.NOT_STARTED
    if all(s == Status.DONE for s in statuses):
        return Status.DONE
    for s in (Status.OVERDUE, Status.BLOCKED):
        if s in statuses:
            return s
    if any(s != Status.NOT_STARTED for s in statuses):
        return Status.IN_PROGRESS
    return Status.NOT_STARTED


def roll_up(task: Task) -> Task:
    """Recompute the task's progress and status from its top-level assignments: an assignment handed further down
    takes the mean progress and the rolled status of its children, the deepest first (a child's unit is below its
    parent's), so each level reads the one below as just rolled up. The task's assignments are read once. The task
    is locked first: two reports rolling up at once take turns, so the second reads the first's assignments."""
    lock_current(task)
    children: dict = defaultdict(list)
    assignments = list(task.assignments.select_related("organization"))
    for a in assignments:
        children[a.parent_id].append(a)
    for a in sorted((a for a in assignments if children[a.pk]), key=lambda a: -a.organization.depth):
        kids = children[a.pk]
        a.progress = round(sum(k.progress for k in kids) / len(kids))
        a.status = rolled_status([k.status for k in kids])
        a.save(update_fields=["progress", "status", "updated_at"])
    tops = children[None]
    task.progress = round(sum(a.progress for a in tops) / len(tops)) if tops else 0
    task.status = rolled_status([a.status for a in tops])
    task.save(update_fields=["progress", "status", "updated_at"])
    return task


# --- periods and occurrences -----------------------------------------------------------------------


def _month_end(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def occurrences(task: Task, year: int) -> list[tuple[str, datetime.date]]:
    """The reporting periods (label, due date) of a task in a year. Recurring tasks repeat: monthly
    before the given day, quarterly before the given day of the quarter's last month, yearly and
    continuous once a year before 5 December; a one-off task has one period ending at its due date."""
    day = task.recurrence_day
    if task.deadline_kind == "monthly":
        return [
            (f"{year}-{m:02d}", datetime.date(year, m, min(day or 31, calendar.monthrange(year, m)[1])))
            for m in range(1, 13)
        ]
    if task.deadline_kind == "quarterly":
        return [
            (f"{year}-Q{q}", datetime.date(year, 3 * q, min(day or 31, calendar.monthrange(year, 3 * q)[1])))
            for q in range(1, 5)
        ]
    if task.deadline_kind in {"yearly", "continuous", "lead_plan", "approved_plan", "unknown"}:
        return [(str(year), datetime.date(year, *YEARLY_REPORT_DAY))]
    if task.due_date and (task.start_date is None or task.start_date.year <= year) and task.due_date.year >= year:
        return [(str(year), min(task.due_date, datetime.date(year, 12, 31)))]
    return []


def check_period(label: str) -> str:
    """The one rule for a period a user writes (form, API, service): "2024", "2024-Q2" or "2024-06",
    so the label always has an end date and one period has one spelling."""
    label = label.strip()
    if not PERIOD.fullmatch(label):
        raise ValidationError(_("Write the period as 2024, 2024-Q2 or 2024-06."))
    return label


def period_end(label: str) -> datetime.date:
    """ "2024" → 5 Dec 2024 (the yearly report's due date); "2024-Q2" → 30 Jun; "2024-06" → 30 Jun."""
    if "-Q" in label:
        year, q = label.split("-Q")
        return _month_end(int(year), 3 * int(q))
    if "-" in label:
        year, month = label.split("-")
        return _month_end(int(year), int(month))
    return datetime.date(int(label), *YEARLY_REPORT_DAY)


RECURRING = ("monthly", "quarterly", "yearly", "continuous")


def create_occurrences(year: int, tasks=None) -> int:
    """Create the empty periodic reports of every assignment of recurring tasks for a year; existing ones are kept
    (read in one query, so the daily job that calls this finds nothing to do quickly)."""
    made = 0
    qs = Assignment.objects.select_related("task").filter(task__deadline_kind__in=RECURRING)
    if tasks is not None:
        qs = qs.filter(task__in=tasks)
    existing = set(
        ProgressReport.objects.filter(assignment__in=qs, period__startswith=str(year)).values_list(
            "assignment_id", "period"
        )
    )
    for a in qs:
        for label, due in occurrences(a.task, year):
            if (a.pk, label) in existing:
                continue
            _, created = ProgressReport.objects.get_or_create(
                assignment=a,
                period=label,
                defaults={"organization_id": a.organization_id, "period_end": due, "status": Status.NOT_STARTED},
            )
            made += created
    return made


# --- reporting -------------------------------------------------------------------------------------


@transaction.atomic
def report_progress(
    assignment: Assignment,
    *,
    period: str,
    status: str,
    progress: int,
    comment: str = "",
    difficulties: str = "",
    proposals: str = "",
    links: str = "",
    by=None,
    report: ProgressReport | None = None,
) -> ProgressReport:
    """Record (or update) the assignee's report for a period and roll the change up the cascade.
    Given `report`, that report is corrected (its period may change); otherwise the period's report
    is created or replaced."""
    period = check_period(period)
    audit.lock_chain()  # update_or_create locks the row before its audited save
    if not 0 <= progress <= 100:
        raise ValidationError(_("Progress must be between 0 and 100."))
    if status not in Status.values:
        raise ValidationError(_("Unknown status."))
    if status == Status.DONE:
        progress = 100
    fields = {
        "organization_id": assignment.organization_id,
        "period_end": period_end(period),
        "status": status,
        "progress": progress,
        "comment": comment,
        "difficulties": difficulties,
        "proposals": proposals,
        "links": links,
        "submitted_at": timezone.now(),
        "submitted_by": by,
    }
    if report is None:
        report, _created = ProgressReport.objects.update_or_create(
            assignment=assignment, period=period, defaults=fields
        )
    else:
        clash = ValidationError(_("This assignment already has a report for %(period)s.") % {"period": period})
        if assignment.reports.filter(period=period).exclude(pk=report.pk).exists():
            raise clash
        report.assignment, report.period = assignment, period
        for name, value in fields.items():
            setattr(report, name, value)
        try:
            with transaction.atomic():  # a savepoint: another correction to the period may have just been saved
                report.save(update_fields=["assignment", "period", *fields, "updated_at"])
        except IntegrityError:
            raise clash from None
    latest = assignment.reports.filter(submitted_at__isnull=False).order_by("-period_end", "-submitted_at").first()
    if latest == report:
        # the assignment shows its latest reported period (the year's empty occurrences do not count): correcting
        # an older report leaves it as it is
        assignment.status, assignment.progress = status, progress
        if comment:
            assignment.comment = comment
        assignment.save(update_fields=["status", "progress", "comment", "updated_at"])
        roll_up(assignment.task)
    return report


def attach_evidence(report: ProgressReport, upload: UploadedFile) -> Evidence:
    """Store an evidence file (see attt.core.uploads for the safety rules)."""
    checked = uploads.check_upload(upload, max_bytes=MAX_EVIDENCE_BYTES)
    evidence = Evidence(
        organization_id=report.organization_id,
        report=report,
        filename=checked.name,
        size=checked.size,
        content_type=checked.content_type,
        sha256=checked.sha256,
    )
    evidence.file.save(checked.storage_name(), upload, save=False)
    evidence.save()
    return evidence


def report_periods(kinds: set[str], year: int) -> list[str]:
    """The report periods offered for a year given the deadline kinds of a plan's tasks: the year,
    plus its quarters when a task is quarterly and its months when a task is monthly."""
    periods = [str(year)]
    if "quarterly" in kinds:
        periods += [f"{year}-Q{q}" for q in range(1, 5)]
    if "monthly" in kinds:
        periods += [f"{year}-{m:02d}" for m in range(1, 13)]
    return periods


def value_periods(period: str) -> list[str]:
    """The periods whose indicator value a report of `period` may show, the preferred first: the period itself,
    then what lies inside it, the latest ending first and a quarter before its own last month (the quarter's
    figure is the consolidated one). A month has only itself; a quarter falls back to its months (June, May,
    April for Q2); a year to its quarters and months (Q4, December, November, October, Q3, September, ...).
    Nothing outside the period is ever a candidate: a Q2 report never shows Q3's or the year's value."""
    year, _sep, part = period.partition("-")
    if part.startswith("Q"):
        last = 3 * int(part[1:])
        return [period, *(f"{year}-{m:02d}" for m in range(last, last - 3, -1))]
    if part:
        return [period]
    return [period, *(p for q in range(4, 0, -1) for p in value_periods(f"{year}-Q{q}"))]


def value_period(period: str, recorded) -> str | None:
    """The period whose value a report of `period` shows, among the periods that have a value (`recorded`), or
    None when none lies inside the report's period (the one rule of the DOCX and XLSX reports)."""
    recorded = set(recorded)
    return next((p for p in value_periods(period) if p in recorded), None)


# --- indicators ------------------------------------------------------------------------------------


def _numeric(value: str) -> float | None:
    from attt.plans.charts import _num

    return _num(value)


@transaction.atomic
def record_indicator_value(indicator: Indicator, *, period: str, value: str, note: str = "") -> IndicatorValue:
    """Record (or correct) the value of an indicator for a period, held by the indicator's owner;
    the numeric part ("65%" → 65) feeds the chart."""
    period = check_period(period)
    audit.lock_chain()  # update_or_create locks the row before its audited save
    value = value.strip()
    if not value:
        raise ValidationError(_("Enter a value."))
    obj, _created = IndicatorValue.objects.update_or_create(
        indicator=indicator,
        organization_id=indicator.organization_id,
        period=period,
        defaults={"value": value[:100], "numeric": _numeric(value), "note": note},
    )
    return obj


# --- plan cascade ----------------------------------------------------------------------------------


def check_parent(plan: Plan, parent: Plan | None) -> None:
    """Refuse a link that would make a cycle: the parent may be neither the plan nor one of its
    sub-plans. The parent's ancestors are read as stored now (not from objects a page loaded), each once,
    so a cycle already stored cannot hang the walk."""
    seen = set()
    node_id = parent.pk if parent is not None else None
    while node_id is not None and node_id not in seen:
        if node_id == plan.pk:
            raise ValidationError(_("A plan cannot implement itself or one of its own sub-plans."))
        seen.add(node_id)
        node_id = Plan.objects.filter(pk=node_id).values_list("parent_id", flat=True).first()


@transaction.atomic
def set_parent(plan: Plan, parent: Plan | None) -> Plan:
    """Link a plan under the plan it implements (the only writer of the link); refuses a cycle. The check
    runs under the lock every audited writer takes first, so two links made at once (A under B, B under A)
    cannot both pass it."""
    lock_current(plan)
    check_parent(plan, parent)
    if plan.parent_id != (parent.pk if parent else None):
        plan.parent = parent
        plan.save(update_fields=["parent", "updated_at"])
    return plan


# --- mergers of organisations ----------------------------------------------------------------------
# When two organisations merge and both were assigned the same task, each assignment stays as it was filed, with
# its reports and evidence: the merged-away one's stays with it (an inactive unit under the target, in the
# target's subtree). Folding two sets of submitted reports into one would rewrite legal records.


def assignment_stays(source: Organization, target: Organization) -> Q:
    """The source's assignments of a task the target was assigned too."""
    return Q(organization=source) & Q(task__in=Assignment.objects.filter(organization=target).values("task"))


def report_stays(source: Organization, target: Organization) -> Q:
    return Q(assignment__in=Assignment.objects.filter(assignment_stays(source, target)))


def evidence_stays(source: Organization, target: Organization) -> Q:
    return Q(report__assignment__in=Assignment.objects.filter(assignment_stays(source, target)))


def value_stays(source: Organization, target: Organization) -> Q:
    """A value of one indicator and period that both hold: each keeps its own."""
    held = IndicatorValue.objects.filter(organization=target, indicator=OuterRef("indicator"))
    return Q(Exists(held.filter(period=OuterRef("period"))))


# --- overdue, reminders, escalation ----------------------------------------------------------------


def is_overdue(assignment: Assignment, today: datetime.date) -> bool:
    return bool(assignment.due_date and assignment.due_date < today and assignment.status != Status.DONE)


def overdue_assignments(queryset=None, today: datetime.date | None = None):
    today = today or timezone.localdate()
    qs = queryset if queryset is not None else Assignment.objects.all()
    return qs.filter(due_date__lt=today).exclude(status=Status.DONE)


def reminder_due(assignment: Assignment, today: datetime.date) -> str | None:
    """ "remind" on 14, 7 and 1 days before the due date, "overdue" after it, else None."""
    if assignment.due_date is None or assignment.status == Status.DONE:
        return None
    days = (assignment.due_date - today).days
    if days in REMIND_DAYS:
        return "remind"
    if days < 0:
        return "overdue"
    return None


def ensure_occurrences(today: datetime.date | None = None) -> int:
    """Daily job: the year's periodic reports of recurring assignments that are missing (a new year, a unit assigned
    since), and from December the next year's, so each period's reminders reach every unit without anyone running
    `attt plans occurrences`. Returns how many reports it created."""
    today = today or timezone.localdate()
    return sum(create_occurrences(year) for year in [today.year, *([today.year + 1] if today.month == 12 else [])])


def remind(today: datetime.date | None = None) -> dict:
    """Daily job: mark overdue assignments, remind assignees before deadlines, and escalate each
    overdue assignment once to the organisation above it (the parent node of the cascade)."""
    today = today or timezone.localdate()
    counts = {"reminded": 0, "overdue": 0, "escalated": 0}
    due = (  # only what may be due: a year's assignments across the country are not read every day
        Assignment.objects.filter(due_date__lte=today + datetime.timedelta(days=max(REMIND_DAYS)))
        .exclude(status=Status.DONE)
        .exclude(reminded_on=today)
        .select_related("task", "organization__parent", "parent__organization")
    )
    for a in due.iterator(chunk_size=500):
        with transaction.atomic():
            _remind_one(a, today, counts)
    periodic = (  # recurring tasks have no due date: each period's report (`create_occurrences`) has one
        ProgressReport.objects.filter(
            submitted_at__isnull=True, period_end__in=[today + datetime.timedelta(days=d) for d in REMIND_DAYS]
        )
        .exclude(assignment__status=Status.DONE)
        .exclude(assignment__reminded_on=today)
        .select_related("assignment__task", "assignment__organization")
    )
    for report in periodic.iterator(chunk_size=500):
        with transaction.atomic():
            _remind_report(report, today, counts)
    for task in Task.objects.filter(assignments__status=Status.OVERDUE).distinct():
        with transaction.atomic():
            roll_up(task)
    if counts["overdue"] or counts["escalated"]:
        audit.record(
            "workflow",
            object_type="plans.assignment",
            object_repr=str(today),
            changes={"step": "plans.reminders", **counts},
        )
    return counts


def _remind_report(report: ProgressReport, today: datetime.date, counts: dict) -> None:
    """A recurring task's period report coming due: its unit is reminded once that day (the assignment keeps the
    day, as for a dated task)."""
    a = report.assignment
    lock_current(a)
    if a.reminded_on == today:
        return
    notify_permission_holders(
        "plans.assignment.change",
        a.organization,
        link=a.get_absolute_url(),
        level="warning",
        title=_("Due in %(n)s days: %(t)s")
        % {"n": (report.period_end - today).days, "t": f"{report.period} — {a.task.content[:110]}"},
    )
    counts["reminded"] += 1
    a.reminded_on = today
    a.save(update_fields=["reminded_on"])


def _remind_one(a: Assignment, today: datetime.date, counts: dict) -> None:
    """One assignment of the reminder job, on its stored state (a report may have been made since the job read
    it), writing only what the job changes: the report's status and progress stay."""
    lock_current(a)
    kind = reminder_due(a, today)
    if kind is None or a.reminded_on == today:
        return
    changed = ["reminded_on"]  # the job's bookkeeping: an edit page opened before still saves
    link = a.get_absolute_url()
    if kind == "remind":
        days = (a.due_date - today).days
        notify_permission_holders(
            "plans.assignment.change",
            a.organization,
            link=link,
            level="warning",
            title=_("Due in %(n)s days: %(t)s") % {"n": days, "t": a.task.content[:120]},
        )
        counts["reminded"] += 1
    else:
        if a.status != Status.OVERDUE:
            a.status = Status.OVERDUE
            changed += ["status", "updated_at"]  # a page showing the old status must not write it back
            counts["overdue"] += 1
            notify_permission_holders(  # once, when it turns overdue: not every morning it stays so
                "plans.assignment.change",
                a.organization,
                link=link,
                level="danger",
                title=_("Overdue: %(t)s") % {"t": a.task.content[:120]},
            )
        if a.escalated_at is None:
            above = a.parent.organization if a.parent else a.organization.parent
            if above is not None:
                notify_permission_holders(
                    "plans.assignment.view",
                    above,
                    link=link,
                    level="danger",
                    title=_("Escalated: %(org)s is overdue on %(t)s")
                    % {"org": a.organization, "t": a.task.content[:100]},
                )
                a.escalated_at = timezone.now()
                changed.append("escalated_at")
                counts["escalated"] += 1
    a.reminded_on = today
    a.save(update_fields=changed)
