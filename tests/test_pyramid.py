"""The pyramid draws what the census has: small-area tables stop at an open band (75歳以上)."""
import re

from karte.pyramid import AGE_BANDS, bands_for, population_pyramid_svg

SMALL_AREA_BANDS = [b for b in AGE_BANDS if int(b.split("_")[0]) < 75]


def test_open_top_band_is_drawn_as_one_bar_not_left_out():
    male = {band: 100.0 for band in SMALL_AREA_BANDS} | {"75_plus": 640.0}
    female = {band: 110.0 for band in SMALL_AREA_BANDS} | {"75_plus": 910.0}
    assert bands_for(male, female)[-1] == "75_plus"
    assert len(bands_for(male, female)) == len(SMALL_AREA_BANDS) + 1
    svg = population_pyramid_svg(male, female)
    assert re.search(r"<title>男 75\+: 640</title>", svg)
    assert re.search(r"<title>女 75\+: 910</title>", svg)
    assert "100+" not in svg and "データなし" not in svg  # no empty 75–79 … 100+ rows
    # Totals include the open band: 15 bands × 100 + 640.
    assert "男 2,140" in svg


def test_fine_bands_win_over_an_aggregate_open_band():
    male = {band: 10.0 for band in AGE_BANDS} | {"75_plus": 60.0}
    assert bands_for(male, male) == AGE_BANDS
    assert "100+" in population_pyramid_svg(male, male)
