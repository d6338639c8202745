from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

CHILD_ACTIONS = ["view", "add", "change", "delete", "export"]


class RegistryConfig(AppConfig):
    name = "attt.registry"
    label = "registry"
    verbose_name = _("Registry of information systems")

    def ready(self) -> None:
        from attt.core import navigation, permissions, scoping
        from attt.registry import dashboard, demo_data  # noqa: F401  (register the widget and the demo loader)
        from attt.registry.models import Component, Contact, Domain, InformationSystem, IPRange, Server
        from attt.registry.services import prepare_merge

        for model, name in [
            (InformationSystem, "system"),
            (Component, "component"),
            (Server, "server"),
            (Domain, "domain"),
            (IPRange, "iprange"),
            (Contact, "contact"),
        ]:
            scoping.register(
                model,
                api_basename=f"registry-{name}",
                ui_namespace=f"registry:{name}",
                before_merge=prepare_merge if model is InformationSystem else None,
            )

        permissions.register_module_permissions(
            "registry",
            {
                "informationsystem": ["view", "add", "change", "delete", "export", "import"],
                "component": CHILD_ACTIONS,
                "server": CHILD_ACTIONS,
                "domain": CHILD_ACTIONS,
                "iprange": CHILD_ACTIONS,
                "contact": CHILD_ACTIONS,
            },
        )
        navigation.register(
            navigation.Section(
                "registry",
                _("Registry"),
                "bi-hdd-network",
                [
                    navigation.Item(
                        _("Information systems"), "registry:system_list", "registry.informationsystem.view"
                    ),
                    navigation.Item(_("Components"), "registry:component_list", "registry.component.view"),
                    navigation.Item(_("Servers"), "registry:server_list", "registry.server.view"),
                    navigation.Item(_("Domains"), "registry:domain_list", "registry.domain.view"),
                    navigation.Item(_("IP ranges"), "registry:iprange_list", "registry.iprange.view"),
                    navigation.Item(_("Contacts"), "registry:contact_list", "registry.contact.view"),
                    navigation.Item(_("Import systems"), "registry:system_import", "registry.informationsystem.import"),
                ],
            )
        )
