"""Change over time on the karte: the 2015 value and the change beside 2020, the pyramid's 2015
outline, the ageing-rate chart with its projections, and the map's change indicators.

The change maths is checked on hand-computed cases; the pages, the PDF and the API on the demo city
(Kawasaki, censuses 2015 and 2020) and, for a city with one census only, on 松本市 (no 2015 tables:
nothing about change is shown, and nothing breaks).
"""
from __future__ import annotations

import math
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from django.core.management import call_command

from karte.charts import Series, trend_chart_svg
from karte.layers.report import IndicatorRow, district_report
from karte.models import District, IndicatorValue
from karte.pyramid import population_pyramid_svg
from spatial.indicators import change_between, has_change

SVG = "{http://www.w3.org/2000/svg}"


# ------------------------------------------------------------------------------------------------
# The change maths, by hand
# ------------------------------------------------------------------------------------------------

def test_a_rate_changes_in_points_without_a_relative_change():
    change = change_between(31.5, 28.0, "%")
    assert change.difference == pytest.approx(3.5)
    assert change.unit == "pt"
    assert change.relative is None


def test_a_count_changes_in_its_unit_and_in_percent():
    change = change_between(1100.0, 1000.0, "人")
    assert change.difference == pytest.approx(100.0)
    assert change.unit == "人"
    assert change.relative == pytest.approx(10.0)
    fall = change_between(750.0, 1000.0, "世帯")
    assert fall.difference == pytest.approx(-250.0) and fall.relative == pytest.approx(-25.0)


def test_unknown_on_either_side_gives_an_unknown_change():
    for later, earlier in ((None, 5.0), (5.0, None), (math.nan, 5.0), (5.0, math.inf)):
        change = change_between(later, earlier, "%")
        assert change.difference is None and change.relative is None
    # A count that was 0 has a difference but no relative change (no division by nobody).
    from_nobody = change_between(12.0, 0.0, "人")
    assert from_nobody.difference == pytest.approx(12.0) and from_nobody.relative is None


def test_only_census_figures_have_a_change():
    assert has_change("ageing_rate") and has_change("pop_total") and has_change("elderly_alone_share")
    # Today's resources, the projections and the within-year z-score index have no 2015 to compare with.
    assert not has_change("resources_per_1000_elderly")
    assert not has_change("ageing_rate_2040")
    assert not has_change("isolation_index")


def _row(**values) -> IndicatorRow:
    base = dict(code="ageing_rate", label="高齢化率", unit="%", district=30.0, ward=25.0, city=24.0, rank=1,
                rank_of=4, year=2020, method="", uncertain_share=0.0, dataset_ids=[3])
    return IndicatorRow(**(base | values))


def test_a_row_takes_an_earlier_census_from_any_karte():
    # How an area karte (or any other) puts its own 2015 values beside its 2020 ones.
    row = _row()
    row.set_earlier(2015, 27.5, ward=24.0, city=23.5, dataset_ids=[1, 3])
    assert row.earlier_year == 2015 and row.earlier == 27.5
    assert row.change.difference == pytest.approx(2.5) and row.change.unit == "pt"
    assert row.ward_change.difference == pytest.approx(1.0)
    assert row.city_change.difference == pytest.approx(0.5)
    assert row.dataset_ids == [1, 3]  # the earlier value's sources join the row's
    assert row.change_digits == 1


def test_a_small_change_keeps_two_decimals():
    row = _row(unit="%", district=30.04)
    row.set_earlier(2015, 30.0)
    assert row.change_digits == 2
    counted = _row(unit="人", district=1200.0)
    counted.set_earlier(2015, 1000.0)
    assert counted.change_digits == 0
    assert row.ward_change is None and row.city_change is None


# ------------------------------------------------------------------------------------------------
# The figures, drawn
# ------------------------------------------------------------------------------------------------

