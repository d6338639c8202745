"""How values are written into texts people read (notifications, generated descriptions, warnings), the same in
every module."""

import datetime

from django.utils import timezone


def local_time(moment: datetime.datetime) -> str:
    """A moment as people here read it: the platform's local time, day first, to the minute (not Python's UTC form
    with microseconds)."""
    return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M")
