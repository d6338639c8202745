"""The compliance demo loader at a small scale: seed shares, consistent history, and a trend to draw."""

import random
import sys

import pytest

from attt.compliance import dashboards, demo_data
from attt.compliance.models import Finding, Inspection, LevelDossier, StatusReport
from attt.core import demo
from attt.core.models import User

pytestmark = pytest.mark.django_db


def _run(name: str, scale: float):
    loader = next(x for x in demo.loaders if x.name == name)
    ctx = demo.DemoContext(rng=random.Random(f"7:{name}"), scale=scale, progress=lambda _label: None, stdout=sys.stdout)
    return loader.func(ctx)


@pytest.fixture
def demo_loaded(db):
    from attt.registry import demo_data as registry_demo  # noqa: F401  (registers the registry's loader)

    _run("core", 1)
    _run("registry", 0.05)
    return _run("compliance", 0.05)


def test_demo_history(demo_loaded):
    """One test for the whole load (it takes a few seconds): seed shares, trend, inspection."""
    admin = User.objects.get(username="admin")
    figures = dashboards.node_figures(admin)
    n = figures["systems"]
    assert n == demo_loaded["systems"] > 100
    assert figures["approved"] == round(n * demo_data.SEED_APPROVED / demo_data.SEED_SYSTEMS)
    assert figures["fully"] == round(n * demo_data.SEED_FULLY)
    assert figures["dossiers_overdue"] > 0 and figures["checks_overdue"] > 0
    assert 0 < figures["layers"]["all"] < n
    decisions = LevelDossier.objects.filter(state="approved").values_list("decision_number", flat=True)
    assert all("/QĐ-" in number for number in decisions)
    assert {"draft", "submitted", "appraisal"} <= set(LevelDossier.objects.values_list("state", flat=True))

    trend = figures["trend"]  # twelve monthly reports per province and ministry, climbing to today
    assert len(trend) == 12
    full_month, last_month = trend[-2], trend[-1]  # last month, one owner has not reported yet
    assert last_month["reports"] == full_month["reports"] - 1
    assert trend[0]["approved"] <= full_month["approved"] and trend[0]["fully"] <= full_month["fully"]
    assert trend[0]["approved_pct"] < full_month["approved_pct"]
    assert StatusReport.objects.filter(state="submitted", kind="monthly").exists()

    inspection = Inspection.objects.get()
    assert inspection.targets.count() == 2
    states = set(Finding.objects.filter(inspection=inspection).values_list("state", flat=True))
    assert states == set(Finding.State.values)