def test_the_pyramid_draws_the_earlier_census_as_an_outline_on_one_scale():
    male, female = {"0_4": 10.0, "5_9": 20.0}, {"0_4": 12.0, "5_9": 18.0}
    svg = population_pyramid_svg(male, female, earlier_male={"0_4": 40.0, "5_9": 10.0},
                                 earlier_female={"0_4": 8.0, "5_9": 9.0}, earlier_label="枠線: 2015年")
    root = ET.fromstring(svg)
    outlines = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "pyramid-earlier"]
    assert len(outlines) == 2 * 21  # every band of both sexes (bands absent are drawn as 0)
    widths = {r.find(f"{SVG}title").text: float(r.get("width")) for r in outlines}
    bars = {r.find(f"{SVG}title").text: float(r.get("width")) for r in root.iter(f"{SVG}rect")
            if r.get("class") is None and r.find(f"{SVG}title") is not None}
    # 40 men aged 0–4 in 2015 is the longest bar: the scale reaches it, and 10 men now is a quarter of it.
    assert widths["枠線: 2015年 0–4: 40"] == pytest.approx(4 * bars["男 0–4: 10"])
    assert "枠線: 2015年" in svg
    assert population_pyramid_svg(male, female).count("pyramid-earlier") == 0


def test_the_trend_chart_joins_censuses_and_dashes_projections():
    svg = trend_chart_svg([Series("百合丘", [(2015, 24.0), (2020, 26.0)], [(2028, 29.0), (2040, 33.0)]),
                           Series("川崎市", [(2015, 19.5), (2020, 20.5)], [(2028, 22.0), (2040, 26.0)])],
                          title="高齢化率", projected_label="推計")
    root = ET.fromstring(svg)
    observed = [p for p in root.iter(f"{SVG}polyline") if p.get("class") == "trend-observed"]
    projected = [p for p in root.iter(f"{SVG}polyline") if p.get("class") == "trend-projected"]
    assert len(observed) == 2 and len(projected) == 2
    assert all(p.get("stroke-dasharray") for p in projected)
    # The dashed line starts where the census line ends (2020), then goes through 2028 and 2040.
    assert projected[0].get("points").split()[0] == observed[0].get("points").split()[-1]
    assert len(projected[0].get("points").split()) == 3
    titles = [c.find(f"{SVG}title").text for c in root.iter(f"{SVG}circle")]
    assert "百合丘 2040: 33.0% (推計)" in titles and "百合丘 2015: 24.0%" in titles
    assert trend_chart_svg([Series("x", [(2020, 1.0)])]) == ""


# ------------------------------------------------------------------------------------------------
# The demo city: report, page, PDF, map
# ------------------------------------------------------------------------------------------------

def _kawasaki_district() -> District:
    return District.objects.filter(city__code="14130").select_related("ward", "city").order_by("code").first()


def _stored(district: District, indicator: str, year: int) -> float | None:
    return IndicatorValue.objects.get(tier="district", area_code=district.code, indicator=indicator, year=year).value


def test_the_report_puts_2015_beside_2020_and_agrees_with_the_stored_change(demo_db, db):
    district = _kawasaki_district()
    report = district_report(district)
    rows = {row.code: row for row in report.rows}
    ageing = rows["ageing_rate"]
    assert ageing.year == 2020 and ageing.earlier_year == 2015 and report.earlier_year == 2015
    assert ageing.earlier == pytest.approx(_stored(district, "ageing_rate", 2015))
    # Two implementations, one answer: the row's change and compute's stored ageing_rate_change.
    assert ageing.change.difference == pytest.approx(_stored(district, "ageing_rate_change", 2020))
    assert ageing.city_change is not None and ageing.ward_change is not None
    population = rows["pop_total"]
    expected = _stored(district, "pop_total", 2020) - _stored(district, "pop_total", 2015)
    assert population.change.difference == pytest.approx(expected)
    assert population.change.relative == pytest.approx(expected / _stored(district, "pop_total", 2015) * 100)
    assert rows["resources_per_1000_elderly"].change is None  # no 2015 resource list
    assert rows["ageing_rate_2040"].change is None
    # The 2015 census tables are among the sources the karte lists.
    assert 2015 in {source.vintage for source in report.sources}
    assert report.pyramid.earlier_year == 2015 and report.pyramid.earlier_male
    trend = report.trend
    assert trend is not None and trend.launch_year == 2020 and trend.projection_method
    own = trend.series[0]
    assert [year for year, _ in own.census] == [2015, 2020]
    assert [year for year, _ in own.projected] == [2028, 2040]
    assert own.projected[-1][1] == pytest.approx(_stored(district, "ageing_rate_2040", 2020))
    assert [s.tier for s in trend.series] == ["district", "ward", "city"]


