"""The karte of any area in headless Chromium: on the city map, lasso three 町丁 and open their
karte (the pyramid sums to their population); its permalink reopened in a new page shows the same
figures; a polygon drawn outside the city gets the clear error. Nothing leaves 127.0.0.1."""
from __future__ import annotations

import pytest

from karte.models import CensusArea, CensusFigure
from spatial.indicators import BANDS

from .test_browser import _orm_beside_playwright, _wait_for_map, chromium, offline, sample  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

LASSOED = ("141310100", "141310101", "141310103")  # an L of three small areas of 大師地区 (2 × 2 grid)


@pytest.fixture
def city_with_ages(sample):
    """The sample city, each small area with population by sex and 5-year band summing to its total."""
    for area in CensusArea.objects.all():
        total = int(CensusFigure.objects.get(key_code=area.key_code, variable="pop_total").value)
        cells = [(sex, band) for band in BANDS for sex in ("m", "f")]
        each, rest = divmod(total, len(cells))
        CensusFigure.objects.bulk_create([
            CensusFigure(key_code=area.key_code, census_year=2020, variable=f"pop_{sex}_{band}",
                         value=each + (rest if i == 0 else 0), dataset=area.dataset)
            for i, (sex, band) in enumerate(cells)])
    return sample


def _settle(page, centre: tuple[float, float], zoom: int) -> None:
    """Put the map at ``centre`` and ``zoom`` once its own opening animation is over (asked again
    until the view stays put), so that screen positions hold while the mouse moves."""
    page.wait_for_function("""([lat, lon, zoom]) => { const m = window.KarteMapView.map, c = m.getCenter();
        if (m.getZoom() === zoom && Math.abs(c.lat - lat) < 1e-6 && Math.abs(c.lng - lon) < 1e-6) return true;
        m.setView([lat, lon], zoom, { animate: false }); return false; }""", arg=[*centre, zoom], polling=300,
                           timeout=15000)


def _screen_points(page, codes) -> list[tuple[float, float]]:
    """Where the small areas' inner points are on the page (the map's container + its offset)."""
    return page.evaluate("""codes => {
        const view = window.KarteMapView, box = view.map.getContainer().getBoundingClientRect();
        const out = [];
        view.map.eachLayer(layer => {
          const p = layer.feature && layer.feature.properties;
          if (p && p.key_code && codes.includes(p.key_code)) {
            const pt = view.map.latLngToContainerPoint([p.lat, p.lon]);
            out.push([codes.indexOf(p.key_code), box.left + pt.x, box.top + pt.y]);
          }
        });
        return out.sort((a, b) => a[0] - b[0]).map(a => [a[1], a[2]]);
    }""", list(codes))


def _lasso(page, points, margin: float = 15.0) -> None:
    """Drag a lasso round an L of three points (left, right below it, right above): an L-shaped
    band ``margin`` pixels wide about them, holding them and none of their neighbours."""
    (x0, y0), (x1, y1), (x3, y3) = points
    m = margin
    path = [(x0 - m, y0 + m), (x1 + m, y1 + m), (x3 + m, y3 - m), (x3 - m, y3 - m), (x1 - m, y0 - m),
            (x0 - m, y0 - m), (x0 - m, y0 + m)]
    page.mouse.move(*path[0])
    page.mouse.down()
    for x, y in path[1:]:
        page.mouse.move(x, y, steps=6)
    page.mouse.up()


def _figures(page) -> dict[str, str]:
    return page.eval_on_selector_all("#indicator-table tbody tr", """rows => Object.fromEntries(rows.map(
        r => [r.dataset.indicator, [...r.querySelectorAll('td.num')].map(td => td.textContent.trim()).join('|')]))""")


def test_lasso_three_small_areas_then_their_karte_and_its_permalink(offline, city_with_ages, settings, artifacts_dir):
    settings.KARTE_TILES = "none"
    browser = offline()
    page = browser.goto("/")
    _wait_for_map(page)
    page.check("#area-mode-pick")
    page.wait_for_selector("#map[data-small-areas]", timeout=15000)
    _settle(page, (35.53, 139.71), 14)
    page.wait_for_function("codes => { let n = 0; window.KarteMapView.map.eachLayer(l => { const p = l.feature && "
                           "l.feature.properties; if (p && codes.includes(p.key_code)) n++; }); return n === codes.length; }",
                           arg=list(LASSOED), timeout=15000)
    _lasso(page, _screen_points(page, LASSOED))
    assert page.inner_text("#area-status").endswith(": 3")
    page.screenshot(path=str(artifacts_dir / "area_lasso.png"))
    page.click("#area-open")
    page.wait_for_url("**/area/?codes=*", wait_until="domcontentloaded", timeout=60000)
    assert sorted(page.url.split("codes=")[1].replace("%2C", ",").split(",")) == sorted(LASSOED)
    page.wait_for_selector("#district-map[data-ready='1']", timeout=15000)
    population = sum(CensusFigure.objects.get(key_code=k, variable="pop_total").value for k in LASSOED)
    assert float(page.get_attribute("#area-pyramid", "data-total")) == population
    assert float(page.get_attribute("tr[data-indicator=pop_total] td.area-value", "data-value")) == population
    assert page.get_attribute("#area-method", "data-method") == "whole"
    page.screenshot(path=str(artifacts_dir / "area_karte.png"), full_page=True)
    figures = _figures(page)

    # The permalink, opened in a new page of a new browser context, shows the same figures.
    permalink = page.get_attribute("#area-permalink", "href")
    again = offline().goto(permalink)
    again.wait_for_selector("#district-map[data-ready='1']", timeout=15000)
    assert _figures(again) == figures
    assert browser.blocked == []


