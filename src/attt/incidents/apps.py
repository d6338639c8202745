from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _schedules(sender, **kwargs) -> None:
    if sender.label != "incidents":
        return
    from django_q.models import Schedule

    from attt.core.services.jobs import ensure_schedule

    ensure_schedule(
        "incidents.deadlines", "attt.incidents.services.remind_deadlines", schedule_type=Schedule.MINUTES, minutes=15
    )
    ensure_schedule("incidents.member-reports", "attt.incidents.services.remind_member_reports")


class IncidentsConfig(AppConfig):
    name = "attt.incidents"
    label = "incidents"
    verbose_name = _("Incident response")

    def ready(self) -> None:
        from attt.core import dashboard, navigation, permissions, scoping
        from attt.incidents import demo_data, services, widgets  # noqa: F401 (demo loader)
        from attt.incidents import models as m

        permissions.register_module_permissions(
            "incidents",
            {
                "incident": ["view", "add", "change", "export", "classify", "coordinate", "close", "share"],
                "incidenttask": ["view", "add", "change", "export"],
                "observable": ["view", "add", "change", "delete", "export"],
                "timelineentry": ["view"],
                "deadline": ["view", "export"],
                "attachment": ["view", "add", "delete"],
                "networkmember": ["view", "add", "change", "delete", "export"],
                "memberreport": ["view", "add", "export"],
            },
        )
        scoping.register(m.Incident, api_basename="incident", ui_namespace="incidents:incident")
        scoping.register(m.IncidentTask, api_basename="incidenttask", ui_namespace="incidents:incidenttask")
        scoping.register(m.Observable, api_basename="observable", ui_namespace="incidents:observable")
        scoping.register(
            m.NetworkMember,
            api_basename="networkmember",
            ui_namespace="incidents:networkmember",
            before_merge=services.prepare_merge,
        )
        for model in (m.TimelineEntry, m.Deadline, m.Attachment, m.MemberReport):
            scoping.register(model)
        navigation.register(
            navigation.Section(
                "incidents",
                _("Incident response"),
                "bi-fire",
                [
                    navigation.Item(_("Incidents"), "incidents:incident_list", "incidents.incident.view"),
                    navigation.Item(_("Report an incident"), "incidents:incident_add", "incidents.incident.add"),
                    navigation.Item(_("My tasks"), "incidents:incidenttask_list", "incidents.incidenttask.view"),
                    navigation.Item(_("Observables"), "incidents:observable_list", "incidents.observable.view"),
                    navigation.Item(_("Missed deadlines"), "incidents:breach_list", "incidents.deadline.view"),
                    navigation.Item(
                        _("Response network"), "incidents:networkmember_list", "incidents.networkmember.view"
                    ),
                ],
            )
        )
        dashboard.register(widgets.home_widget)
        post_migrate.connect(_schedules, sender=self)