def test_the_district_page_shows_2015_the_change_and_the_charts(demo_db, db, client):
    district = _kawasaki_district()
    html = client.get(f"/districts/{district.code}/").content.decode()
    assert "2015年" in html and "変化" in html
    change = _stored(district, "ageing_rate_change", 2020)
    row = re.search(r'<tr data-indicator="ageing_rate">(.*?)</tr>', html, re.S).group(1)
    earlier_cell = re.search(r'class="num earlier-value">([^<]*)<', row).group(1)
    assert earlier_cell == f"{_stored(district, 'ageing_rate', 2015):.1f}"
    change_cell = re.search(r'class="num change-value">([^<&]*)', row).group(1)
    assert change_cell == ("+" if change > 0 else "\u2212") + f"{abs(change):.{2 if abs(change) < 1 else 1}f}"
    # The ward's and the city's change over the same period, beside their values.
    ward_change = IndicatorValue.objects.get(tier="ward", area_code=district.ward.code, indicator="ageing_rate_change").value
    assert f"({'+' if ward_change > 0 else chr(0x2212)}{abs(ward_change):.{2 if abs(ward_change) < 1 else 1}f})" in row
    assert 'class="trend-chart"' in html and "trend-projected" in html
    assert 'class="pyramid-earlier"' in html
    assert 'id="trend-provenance"' in html and "Hamilton" in html


pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils missing")


@pdftotext
def test_the_printed_karte_shows_2015_and_the_change(demo_db, db, tmp_path):
    district = _kawasaki_district()
    out = tmp_path / "karte.pdf"
    call_command("print_karte", district=district.code, out=out)
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True, capture_output=True, text=True).stdout
    assert "2015年" in text and "変化" in text
    change = _stored(district, "ageing_rate_change", 2020)
    digits = 2 if abs(change) < 1 else 1
    assert (("+" if change > 0 else "\u2212") + f"{abs(change):.{digits}f}") in text
    assert f"{_stored(district, 'ageing_rate', 2015):.1f}" in text
    # The ward's and the city's change over the same years, in brackets beside their values (as on the page).
    from karte.models import IndicatorValue

    for tier, code in (("ward", district.ward.code), ("city", district.city.code)):
        tier_change = IndicatorValue.objects.get(tier=tier, area_code=code, indicator="ageing_rate_change", year=2020).value
        digits = 2 if abs(tier_change) < 1 else 1
        assert "(" + ("+" if tier_change > 0 else "\u2212") + f"{abs(tier_change):.{digits}f})" in text
    assert "市域の括弧内は同じ期間の変化" in text
    assert "高齢化率の推移と推計" in text and "Hamilton" in text


def test_the_map_offers_the_change_with_a_diverging_legend(demo_db, db, client):
    from karte.layers import map_indicators

    entries = {entry["code"]: entry for entry in map_indicators()}
    assert entries["ageing_rate_change"]["headline"] and entries["ageing_rate_change"]["diverging"]
    assert not entries["ageing_rate"]["diverging"]
    assert entries["ageing_rate_change"]["label"] == "高齢化率の変化 (2015→2020)"  # the period it covers
    breaks = client.get("/api/indicators/", {"indicator": "ageing_rate_change", "city": "14130"}).json()
    assert breaks["indicator"]["unit"] == "pt" and breaks["year"] == 2020 and breaks["k"] >= 2
    assert breaks["min"] < breaks["max"]
    html = client.get("/?indicator=ageing_rate_change").content.decode()
    assert 'value="ageing_rate_change" data-unit="pt" selected' in html


def test_the_ward_overview_has_the_change_column(demo_db, db, client):
    district = _kawasaki_district()
    html = client.get(f"/wards/{district.ward.code}/").content.decode()
    assert "高齢化率の変化" in html


