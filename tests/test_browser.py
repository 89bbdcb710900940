"""The pages in a real browser: Debian's Chromium driven by Playwright against the app served by the
test run (pytest-django ``live_server`` on 127.0.0.1), with the small city of ``test_pages``.

Every test blocks all requests that would leave 127.0.0.1 and asserts none got out, so the pages
are shown to work offline; screenshots go to ``artifacts/`` for a person to look at.
"""
from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

from karte.models import IndicatorValue, SitingRun

from .test_pages import SAMPLE_DISTRICTS, build_sample_city

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
LOCAL_HOSTS = {"127.0.0.1"}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium():
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (scripts/system-deps.sh test)")
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module", autouse=True)
def _orm_beside_playwright():
    """Playwright's sync API keeps an event loop in this thread for the whole module; the ORM calls
    of the tests (and the database flush after each) are plain synchronous code all the same, so
    Django's async-safety guard is switched off here, and restored after the module."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def sample(transactional_db):
    return build_sample_city()


class OfflinePage:
    """A browser page whose requests to anywhere but 127.0.0.1 are aborted and recorded."""

    def __init__(self, browser, base_url: str, locale: str = "ja-JP", bypass_csp: bool = True, phone: bool = False):
        # Playwright evaluates wait_for_function's predicates with eval, which the pages' Content-
        # Security-Policy refuses; tests/test_browser_csp.py checks the pages under the policy.
        # phone: about an iPhone 12–15's CSS viewport, with touch, as residents use it in a hall.
        size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 860}
        self.context = browser.new_context(viewport=size, locale=locale, bypass_csp=bypass_csp, is_mobile=phone,
                                           has_touch=phone, device_scale_factor=2 if phone else 1)
        self.page = self.context.new_page()
        self.base_url = base_url
        self.blocked: list[str] = []
        self.served: list[str] = []
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        host = urlsplit(url).hostname
        if url.startswith("data:") or host in LOCAL_HOSTS:
            self.served.append(url)
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")

    def goto(self, path: str):
        self.page.goto(self.base_url + path)
        return self.page

    def log_in(self, user) -> None:
        """Start this browser logged in as ``user`` (a session made by Django's test client)."""
        from django.test import Client

        client = Client()
        client.force_login(user)
        self.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                                   "url": self.base_url}])

    def close(self):
        self.context.close()


@pytest.fixture
def offline(chromium, live_server):
    pages: list[OfflinePage] = []

    # The live server binds 127.0.0.1 under the name "localhost"; use the address itself so that
    # "only 127.0.0.1" is what the route filter checks.
    base_url = live_server.url.replace("://localhost:", "://127.0.0.1:")

    def open_page(**kwargs) -> OfflinePage:
        page = OfflinePage(chromium, base_url, **kwargs)
        pages.append(page)
        return page

    yield open_page
    for page in pages:
        assert page.errors == [], f"JavaScript errors: {page.errors}"
        page.close()


def _district_fills(page) -> dict[str, str]:
    return page.eval_on_selector_all(
        "path.karte-district", "paths => Object.fromEntries(paths.map(p => [p.dataset.code, p.getAttribute('fill')]))"
    )


def _wait_for_map(page, selector: str = "#map") -> None:
    page.wait_for_selector(f"{selector}[data-ready='1']", timeout=15000)


def _open_karte_from_popup(page, code: str) -> None:
    """Follow the open popup's link to the district's karte.

    The link is activated from the keyboard (focus + Enter), as a keyboard user would: a mouse
    click aims at coordinates, and the map may still be panning the popup into view, so a click
    can land on the map instead and close the popup (seen once in CI)."""
    link = page.locator(".leaflet-popup-content .popup-link")
    assert link.get_attribute("href").endswith(f"/districts/{code}/")
    link.press("Enter")
    page.wait_for_url(f"**/districts/{code}/", wait_until="domcontentloaded", timeout=60000)


