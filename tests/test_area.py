"""The karte of any area (karte.layers.area and /api/area/) on the demo city 川崎市 14130: figures
against the census cells summed by hand, the previous census carried over by the correspondence
table, GET and POST alike, the OpenAPI schema, exports, and clear errors for bad areas."""
from __future__ import annotations

import json

import pytest
import shapely

from karte.layers import ParameterError, area_report, parse_area_json, parse_area_query
from karte.layers.area import MAX_AREA_KM2, MAX_CODES, MAX_VERTICES, encode_polygon
from karte.models import CensusArea, CensusAreaCorrespondence, CensusFigure, City

from .test_api import validate_against_openapi

pytestmark = pytest.mark.django_db


@pytest.fixture
def city(demo_db, db):
    return City.objects.get(code="14130")


def _figure(key: str, variable: str, year: int = 2020) -> float | None:
    return CensusFigure.objects.filter(key_code=key, census_year=year, variable=variable).values_list(
        "value", flat=True).first()


def _plain_codes(n: int) -> list[str]:
    """``n`` small areas of 2020 in one ward whose population and age cells are all published."""
    suppressed = set(CensusFigure.objects.filter(census_year=2020, value__isnull=True).values_list("key_code", flat=True))
    keys = CensusArea.objects.filter(census_year=2020, city_code="14133").order_by("key_code").values_list(
        "key_code", flat=True)
    return [k for k in keys if k not in suppressed][:n]


def test_whole_small_areas_sum_exactly(city):
    codes = _plain_codes(3)
    report = area_report(parse_area_query({"codes": ",".join(codes)}))
    rows = {row.code: row for row in report.rows}
    assert report.method == "whole"
    assert rows["pop_total"].value == sum(_figure(k, "pop_total") for k in codes)
    assert rows["pop_65_plus"].value == sum(_figure(k, "pop_65_plus") for k in codes)
    expected_rate = 100 * rows["pop_65_plus"].value / sum(
        _figure(k, v) for k in codes for v in ("pop_0_14", "pop_15_64", "pop_65_plus"))
    assert rows["ageing_rate"].value == pytest.approx(expected_rate)
    # The pyramid is the areas' own age-by-sex cells.
    bands = sum(value for key in codes for variable, value in CensusFigure.objects.filter(
        key_code=key, census_year=2020, variable__regex=r"^pop_[mf]_").values_list("variable", "value"))
    assert sum(report.pyramid.male.values()) + sum(report.pyramid.female.values()) == pytest.approx(bands)
    assert [a["key_code"] for a in report.small_areas] == codes
    assert all(a["fraction"] == 1.0 for a in report.small_areas)
    # Comparison columns: districts overlapped, the ward, the city (from the stored values).
    tiers = [c.tier for c in report.columns]
    assert tiers[-2:] == ["ward", "city"] and "district" in tiers
    assert report.columns[-2].code == "14133"


def test_previous_census_is_carried_over_by_the_correspondence_table(city):
    link = CensusAreaCorrespondence.objects.filter(relation="split").first()
    shares = CensusAreaCorrespondence.objects.filter(new_key_code=link.new_key_code, old_year=2015)
    expected = sum(_figure(s.old_key_code, "pop_total", 2015) * s.area_share for s in shares)
    unchanged = [k for k in _plain_codes(2) if not CensusAreaCorrespondence.objects.filter(new_key_code=k).exists()][0]
    expected += _figure(unchanged, "pop_total", 2015)
    report = area_report(parse_area_query({"codes": f"{link.new_key_code},{unchanged}"}))
    row = next(r for r in report.rows if r.code == "pop_total")
    assert report.previous_year == 2015
    assert row.previous == pytest.approx(expected)
    assert row.change == pytest.approx(row.value - row.previous)
    rate = next(r for r in report.rows if r.code == "ageing_rate")
    assert rate.change == pytest.approx(rate.value - rate.previous)


def test_circle_and_polygon_apportion_within_the_small_areas_met(city):
    report = area_report(parse_area_query({"lon": "139.70", "lat": "35.53", "radius": "800"}))
    assert report.method in ("area", "dasymetric")
    assert 1.9 < report.area_km2 < 2.1  # π × 0.8² km²
    assert report.title.startswith("半径800mの圏域（") and report.columns[0].name in report.title
    total = next(r for r in report.rows if r.code == "pop_total").value
    met = sum(_figure(a["key_code"], "pop_total") or 0 for a in report.small_areas)
    assert 0 < total < met
    # The same circle drawn as a polygon (its permalink encoding) gives the same figures.
    again = area_report(parse_area_query({"geometry": encode_polygon(report.geometry)}))
    assert next(r for r in again.rows if r.code == "pop_total").value == pytest.approx(total, rel=1e-4)
    assert report.resources and all(report.geometry.covers(shapely.Point(r.location.x, r.location.y))
                                    for r in report.resources)


