"""Detection's settings: Django settings of these names, else environment variables, else the defaults."""

import os
from pathlib import Path

from django.conf import settings


def _number(name: str, default: float) -> float:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def window_minutes() -> int:
    """Hits of one rule on one source within this many minutes add up in one alert."""
    return max(1, int(_number("ATTT_DETECTION_WINDOW_MINUTES", 15)))


def refresh_seconds() -> float:
    """How long a process's detector keeps its rules and indicators before rebuilding even without a change."""
    return max(10.0, _number("ATTT_DETECTION_REFRESH_MINUTES", 5) * 60)


def sample_size() -> int:
    """How many event ids an alert keeps as samples."""
    return max(1, int(_number("ATTT_DETECTION_SAMPLE_EVENTS", 20)))


def poll_seconds() -> int:
    """How often the live dashboard refreshes."""
    return max(1, int(_number("ATTT_DETECTION_POLL_SECONDS", 5)))


def rule_cache_dir() -> Path:
    """Where compiled Sigma rules are kept between processes (keyed by content; private to this user)."""
    return Path(settings.DATA_DIR) / "cache" / "sigma"