def test_map_draws_one_polygon_per_district_and_switching_indicator_recolours(offline, sample, settings, artifacts_dir):
    settings.KARTE_TILES = "none"
    browser = offline()
    page = browser.goto("/")
    _wait_for_map(page)
    fills = _district_fills(page)
    assert sorted(fills) == sorted(code for code, *_ in SAMPLE_DISTRICTS)
    assert len(page.query_selector_all("path.karte-district")) == len(SAMPLE_DISTRICTS)
    # Ageing rate, 4 districts, 5 quantile classes: 4 different fills.
    assert len(set(fills.values())) == 4
    legend = page.inner_text("#legend")
    assert "%" in legend and "データなし" in legend
    page.screenshot(path=str(artifacts_dir / "map_ageing_rate.png"), full_page=False)

    page.select_option("#indicator-select", "walk_coverage")
    page.wait_for_function(
        "before => [...document.querySelectorAll('path.karte-district')].some(p => p.getAttribute('fill') !== before[p.dataset.code])",
        arg=fills,
    )
    after = _district_fills(page)
    assert after != fills
    # walk_coverage: higher is better, so the darkest blue goes to the best covered district (田島).
    assert after["1413102"] != after["1413201"]
    assert "walk_coverage" in page.url
    assert browser.blocked == []  # tiles none: nothing even tried to leave the host


def test_class_method_and_count_change_the_legend(offline, sample, settings):
    settings.KARTE_TILES = "none"
    page = offline().goto("/")
    _wait_for_map(page)
    assert page.eval_on_selector_all("#legend li", "items => items.length") == 5 + 1  # 5 classes (interpolated quantiles of 4 values) + no data
    page.select_option("#classes-select", "3")
    page.select_option("#scheme-select", "equal_interval")
    assert page.eval_on_selector_all("#legend li", "items => items.length") == 3 + 1
    legend = page.inner_text("#legend")
    # Equal interval over 19.7–31.6 %: the first class ends at 23.7.
    assert "19.7 – 23.7" in legend


def test_keyboard_changes_the_indicator(offline, sample, settings):
    settings.KARTE_TILES = "none"
    page = offline().goto("/")
    _wait_for_map(page)
    before = _district_fills(page)
    page.focus("#indicator-select")
    page.keyboard.press("ArrowDown")
    page.wait_for_function(
        "before => [...document.querySelectorAll('path.karte-district')].some(p => p.getAttribute('fill') !== before[p.dataset.code])",
        arg=before,
    )
    assert page.eval_on_selector("#indicator-select", "s => s.value") == "walk_coverage"


def test_clicking_a_district_opens_its_karte_with_the_stored_ageing_rate(offline, sample, settings, artifacts_dir):
    settings.KARTE_TILES = "none"
    browser = offline()
    page = browser.goto("/")
    _wait_for_map(page)
    page.click("path.karte-district[data-code='1413202']")
    popup = page.wait_for_selector(".leaflet-popup-content")
    text = popup.inner_text()
    assert "南河原地区" in text and "31.6%" in text and "1 / 4" in text
    assert "幸区" in text and "市" in text  # the ward's and the city's values are labelled
    page.wait_for_timeout(600)  # let the map pan the popup into view before the screenshot
    page.screenshot(path=str(artifacts_dir / "map_popup.png"))
    _open_karte_from_popup(page, "1413202")
    assert "南河原地区" in page.inner_text("#district-name")
    stored = IndicatorValue.objects.get(tier="district", area_code="1413202", indicator="ageing_rate", year=2020)
    shown = page.inner_text("tr[data-indicator='ageing_rate'] td.district-value")
    assert float(shown) == pytest.approx(stored.value, abs=0.05)
    _wait_for_map(page, "#district-map")
    assert len(page.query_selector_all("#district-map path.karte-district")) == 1
    assert len(page.query_selector_all("#district-map .resource-marker")) == 4
    assert page.query_selector(".population-pyramid") is not None
    page.screenshot(path=str(artifacts_dir / "district_karte.png"), full_page=True)
    assert browser.blocked == []


def test_layers_resources_candidates_siting_and_ward_filter(offline, sample, settings, artifacts_dir):
    settings.KARTE_TILES = "none"
    page = offline().goto("/")
    _wait_for_map(page)
    page.wait_for_selector("path.karte-ward")
    assert len(page.query_selector_all("path.karte-ward")) == 2
    page.check("#kind-vacant_house")
    page.check("#kind-civic_hall")
    page.wait_for_function("document.querySelectorAll('.resource-marker, .marker-cluster').length >= 2")
    page.check("#layer-candidates")
    page.wait_for_selector("path.karte-candidate")
    assert len(page.query_selector_all("path.karte-candidate")) == 8
    page.check("#layer-siting")
    page.wait_for_selector(".site-icon")
    assert len(page.query_selector_all(".site-icon")) == 2
    page.screenshot(path=str(artifacts_dir / "map_layers.png"))
    page.uncheck("#layer-candidates")
    assert len(page.query_selector_all("path.karte-candidate")) == 0
    page.select_option("#ward-select", "14132")
    page.wait_for_function("document.querySelectorAll('path.karte-district').length === 2")
    assert sorted(_district_fills(page)) == ["1413201", "1413202"]
    page.screenshot(path=str(artifacts_dir / "map_ward_filter.png"))