def test_drawn_polygon_karte_and_outside_the_city_is_a_clear_error(offline, city_with_ages, settings, artifacts_dir):
    settings.KARTE_TILES = "none"
    browser = offline()
    page = browser.goto("/")
    _wait_for_map(page)
    page.check("#area-mode-polygon")
    _settle(page, (35.53, 139.71), 14)
    box = page.eval_on_selector("#map", "m => { const r = m.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }")
    left, top, width, height = box
    corners = [(left + width * fx, top + height * fy) for fx, fy in ((0.35, 0.35), (0.65, 0.35), (0.65, 0.65), (0.35, 0.65))]
    for x, y in corners + corners[:1]:
        page.mouse.click(x, y)
    page.click("#area-open")
    page.wait_for_url("**/area/?geometry=*", wait_until="domcontentloaded", timeout=60000)
    page.wait_for_selector("#district-map[data-ready='1']", timeout=15000)
    assert float(page.get_attribute("tr[data-indicator=pop_total] td.area-value", "data-value")) > 0
    figures = _figures(page)
    again = offline().goto(page.get_attribute("#area-permalink", "href"))
    assert _figures(again) == figures

    # Far outside the city (the map panned away): the page says so, plainly.
    page = browser.goto("/")
    _wait_for_map(page)
    _settle(page, (34.0, 138.0), 13)  # panned far away, as a user would drag
    page.check("#area-mode-polygon")
    for x, y in corners + corners[:1]:
        page.mouse.click(x, y)
    page.click("#area-open")
    page.wait_for_url("**/area/?geometry=*", wait_until="domcontentloaded", timeout=60000)
    message = page.inner_text("#area-error")
    assert "outside every city" in message
    page.screenshot(path=str(artifacts_dir / "area_outside.png"))
    assert browser.blocked == []


def test_a_candidate_sites_popup_opens_the_karte_of_its_walking_circle(offline, city_with_ages, settings):
    settings.KARTE_TILES = "none"
    browser = offline()
    page = browser.goto("/districts/1413101/")
    page.wait_for_selector("#district-map[data-ready='1']", timeout=15000)
    page.locator(".candidate-icon").first.click()
    link = page.locator(".leaflet-popup-content a.area-around")
    assert "radius=500" in link.get_attribute("href")
    link.press("Enter")
    page.wait_for_url("**/area/?lon=*", wait_until="domcontentloaded", timeout=60000)
    page.wait_for_selector("#district-map[data-ready='1']", timeout=15000)
    assert page.get_attribute("#area-method", "data-method") in ("area", "dasymetric", "whole")
    assert page.locator("tr[data-indicator=pop_total]").count() == 1
    assert browser.blocked == []


def test_walking_circle_from_the_map(offline, city_with_ages, settings):
    settings.KARTE_TILES = "none"
    browser = offline()
    page = browser.goto("/")
    _wait_for_map(page)
    page.check("#area-mode-circle")
    _settle(page, (35.53, 139.71), 14)
    page.fill("#area-radius", "400")
    left, top, width, height = page.eval_on_selector(
        "#map", "m => { const r = m.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }")
    page.mouse.click(left + width / 2, top + height / 2)
    page.click("#area-open")
    page.wait_for_url("**/area/?lon=*", wait_until="domcontentloaded", timeout=60000)
    assert "radius=400" in page.url
    page.wait_for_selector("#district-map[data-ready='1']", timeout=15000)
    area = float(page.inner_text("#area-title ~ p.muted").split("km²")[0].split()[-1])
    assert area == pytest.approx(3.14159 * 0.4 ** 2, rel=0.01)  # π r², the circle drawn with 64 segments
    assert float(page.get_attribute("tr[data-indicator=pop_total] td.area-value", "data-value")) > 0
    assert browser.blocked == []
