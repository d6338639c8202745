from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "attt.monitoring"
    label = "monitoring"
    verbose_name = _("Central monitoring")

    def ready(self) -> None:
        pass
