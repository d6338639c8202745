"""The home card: the user's plan tasks by status and what is overdue."""

from django.db.models import Count

from attt.core import dashboard, scoping
from attt.plans.models import Assignment, Status
from attt.plans.services import overdue_assignments


@dashboard.register
def plans_widget(request) -> tuple[str, dict] | None:
    if not scoping.get_scope(request.user).has_anywhere("plans.assignment.view"):
        return None
    qs = scoping.visible(request.user, Assignment.objects.all())
    by_status = dict(qs.values_list("status").annotate(n=Count("id")))
    return "plans/widget.html", {
        "total": sum(by_status.values()),
        "done": by_status.get(Status.DONE, 0),
        "overdue": overdue_assignments(qs).count(),
    }
