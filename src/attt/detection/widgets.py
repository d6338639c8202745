"""The home-page card: open alerts in the user's scope by severity."""

from attt.core import scoping


def home_widget(request):
    from attt.detection import services
    from attt.detection.models import Severity

    user = request.user
    if not scoping.get_scope(user).has_anywhere("detection.alert.view"):
        return None
    counts = services.open_alert_counts(user)
    return "detection/widget.html", {
        "alert_counts": [(s.label, s.value, counts.get(s.value, 0)) for s in reversed(Severity)]
    }
