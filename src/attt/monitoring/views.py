"""Pages of central monitoring: sources (list, detail with health and recent events, edit, token rotation), the
event search, and the live page, whose figures refresh by HTMX polling; `live_stats` is the card the detection
dashboard embeds."""

import datetime as dt
import json
import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, QueryDict
from django.shortcuts import redirect
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView
from rest_framework.throttling import UserRateThrottle

from attt.core import scoping
from attt.core.views.generic import (
    Column,
    ObjectDeleteView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    get_scoped_or_404,
)
from attt.monitoring import services
from attt.monitoring.filtersets import SourceFilterSet
from attt.monitoring.forms import EventSearchForm
from attt.monitoring.models import EDITABLE_FIELDS, Source
from attt.monitoring.normalise import column_text, parse_time
from attt.monitoring.parsers import ParseError
from attt.registry import services as registry

POLL_SECONDS = 5


class SourceListView(ObjectListView):
    model = Source
    queryset = Source.objects.select_related("organization")
    filterset_class = SourceFilterSet
    columns = [
        Column(gettext_lazy("Name"), "name", link=True),
        Column(gettext_lazy("Organisation"), "organization__name"),
        Column(gettext_lazy("Format"), "log_format"),
        Column(gettext_lazy("Expected interval (minutes)"), "expected_interval_minutes"),
        Column(gettext_lazy("Last seen"), "last_seen_at"),
        Column(gettext_lazy("Active"), "is_active"),
        Column(gettext_lazy("id"), "id", shown=False),
    ]