def test_map_works_offline_with_gsi_tiles_configured(offline, sample, settings, artifacts_dir):
    settings.KARTE_TILES = "gsi"
    browser = offline()
    page = browser.goto("/")
    _wait_for_map(page)
    assert len(page.query_selector_all("path.karte-district")) == len(SAMPLE_DISTRICTS)
    page.wait_for_function("document.querySelectorAll('img.leaflet-tile').length > 0")
    assert "地理院タイル" in page.inner_text(".leaflet-control-attribution")
    page.screenshot(path=str(artifacts_dir / "map_offline_gsi.png"))
    # Tiles were requested and blocked; nothing else tried to leave the host.
    assert browser.blocked, "the GSI tiles should have been requested"
    assert all(urlsplit(url).hostname == "cyberjapandata.gsi.go.jp" for url in browser.blocked)
    assert all(urlsplit(url).hostname in LOCAL_HOSTS for url in browser.served if not url.startswith("data:"))


def test_ward_page_sorts_by_a_column(offline, sample, settings, artifacts_dir):
    settings.KARTE_TILES = "none"
    page = offline().goto("/wards/14131/")
    names = lambda: page.eval_on_selector_all("#ward-table tbody tr th", "cells => cells.map(c => c.innerText.trim())")
    assert names() == ["大師地区", "田島地区"]
    ageing_header = page.locator("#ward-table thead th", has_text="ageing_rate").or_(
        page.locator("#ward-table thead th", has_text="高齢化率"))
    ageing_header.locator("button").first.click()  # ascending: 田島 19.7 before 大師 28.4
    assert names() == ["田島地区", "大師地区"]
    ageing_header.locator("button").first.press("Enter")  # keyboard toggles to descending
    assert names() == ["大師地区", "田島地区"]
    assert ageing_header.first.get_attribute("aria-sort") == "descending"
    page.screenshot(path=str(artifacts_dir / "ward_overview.png"), full_page=True)


def _planner():
    from django.contrib.auth.models import User

    return User.objects.create_user("planner", is_staff=True)


def test_siting_page_returns_k_sites(offline, sample, settings, artifacts_dir):
    settings.KARTE_TILES = "none"
    browser = offline()
    browser.log_in(_planner())
    page = browser.goto("/siting/")
    for box in page.query_selector_all("input[name='kinds']"):
        box.uncheck()
    page.check("#kind-vacant_house")
    page.check("#kind-school")
    page.fill("#k-input", "3")
    page.fill("#walk-distance", "500")
    with page.expect_navigation():
        page.click("#siting-submit")
    page.wait_for_selector("#siting-result")
    run = SitingRun.objects.order_by("-pk").first()
    assert f"run={run.pk}" in page.url
    assert run.k == 3 and len(run.chosen) == 3
    assert len(page.query_selector_all("#sites-table tbody tr")) == 3
    assert page.input_value("#k-input") == "3"  # the form keeps the run's parameters for the next try
    _wait_for_map(page, "#siting-map")
    assert len(page.query_selector_all("#siting-map .site-icon")) == 3
    persons = sum(entry["elderly"] for entry in run.chosen)
    assert page.inner_text("#newly-covered") == f"{persons:,.0f}人"
    assert page.inner_text("#weighted-gain") == f"{run.covered_after - run.covered_before:,.0f}"
    page.screenshot(path=str(artifacts_dir / "siting.png"), full_page=True)
    assert browser.blocked == []


def test_language_switch_to_english(offline, sample, settings, artifacts_dir):
    settings.KARTE_TILES = "none"
    page = offline().goto("/districts/1413101/")
    assert page.get_attribute("html", "lang") == "ja"
    page.select_option("#language-select", "en")
    with page.expect_navigation():
        page.click(".language button")
    assert page.get_attribute("html", "lang") == "en"
    assert "Population pyramid" in page.inner_text("main")
    assert "大師地区" in page.inner_text("#district-name")
    page.goto(page.url.split("/districts/")[0] + "/")
    _wait_for_map(page)
    assert page.inner_text("label[for='indicator-select']") == "Indicator"
    page.click("path.karte-district[data-code='1413101']")
    popup = page.wait_for_selector(".leaflet-popup-content").inner_text()
    assert "District 01 (大師地区)" in popup  # romaji first on the English pages
    assert "Kawasaki-ku" in popup and "川崎区" not in popup  # the ward by its English name
    page.wait_for_timeout(600)  # the popup's fade-in, so the screenshot shows it
    page.screenshot(path=str(artifacts_dir / "map_english.png"))


