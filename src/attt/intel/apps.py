from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntelConfig(AppConfig):
    name = "attt.intel"
    label = "intel"
    verbose_name = _("Threat intelligence")

    def ready(self) -> None:
        pass
