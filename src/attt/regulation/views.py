"""Pages: the regimes, one regime's criteria and catalogues, and the level calculator.

Regulation is public law: every logged-in user may read it (no scoping, no organisation).
"""

from __future__ import annotations

import json
from itertools import groupby

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from attt.regulation import services
from attt.regulation.forms import AssessForm

LEVELS = (1, 2, 3, 4, 5)


class RegimeListView(LoginRequiredMixin, TemplateView):
    template_name = "regulation/regime_list.html"

    def get_context_data(self, **kwargs):
        today = timezone.localdate()
        rows = [
            {
                "regime": r,
                "in_force": r.in_force(today),
                "authority": r.national_authority(today if r.in_force(today) else None),
                "criteria": len(r.criteria),
                "requirements": [sum(1 for q in r.requirements if q.applies_to(lvl)) for lvl in LEVELS],
            }
            for r in services.regimes()
        ]
        return {**super().get_context_data(**kwargs), "title": _("Legal regimes"), "rows": rows}


class RegimeDetailView(LoginRequiredMixin, TemplateView):
    template_name = "regulation/regime_detail.html"

    def get_context_data(self, **kwargs):
        try:
            regime = services.get_regime(self.kwargs["code"])
        except services.UnknownRegime:
            raise Http404 from None
        catalogue = []
        for level in LEVELS:
            rows = services.requirements(regime, level)
            groups = [(category, list(items)) for category, items in groupby(rows, key=lambda r: r.category)]
            catalogue.append((level, groups, len(rows), sum(1 for r in rows if r.unverified)))
        today = timezone.localdate()
        return {
            **super().get_context_data(**kwargs),
            "title": regime.title(),
            "regime": regime,
            "in_force": regime.in_force(today),
            "criteria": [(level, regime.criteria_for(level)) for level in LEVELS],
            "catalogue": catalogue,
            "authorities": regime.authorities,
            "timers": regime.timers,
            "checks": [(kind, list(items)) for kind, items in groupby(regime.checks, key=lambda c: c.kind)],
            "reports": regime.reports,
            "calendar_years": _calendar_years(),
        }


def _calendar_years():
    year = timezone.localdate().year
    return [(y, services.calendar_covers(y), services.holidays(y)) for y in (year, year + 1)]


class AssessView(LoginRequiredMixin, TemplateView):
    """The level calculator. A GET form: the result is a link that can be shared or bookmarked."""

    template_name = "regulation/assess.html"

    def get_context_data(self, **kwargs):
        query = self.request.GET
        if set(query) <= {"regime"}:  # opened (from a regime's page) on one regime: nothing answered yet
            form = AssessForm(initial={"regime": query.get("regime", "")})
        else:
            form = AssessForm(query)
        result = facts_json = None
        if form.is_bound and form.is_valid():
            facts = form.facts_document()
            try:
                result = services.assess(facts, regime=form.cleaned_data["regime"] or None)
            except services.InvalidFacts as exc:
                form.add_error(None, str(exc))
            else:
                facts_json = json.dumps({"regime": result.regime, "facts": facts}, ensure_ascii=False, indent=2)
        regime = services.get_regime(result.regime) if result else None
        return {
            **super().get_context_data(**kwargs),
            "title": _("Level calculator"),
            "form": form,
            "result": result,
            "result_regime": regime,
            "facts_json": facts_json,
        }