@pytest.mark.parametrize("query,parameter,words", [
    ({"geometry": "139.0,35.0,139.01,35.0,139.01,35.01"}, "geometry", "outside"),
    ({"lon": "135.5", "lat": "34.7", "radius": "500"}, "lon", "outside"),
    ({"geometry": "139.55,35.45,139.80,35.45,139.80,35.65,139.55,35.65"}, "geometry", "too large"),
    ({"geometry": ",".join(f"{139.7 + 0.001 * (i % 2)},{35.53 + 0.00001 * i}" for i in range(MAX_VERTICES + 5))},
     "geometry", "too many vertices"),
    ({"codes": ",".join(str(14131000000 + i) for i in range(MAX_CODES + 1))}, "codes", "too many"),
    ({"codes": "14131001001,99999999999"}, "codes", "99999999999"),
    ({"codes": "a;b"}, "codes", "codes"),
    ({"lon": "139.7", "lat": "35.5", "radius": "99999"}, "radius", "between"),
    ({"geometry": "abc"}, "geometry", "numbers"),
    ({"codes": "14131001001", "lon": "139.7"}, "lon", "one of"),
    ({}, "codes", "one of"),
])
def test_bad_areas_are_clear_errors(city, query, parameter, words):
    with pytest.raises(ParameterError) as caught:
        area_report(parse_area_query(query))
    assert caught.value.parameter == parameter and caught.value.status == 400
    assert words in caught.value.message


