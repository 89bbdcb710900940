"""The map's vector-tile mode (karte/static/karte/tiles.js) in headless Chromium.

A page holding the map's controls loads Leaflet, Leaflet.VectorGrid and tiles.js from the app's
static files and calls ``KarteTiles.districtLayer`` with a style function shaped like the map's;
the sample city's four districts are drawn from ``/tiles/districts/…pbf`` once the threshold
(``KARTE_MAP_TILES_ABOVE``) is below their count. Checked on the rendered canvas: each district's
fill is the colour of its class from the API's class breaks; a click opens its popup; the selects
recolour and filter. Nothing leaves 127.0.0.1 (``offline`` blocks and records it).
"""
from __future__ import annotations

import io
import json
import time

import pytest
from PIL import Image

from .test_browser import _orm_beside_playwright, chromium, offline  # noqa: F401  (fixtures)
from .test_pages import SAMPLE_AGEING, SAMPLE_DISTRICTS, SAMPLE_WALK, build_sample_city

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><html lang="ja"><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/vendor/leaflet-1.9.4/leaflet.css"></head><body>
<select id="indicator-select"><option value="ageing_rate" selected>高齢化率</option><option value="walk_coverage">徒歩圏カバー率</option></select>
<select id="scheme-select"><option value="quantiles" selected>分位数</option><option value="equal_interval">等間隔</option></select>
<select id="classes-select"><option value="4" selected>4</option><option value="3">3</option></select>
<select id="ward-select"><option value="">市全域</option><option value="14131">川崎区</option><option value="14132">幸区</option></select>
<p id="map-status"></p>
<div id="map" style="width:760px;height:560px"></div>
<script src="/static/vendor/leaflet-1.9.4/leaflet.js"></script>
<script src="/static/vendor/leaflet.vectorgrid-1.3.0/Leaflet.VectorGrid.bundled.min.js"></script>
<script src="/static/karte/classify.js"></script>
<script src="/static/karte/common.js"></script>
<script src="/static/karte/tiles.js"></script>
<script>
  const config = CONFIG;
  const map = L.map("map", { zoomSnap: 0.5, fadeAnimation: false });
  let breaks = [], palette = [];
  window.classesSeen = [];
  window.fillOf = (value) => {
    const index = KarteClassify.classOf(value, breaks);
    return index < 0 ? KarteClassify.NO_DATA : palette[Math.min(index, palette.length - 1)];
  };
  function styleFor(feature) {
    const code = document.getElementById("indicator-select").value;
    return { color: "#444", weight: 1, opacity: 1, fillOpacity: 1, fillColor: fillOf(feature.properties[code]) };
  }
  KarteTiles.districtLayer(map, config, styleFor, (b, p) => { breaks = b; palette = p; classesSeen.push(b); })
    .then((layer) => { window.tileLayer = layer; document.getElementById("map").dataset.ready = layer ? "tiles" : "geojson"; });
