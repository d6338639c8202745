from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "attt.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from attt.core import audit, demo_data, navigation, permissions, scoping, search, signals  # noqa: F401
        from attt.core.api import schema  # noqa: F401
        from attt.core.models import AuditEvent, Organization, RoleAssignment, User

        scoping.register(
            Organization, api_basename="organization", ui_namespace="core:organization", reassign_on_merge=False
        )
        scoping.register(User, api_basename="user", ui_namespace="core:user", reassign_on_merge=False)
        scoping.register(
            RoleAssignment, api_basename="roleassignment", ui_namespace="core:roleassignment", reassign_on_merge=False
        )
        scoping.register(AuditEvent, api_basename="auditevent", ui_namespace="core:auditevent", reassign_on_merge=False)

        permissions.register_module_permissions(
            "core",
            {
                "organization": ["view", "add", "change", "delete", "export", "move", "merge"],
                "user": ["view", "add", "change", "delete", "export"],
                "roleassignment": ["view", "add", "change", "delete", "export"],
                "auditevent": ["view", "export"],
            },
        )
        navigation.register(
            navigation.Section(
                "core",
                _("Organisation"),
                "bi-diagram-3",
                [
                    navigation.Item(_("Organisations"), "core:organization_list", "core.organization.view"),
                    navigation.Item(_("Users"), "core:user_list", "core.user.view"),
                    navigation.Item(_("Role assignments"), "core:roleassignment_list", "core.roleassignment.view"),
                    navigation.Item(_("Audit log"), "core:auditevent_list", "core.auditevent.view"),
                ],
            )
        )
