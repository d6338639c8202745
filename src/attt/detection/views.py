"""Pages of detection: the 24/7 live dashboard (national or one subtree), the alert search with its
lifecycle steps, and the Sigma rule list where national administrators enable or disable rules."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from attt.core import scoping
from attt.core.views.generic import Column, ObjectDetailView, ObjectListView, ScopedMixin, get_scoped_or_404
from attt.detection import conf, services
from attt.detection.filtersets import AlertFilterSet, SigmaRuleFilterSet
from attt.detection.models import DRL_URL, Alert, SigmaRule

# --- Dashboard --------------------------------------------------------------------------------------------


class DashboardView(ScopedMixin, TemplateView):
    """The live dashboard; ?org=<id> narrows it to one organisation's subtree."""

    model = Alert
    template_name = "detection/dashboard.html"

    def within(self):
        org_id = self.request.GET.get("org")
        if not org_id:
            return None
        within = scoping.organization_where(self.request.user, self.permission("view"), org_id)
        if within is None:
            raise Http404
        return within

    def get_context_data(self, **kwargs):
        within = self.within()
        query = f"?org={within.pk}" if within else ""
        return {
            **super().get_context_data(**kwargs),
            "title": _("Live detection dashboard"),
            "within": within,
            **self.figures(within),
            "live_url": reverse("detection:dashboard_live") + query,
            **_monitoring_card(self.request.user, within, query),
            "poll_seconds": conf.poll_seconds(),
            "organizations": scoping.organizations_where(self.request.user, self.permission("view"))
            .filter(depth__lte=2)
            .only("pk", "name", "depth")[:500],
        }

    def figures(self, within) -> dict:
        """The service's figures, and its four rankings as rows of one table template."""
        f = services.cached_dashboard(self.request.user, within)
        alerts = reverse("detection:alert_list")
        tables = [
            (
                f["branch_label"],
                "by-branch",
                "col-lg-6",
                [
                    {"label": b["name"], "n": b["n"], "url": f"?org={b['id']}" if b["openable"] else ""}
                    for b in f["branches"]
                ],
            ),
            (
                _("By priority sector"),
                "by-sector",
                "col-lg-4",
                [{"label": s["label"], "n": s["n"]} for s in f["sectors"]],
            ),
            (
                _("By rule or indicator"),
                "by-rule",
                "col-lg-4",
                [{"label": r["title"], "n": r["n"]} for r in f["rules"]],
            ),
            (
                _("Most attacked systems"),
                "by-system",
                "col-lg-4",
                [
                    {
                        "label": s["system__name"],
                        "note": s["system__organization__name"],
                        "n": s["n"],
                        "url": f"{alerts}?system={s['system_id']}",
                    }
                    for s in f["systems"]
                ],
            ),
        ]
        return {
            "figures": f,
            "tables": [dict(zip(("heading", "testid", "width", "rows"), t, strict=True)) for t in tables],
        }


def _monitoring_card(user, within, query: str) -> dict:
    """Monitoring's live card, for those who may see event sources there (its page refuses the others): its
    figures come with the page, so it shows without script, and HTMX refreshes them from its address."""
    from attt.monitoring import services as monitoring

    if not monitoring.sees_sources(user):
        return {}
    sources_within = None
    if within is not None:
        sources_within = monitoring.organization_in_scope(user, within.pk)
        if sources_within is None:
            return {}
    return {
        "monitoring_url": reverse("monitoring:live_stats") + query,
        "monitoring_figures": monitoring.throughput(user, sources_within),
    }


class DashboardLiveView(DashboardView):
    """The part of the dashboard HTMX polls."""

    template_name = "detection/partials/live.html"

    def get_context_data(self, **kwargs):
        within = self.within()
        return {**self.figures(within), "within": within}


# --- Alerts -----------------------------------------------------------------------------------------------


class AlertListView(ObjectListView):
    model = Alert
    queryset = Alert.objects.select_related("organization", "system")
    filterset_class = AlertFilterSet
    columns = [
        Column(gettext_lazy("Alert"), "title", link=True),
        Column(gettext_lazy("Severity"), "severity"),
        Column(gettext_lazy("Status"), "status"),
        Column(gettext_lazy("Kind"), "kind"),
        Column(gettext_lazy("Organisation"), "organization__name"),
        Column(gettext_lazy("System"), "system__name"),
        Column(gettext_lazy("Events"), "count"),
        Column(gettext_lazy("First seen"), "first_seen"),
        Column(gettext_lazy("Last seen"), "last_seen"),
        Column(gettext_lazy("Rule id"), "rule_id", shown=False),
        Column(gettext_lazy("Rule author"), "rule_author", shown=False),
        Column(gettext_lazy("Indicator value"), "indicator_value"),
        Column(gettext_lazy("id"), "id", shown=False),
    ]


