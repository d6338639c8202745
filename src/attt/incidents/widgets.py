"""The home-page card: open incidents by severity and missed statutory deadlines."""

from attt.core import scoping


def home_widget(request):
    from attt.incidents import services

    user = request.user
    if not scoping.get_scope(user).has_anywhere("incidents.incident.view"):
        return None
    return "incidents/widget.html", {"incident_counts": services.open_incidents_count(user)}
