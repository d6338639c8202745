"""The home-page card: the user's open warnings by priority."""

from django.db.models import Count

from attt.core import scoping


def home_widget(request):
    from attt.vulns.models import OPEN_STATUSES, VulnWarning

    user = request.user
    if not scoping.get_scope(user).has_anywhere("vulns.vulnwarning.view"):
        return None
    rows = (
        scoping.visible(user, VulnWarning.objects.filter(active=True, status__in=OPEN_STATUSES))
        .values("priority")
        .annotate(n=Count("pk"))
        .order_by("priority")
    )
    return "vulns/widget.html", {"vuln_counts": [(r["priority"], r["n"]) for r in rows]}
