from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _indicators_changed(**kwargs) -> None:
    from attt.detection.services import indicators_changed

    indicators_changed()


class DetectionConfig(AppConfig):
    name = "attt.detection"
    label = "detection"
    verbose_name = _("Detection and alerts")

    def ready(self) -> None:
        from attt.core import dashboard, navigation, permissions, scoping
        from attt.detection import demo_data, widgets  # noqa: F401 (demo loader)
        from attt.detection.detector import consume
        from attt.detection.models import Alert
        from attt.intel import signals as intel_signals
        from attt.monitoring.pipeline import register_consumer

        permissions.register_module_permissions(
            "detection",
            {"alert": ["view", "change", "escalate", "export"], "sigmarule": ["view", "change"]},
        )
        scoping.register(Alert, api_basename="alert", ui_namespace="detection:alert")
        navigation.register(
            navigation.Section(
                "detection",
                _("Detection and alerts"),
                "bi-broadcast",
                [
                    navigation.Item(_("Live dashboard"), "detection:dashboard", "detection.alert.view"),
                    navigation.Item(_("Alerts"), "detection:alert_list", "detection.alert.view"),
                    navigation.Item(_("Sigma rules"), "detection:sigmarule_list", "detection.sigmarule.view"),
                ],
            )
        )
        dashboard.register(widgets.home_widget)
        register_consumer("detection", consume)
        intel_signals.indicators_changed.connect(_indicators_changed, dispatch_uid="detection.indicators_changed")
