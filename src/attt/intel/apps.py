from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _schedules(sender, **kwargs) -> None:
    if sender.label != "intel":
        return
    from attt.core.services.jobs import ensure_schedule

    ensure_schedule("intel.expire", "attt.intel.store.expire")


class IntelConfig(AppConfig):
    name = "attt.intel"
    label = "intel"
    verbose_name = _("Threat intelligence")

    def ready(self) -> None:
        from attt.core import navigation, permissions, scoping
        from attt.intel import (
            demo_data,  # noqa: F401 (demo loader)
            services,
            signals,
        )
        from attt.intel import models as m

        signals.connect(m.Indicator)

        permissions.register_module_permissions(
            "intel",
            {
                "indicator": ["view", "add", "change", "delete", "export"],
                "collection": ["view", "add", "change", "delete", "export", "write"],
                "collectiongrant": ["view", "add", "change", "delete"],
                "stixobject": ["view", "delete"],
                "taxiistatus": ["view"],
                "technique": ["view"],
            },
        )
        scoping.register(m.Indicator, api_basename="intel-indicator", ui_namespace="intel:indicator")
        scoping.register(
            m.Collection,
            api_basename="intel-collection",
            ui_namespace="intel:collection",
            before_merge=services.prepare_merge,
        )
        scoping.register(m.CollectionGrant)
        scoping.register(m.StixObject)
        scoping.register(m.TaxiiStatus)
        navigation.register(
            navigation.Section(
                "intel",
                _("Threat intelligence"),
                "bi-broadcast",
                [
                    navigation.Item(_("Threat indicators"), "intel:indicator_list", "intel.indicator.view"),
                    navigation.Item(_("Import indicators"), "intel:import", "intel.indicator.add"),
                    navigation.Item(_("Collections"), "intel:collection_list", "intel.collection.view"),
                    navigation.Item(_("ATT&CK"), "intel:tactic_list", "intel.technique.view"),
                ],
            )
        )
        post_migrate.connect(_schedules, sender=self)
