"""Workflow steps and edits on rows several people (or a person and a job) may change at once."""

from collections.abc import Callable

from django import forms
from django.core.exceptions import PermissionDenied
from django.db import models
from django.forms.models import construct_instance

from attt.core import audit


def for_update(queryset: models.QuerySet, **options) -> models.QuerySet:
    """`select_for_update` (with its `options`) after the audit chain's lock (`audit.lock_chain`): every lock a
    writer takes comes after that one, in one order, so two writers never wait on each other. Call it inside the
    transaction that writes. On PostgreSQL the rows are locked `FOR NO KEY UPDATE` (no key is ever changed): a
    new row that refers to one (an insert's key-share lock: a task's evidence, a system's checklist item) neither
    waits for the lock nor, holding its key-share before the chain, makes the locker wait."""
    audit.lock_chain()
    return queryset.select_for_update(**{"no_key": True, **options})


def lock_current(obj: models.Model) -> None:
    """Lock the row until the caller's transaction ends and bring the caller's object up to date: a step works on
    what is stored now, not on what a page or a view loaded earlier, and two steps on one row take turns (call it
    first in a step's `transaction.atomic`, and save only the fields the step changes)."""
    obj.refresh_from_db(from_queryset=for_update(type(obj)._base_manager.all()))


class EditConflict(Exception):
    """The row was saved by someone else after the person opened the page that sends this change."""


VERSION_FIELD = "attt_version"  # the hidden input an edit page sends back: the row's version when it was shown


def version_of(obj: models.Model) -> str:
    """What changes whenever the row is saved as a whole (its `updated_at`); empty for a model without one."""
    stamp = getattr(obj, "updated_at", None)
    return stamp.isoformat() if stamp is not None and not obj._state.adding else ""


def lock_unchanged(obj: models.Model, read_version: str) -> None:
    """Lock the row and re-read it (`lock_current`); raise `EditConflict` when the person's page showed another
    version of it (`read_version`, sent back in `VERSION_FIELD`): it was saved since, the person has not seen
    that change, and saving theirs would undo it. An empty `read_version` (a client that sent none) is not
    checked. Call it first in the transaction that saves; `ObjectEditView.post` does, before any `save`."""
    lock_current(obj)
    if read_version and read_version != version_of(obj):
        raise EditConflict


def apply_to_current(form: forms.ModelForm, *, editable: Callable[[models.Model], bool] | None = None) -> None:
    """Put a change form's fields back on its row after `lock_unchanged` re-read it, so the save writes the
    form's changes over what is stored now: a step or a job that changed other fields while the request ran (a
    state, a token, a status, a last sighting) keeps them, and fields a model's `save` derives follow.
    `editable`: refuse (403, as the page does) a row that has left its editable state meanwhile. A new record is
    left as it is."""
    obj = form.instance
    if obj._state.adding:
        return
    if editable is not None and not editable(obj):
        raise PermissionDenied
    construct_instance(form, obj, form._meta.fields, form._meta.exclude)
