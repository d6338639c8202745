from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _schedules(sender, **kwargs) -> None:
    if sender.label != "compliance":
        return
    from attt.core.services.jobs import ensure_schedule

    ensure_schedule("compliance.dossier-reminders", "attt.compliance.services.remind_dossiers")
    ensure_schedule("compliance.follow-owners", "attt.compliance.services.follow_owners")


class ComplianceConfig(AppConfig):
    name = "attt.compliance"
    label = "compliance"
    verbose_name = _("Level-based security")

    def ready(self) -> None:
        from attt.compliance import dashboards, demo_data, reports, services  # noqa: F401 (home widget, demo loader)
        from attt.compliance import models as m
        from attt.core import navigation, permissions, scoping
        from attt.registry import services as registry

        crud = ["view", "add", "change", "delete", "export"]
        permissions.register_module_permissions(
            "compliance",
            {
                "levelassessment": ["view", "add", "export"],
                "leveldossier": [*crud, "appraise", "approve"],
                "attachment": ["view", "add", "delete"],
                "checklistitem": ["view", "change", "export"],
                "protectionlayers": ["view", "change", "export"],
                "periodiccheck": crud,
                "statusreport": [*crud, "submit"],
                "inspection": crud,
                "finding": [*crud, "acknowledge", "verify"],
            },
        )
        for model, api, ui in [
            (m.LevelAssessment, "levelassessment", None),
            (m.LevelDossier, "leveldossier", "compliance:leveldossier"),
            (m.ChecklistItem, "checklistitem", None),
            (m.ProtectionLayers, "protectionlayers", None),
            (m.PeriodicCheck, "periodiccheck", "compliance:periodiccheck"),
            (m.Attachment, None, None),
            (m.StatusReport, "statusreport", "compliance:statusreport"),
            (m.Inspection, "inspection", "compliance:inspection"),
            (m.Finding, "finding", "compliance:finding"),
        ]:
            stays = reports.stays_on_merge if model is m.StatusReport else None
            scoping.register(model, api_basename=api, ui_namespace=ui, stays_on_merge=stays)
        navigation.register(
            navigation.Section(
                "compliance",
                _("Level-based security"),
                "bi-shield-check",
                [
                    navigation.Item(_("Overview"), "compliance:dashboard", "compliance.leveldossier.view"),
                    navigation.Item(
                        _("Level dossiers"), "compliance:leveldossier_list", "compliance.leveldossier.view"
                    ),
                    navigation.Item(
                        _("Periodic checks"), "compliance:periodiccheck_list", "compliance.periodiccheck.view"
                    ),
                    navigation.Item(_("Reports"), "compliance:statusreport_list", "compliance.statusreport.view"),
                    navigation.Item(_("Inspections"), "compliance:inspection_list", "compliance.inspection.view"),
                    navigation.Item(_("Findings"), "compliance:finding_list", "compliance.finding.view"),
                ],
            )
        )
        navigation.register_object_link(
            "registry.informationsystem",
            navigation.ObjectLink(
                _("Level and protection"), "compliance:system_overview", "compliance.leveldossier.view"
            ),
        )
        registry.register_owner_change(services.follow_new_owner)
        post_migrate.connect(_schedules, sender=self)