class AlertDetailView(ObjectDetailView):
    model = Alert
    template_name = "detection/alert_detail.html"
    fields = [
        "organization",
        "kind",
        "severity",
        "status",
        "system",
        "source_id",
        "rule_id",
        "techniques",
        "indicator_kind",
        "indicator_value",
        "first_seen",
        "last_seen",
        "count",
        "reason",
        "handled_by",
        "handled_at",
    ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        alert = context["object"]
        context.update(
            steps=services.allowed_steps(self.request.user, alert),
            incident_url=services.incident_url(alert),
            drl_url=DRL_URL,
            rule=SigmaRule.objects.filter(rule_id=alert.rule_id).only("pk").first() if alert.rule_id else None,
        )
        return context


class AlertStepView(LoginRequiredMixin, View):
    def post(self, request, pk, step):
        alert = get_scoped_or_404(request.user, Alert.objects.all(), pk=pk)
        try:
            if step == "acknowledge":
                services.acknowledge(alert, by=request.user)
            elif step == "close":
                services.close(alert, by=request.user, reason=request.POST.get("reason", ""))
            elif step == "escalate":
                services.escalate(alert, by=request.user)
            else:
                raise Http404
        except ValidationError as exc:
            for errors in exc.message_dict.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(alert.get_absolute_url())
        messages.success(request, _("Status changed to %(status)s.") % {"status": alert.get_status_display()})
        return redirect(alert.get_absolute_url())


# --- Rules ------------------------------------------------------------------------------------------------


class SigmaRuleListView(ScopedMixin, TemplateView):
    model = SigmaRule
    template_name = "detection/sigmarule_list.html"

    def get_context_data(self, **kwargs):
        filterset = SigmaRuleFilterSet(self.request.GET or None, queryset=SigmaRule.objects.all(), request=self.request)
        page = Paginator(
            filterset.qs.only(
                "pk",
                "rule_id",
                "title",
                "level",
                "status",
                "author",
                "techniques",
                "product",
                "category",
                "enabled",
                "supported",
                "unsupported_reason",
            ),
            50,
        ).get_page(self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        return {
            **super().get_context_data(**kwargs),
            "title": _("Sigma rules"),
            "filterset": filterset,
            "page": page,
            "querystring": query.urlencode(),
            "can_change": services.can_change_rules(self.request.user),
            "drl_url": DRL_URL,
        }


class SigmaRuleDetailView(ScopedMixin, TemplateView):
    model = SigmaRule
    template_name = "detection/sigmarule_detail.html"

    def get_context_data(self, **kwargs):
        rule = get_object_or_404(SigmaRule, pk=self.kwargs["pk"])
        return {
            **super().get_context_data(**kwargs),
            "title": rule.title,
            "object": rule,
            "can_change": services.can_change_rules(self.request.user),
            "drl_url": DRL_URL,
        }


class SigmaRuleToggleView(LoginRequiredMixin, View):
    """Enable or disable the rules ticked on the list (or the one of a detail page)."""

    def post(self, request):
        if not services.can_change_rules(request.user):
            raise PermissionDenied
        enabled = request.POST.get("enabled") == "1"
        # ASCII digits that fit in 64 bits only: "²" is a digit to Python, a longer number overflows the database
        ids = [i for i in request.POST.getlist("rule") if i.isascii() and i.isdigit() and len(i) < 19][:1000]
        if not ids:
            messages.error(request, _("Tick at least one rule."))
        else:
            n = services.set_rules_enabled(SigmaRule.objects.filter(pk__in=ids), enabled, by=request.user)
            messages.success(request, _("%(n)d rules changed.") % {"n": n})
        back = request.POST.get("next", "")
        return redirect(back if back.startswith("/detection/") and "//" not in back else "detection:sigmarule_list")


urlpatterns = [
    path("", DashboardView.as_view(), name="dashboard"),
    path("live/", DashboardLiveView.as_view(), name="dashboard_live"),
    path("alerts/", AlertListView.as_view(), name="alert_list"),
    path("alerts/<uuid:pk>/", AlertDetailView.as_view(), name="alert_detail"),
    path("alerts/<uuid:pk>/<slug:step>/", AlertStepView.as_view(), name="alert_step"),
    path("rules/", SigmaRuleListView.as_view(), name="sigmarule_list"),
    path("rules/<int:pk>/", SigmaRuleDetailView.as_view(), name="sigmarule_detail"),
    path("rules/toggle/", SigmaRuleToggleView.as_view(), name="sigmarule_toggle"),
]
