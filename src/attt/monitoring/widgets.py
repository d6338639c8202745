"""The home-page card: event ingest figures within the user's scope."""

from attt.core import scoping


def home_widget(request):
    from attt.monitoring import services

    if not scoping.get_scope(request.user).has_anywhere("monitoring.source.view"):
        return None
    return "monitoring/live_stats.html", {"figures": services.throughput(request.user)}
