from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _schedules(sender, **kwargs) -> None:
    if sender.label != "plans":
        return
    from attt.core.services.jobs import ensure_schedule

    ensure_schedule("plans.occurrences", "attt.plans.services.ensure_occurrences")
    ensure_schedule("plans.reminders", "attt.plans.services.remind")


class PlansConfig(AppConfig):
    name = "attt.plans"
    label = "plans"
    verbose_name = _("Strategy plans")

    def ready(self) -> None:
        from attt.core import navigation, permissions, scoping
        from attt.plans import dashboards, demo_data  # noqa: F401 (home widget, demo loader)
        from attt.plans import models as m

        crud = ["view", "add", "change", "delete", "export"]
        permissions.register_module_permissions(
            "plans",
            {
                "plan": crud,
                "task": crud,
                "assignment": crud,
                "progressreport": crud,
                "evidence": ["view", "add", "delete"],
                "indicator": crud,
                "indicatorvalue": crud,
                "legaldocument": crud,
            },
        )
        from attt.plans import services

        for model, api, ui, stays in [
            (m.Plan, "plan", "plans:plan", None),
            (m.Task, "task", "plans:task", None),
            (m.Assignment, "assignment", "plans:assignment", services.assignment_stays),
            (m.ProgressReport, "progressreport", None, services.report_stays),
            (m.Evidence, None, None, services.evidence_stays),
            (m.Indicator, "indicator", "plans:indicator", None),
            (m.IndicatorValue, "indicatorvalue", None, services.value_stays),
            (m.LegalDocument, "legaldocument", "plans:legaldocument", None),
        ]:
            scoping.register(model, api_basename=api, ui_namespace=ui, stays_on_merge=stays)
        navigation.register(
            navigation.Section(
                "plans",
                _("Strategy plans"),
                "bi-kanban",
                [
                    navigation.Item(_("Plans"), "plans:plan_list", "plans.plan.view"),
                    navigation.Item(_("Tasks"), "plans:task_list", "plans.task.view"),
                    navigation.Item(_("My assignments"), "plans:assignment_list", "plans.assignment.view"),
                    navigation.Item(_("Overdue"), "plans:overdue", "plans.assignment.view"),
                    navigation.Item(_("Timeline"), "plans:timeline", "plans.task.view"),
                    navigation.Item(_("Indicators"), "plans:indicator_list", "plans.indicator.view"),
                    navigation.Item(_("Legal library"), "plans:legaldocument_list", "plans.legaldocument.view"),
                    navigation.Item(_("Units to review"), "plans:unit_review", "plans.task.change"),
                ],
            )
        )
        post_migrate.connect(_schedules, sender=self)
