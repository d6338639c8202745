from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _schedules(sender, **kwargs) -> None:
    if sender.label != "vulns":
        return
    from attt.core.services.jobs import ensure_schedule

    ensure_schedule("vulns.daily", "attt.vulns.services.daily")


class VulnsConfig(AppConfig):
    name = "attt.vulns"
    label = "vulns"
    verbose_name = _("Early warning")

    def ready(self) -> None:
        from attt.core import dashboard, navigation, permissions, scoping
        from attt.registry import services as registry
        from attt.vulns import demo_data, services, widgets  # noqa: F401 (demo loader)
        from attt.vulns import models as m

        permissions.register_module_permissions(
            "vulns",
            {
                "vulnerability": ["view", "export"],
                "vulnwarning": ["view", "change", "export", "verify"],
                "leaknotice": ["view", "add", "change", "delete", "export"],
            },
        )
        scoping.register(m.VulnWarning, api_basename="vulnwarning", ui_namespace="vulns:vulnwarning")
        scoping.register(m.LeakNotice, api_basename="leaknotice", ui_namespace="vulns:leaknotice")
        navigation.register(
            navigation.Section(
                "vulns",
                _("Early warning"),
                "bi-bug",
                [
                    navigation.Item(_("Warnings"), "vulns:vulnwarning_list", "vulns.vulnwarning.view"),
                    navigation.Item(_("Vulnerabilities"), "vulns:vulnerability_list", "vulns.vulnerability.view"),
                    navigation.Item(_("Data leaks"), "vulns:leaknotice_list", "vulns.leaknotice.view"),
                ],
            )
        )
        dashboard.register(widgets.home_widget)
        registry.register_owner_change(services.follow_new_owner)
        post_migrate.connect(_schedules, sender=self)
