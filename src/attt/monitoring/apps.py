from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _schedules(sender, **kwargs) -> None:
    if sender.label != "monitoring":
        return
    from django_q.models import Schedule

    from attt.core.services.jobs import ensure_schedule

    ensure_schedule(
        "monitoring.check-sources", "attt.monitoring.services.check_sources", schedule_type=Schedule.MINUTES, minutes=5
    )
    ensure_schedule(
        "monitoring.drain-spool", "attt.monitoring.services.drain_spool", schedule_type=Schedule.MINUTES, minutes=1
    )
    ensure_schedule("monitoring.retention", "attt.monitoring.services.apply_retention", schedule_type=Schedule.DAILY)


def _check_settings(app_configs, **kwargs) -> list:
    """A bad retention setting is reported by `attt check` and at start, not first by the nightly job; one shorter
    than the regime in force asks records to be kept is a warning (the central store may be an owner's only copy of
    its logs)."""
    from attt.monitoring import conf
    from attt.regulation import services as regulation

    try:
        days = conf.retention_days()
    except ValueError as exc:
        return [checks.Error(str(exc), id="attt.monitoring.E001")]
    longest = regulation.longest_retention(regulation.regime_in_force())
    if longest is not None and days < longest.retention_days:
        return [
            checks.Warning(
                f"ATTT_MONITORING_RETENTION_DAYS is {days} days, shorter than {longest.label_en.lower()} at level "
                f"{longest.level} under {longest.regime}: {longest.retention_days} days"
                + (" (unverified in the regulation data)" if longest.unverified else ""),
                hint="Raise ATTT_MONITORING_RETENTION_DAYS, or make sure owners keep their own logs that long.",
                id="attt.monitoring.W001",
            )
        ]
    return []


class MonitoringConfig(AppConfig):
    name = "attt.monitoring"
    label = "monitoring"
    verbose_name = _("Central monitoring")

    def ready(self) -> None:
        from attt.core import dashboard, navigation, permissions, scoping
        from attt.monitoring import demo_data, widgets  # noqa: F401 (demo loader)
        from attt.monitoring import models as m

        permissions.register_module_permissions("monitoring", {"source": ["view", "add", "change", "delete", "export"]})
        scoping.register(m.Source, api_basename="eventsource", ui_namespace="monitoring:source")
        navigation.register(
            navigation.Section(
                "monitoring",
                _("Central monitoring"),
                "bi-activity",
                [
                    navigation.Item(_("Live monitoring"), "monitoring:live", "monitoring.source.view"),
                    navigation.Item(_("Event sources"), "monitoring:source_list", "monitoring.source.view"),
                    navigation.Item(_("Event search"), "monitoring:event_search", "monitoring.source.view"),
                ],
            )
        )
        dashboard.register(widgets.home_widget)
        post_migrate.connect(_schedules, sender=self)
        checks.register(_check_settings)
