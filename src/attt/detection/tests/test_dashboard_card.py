"""Monitoring's card on the dashboard comes with the page (its figures show without script) and is then
refreshed by HTMX; it covers what the dashboard covers."""

import re

import pytest
from django.urls import reverse

from attt.core.testing import make_user
from attt.monitoring.tests.factories import make_source

pytestmark = pytest.mark.django_db


def card(html: str) -> str:
    found = re.search(r'<div data-testid="monitoring-live"[^>]*>(.*?)</div></div>', html, re.S)
    assert found, "no monitoring card"
    return found.group(0)


def sources_figure(html: str) -> str:
    return re.search(r"<strong>(\d+) / (\d+)</strong>", card(html)).group(2)


def test_card_figures_are_in_the_first_response(client, tree, national_admin):
    make_source(tree.dept_a)
    make_source(tree.dept_b)
    client.force_login(national_admin)
    html = client.get(reverse("detection:dashboard")).content.decode()
    block = card(html)
    assert 'data-testid="monitoring-live-stats"' in block
    assert 'hx-trigger="load' not in block and "Đang tải" not in block
    assert sources_figure(html) == "2"
    narrowed = client.get(reverse("detection:dashboard"), {"org": tree.province_a.pk}).content.decode()
    assert sources_figure(narrowed) == "1"


def test_no_card_for_a_subtree_whose_sources_the_user_does_not_see(client, tree):
    """Alerts seen over Tỉnh A, event sources only over Tỉnh B: narrowed to Sở A, the dashboard shows no card
    rather than figures of another subtree."""
    from attt.core.models import Role, RoleAssignment
    from attt.core.scoping import forget_scope

    Role.objects.create(code="alerts-here", name="Alerts here", permissions=["detection.*.view"])
    sources = Role.objects.create(code="sources-there", name="Sources there", permissions=["monitoring.source.view"])
    user = make_user(tree.province_a, "alerts-here", username="alerts-here")
    RoleAssignment.objects.create(user=user, role=sources, organization=tree.province_b)
    forget_scope(user)
    make_source(tree.dept_b)
    client.force_login(user)
    assert sources_figure(client.get(reverse("detection:dashboard")).content.decode()) == "1"
    html = client.get(reverse("detection:dashboard"), {"org": tree.dept_a.pk}).content.decode()
    assert 'data-testid="detection-live"' in html and 'data-testid="monitoring-live"' not in html
