"""What other modules may ask of central monitoring. (Contract stubs: the monitoring module replaces each body.)"""

from __future__ import annotations


def throughput(user, organization=None) -> dict:
    """Live figures within the user's scope (optionally one subtree): {"events_per_s": float,
    "events_24h": int, "sources": int, "silent_sources": int, "rejected_24h": int}."""
    raise NotImplementedError


def silent_sources(user, organization=None) -> list:
    """Sources in scope silent beyond their expected interval, oldest silence first."""
    raise NotImplementedError
