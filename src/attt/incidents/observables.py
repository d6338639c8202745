"""Observables of incidents are written in intel's canonical form: intel owns it (its services), so an incident's
observable, the indicator it becomes when shared and a detection match are one value, of at most 2048
characters (the column's size)."""

from __future__ import annotations

from attt.intel import services as intel


def normalise(kind: str, value: str) -> str:
    """The canonical form of `value` as an observable of `kind`; ValueError with a sentence otherwise."""
    return intel.normalise_observable(kind, value)