def test_api_get_post_and_formats(client, city):
    codes = ",".join(_plain_codes(3))
    response = client.get("/api/area/", {"codes": codes})
    assert response.status_code == 200, response.content
    validate_against_openapi("/api/area/", response)
    got = response.json()
    assert got["method"] == "whole" and got["area"]["query"] == {"codes": codes}
    circle = client.get("/api/area/", {"lon": "139.70", "lat": "35.53", "radius": "800"}).json()
    # POST: the same circle as GeoJSON (no CSRF token: a read that stores nothing).
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    posted = strict.post("/api/area/", data=json.dumps({"type": "Point", "coordinates": [139.70, 35.53], "radius": 800}),
                         content_type="application/json")
    assert posted.status_code == 200, posted.content
    assert posted.json()["rows"] == circle["rows"]
    polygon = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [
        [[139.69, 35.52], [139.71, 35.52], [139.71, 35.54], [139.69, 35.54], [139.69, 35.52]]]}}
    by_post = strict.post("/api/area/?format=geojson", data=json.dumps(polygon), content_type="application/json")
    assert by_post.status_code == 200 and by_post["Content-Type"].startswith("application/geo+json")
    feature = by_post.json()
    assert feature["type"] == "Feature" and feature["properties"]["pop_total"] > 0
    query = feature["karte:metadata"]["area"]["query"]
    by_get = client.get("/api/area/", {**query, "format": "geojson"}).json()
    assert by_get["properties"]["pop_total"] == pytest.approx(feature["properties"]["pop_total"], rel=1e-6)
    csv = client.get("/api/area/", {"codes": codes, "format": "csv"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    header = csv.content.decode("utf-8").splitlines()[0]
    assert header.startswith("indicator,label,unit,year,value,previous_year,previous,change") and "ward:14133" in header


def test_api_errors_are_json_400(client, city):
    response = client.get("/api/area/", {"geometry": "139.0,35.0,139.01,35.0,139.01,35.01"})
    assert response.status_code == 400
    validate_against_openapi("/api/area/", response)
    assert response.json()["parameter"] == "geometry" and "outside" in response.json()["error"]
    for body, parameter in (("not json", "body"), ("[]", "body"), ('{"type": "LineString", "coordinates": [[1, 2], [3, 4]]}', "geometry")):
        answer = client.post("/api/area/", data=body, content_type="application/json")
        assert answer.status_code == 400 and answer.json()["parameter"] == parameter
    both = client.post("/api/area/?codes=1", data='{"codes": ["1"]}', content_type="application/json")
    assert both.status_code == 400 and both.json()["parameter"] == "codes"
    assert client.put("/api/area/", data="{}", content_type="application/json").status_code == 405


def test_parse_area_json_forms(city):
    assert parse_area_json({"codes": ["a1", "a2"]}).codes == ("a1", "a2")
    assert parse_area_json({"type": "Feature", "properties": {"radius": 400},
                            "geometry": {"type": "Point", "coordinates": [139.7, 35.5]}}).radius_m == 400
    assert MAX_AREA_KM2 > 10


def test_page_shows_the_figures_links_and_comparisons(client, city):
    codes = _plain_codes(3)
    response = client.get("/area/", {"codes": ",".join(codes)})
    assert response.status_code == 200
    page = response.content.decode()
    report = area_report(parse_area_query({"codes": ",".join(codes)}))
    population = next(r for r in report.rows if r.code == "pop_total").value
    assert f"{population:,.0f}" in page
    for column in report.columns:
        assert column.name in page
    assert "/area/karte.pdf?codes=" in page and "format=csv" in page and "format=geojson" in page
    assert 'data-method="whole"' in page
    assert '/cities/14130/data/' in page  # the data report, as from every karte's sources
    assert "<script>" not in page.replace('<script src=', '').split('id="karte-district-config"')[0]  # CSP: no inline JS


def test_page_error_is_a_clear_400(client, city):
    response = client.get("/area/", {"geometry": "139.0,35.0,139.01,35.0,139.01,35.01"})
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode() and "outside" in response.content.decode()


def test_pdf_is_the_area_karte(client, city, tmp_path, artifacts_dir):
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils missing")
    response = client.get("/area/karte.pdf", {"lon": "139.70", "lat": "35.53", "radius": "800"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    path = artifacts_dir / "area-karte.pdf"
    path.write_bytes(response.content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    report = area_report(parse_area_query({"lon": "139.70", "lat": "35.53", "radius": "800"}))
    population = next(r for r in report.rows if r.code == "pop_total").value
    assert "範囲のカルテ" in text and f"{population:,.0f}" in text and "川崎市" in text
    assert "ダシメトリック按分" in text or "面積按分" in text


def test_small_areas_layer_flags_suppressed_cells_and_carries_the_change(client, city):
    response = client.get("/api/small-areas/", {"bbox": "139.55,35.45,139.80,35.65"})
    assert response.status_code == 200
    validate_against_openapi("/api/small-areas/", response)
    collection = response.json()
    meta = collection["karte:metadata"]
    assert meta["year"] == 2020 and meta["previous_year"] == 2015 and meta["sources"]
    # The change rests on the 2015 census and the correspondence table: both are named as sources.
    source_ids = {s["id"] for s in meta["sources"]}
    earlier = CensusFigure.objects.filter(census_year=2015).values_list("dataset_id", flat=True).first()
    links = CensusAreaCorrespondence.objects.values_list("dataset_id", flat=True).first()
    assert earlier in source_ids and links in source_ids
    features = {f["properties"]["key_code"]: f["properties"] for f in collection["features"]}
    # A small area with a suppressed cell behind a ratio: that ratio is null and named, not 0.
    suppressed = CensusFigure.objects.filter(census_year=2020, status="suppressed",
                                             variable="households_elderly_alone", key_code__in=list(features))
    key = suppressed.values_list("key_code", flat=True).first()
    if key is not None:
        assert features[key]["elderly_alone_share"] is None
        assert "elderly_alone_share" in features[key]["suppressed"]
    # A plain small area: its ratio from its own cells, the change against its 2015 cells.
    plain = _plain_codes(1)[0]
    props = features[plain]
    old = 100 * _figure(plain, "pop_65_plus") / sum(_figure(plain, v) for v in ("pop_0_14", "pop_15_64", "pop_65_plus"))
    assert props["ageing_rate"] == pytest.approx(old) and props["suppressed"] == []
    if not CensusAreaCorrespondence.objects.filter(new_key_code=plain).exists():
        before = 100 * _figure(plain, "pop_65_plus", 2015) / sum(
            _figure(plain, v, 2015) for v in ("pop_0_14", "pop_15_64", "pop_65_plus"))
        assert props["ageing_rate_change"] == pytest.approx(old - before)
    assert client.get("/api/small-areas/").json()["parameter"] == "bbox"
    assert client.get("/api/small-areas/", {"bbox": "139.55,35.45,139.80,35.65", "format": "csv"}).status_code == 200


def test_small_areas_layer_refuses_a_box_of_too_many(client, city, monkeypatch):
    from karte.layers import small_areas

    monkeypatch.setattr(small_areas, "MAX_FEATURES", 10)
    response = client.get("/api/small-areas/", {"bbox": "139.5,35.4,139.9,35.7"})  # not an answer cached above
    assert response.status_code == 400 and "zoom in" in response.json()["error"]


def test_page_in_english(client, city):
    client.cookies["django_language"] = "en"
    response = client.get("/area/", {"codes": ",".join(_plain_codes(2))})
    page = response.content.decode()
    assert response.status_code == 200
    assert "This area" in page and "whole small areas summed" in page and "Ageing rate" in page


def test_print_karte_command_prints_an_area(city, tmp_path):
    from django.core.management import CommandError, call_command

    out = tmp_path / "area.pdf"
    call_command("print_karte", "--area", "lon=139.70&lat=35.53&radius=800", "--out", str(out))
    assert out.read_bytes().startswith(b"%PDF")
    with pytest.raises(CommandError, match="outside"):
        call_command("print_karte", "--area", "geometry=139.0,35.0,139.01,35.0,139.01,35.01", "--out", str(out))
    with pytest.raises(CommandError, match="unknown part"):
        call_command("print_karte", "--area", "code=1", "--out", str(out))
