from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "attt.incidents"
    label = "incidents"
    verbose_name = _("Incident response")

    def ready(self) -> None:
        pass
