"""The place search in a real browser (headless Chromium, offline as in tests/test_browser.py) on the
demo city: ３丁目 and 三丁目 reach the same place, by keyboard and by tap, on a desktop and a phone."""
from __future__ import annotations

import pytest

from .test_browser import _orm_beside_playwright, _wait_for_map, chromium, offline  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_city(transactional_db, settings):
    from karte.compute import compute_all
    from karte.demo import load_demo
    from karte.models import CensusArea

    load_demo()
    compute_all()
    settings.KARTE_TILES = "none"
    area = (CensusArea.objects.filter(census_year=2020, name_ja__endswith="三丁目", city_code__startswith="1413")
            .order_by("key_code").first())
    assert area is not None
    return area


def _suggestions(page, text: str) -> list[str]:
    page.fill("#place-search-input", "")
    page.type("#place-search-input", text, delay=30)
    page.wait_for_selector("#place-search-list [role=option]")
    page.wait_for_function("t => document.getElementById('place-search-input').value === t", arg=text)
    page.wait_for_timeout(400)  # the debounced request for the whole text
    return page.eval_on_selector_all("#place-search-list [role=option] .place-search-name", "ns => ns.map(n => n.textContent)")


def test_full_width_digit_and_kanji_chome_reach_the_same_place_on_the_map(offline, demo_city, artifacts_dir):
    area = demo_city
    stem = area.name_ja[:-3]
    browser = offline()
    page = browser.goto("/")
    _wait_for_map(page)
    full_width = _suggestions(page, stem + "３丁目")
    assert full_width[0] == area.name_ja
    page.screenshot(path=str(artifacts_dir / "search_suggestions.png"))
    # Keyboard: ↓ selects the first suggestion, Enter chooses it.
    page.keyboard.press("ArrowDown")
    assert page.get_attribute("#place-search-input", "aria-activedescendant") == "place-search-option-0"
    page.keyboard.press("Enter")
    page.wait_for_selector("#place-search-result:not([hidden])")
    first_view = page.evaluate("() => { const b = window.KarteMaps[0].getBounds(); return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }")
    link = page.get_attribute("#place-search-result a.place-search-link", "href")
    assert link == f"/area/?codes={area.key_code}"
    assert page.query_selector("path.place-search-highlight") is not None
    page.screenshot(path=str(artifacts_dir / "search_chosen.png"))

    # Kanji numeral, chosen by clicking: the same place, the same view.
    page.click("button.place-search-dismiss")
    page.evaluate("() => window.KarteMaps[0].setView([35.57, 139.6], 11)")
    kanji = _suggestions(page, stem + "三丁目")
    assert kanji[0] == full_width[0]
    page.click("#place-search-option-0")
    page.wait_for_selector("#place-search-result:not([hidden])")
    second_view = page.evaluate("() => { const b = window.KarteMaps[0].getBounds(); return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }")
    assert second_view == pytest.approx(first_view, abs=1e-6)
    assert page.get_attribute("#place-search-result a.place-search-link", "href") == link
    # A facility is labelled with its kind, in the page's language.
    from karte.models import Resource

    hall = Resource.objects.filter(kind="civic_hall").exclude(name="").order_by("name").first()
    _suggestions(page, hall.name)
    assert page.inner_text("#place-search-option-0 .place-search-kind") == "市民館"
    assert page.get_attribute("#place-search-option-0", "data-group") == "facility"
    # Escape closes the suggestions.
    _suggestions(page, stem)
    page.keyboard.press("Escape")
    assert page.is_hidden("#place-search-list")
    assert browser.blocked == []


def test_on_a_phone_a_tap_chooses_and_a_page_without_a_map_opens_the_karte(offline, demo_city, artifacts_dir):
    from karte.models import District

    browser = offline(phone=True)
    page = browser.goto("/")
    _wait_for_map(page)
    names = _suggestions(page, demo_city.name_ja[:-3] + "３")
    assert names[0] == demo_city.name_ja
    page.screenshot(path=str(artifacts_dir / "search_phone.png"))
    page.tap("#place-search-option-0")
    page.wait_for_selector("#place-search-result:not([hidden])")
    # The karte link is in a popup on the map too (the header is scrolled away on a phone).
    page.wait_for_selector(".leaflet-popup .place-search-popup a.place-search-link")
    assert page.get_attribute(".leaflet-popup a.place-search-link", "href") == f"/area/?codes={demo_city.key_code}"
    page.wait_for_timeout(400)  # the popup fades in
    page.screenshot(path=str(artifacts_dir / "search_phone_chosen.png"))

    # The ward page has no map: choosing a district opens its karte.
    district = District.objects.exclude(ward=None).order_by("code").first()
    page.goto(browser.base_url + f"/wards/{district.ward.code}/")
    _suggestions(page, district.name_ja)
    with page.expect_navigation():
        page.tap("#place-search-option-0")
    assert page.url.endswith(f"/districts/{district.code}/")
    assert browser.blocked == []
