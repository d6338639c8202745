"""Sent after the set of detection indicators changed (import, edit, expiry), so that consumers such as the
detection engine rebuild their index at once instead of at their next periodic refresh."""

from django.dispatch import Signal

indicators_changed = Signal()


def announce() -> None:
    """Send ``indicators_changed`` once the current transaction commits (never for a rolled-back import)."""
    from django.db import transaction

    transaction.on_commit(lambda: indicators_changed.send(sender=None))


def _indicator_saved_or_deleted(sender, **kwargs) -> None:
    announce()


def connect(indicator_model) -> None:
    """Edits of one indicator (UI, API) announce the change like imports do."""
    from django.db.models.signals import post_delete, post_save

    post_save.connect(_indicator_saved_or_deleted, sender=indicator_model, dispatch_uid="intel.indicator.saved")
    post_delete.connect(_indicator_saved_or_deleted, sender=indicator_model, dispatch_uid="intel.indicator.deleted")
