from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegulationConfig(AppConfig):
    name = "attt.regulation"
    label = "regulation"
    verbose_name = _("Regulation")

    def ready(self) -> None:
        from attt.core import navigation, permissions
        from attt.regulation import checks  # noqa: F401  (registers the data check)

        # Regulation is public law: the pages need only a log-in; the permission decides whether the
        # menu shows them.
        permissions.register_module_permissions("regulation", {"regime": ["view"]})
        navigation.register(
            navigation.Section(
                "regulation",
                _("Regulation"),
                "bi-journal-text",
                [
                    navigation.Item(_("Legal regimes"), "regulation:regime_list", "regulation.regime.view"),
                    navigation.Item(_("Level calculator"), "regulation:assess", "regulation.regime.view"),
                ],
            )
        )
