from django.urls import path

from attt.core.urls import crud
from attt.plans import views as v

app_name = "plans"


def crud_without_add(prefix: str, name: str, *views) -> list:
    """Tasks come with their imported plan and assignments from `task_assign`: no blank add page for either
    (the list pages then show no Add button)."""
    return [p for p in crud(prefix, name, *views) if p.name != f"{name}_add"]


urlpatterns = [
    *crud("plans", "plan", v.PlanListView, v.PlanDetailView, v.PlanEditView, v.PlanDeleteView),
    path("plans/<uuid:pk>/report.<str:fmt>", v.plan_report, name="plan_report"),
    *crud_without_add("tasks", "task", v.TaskListView, v.TaskDetailView, v.TaskEditView, v.TaskDeleteView),
    path("tasks/<uuid:pk>/assign/", v.task_assign, name="task_assign"),
    *crud_without_add(
        "assignments",
        "assignment",
        v.AssignmentListView,
        v.AssignmentDetailView,
        v.AssignmentEditView,
        v.AssignmentDeleteView,
    ),
    *crud(
        "indicators",
        "indicator",
        v.IndicatorListView,
        v.IndicatorDetailView,
        v.IndicatorEditView,
        v.IndicatorDeleteView,
    ),
    *crud(
        "library",
        "legaldocument",
        v.LegalDocumentListView,
        v.LegalDocumentDetailView,
        v.LegalDocumentEditView,
        v.LegalDocumentDeleteView,
    ),
    path("evidence/<uuid:pk>/download/", v.evidence_download, name="evidence_download"),
    path("overdue/", v.overdue, name="overdue"),
    path("timeline/", v.timeline, name="timeline"),
    path("review/", v.unit_review, name="unit_review"),
]
