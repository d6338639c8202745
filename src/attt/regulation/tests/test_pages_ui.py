"""The regime page in Vietnamese and without script: requirement areas in words, every tab's content on the
page with its own heading (the tabs need script to switch)."""

import re

import pytest
from django.urls import reverse

from attt.core.testing import make_user
from attt.regulation import services
from attt.regulation.domain import AREAS


@pytest.fixture
def reader_vi(client, tree):
    client.force_login(make_user(tree.dept_a, username="reader-vi"))
    client.cookies["attt_language"] = "vi"
    return client


def area_cells(html: str) -> set[str]:
    return set(re.findall(r'</code><div class="small text-body-secondary">([^<]*)</div>', html))


def test_every_area_of_the_data_has_a_label():
    areas = {
        r.area
        for code in ("ND85_2016", "ND331_2026")
        for level in range(1, 6)
        for r in services.requirements(code, level)
        if r.area
    }
    assert areas and areas <= set(AREAS)


@pytest.mark.parametrize("code", ["ND85_2016", "ND331_2026"])
def test_requirement_areas_are_words_in_the_users_language(reader_vi, code):
    html = reader_vi.get(reverse("regulation:regime_detail", args=[code])).content.decode()
    assert area_cells(html) == {"Mạng", "Máy chủ", "Ứng dụng", "Dữ liệu"}
    reader_vi.cookies["attt_language"] = "en"
    html = reader_vi.get(reverse("regulation:regime_detail", args=[code])).content.decode()
    assert area_cells(html) == {"Network", "Server", "Application", "Data"}


def test_every_pane_has_a_heading_for_readers_without_script(reader_vi):
    html = reader_vi.get(reverse("regulation:regime_detail", args=["ND331_2026"])).content.decode()
    heading = r'<(?:section|div) class="tab-pane[^"]*" id="(pane-[^"]+)"[^>]*>\s*<(h[23]) class="[^"]*\bnojs-only\b'
    panes = re.findall(heading, html)
    all_panes = re.findall(r'class="tab-pane[^"]*" id="(pane-[^"]+)"', html)
    assert [p for p, _h in panes] == all_panes and len(all_panes) > 5


def test_the_assess_page_opened_on_a_regime_asks_before_it_complains(reader_vi):
    """A regime page's link (?regime=…) opened the assessment with every question marked as missing."""
    html = reader_vi.get(reverse("regulation:assess"), {"regime": "ND85_2016"}).content.decode()
    assert "invalid-feedback" not in html
    assert re.search(r'<option value="ND85_2016"[^>]* selected', html)