class SourceDetailView(ObjectDetailView):
    model = Source
    template_name = "monitoring/source_detail.html"
    fields = [
        "organization",
        "log_format",
        "expected_interval_minutes",
        "expected_events_per_minute",
        "is_active",
        "token_hint",
        "last_seen_at",
        "description",
    ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        source = context["object"]
        context["health"] = services.health([source])[source.pk]
        context["systems"] = registry.visible_systems(self.request.user).filter(pk__in=source.systems.values("pk"))
        context["events"] = [_shown(e) for e in services.recent_events(self.request.user, limit=20, source=source)]
        context["rejections"] = services.store().recent_rejections(str(source.pk))
        context["can_rotate"] = scoping.can(self.request.user, "change", source)
        return context


def _shown(event: dict) -> dict:
    """A row of the recent events: a sender's `host` may be anything (NDJSON keeps its fields as sent); the host
    shown is the one the store indexes, an object's name or hostname."""
    host = event.get("host")
    return {
        "time": _local_time(event.get("@timestamp")),
        "iso": event.get("@timestamp"),
        "host": column_text(host.get("name") or host.get("hostname")) if isinstance(host, dict) else None,
        "original": event["event"].get("original", ""),
    }


def _local_time(value) -> str:
    """An event's `@timestamp` in the platform's time zone to the millisecond, as analysts compare it with their
    own logs; the text as stored when it does not read as a time."""
    try:
        local = timezone.localtime(parse_time(value))
    except ParseError:
        return str(value or "")
    return f"{local:%Y-%m-%d %H:%M:%S}.{local.microsecond // 1000:03d}"


class SourceForm(forms.ModelForm):
    class Meta:
        model = Source
        fields = EDITABLE_FIELDS


class SourceEditView(ObjectEditView):
    model = Source
    form_class = SourceForm

    def get_form(self):
        form = super().get_form()
        form.fields["systems"].queryset = registry.visible_systems(self.request.user, "view")
        return form

    def save(self, form):
        if not form.instance._state.adding:
            return super().save(form)  # over the row as stored now: a rotated token or a silence flag stays
        source = form.save(commit=False)
        token = source.new_token()
        source.save()
        form.save_m2m()
        shown_once = _("Token of this source (shown once, keep it now): %(token)s") % {"token": token}
        messages.warning(self.request, shown_once)
        return source


class SourceDeleteView(ObjectDeleteView):
    model = Source


class SourceRotateView(LoginRequiredMixin, View):
    def post(self, request, pk):
        source = get_scoped_or_404(request.user, Source.objects.all(), pk=pk)
        if not scoping.can(request.user, "change", source):
            raise PermissionDenied
        token = services.rotate_token(source)
        messages.warning(
            request, _("New token (shown once; the old one no longer works): %(token)s") % {"token": token}
        )
        return redirect(source.get_absolute_url())


class MonitoringMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not services.sees_sources(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class EventSearchView(MonitoringMixin, TemplateView):
    """Stored events of the user's scope, newest first, by time, organisation, source, system, dataset, host and
    text; a row's dataset, host or system narrows the search to it. A first visit shows the last 24 hours."""

    template_name = "monitoring/event_search.html"

    def get(self, request, *args, **kwargs):
        throttle = EventSearchThrottle()
        if not throttle.allow_request(request, self):
            response = self.render_to_response({"limited": True}, status=429)
            response["Retry-After"] = str(int(throttle.wait() or 60))
            return response
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        user = self.request.user
        data = self.request.GET
        if not data:
            data = QueryDict(mutable=True)
            data["since"] = (timezone.localtime() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        form = EventSearchForm(user, data)
        context = {**super().get_context_data(**kwargs), "form": form, "rows": [], "complete": True, "searched": False}
        if form.is_valid():
            found = services.search_events(
                user, form.query(), form.cleaned_data["organization"], form.cleaned_data["limit"] or SHOWN_EVENTS
            )
            sources = services.visible_sources(user).in_bulk({h.source_id for h in found.hits})
            context.update(rows=[_found(hit, sources) for hit in found.hits], complete=found.complete, searched=True)
        return context


SHOWN_EVENTS = 100


class EventSearchThrottle(UserRateThrottle):
    """Searches per user, page and API together: one may read chunks for seconds."""

    scope = "event_search"
    rate = "30/minute"


def _found(hit, sources: dict) -> dict:
    """A row of the search: `_shown`'s columns, the source, the dataset, the system from the event's block, and
    the whole document."""
    document = hit.document
    event, ours = document.get("event"), document.get("attt")
    block = ours.get("system") if isinstance(ours, dict) else None
    return {
        **_shown(document),
        "source": sources.get(uuid.UUID(hit.source_id)),
        # as the store indexes it, so the row's link finds the row
        "dataset": column_text(event.get("dataset") or event.get("module")) if isinstance(event, dict) else None,
        "system": block if isinstance(block, dict) else None,
        "document": json.dumps(document, ensure_ascii=False, indent=2, default=str),
    }


class LiveView(MonitoringMixin, TemplateView):
    """Sources with their health, events/s and silent sources; the table refreshes itself."""

    template_name = "monitoring/live.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "poll_seconds": POLL_SECONDS, **live_context(self.request.user)}


def live_context(user) -> dict:
    sources = list(services.visible_sources(user).order_by("organization__name", "name")[:200])
    health = services.health(sources)
    return {
        "figures": services.throughput(user),
        "rows": [(s, health[s.pk]) for s in sources],
        "silent": services.silent_sources(user)[:20],
        # the pipeline is the platform operators' concern: they alone see batches set aside
        "set_aside": services.set_aside_count() if user.is_superuser else 0,
        "parked": services.parked_count() if user.is_superuser else 0,
    }


class LiveFragmentView(MonitoringMixin, TemplateView):
    template_name = "monitoring/live_fragment.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **live_context(self.request.user)}


class LiveStatsView(MonitoringMixin, TemplateView):
    """A small card with the throughput figures (embedded by the detection dashboard); ?org=<id> narrows it to
    one organisation's subtree, as the dashboard around it is."""

    template_name = "monitoring/live_stats.html"

    def get_context_data(self, **kwargs):
        within = None
        if org := self.request.GET.get("org"):
            within = services.organization_in_scope(self.request.user, org)
            if within is None:
                raise Http404
        return {**super().get_context_data(**kwargs), "figures": services.throughput(self.request.user, within)}


urlpatterns = [
    path("", LiveView.as_view(), name="live"),
    path("live/fragment/", LiveFragmentView.as_view(), name="live_fragment"),
    path("live/stats/", LiveStatsView.as_view(), name="live_stats"),
    path("events/", EventSearchView.as_view(), name="event_search"),
    path("sources/", SourceListView.as_view(), name="source_list"),
    path("sources/new/", SourceEditView.as_view(), name="source_add"),
    path("sources/<uuid:pk>/", SourceDetailView.as_view(), name="source_detail"),
    path("sources/<uuid:pk>/edit/", SourceEditView.as_view(), name="source_edit"),
    path("sources/<uuid:pk>/delete/", SourceDeleteView.as_view(), name="source_delete"),
    path("sources/<uuid:pk>/rotate/", SourceRotateView.as_view(), name="source_rotate"),
]
