"""Change over time in a real browser (headless Chromium, offline as in tests/test_browser.py) on the
demo city: the map coloured by the change of the ageing rate with a diverging legend, and a district's
karte with its 2015 column, the pyramid's 2015 outline and the projection chart."""
from __future__ import annotations

import pytest

from .test_browser import _district_fills, _orm_beside_playwright, _wait_for_map, chromium, offline  # noqa: F401

pytestmark = pytest.mark.browser

FALLS = {"#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061"}
RISES = {"#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f"}
DIVERGING = FALLS | RISES | {"#f7f7f7"}


def test_map_of_the_change_and_a_karte_with_2015(offline, transactional_db, settings, artifacts_dir):
    from karte.compute import compute_all
    from karte.demo import load_demo
    from karte.models import District, IndicatorValue

    load_demo()
    compute_all()
    settings.KARTE_TILES = "none"
    browser = offline()
    page = browser.goto("/?indicator=ageing_rate_change")
    _wait_for_map(page)
    fills = _district_fills(page)
    assert set(fills.values()) <= DIVERGING | {"#d9d9d9"} and len(set(fills.values())) >= 2
    legend = page.inner_text("#legend")
    assert "pt" in legend and "赤" in legend
    # The district whose ageing rate rose most is red, whatever the class breaks are.
    top = (IndicatorValue.objects.filter(tier="district", indicator="ageing_rate_change", value__isnull=False)
           .order_by("-value").first())
    if top.value > 0:
        assert fills[top.area_code] in RISES
    # Every class has its own colour (all changes one way still give k shades).
    k = len(page.query_selector_all("#legend li")) - 1
    assert len(set(page.eval_on_selector_all("#legend li .swatch", "s => s.map(x => x.dataset.colour)"))) == k + 1
    page.screenshot(path=str(artifacts_dir / "map_ageing_rate_change.png"))

    district = District.objects.get(code=top.area_code)
    page = browser.goto(f"/districts/{district.code}/")
    _wait_for_map(page, "#district-map")
    assert page.is_visible("svg.trend-chart") and page.is_visible("th.earlier-head")
    assert page.inner_text("th.earlier-head") == "2015年"
    assert page.query_selector_all("svg.population-pyramid rect.pyramid-earlier")
    page.screenshot(path=str(artifacts_dir / "district_change.png"), full_page=True)
    assert browser.blocked == []
