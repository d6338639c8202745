"""The registry's card on the home page: how many systems the user sees, and where they are."""

from attt.core import dashboard, scoping
from attt.core.models import Organization
from attt.registry import services
from attt.registry.models import LifecycleStatus

BRANCHES_SHOWN = 8


def _top_organization(user) -> Organization | None:
    """The organisation at the top of the user's view of the registry, when there is a single one."""
    paths = scoping.get_scope(user).paths("registry.informationsystem.view")
    if paths is None:
        return Organization.objects.filter(parent__isnull=True, is_active=True).order_by("path").first()
    if len(paths) != 1:
        return None
    return Organization.objects.filter(path=paths[0]).first()


@dashboard.register
def registry_widget(request):
    user = request.user
    if not scoping.get_scope(user).has_anywhere("registry.informationsystem.view"):
        return None
    figures = services.summary(user)
    labels = dict(LifecycleStatus.choices)
    top = _top_organization(user)
    branches = services.count_by_branch(user, top)[:BRANCHES_SHOWN] if top is not None else []
    return "registry/widgets/systems.html", {
        **figures,
        "statuses": [(labels[s], n) for s, n in figures["by_status"].items() if n],
        "top": top,
        "branches": branches,
    }
