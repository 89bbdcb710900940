"""A workshop in a real browser: a resident on a phone-sized Chromium (390×844, touch) joins with the
code a QR code carries, places a pin by tapping the map, fills in a resource, loses a submit to the
network and to the server without losing what was typed, sends it and sees it pending; the
facilitator logs in on a desktop browser, approves it and verifies it as a ひろば host; it then shows
on the district page and in the printed karte (read with pdftotext).

Screenshots go to ``artifacts/``; the ones docs/participation.md shows are copies of these.
"""
from __future__ import annotations

import shutil
import subprocess

import pytest

from participation import codes
from participation.models import Contribution

from .test_browser import _orm_beside_playwright, chromium, offline, playwright_sync  # noqa: F401  (fixtures)
from .test_participation import build_cast

pytestmark = pytest.mark.browser


@pytest.fixture
def cast(transactional_db, settings):
    from django.core.cache import cache

    cache.clear()
    settings.KARTE_TILES = "none"
    yield build_cast()
    cache.clear()


def _tap_map(page, x_share: float, y_share: float) -> None:
    # A click at the spot: a phone turns a tap into one, which is what Leaflet listens to (the
    # touchscreen API of the test driver sends the touch events without the click that follows).
    box = page.locator("#pin-map").bounding_box()
    page.locator("#pin-map").click(position={"x": box["width"] * x_share, "y": box["height"] * y_share})


def test_a_resident_adds_a_resource_on_a_phone_and_it_reaches_the_karte(offline, cast, settings, artifacts_dir,
                                                                         tmp_path):
    phone = offline(phone=True, bypass_csp=False)  # the pages work under their CSP
    page = phone.goto(f"/participation/join/{cast.workshop.join_code}/")
    assert page.input_value("#id_code") == cast.workshop.join_code
    page.fill("#id_nickname", "さくら")
    page.screenshot(path=str(artifacts_dir / "participation_join.png"))
    with page.expect_navigation():
        page.tap("#join-submit")
    page.wait_for_selector("#pin-map[data-ready='1']")

    # Type a resource and place the pin.
    page.tap("label[for='id_type_0']")  # 資源
    page.select_option("#id_resource_kind", "room")
    page.fill("#id_name", "ひまわり荘の集会室")
    page.fill("#id_note", "火曜と木曜の午後は空いている")
    page.fill("#id_availability", "火・木の午後")
    page.check("#id_could_host")
    _tap_map(page, 0.5, 0.5)
    page.wait_for_selector("#pin-map[data-pin='1']")
    assert page.input_value("#id_lon") and page.input_value("#id_lat")
    assert "ここに印を置きました" in page.inner_text("#pin-status")
    page.screenshot(path=str(artifacts_dir / "participation_form.png"), full_page=True)

    # 1. The network fails during the submit: coming back to the form brings the draft back.
    page.route("**/participation/w/**", lambda route: route.abort("internetdisconnected")
               if route.request.method == "POST" else route.continue_())
    page.tap("#contribution-submit")
    with pytest.raises(playwright_sync.Error, match="ERR_INTERNET_DISCONNECTED"):
        page.wait_for_url(lambda url: url.startswith("chrome-error:"), timeout=15000)
    page.unroute("**/participation/w/**")
    form_url = phone.base_url + f"/participation/w/{cast.workshop.pk}/"
    for attempt in range(3):
        # The browser may still be switching to its offline error page, or that page may reload
        # itself once the network is back: either navigation may cross ours.
        try:
            page.goto(form_url)
            break
        except playwright_sync.Error as error:
            if "interrupted by another navigation" not in str(error) or attempt == 2:
                raise
            if f'navigation to "{form_url}"' in str(error):  # the error page reloaded the form itself
                page.wait_for_url(form_url)
                page.wait_for_load_state()
                break
    page.wait_for_selector("#pin-map[data-pin='1']")
    assert page.input_value("#id_name") == "ひまわり荘の集会室"
    assert page.input_value("#id_note") == "火曜と木曜の午後は空いている"
    assert page.is_checked("#id_could_host") and page.is_checked("#id_type_0")
    assert "戻しました" in page.inner_text("#draft-status")
    assert not Contribution.objects.exists()

    # 2. The server refuses it (rate limit reached): the page comes back with the text and a message.
    settings.PARTICIPATION_SUBMISSIONS_PER_WINDOW = 0
    with page.expect_navigation():
        page.tap("#contribution-submit")
    assert "投稿が多すぎます" in page.inner_text("#form-errors")
    assert page.input_value("#id_name") == "ひまわり荘の集会室"
    assert page.input_value("#id_availability") == "火・木の午後"
    page.screenshot(path=str(artifacts_dir / "participation_refused.png"))
    assert not Contribution.objects.exists()

    # 3. Sent: it is pending, seen by its author, and the draft is gone.
    settings.PARTICIPATION_SUBMISSIONS_PER_WINDOW = 20
    with page.expect_navigation():
        page.tap("#contribution-submit")
    page.wait_for_selector("#submitted")
    contribution = Contribution.objects.get()
    assert contribution.status == "pending" and contribution.name == "ひまわり荘の集会室" and contribution.could_host
    assert "確認待ち" in page.inner_text(f"#mine-{contribution.pk}")
    assert page.input_value("#id_name") == ""  # a fresh form, no stale draft restored
    assert page.evaluate(f"localStorage.getItem('karte-participation-draft-{cast.workshop.pk}')") is None
    page.screenshot(path=str(artifacts_dir / "participation_pending.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the phone page scrolls sideways ({width}px)"

    # The facilitator logs in, approves it and verifies it as a ひろば host.
    desk = offline(bypass_csp=False)
    admin = desk.goto("/accounts/login/?next=/participation/")
    admin.fill("#id_username", "fac-a")
    admin.fill("#id_password", "workshop-pass-123")
    with admin.expect_navigation():
        admin.click("#login-submit")
    with admin.expect_navigation():
        admin.click(f"text={cast.workshop.title}")
    assert codes.display(cast.workshop.join_code) in admin.inner_text("#join-code")
    admin.screenshot(path=str(artifacts_dir / "participation_moderation.png"), full_page=True)
    card = f"#contribution-{contribution.pk}"
    with admin.expect_navigation():
        admin.click(f"{card} button.approve")
    with admin.expect_navigation():
        admin.click(f"{card} button.verify")
    contribution.refresh_from_db()
    assert contribution.status == "approved" and contribution.host_verified_at is not None

    # On the district page: the section, the karte's resource list and the map layer.
    district = desk.goto(f"/districts/{cast.workshop.district.code}/")
    district.wait_for_selector("#district-map[data-ready='1']")
    assert "ひまわり荘の集会室" in district.inner_text("#voices")
    assert "住民の投稿" in district.inner_text("#voices")
    assert len(district.query_selector_all("#district-map .extra-contributions")) == 1
    district.locator("#voices").scroll_into_view_if_needed()
    district.screenshot(path=str(artifacts_dir / "participation_district.png"), full_page=True)

    # In the printed karte.
    if shutil.which("pdftotext"):
        pdf = desk.page.request.get(desk.base_url + f"/districts/{cast.workshop.district.code}/karte.pdf").body()
        path = tmp_path / "karte.pdf"
        path.write_bytes(pdf)
        text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
        assert "ひまわり荘の集会室" in text and "地域の声" in text
    assert phone.blocked == [] and desk.blocked == []