</script></body></html>"""

CONFIG = {
    "urls": {"district_tiles": "/tiles/districts.json", "district_page": "/districts/__code__/"},
    "indicators": [
        {"code": "ageing_rate", "label": "高齢化率", "unit": "%", "higher_is": "worse"},
        {"code": "walk_coverage", "label": "徒歩圏カバー率", "unit": "%", "higher_is": "better"},
    ],
    "strings": {"district": "地区", "ward": "区", "city": "市", "open_karte": "カルテを開く", "districts_shown": "表示中の地区"},
    "language": "ja",
}


@pytest.fixture
def sample(transactional_db):
    from karte.layers import tiles

    tiles.forget()
    return build_sample_city()


def _open(offline, mode: str):
    browser = offline()
    page = browser.goto("/healthz")
    page.set_content(PAGE.replace("CONFIG", json.dumps(CONFIG)))
    page.wait_for_selector(f"#map[data-ready='{mode}']", timeout=15000)
    return browser, page


def _wait_for_tiles(page) -> None:
    page.wait_for_function("document.querySelectorAll('#map canvas.leaflet-tile-loaded').length > 0", timeout=15000)
    page.wait_for_timeout(300)  # the canvases are painted on the next animation frame


def _pixel(page, lon: float, lat: float) -> str:
    """The rendered colour (#rrggbb) at a point of the map."""
    x, y = page.evaluate("([lon, lat]) => { const p = map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
                         [lon, lat])
    box = page.locator("#map").bounding_box()
    png = page.screenshot(clip={"x": box["x"] + x, "y": box["y"] + y, "width": 1, "height": 1})
    r, g, b = Image.open(io.BytesIO(png)).convert("RGB").getpixel((0, 0))
    return f"#{r:02x}{g:02x}{b:02x}"


def _pixel_when(page, point: tuple[float, float], wanted, seconds: float = 10.0) -> str:
    """The colour at ``point`` once ``wanted(colour)`` holds (the tiles redraw asynchronously)."""
    deadline = time.monotonic() + seconds
    while True:
        colour = _pixel(page, *point)
        if wanted(colour) or time.monotonic() > deadline:
            return colour
        page.wait_for_timeout(100)


def _centre(code: str) -> tuple[float, float]:
    corner = next(corner for c, *_, corner in SAMPLE_DISTRICTS if c == code)
    return corner[0] + 0.01, corner[1] + 0.01


def test_large_layers_are_drawn_from_tiles_in_their_class_colours(offline, sample, settings, artifacts_dir):
    settings.KARTE_MAP_TILES_ABOVE = 3  # the sample city's 4 districts count as "large"
    browser, page = _open(offline, "tiles")
    _wait_for_tiles(page)
    assert page.evaluate("classesSeen.length") == 1
    assert len(page.evaluate("classesSeen[0]")) == 5  # 4 quantile classes of the API: 5 edges
    colours = {code: _pixel(page, *_centre(code)) for code, *_ in SAMPLE_DISTRICTS}
    for code, *_ in SAMPLE_DISTRICTS:
        assert colours[code] == page.evaluate("v => fillOf(v)", SAMPLE_AGEING[code]), code
    assert len(set(colours.values())) == 4
    assert "表示中の地区: 4" in page.inner_text("#map-status")
    page.screenshot(path=str(artifacts_dir / "map_tiles_mode.png"))
    assert any("/tiles/districts/" in url and url.endswith(".pbf") for url in browser.served)
    assert browser.blocked == []


def test_tile_mode_popup_and_selects(offline, sample, settings):
    settings.KARTE_MAP_TILES_ABOVE = 3
    browser, page = _open(offline, "tiles")
    _wait_for_tiles(page)
    x, y = page.evaluate("([lon, lat]) => { const p = map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
                         list(_centre("1413202")))
    page.locator("#map").click(position={"x": x, "y": y})
    popup = page.wait_for_selector(".leaflet-popup-content")
    text = popup.inner_text()
    assert "南河原地区" in text and "31.6%" in text and "幸区" in text
    assert page.get_attribute(".leaflet-popup-content .popup-link", "href") == "/districts/1413202/"
    page.keyboard.press("Escape")

    before = _pixel(page, *_centre("1413102"))
    page.select_option("#indicator-select", "walk_coverage")
    page.wait_for_function("classesSeen.length === 2")
    # 田島地区: the lowest ageing rate but the best walk coverage, so its colour changes.
    walk_fill = page.evaluate("v => fillOf(v)", SAMPLE_WALK["1413102"])
    assert walk_fill != before
    assert _pixel_when(page, _centre("1413102"), lambda colour: colour == walk_fill) == walk_fill
    assert "indicator=walk_coverage" in page.url

    # The redraw is asynchronous: wait for 南河原地区 (幸区) in its walk-coverage colour first.
    fill = page.evaluate("v => fillOf(v)", SAMPLE_WALK["1413202"])
    assert _pixel_when(page, _centre("1413202"), lambda colour: colour == fill) == fill
    page.select_option("#ward-select", "14131")
    background = "#dddddd"  # Leaflet's map background: nothing drawn there
    assert _pixel_when(page, _centre("1413202"), lambda colour: colour == background) == background
    # The ward's own districts are drawn again too (asynchronously): wait for their colour.
    kept = page.evaluate("v => fillOf(v)", SAMPLE_WALK["1413101"])
    assert _pixel_when(page, _centre("1413101"), lambda colour: colour == kept) == kept
    assert browser.blocked == []


def test_small_layers_stay_geojson(offline, sample, settings):
    settings.KARTE_MAP_TILES_ABOVE = 3000
    browser, page = _open(offline, "geojson")
    assert page.evaluate("classesSeen.length") == 0
    assert not any(url.endswith(".pbf") for url in browser.served)
