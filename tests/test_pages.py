"""The web pages through Django's test client (no browser): status, Japanese content, numbers that
equal the stored IndicatorValue, provenance, i18n, and the population pyramid SVG.

``build_sample_city`` makes a small city of its own (2 wards, 4 districts, resources, indicators
on three tiers, candidate sites, a siting run) so these tests do not depend on the demo fixtures;
``tests/test_browser.py`` uses it too.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from karte.models import (
    CandidateSite,
    CensusArea,
    CensusFigure,
    City,
    Dataset,
    District,
    IndicatorValue,
    Resource,
    ResourceKind,
    SitingRun,
    Ward,
)
from karte.pyramid import AGE_BANDS, population_pyramid_svg

# Districts: code, name, ward, lower-left corner (lon, lat); each a 0.02° square near Kawasaki.
SAMPLE_DISTRICTS = (
    ("1413101", "大師地区", "14131", (139.70, 35.52)),
    ("1413102", "田島地区", "14131", (139.72, 35.52)),
    ("1413201", "日吉地区", "14132", (139.66, 35.54)),
    ("1413202", "南河原地区", "14132", (139.68, 35.54)),
)
# Ageing rate (%) per district; deliberately distinct so ranks and classes are unambiguous.
SAMPLE_AGEING = {"1413101": 28.4, "1413102": 19.7, "1413201": 23.1, "1413202": 31.6}
SAMPLE_WALK = {"1413101": 61.0, "1413102": 88.5, "1413201": 45.2, "1413202": 73.9}


@dataclass
class SampleCity:
    city: City
    wards: list[Ward]
    districts: list[District]
    census: Dataset
    run: SitingRun


def _rectangle(lon: float, lat: float, width: float, height: float) -> MultiPolygon:
    ring = ((lon, lat), (lon + width, lat), (lon + width, lat + height), (lon, lat + height), (lon, lat))
    return MultiPolygon(Polygon(ring, srid=6668), srid=6668)


def _square(lon: float, lat: float, size: float = 0.02) -> MultiPolygon:
    return _rectangle(lon, lat, size, size)


def _inputs(dataset: Dataset) -> dict:
    return {
        "datasets": [{"id": dataset.pk, "source_name": dataset.source_name, "vintage": dataset.vintage, "licence": dataset.licence}],
        "year": 2020, "method_id": "test", "parameters": {},
    }


def _ranked(values: dict[str, float]) -> dict[str, int]:
    ordered = sorted(values, key=values.get, reverse=True)
    return {code: position for position, code in enumerate(ordered, start=1)}


def build_sample_city() -> SampleCity:
    census = Dataset.objects.create(
        kind=Dataset.Kind.CENSUS_TABLE, source_name="令和2年国勢調査 小地域集計（テスト）", vintage=2020,
        licence="CC BY 4.0", checksum="sample-census",
    )
    facilities = Dataset.objects.create(
        kind=Dataset.Kind.RESOURCE, source_name="川崎市 公共施設一覧（テスト）", vintage=2023, checksum="sample-resources",
    )
    city = City.objects.create(code="14130", name_ja="川崎市", name_en="Kawasaki", geom=_square(139.64, 35.50, 0.12))
    wards = [
        Ward.objects.create(city=city, code="14131", name_ja="川崎区", name_en="Kawasaki-ku", geom=_rectangle(139.70, 35.52, 0.04, 0.02)),
        Ward.objects.create(city=city, code="14132", name_ja="幸区", name_en="Saiwai-ku", geom=_rectangle(139.66, 35.54, 0.04, 0.02)),
    ]
    ward_by_code = {w.code: w for w in wards}
    districts = [
        District.objects.create(
            city=city, ward=ward_by_code[ward_code], code=code, name_ja=name, name_romaji=f"District {code[-2:]}",
            school_name=name.replace("地区", "小学校"), geom=_square(*corner), dataset=census,
        )
        for code, name, ward_code, corner in SAMPLE_DISTRICTS
    ]
    for indicator, values, unit in (("ageing_rate", SAMPLE_AGEING, "%"), ("walk_coverage", SAMPLE_WALK, "%")):
        ranks = _ranked(values)
        for code, value in values.items():
            IndicatorValue.objects.create(
                tier="district", area_code=code, city=city, indicator=indicator, year=2020, value=value, unit=unit,
                rank=ranks[code], method=f"{indicator} のテスト値", inputs=_inputs(census), uncertain_share=0.0,
            )
        for ward in wards:
            own = [values[d.code] for d in districts if d.ward_id == ward.pk]
            IndicatorValue.objects.create(
                tier="ward", area_code=ward.code, city=city, indicator=indicator, year=2020,
                value=sum(own) / len(own), unit=unit, method="区の集計", inputs=_inputs(census),
            )
        IndicatorValue.objects.create(
            tier="city", area_code=city.code, city=city, indicator=indicator, year=2020,
            value=sum(values.values()) / len(values), unit=unit, method="市の集計", inputs=_inputs(census),
        )
    # Population by band for the pyramid of every district.
    for district in districts:
        for position, band in enumerate(AGE_BANDS):
            for sex, factor in (("m", 1.0), ("f", 1.1)):
                IndicatorValue.objects.create(
                    tier="district", area_code=district.code, city=city, indicator=f"pop_{sex}_{band}", year=2020,
                    value=round(factor * max(0, 300 - 12 * abs(position - 9))), unit="人", inputs=_inputs(census),
                )
    # Census small areas (a 2 × 2 grid in each district) with the counts the siting reads.
    for index, district in enumerate(districts):
        lon, lat = SAMPLE_DISTRICTS[index][3]
        for quarter in range(4):
            key = f"{district.code}{quarter:02d}"
            CensusArea.objects.create(
                key_code=key, census_year=2020, name_ja=f"{district.name_ja[:-2]}{quarter + 1}丁目",
                city_code=district.ward.code, geom=_square(lon + 0.01 * (quarter % 2), lat + 0.01 * (quarter // 2), 0.01),
                dataset=census,
            )
            for variable, value in (("pop_total", 2000 + 100 * quarter), ("pop_65_plus", 400 + 50 * quarter + 30 * index),
                                    ("households_elderly_alone", 90 + 10 * quarter)):
                CensusFigure.objects.create(key_code=key, census_year=2020, variable=variable, value=value, dataset=census)
    kinds = (ResourceKind.CIVIC_HALL, ResourceKind.PARK, ResourceKind.VACANT_HOUSE, ResourceKind.SCHOOL)
    resources = []
    for index, district in enumerate(districts):
        lon, lat = SAMPLE_DISTRICTS[index][3]
        for offset, kind in enumerate(kinds):
            # One resource near the centre of each census area: within 500 m of that area only.
            point = Point(lon + 0.006 + 0.01 * (offset % 2), lat + 0.005 + 0.01 * (offset // 2), srid=6668)
            resources.append(Resource.objects.create(
                source_key=f"test:{district.code}:{kind}", kind=kind, name=f"{district.name_ja[:-2]}{ResourceKind(kind).label}",
                address=f"川崎市{district.ward.name_ja}{district.name_ja[:-2]}{offset + 1}-{index + 1}", geom=point, location=point,
                city=city, district=district, dataset=facilities,
            ))
    for score, resource in enumerate(r for r in resources if r.kind in (ResourceKind.VACANT_HOUSE, ResourceKind.SCHOOL)):
        CandidateSite.objects.create(
            resource=resource, walk_distance_m=500, score=100.0 + 10 * score, elderly_reached=200.0 + score,
            elderly_alone_reached=40.0, uncovered_elderly_reached=80.0 + score, method="テストの評価",
        )
    chosen = [r for r in resources if r.kind == ResourceKind.VACANT_HOUSE][:2]
    run = SitingRun.objects.create(
        city=city, candidate_kinds=["vacant_house"], walk_distance_m=500, k=2, solver="greedy",
        demand_total=1000.0, covered_before=600.0, covered_after=720.0,
        chosen=[{"resource_id": chosen[0].pk, "newly_covered": 80.0}, {"resource_id": chosen[1].pk, "newly_covered": 40.0}],
        runtime_s=0.1, method="テストの配置", published=True,
    )
    return SampleCity(city=city, wards=wards, districts=districts, census=census, run=run)


@pytest.fixture
def sample_city(db) -> SampleCity:
    return build_sample_city()


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------

def test_map_page_is_japanese_and_offers_indicators_classes_and_wards(client, sample_city):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="ja">' in html
    assert "地区の指標地図" in html
    assert 'value="ageing_rate"' in html and 'value="walk_coverage"' in html
    assert 'value="natural_breaks"' in html and 'value="equal_interval"' in html
    assert "幸区" in html and "川崎区" in html
    # Leaflet comes from our own static files, never a CDN.
    assert "/static/vendor/leaflet-1.9.4/leaflet.js" in html
    assert "unpkg" not in html and "cdn" not in html.lower()
    # Every district is reachable by keyboard as a plain link to its karte.
    for district in sample_city.districts:
        assert f'href="/districts/{district.code}/"' in html


def test_map_page_labels_every_control(client, sample_city):
    html = client.get("/").content.decode()
    for control_id in re.findall(r'<(?:select|input)[^>]* id="([^"]+)"', html):
        assert f'for="{control_id}"' in html, f"control #{control_id} has no <label>"


def _page_config(html: str, script_id: str) -> dict:
    raw = re.search(rf'<script id="{script_id}" type="application/json">(.*?)</script>', html, re.S).group(1)
    return json.loads(raw)


def test_map_page_tiles_follow_settings(client, sample_city, settings):
    settings.KARTE_TILES = "gsi"
    tiles = _page_config(client.get("/").content.decode(), "karte-map-config")["tiles"]
    assert tiles["url"] == "https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png"
    assert "地理院タイル" in tiles["attribution"]
    settings.KARTE_TILES = "osm"
    assert "openstreetmap" in _page_config(client.get("/").content.decode(), "karte-map-config")["tiles"]["url"]
    settings.KARTE_TILES = "none"
    html = client.get("/").content.decode()
    assert _page_config(html, "karte-map-config")["tiles"] is None
    assert "cyberjapandata" not in html and "openstreetmap" not in html


def test_map_page_without_data_says_so(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert "データが読み込まれていません" in response.content.decode()


def test_the_map_reads_its_layers_from_the_api(client, sample_city):
    config = _page_config(client.get("/").content.decode(), "karte-map-config")
    assert all(url.startswith("/api/") for name, url in config["urls"].items() if name not in ("district_page", "district_tiles", "area_page"))
    districts = client.get(config["urls"]["districts"], {"indicators": "ageing_rate"}).json()
    assert len(districts["features"]) == 4
    by_code = {f["id"]: f["properties"] for f in districts["features"]}
    assert by_code["1413202"]["ageing_rate"] == pytest.approx(31.6)
    assert by_code["1413202"]["ageing_rate__rank"] == 1
    resources = client.get(config["urls"]["resources"], {"kind": "park", "geometry": "point"}).json()
    assert {f["properties"]["kind"] for f in resources["features"]} == {"park"}
    assert {f["geometry"]["type"] for f in resources["features"]} == {"Point"}
    assert len(resources["features"]) == 4
    assert len(client.get(config["urls"]["candidates"]).json()["features"]) == 8
    assert {f["id"] for f in client.get(config["urls"]["wards"]).json()["features"]} == {"14131", "14132"}
    siting = client.get(config["urls"]["siting"]).json()
    assert [f["properties"]["order"] for f in siting["features"]] == [1, 2]
    assert siting["karte:metadata"]["siting_run"]["id"] == sample_city.run.pk
    assert client.get(config["urls"]["districts"], {"indicators": "no_such"}).status_code == 400


def test_map_data_routes_are_gone(client, sample_city):
    # One contract for the map: /api/. The old /map-data/ duplicates answered 500 for bad input.
    for path in ("/map-data/districts/", "/map-data/resources/", "/map-data/candidates/", "/map-data/wards/",
                 "/map-data/siting/0/"):
        assert client.get(path).status_code == 404


def test_api_selects_a_ward_by_its_boundary(client, sample_city):
    # A resource of a 川崎区 district lying inside 幸区's boundary (districts are digitised apart
    # from ward lines): the API (and so the map) places it in 幸区, as the exports do.
    lon, lat = SAMPLE_DISTRICTS[3][3]
    point = Point(lon + 0.001, lat + 0.001, srid=6668)
    Resource.objects.create(source_key="test:edge", kind=ResourceKind.PARK, name="区境の公園", geom=point,
                            location=point, city=sample_city.city, district=sample_city.districts[0])
    edge = Resource.objects.get(source_key="test:edge")
    kawasaki = {f["id"] for f in client.get("/api/resources/", {"ward": "14131"}).json()["features"]}
    saiwai = {f["id"] for f in client.get("/api/resources/", {"ward": "14132"}).json()["features"]}
    assert kawasaki and saiwai and not kawasaki & saiwai
    assert edge.pk in saiwai and edge.pk not in kawasaki
    assert client.get("/api/resources/", {"ward": "99999"}).status_code == 400


def test_district_page_shows_stored_values_with_ward_city_rank_and_sources(client, sample_city):
    response = client.get("/districts/1413202/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "南河原地区" in html and "幸区" in html and "川崎市" in html
    stored = IndicatorValue.objects.get(tier="district", area_code="1413202", indicator="ageing_rate")
    row = re.search(r'<tr data-indicator="ageing_rate">(.*?)</tr>', html, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert cells[0].strip() == "%"
    assert cells[1].strip() == f"{stored.value:.1f}"
    ward_value = IndicatorValue.objects.get(tier="ward", area_code="14132", indicator="ageing_rate").value
    city_value = IndicatorValue.objects.get(tier="city", area_code="14130", indicator="ageing_rate").value
    assert cells[2].strip() == f"{ward_value:.1f}"
    assert cells[3].strip() == f"{city_value:.1f}"
    assert cells[4].strip() == "1 / 4"
    # Year, method and numbered source of the figure, resolved in the list of sources.
    assert "2020" in cells[5] and "ageing_rate のテスト値" in cells[5]
    number = re.search(r'href="#source-(\d+)"', cells[5]).group(1)
    source = re.search(rf'<li id="source-{number}">(.*?)</li>', html, re.S).group(1)
    assert "令和2年国勢調査 小地域集計（テスト）（2020）" in source
    assert "川崎市 公共施設一覧（テスト）" in html
    # Pyramid, resources with addresses, candidates.
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="population-pyramid"' in html
    assert "川崎市幸区南河原1-4" in html
    assert "ひろば候補地" in html and "南河原空き家" in html
    assert 'id="district-map"' in html


def test_district_page_lists_what_the_printed_karte_lists(client, sample_city):
    from karte.layers import district_report

    district = District.objects.get(code="1413202")
    lon, lat = SAMPLE_DISTRICTS[3][3]
    # A café inside the district that no district was assigned to (loaded before the districts).
    point = Point(lon + 0.015, lat + 0.015, srid=6668)
    Resource.objects.create(source_key="test:unassigned-cafe", kind=ResourceKind.CAFE, name="南河原カフェ",
                            geom=point, location=point, city=sample_city.city, district=None)
    # The district's best candidate also scored for 800 m: still listed once, with its 500 m figures.
    best = CandidateSite.objects.filter(resource__district=district, walk_distance_m=500).order_by("-score").first()
    CandidateSite.objects.create(resource=best.resource, walk_distance_m=800, score=best.score * 2,
                                 elderly_reached=1.0, elderly_alone_reached=1.0, uncovered_elderly_reached=1.0,
                                 method="テストの評価")
    html = client.get("/districts/1413202/").content.decode()
    report = district_report(district)
    assert "南河原カフェ" in html and "南河原カフェ" in [r.name for r in report.resources]
    section = re.search(r'id="candidates-heading".*?</table>', html, re.S).group(0)
    listed = re.findall(r'<tr><td class="num">\d+</td><td>([^<]+)', section)
    assert listed == [c.resource.name for c in report.candidates]
    assert len(listed) == len(set(listed)) == 2
    assert "徒歩500 m圏" in html


def test_district_page_unknown_code_is_404(client, sample_city):
    assert client.get("/districts/9999999/").status_code == 404


def test_ward_page_lists_its_districts_with_values(client, sample_city):
    response = client.get("/wards/14131/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "川崎区" in html and "大師地区" in html and "田島地区" in html
    assert "日吉地区" not in html  # a district of another ward
    assert 'data-sort="28.4"' in html and "28.4" in html
    assert "aria-sort" in html
    assert client.get("/wards/99999/").status_code == 404


def test_siting_page_shows_a_stored_run(client, sample_city):
    response = client.get("/siting/", {"run": sample_city.run.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert "まちのひろばの配置検討" in html
    assert 'id="siting-result"' in html
    assert re.search(r'id="weighted-gain">120<', html)  # covered_after - covered_before
    assert 'id="newly-covered"' not in html  # this run recorded no person counts
    assert "60.0%" in html and "72.0%" in html
    assert html.count("大師空き家") >= 1 and "田島空き家" in html


@pytest.fixture
def staff_client(client, db):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_user("planner", is_staff=True))
    return client


def test_siting_form_errors_are_shown_not_raised(staff_client, sample_city):
    client = staff_client
    response = client.post("/siting/", {"kinds": [], "walk_distance_m": "500", "k": "3", "solver": "greedy"})
    assert response.status_code == 400
    assert "候補とする資源の種類を1つ以上選んでください" in response.content.decode()
    response = client.post("/siting/", {"kinds": ["vacant_house"], "walk_distance_m": "abc", "k": "3"})
    assert response.status_code == 400


def test_english_is_available_through_the_language_switch(client, sample_city):
    html = client.get("/").content.decode()
    assert 'action="/language/" method="get"' in html
    assert "csrfmiddlewaretoken" not in html  # a GET form: the page holds no token and stays cacheable
    response = client.get("/language/", {"language": "en", "next": "/districts/1413101/"})
    assert response.status_code == 302 and response["Location"] == "/districts/1413101/"
    html = client.get("/districts/1413101/").content.decode()
    assert '<html lang="en">' in html
    assert "Population pyramid" in html
    assert "Indicators" in html
    assert "大師地区" in html  # district names stay Japanese (with their romaji beside them)
    # Each sentence once (the catalogue once repeated the map note and the footer three times).
    assert html.count("Thick line: district boundary.") == 1
    assert html.count("district profiles for each elementary school district") == 1
    assert html.count("Rank among the city's districts") == 1
    ward_page = client.get("/wards/14131/").content.decode()
    assert "<h1>Kawasaki-ku <small>Kawasaki" in ward_page  # ward and city by their English names
    client.get("/language/", {"language": "ja", "next": "/"})
    assert "<h1>川崎区 <small>川崎市" in client.get("/wards/14131/").content.decode()


def test_language_switch_stays_on_this_site_and_ignores_unknown_languages(client, db):
    assert client.get("/language/", {"language": "en", "next": "https://evil.example/"})["Location"] == "/"
    response = client.get("/language/", {"language": "xx", "next": "/wards/"})
    assert response["Location"] == "/wards/" and "django_language" not in response.cookies
    response = client.get("/language/", {"language": "en"})
    assert response.cookies["django_language"].value == "en" and response["Location"] == "/"


def test_running_a_siting_needs_a_login_with_the_right(client, sample_city):
    from django.contrib.auth.models import User

    data = {"kinds": ["vacant_house"], "walk_distance_m": "500", "k": "2", "solver": "greedy"}
    response = client.post("/siting/", data)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert 'id="siting-submit"' not in client.get("/siting/").content.decode()  # a login link instead
    client.force_login(User.objects.create_user("resident"))
    assert client.post("/siting/", data).status_code == 403
    assert SitingRun.objects.count() == 1  # only the sample's own


def test_only_published_runs_reach_the_home_map_and_latest(staff_client, sample_city):
    client = staff_client
    response = client.post("/siting/", {"kinds": ["vacant_house"], "walk_distance_m": "500", "k": "1", "solver": "greedy"})
    assert response.status_code == 302
    run = SitingRun.objects.latest("pk")
    assert run.published is False and run.created_by.username == "planner"
    latest = client.get("/api/siting/latest/").json()["karte:metadata"]["siting_run"]["id"]
    assert latest == sample_city.run.pk  # the new draft is not what the city presents
    assert client.get(f"/api/siting/{run.pk}/").status_code == 200  # a draft is read by its id
    html = client.get(f"/siting/?run={run.pk}").content.decode()
    assert "未公開" in html and 'id="siting-publish"' in html
    assert client.post(f"/siting/{run.pk}/publish/").status_code == 302
    run.refresh_from_db()
    assert run.published and run.published_by.username == "planner" and run.published_at is not None
    assert client.get("/api/siting/latest/").json()["karte:metadata"]["siting_run"]["id"] == run.pk
    client.post(f"/siting/{run.pk}/publish/", {"action": "withdraw"})
    assert client.get("/api/siting/latest/").json()["karte:metadata"]["siting_run"]["id"] == sample_city.run.pk


def test_publishing_needs_the_right(client, sample_city):
    from django.contrib.auth.models import User

    SitingRun.objects.update(published=False)
    assert client.post(f"/siting/{sample_city.run.pk}/publish/").status_code == 302  # to the login page
    client.force_login(User.objects.create_user("resident"))
    assert client.post(f"/siting/{sample_city.run.pk}/publish/").status_code == 403
    assert not SitingRun.objects.filter(published=True).exists()
    assert client.get("/api/siting/latest/").status_code == 404
    config = _page_config(client.get("/").content.decode(), "karte-map-config")
    assert config["has_siting_run"] is False


# ---------------------------------------------------------------------------------------------
# Population pyramid
# ---------------------------------------------------------------------------------------------

def test_pyramid_is_valid_svg_with_one_bar_per_band_and_sex():
    male = {band: 100.0 + i for i, band in enumerate(AGE_BANDS)}
    female = {band: 120.0 for band in AGE_BANDS}
    svg = population_pyramid_svg(male, female, title="2020年（人）")
    root = ET.fromstring(svg)
    rects = root.findall("{http://www.w3.org/2000/svg}rect")
    assert len(rects) == 2 * len(AGE_BANDS) == 42
    assert "2020年（人）" in svg
    assert "65–69" in svg and "100+" in svg
    # Men to the left of the centre, women to the right, and a larger count draws a longer bar.
    widths = {r.find("{http://www.w3.org/2000/svg}title").text.split(":")[0]: float(r.get("width")) for r in rects}
    assert widths["男 100+"] > widths["男 0–4"]
    assert widths["女 0–4"] == pytest.approx(widths["女 100+"])


def test_pyramid_escapes_text_and_treats_missing_as_zero():
    svg = population_pyramid_svg({"65_69": 10}, {}, title="<a&b>")
    ET.fromstring(svg)
    assert "&lt;a&amp;b&gt;" in svg
    assert "女 0" in svg


def test_pyramid_refuses_unknown_bands_and_negative_counts():
    with pytest.raises(ValueError, match="65-69"):
        population_pyramid_svg({"65-69": 1}, {})
    with pytest.raises(ValueError, match="negative|invalid"):
        population_pyramid_svg({"65_69": -1}, {})


def test_pyramid_greys_bands_without_data_instead_of_drawing_nobody():
    bands_to_74 = [band for band in AGE_BANDS if int(band.split("_")[0]) < 75]
    svg = population_pyramid_svg({b: 10 for b in bands_to_74}, {b: 12 for b in bands_to_74}, missing_label="no data")
    root = ET.fromstring(svg)
    greyed = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("font-style") == "italic"]
    assert greyed == ["100+", "95–99", "90–94", "85–89", "80–84", "75–79"]
    assert "no data" in svg
    full = population_pyramid_svg({b: 10 for b in AGE_BANDS}, {b: 12 for b in AGE_BANDS}, missing_label="no data")
    assert "no data" not in full