def test_the_english_karte_names_the_years_and_the_change(demo_db, db, client):
    district = _kawasaki_district()
    client.cookies["django_language"] = "en"
    html = client.get(f"/districts/{district.code}/").content.decode()
    head = re.search(r'<th scope="col" class="num earlier-head">([^<]*)</th>', html).group(1)
    assert head == "2015"
    assert ">Change<" in html and "Outline: 2015" in html and "Ageing rate over time and projected (%)" in html


# ------------------------------------------------------------------------------------------------
# The previous census of any set of small areas (for an area karte), through the correspondence table
# ------------------------------------------------------------------------------------------------

def _figure(key_code: str, year: int, variable: str = "pop_total") -> float:
    from karte.models import CensusFigure

    return CensusFigure.objects.get(key_code=key_code, census_year=year, variable=variable).value


def test_a_renamed_area_takes_its_old_codes_figures(demo_db, db):
    from karte.layers.change import earlier_census

    # fixtures/census/correspondence_2015_2020.csv: 上麻生四丁目 was 14137005504 in 2015, is 14137005004 in 2020.
    earlier = earlier_census(["14137005004"], 2020, variables=["pop_total"])
    assert earlier.earlier_year == 2015
    value = earlier.figures.set_index("key_code").loc["14137005004", "value"]
    assert value == pytest.approx(_figure("14137005504", 2015))


def test_a_split_area_takes_its_share_and_a_set_adds_up(demo_db, db):
    from karte.layers.change import earlier_census
    from karte.models import CensusFigure

    # 久本二丁目 (14134002002, 2015) was split: 41.42 % stays 14134002002, 58.58 % became 14134002003.
    old = _figure("14134002002", 2015)
    alone = earlier_census(["14134002002"], 2020, variables=["pop_total"]).figures.set_index("key_code")
    assert alone.loc["14134002002", "value"] == pytest.approx(old * 0.4142)
    # 14134002003 also gets whatever a 2015 area of that code held (an unchanged code passes through).
    same_code = CensusFigure.objects.filter(key_code="14134002003", census_year=2015, variable="pop_total").first()
    expected_003 = old * 0.5858 + (same_code.value if same_code else 0.0)
    both = earlier_census(["14134002002", "14134002003"], 2020, variables=["pop_total"])
    assert both.figures.set_index("key_code").loc["14134002003", "value"] == pytest.approx(expected_003)
    assert both.totals()["pop_total"] == pytest.approx(old + (same_code.value if same_code else 0.0))
    assert both.dataset_ids  # the 2015 table and the correspondence table


def test_the_earlier_indicators_of_an_area_feed_a_karte_row(demo_db, db):
    from karte.layers.change import earlier_census
    from karte.models import CensusArea

    codes = list(CensusArea.objects.filter(census_year=2020, city_code="14137").exclude(name_ja="")
                 .order_by("key_code").values_list("key_code", flat=True)[:6])
    earlier = earlier_census(codes, 2020)
    values = earlier.indicators()
    totals = earlier.totals()
    known = totals[["pop_0_14", "pop_15_64", "pop_65_plus"]].sum()
    assert values["ageing_rate"] == pytest.approx(totals["pop_65_plus"] / known * 100)
    row = _row(district=values["ageing_rate"] + 1.5)
    row.set_earlier(earlier.earlier_year, values["ageing_rate"], dataset_ids=earlier.dataset_ids)
    assert row.change.difference == pytest.approx(1.5) and row.earlier_year == 2015


def test_a_suppressed_cell_leaves_the_sum_unknown():
    from karte.layers.change import EarlierCensus

    figures = pd.DataFrame({"key_code": ["a", "b", "a", "b"], "variable": ["pop_total", "pop_total", "pop_65_plus", "pop_65_plus"],
                            "value": [100.0, 50.0, 30.0, float("nan")], "status": ["ok", "ok", "ok", "suppressed"]})
    earlier = EarlierCensus(year=2020, earlier_year=2015, figures=figures)
    totals = earlier.totals()
    assert totals["pop_total"] == pytest.approx(150.0)
    assert math.isnan(totals["pop_65_plus"])  # never 30: b's elderly are unknown, not 0
