"""Workflow steps and edits on rows several people (or a person and a job) may change at once."""

from collections.abc import Callable

from django import forms
from django.core.exceptions import PermissionDenied
from django.db import models
from django.forms.models import construct_instance


def lock_current(obj: models.Model) -> None:
    """Lock the row until the caller's transaction ends and bring the caller's object up to date: a step works on
    what is stored now, not on what a page or a view loaded earlier, and two steps on one row take turns (call it
    first in a step's `transaction.atomic`, and save only the fields the step changes). A view that writes anything
    before the step calls it first: every audited write takes the audit chain's lock, and the row lock must come
    before it, or two such requests wait on each other."""
    obj.refresh_from_db(from_queryset=type(obj)._base_manager.select_for_update())


class EditConflict(Exception):
    """The row was saved by someone else after the person opened the page that sends this change."""


VERSION_FIELD = "attt_version"  # the hidden input an edit page sends back: the row's version when it was shown


def version_of(obj: models.Model) -> str:
    """What changes whenever the row is saved as a whole (its `updated_at`); empty for a model without one."""
    stamp = getattr(obj, "updated_at", None)
    return stamp.isoformat() if stamp is not None and not obj._state.adding else ""


def apply_to_current(form: forms.ModelForm, *, editable: Callable[[models.Model], bool] | None = None) -> None:
    """Before a change form is saved: lock its row, re-read it and put the form's fields back on it, so the save
    writes the form's changes over what is stored now. A step or a job that changed other fields while the request
    ran (a state, a token, a status, a last sighting) keeps them, and fields a model's `save` derives follow.
    `editable`: refuse (403, as the page does) a row that has left its editable state meanwhile. When the page
    sent the version it showed (`form.read_version`, see `ObjectEditView`) and the row was saved since, raise
    `EditConflict`: the person has not seen the other change, and saving would undo it. A new record is left as
    it is. Call it inside the transaction that saves."""
    obj = form.instance
    if obj._state.adding:
        return
    lock_current(obj)
    if editable is not None and not editable(obj):
        raise PermissionDenied
    read = getattr(form, "read_version", "")
    if read and read != version_of(obj):
        raise EditConflict
    construct_instance(form, obj, form._meta.fields, form._meta.exclude)