@pytest.mark.slow
@pytest.mark.parametrize("city", [None, "20202"], ids=["kawasaki", "matsumoto-without-wards"])
def test_demo_city_map_karte_and_siting(offline, transactional_db, settings, artifacts_dir, city):
    """Each demo city (load_demo + compute_all): one polygon per district, a karte whose ageing
    rate is the stored value (compared with the ward and the city, or the city alone in a 市
    without wards), and a siting run of k sites."""
    from karte.compute import compute_all
    from karte.demo import load_demo
    from karte.models import District

    load_demo(city=city)
    compute_all(city=city)
    settings.KARTE_TILES = "none"
    suffix = f"_{city}" if city else ""
    districts = District.objects.count()
    assert districts > (20 if city is None else 8)
    browser = offline()
    page = browser.goto("/")
    _wait_for_map(page)
    assert len(page.query_selector_all("path.karte-district")) == districts
    before = _district_fills(page)
    assert len(set(before.values())) == 5  # 5 quantile classes over the distinct values
    page.select_option("#indicator-select", "elderly_alone_share")
    page.wait_for_function(
        "before => [...document.querySelectorAll('path.karte-district')].some(p => p.getAttribute('fill') !== before[p.dataset.code])",
        arg=before,
    )
    page.screenshot(path=str(artifacts_dir / f"demo_map{suffix}.png"))

    top = IndicatorValue.objects.filter(tier="district", indicator="ageing_rate").order_by("-year", "rank").first()
    page.select_option("#indicator-select", "ageing_rate")
    page.click(f"path.karte-district[data-code='{top.area_code}']")
    page.wait_for_selector(".leaflet-popup-content")
    # The popup compares with the ward and the city, or with the city alone where there are no wards.
    assert len(page.query_selector_all(".leaflet-popup-content table tr")) == (4 if city is None else 3)
    _open_karte_from_popup(page, top.area_code)
    name = District.objects.get(code=top.area_code).name_ja
    assert name in page.inner_text("#district-name")
    shown = page.inner_text("tr[data-indicator='ageing_rate'] td.district-value")
    assert float(shown.replace(",", "")) == pytest.approx(top.value, abs=0.05)
    header_cells = len(page.query_selector_all("#indicator-table thead th"))
    # Kawasaki has two censuses: its 2015 value and the change stand beside 2020 (two more columns).
    assert header_cells == (9 if city is None else 6)
    page.screenshot(path=str(artifacts_dir / f"demo_district{suffix}.png"), full_page=True)

    browser.log_in(_planner())
    page.goto(browser.base_url + "/siting/")
    page.fill("#k-input", "4")
    with page.expect_navigation(timeout=120000):
        page.click("#siting-submit")
    page.wait_for_selector("#siting-result")
    run = SitingRun.objects.order_by("-pk").first()
    assert len(run.chosen) == 4
    assert len(page.query_selector_all("#sites-table tbody tr")) == 4
    _wait_for_map(page, "#siting-map")
    page.screenshot(path=str(artifacts_dir / f"demo_siting{suffix}.png"), full_page=True)
    assert browser.blocked == []


def test_siting_shows_a_busy_indicator_while_computing(offline, sample, settings):
    settings.KARTE_TILES = "none"
    browser = offline()
    browser.log_in(_planner())
    page = browser.goto("/siting/")
    assert not page.is_visible("#siting-busy")
    # Keep the form from actually posting (a listener added after the page's own one), so the
    # page stays in the state it shows while the server computes.
    page.evaluate("document.getElementById('siting-form').addEventListener('submit', e => e.preventDefault())")
    page.click("#siting-submit")
    page.wait_for_selector("#siting-busy.active")
    assert "計算中" in page.inner_text("#siting-busy")
    assert page.is_disabled("#siting-submit")  # a second click cannot start a second run
    page.wait_for_function("Number(document.getElementById('siting-elapsed').textContent) >= 1", timeout=5000)
    assert SitingRun.objects.count() == 1  # only the sample's own run: nothing was posted
