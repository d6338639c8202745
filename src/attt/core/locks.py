"""Workflow steps on rows several people (or a person and a job) may change at once."""

from django.db import models


def lock_current(obj: models.Model) -> None:
    """Lock the row until the caller's transaction ends and bring the caller's object up to date: a step works on
    what is stored now, not on what a page or a view loaded earlier, and two steps on one row take turns (call it
    first in a step's `transaction.atomic`, and save only the fields the step changes). A view that writes anything
    before the step calls it first: every audited write takes the audit chain's lock, and the row lock must come
    before it, or two such requests wait on each other."""
    obj.refresh_from_db(from_queryset=type(obj)._base_manager.select_for_update())
