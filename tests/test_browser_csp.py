"""The pages under the Content-Security-Policy in Chromium: they work (the map draws, colours come
through the DOM) and the browser reports no violation of the policy, on the map, a district page and
the admin login. Uses the browser fixtures of test_browser."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from .test_browser import _district_fills, _orm_beside_playwright, _wait_for_map, chromium, offline  # noqa: F401
from .test_pages import SAMPLE_DISTRICTS, build_sample_city

pytestmark = pytest.mark.browser

# ---------------------------------------------------------------------------------------------

CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(
  e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sourceFile || '') + ':' + (e.lineNumber || '')));
"""


def test_pages_work_under_the_policy_in_chromium(offline, transactional_db, settings, artifacts_dir):  # noqa: F811
    settings.KARTE_TILES = "none"
    build_sample_city()
    User.objects.create_user("planner", password="correct-horse-battery", is_staff=True)
    browser = offline(bypass_csp=False)  # the policy applies; so no wait_for_function (it evaluates with eval)
    console = []
    browser.page.on("console", lambda message: console.append(message.text))
    browser.context.add_init_script(CSP_LISTENER)

    page = browser.goto("/")
    _wait_for_map(page)
    assert len(_district_fills(page)) == len(SAMPLE_DISTRICTS)  # the map drew every district
    page.check("#kind-vacant_house")
    marker = page.wait_for_selector(".resource-marker span, .marker-cluster")
    if marker.evaluate("el => el.matches('.resource-marker span')"):  # its colour came through the DOM
        assert marker.evaluate("el => getComputedStyle(el).backgroundColor") != "rgba(0, 0, 0, 0)"
    swatch = page.query_selector("#legend .swatch")
    assert swatch.evaluate("el => getComputedStyle(el).backgroundColor") != "rgba(0, 0, 0, 0)"
    page.screenshot(path=str(artifacts_dir / "map_under_csp.png"))
    page.check("#layer-small-areas")  # the small-area layer and its legend, coloured through the DOM
    small_swatch = page.wait_for_selector("#small-area-legend .swatch")
    assert small_swatch.evaluate("el => getComputedStyle(el).backgroundColor") != "rgba(0, 0, 0, 0)"
    # The place search (search.js) under the policy: 大師一丁目 typed with a kanji numeral finds 大師1丁目.
    page.type("#place-search-input", "大師一丁目", delay=20)
    option = page.wait_for_selector("#place-search-option-0")
    assert option.inner_text().startswith("大師1丁目")
    page.keyboard.press("Enter")
    page.wait_for_selector("#place-search-result:not([hidden]) a.place-search-link")
    violations = page.evaluate("window.__cspViolations")

    page = browser.goto(f"/districts/{SAMPLE_DISTRICTS[0][0]}/")
    _wait_for_map(page, "#district-map")
    violations += page.evaluate("window.__cspViolations")
    page = browser.goto("/area/?codes=141310100,141310101")  # the area karte: the district page's scripts
    _wait_for_map(page, "#district-map")
    violations += page.evaluate("window.__cspViolations")
    page = browser.goto("/admin/login/")
    page.fill("#id_username", "planner")
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    violations += page.evaluate("window.__cspViolations")

    assert violations == []
    assert [text for text in console if "Content Security Policy" in text] == []
    assert browser.blocked == []
