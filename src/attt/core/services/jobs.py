"""Background jobs and schedules, on django-q2 with its ORM broker (the platform's own database).

The same code runs with the embedded SQLite default (one worker cluster) and with PostgreSQL
(several clusters on several machines). Modules enqueue work by dotted path, never by importing
each other's functions.
"""

from django.db import close_old_connections, connection
from django_q.models import Schedule
from django_q.tasks import async_task


def enqueue(func: str, *args, **kwargs) -> str:
    """Run `func` (dotted path) in a worker; returns the task id."""
    return async_task(func, *args, **kwargs)


def between_units_of_work() -> None:
    """For a long-running process (the syslog listener, an ingest worker), before each batch: drop a database
    connection that failed (the server restarted, the network cut it) or outlived CONN_MAX_AGE, as Django does
    between requests; the next query opens a new one. Without it one lost connection fails every batch until
    the process is restarted. Left alone inside a transaction (never the case in those loops; a test's)."""
    if not connection.in_atomic_block:
        close_old_connections()


def ensure_schedule(
    name: str, func: str, *, schedule_type: str = Schedule.DAILY, minutes: int | None = None, cron: str | None = None
) -> Schedule:
    """Create or update a named schedule (idempotent: called after every migrate)."""
    schedule, _ = Schedule.objects.update_or_create(
        name=name, defaults={"func": func, "schedule_type": schedule_type, "minutes": minutes, "cron": cron}
    )
    return schedule


def ensure_platform_schedules() -> None:
    ensure_schedule("core.audit-verify", "attt.core.services.audit.verify_and_alert", schedule_type=Schedule.DAILY)
