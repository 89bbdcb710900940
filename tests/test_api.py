"""The read-only HTTP API: every response validated against /api/openapi.json, parameters checked
strictly (400 with {error, parameter}), GET only (405), and the numbers equal to the database's."""
from __future__ import annotations

import csv
import io
import json
import math

import pytest
import shapely
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from geojson_pydantic import Feature, FeatureCollection
from openapi_schema_validator import OAS31Validator
from shapely.geometry import shape

from karte.api.openapi import openapi_document
from karte.models import (
    CandidateSite,
    City,
    Dataset,
    District,
    IndicatorValue,
    Resource,
    ResourceKind,
    SitingRun,
    Ward,
)

# ----------------------------------------------------------------------------------------------
# A small city built from model objects (kept independent of the fixtures and the compute step)
# ----------------------------------------------------------------------------------------------

SQUARE = 0.01  # degrees, about 900 m × 1.1 km at Kawasaki's latitude


def _square(lon: float, lat: float, *, clockwise: bool = False, hole: bool = False) -> MultiPolygon:
    ring = [(lon, lat), (lon + SQUARE, lat), (lon + SQUARE, lat + SQUARE), (lon, lat + SQUARE), (lon, lat)]
    if clockwise:
        ring = ring[::-1]
    rings = [ring]
    if hole:
        d = SQUARE / 4
        rings.append([(lon + d, lat + d), (lon + d, lat + 2 * d), (lon + 2 * d, lat + 2 * d), (lon + 2 * d, lat + d), (lon + d, lat + d)])
    return MultiPolygon(Polygon(*rings), srid=6668)


def build_small_city() -> dict:
    """Kawasaki-like city: 2 wards, 3 districts (one wound clockwise, one with a hole), indicator
    values with ranks, ward/city values, one NaN, resources, candidates and a siting run."""
    census = Dataset.objects.create(
        kind=Dataset.Kind.CENSUS_TABLE, source_name="令和2年国勢調査 小地域集計 (test)",
        url="https://www.e-stat.go.jp/", licence="CC BY 4.0 (政府標準利用規約 2.0)", vintage=2020,
        file_name="census.csv", checksum="a" * 64,
    )
    boundary = Dataset.objects.create(
        kind=Dataset.Kind.SCHOOL_DISTRICT, source_name="国土数値情報 A27 (test)", url="https://nlftp.mlit.go.jp/",
        licence="CC BY 4.0", vintage=2021, file_name="a27.geojson", checksum="b" * 64,
    )
    city = City.objects.create(code="14130", name_ja="川崎市", name_en="Kawasaki", projected_srid=6677)
    kawasaki = Ward.objects.create(city=city, code="14131", name_ja="川崎区", name_en="Kawasaki-ku")
    saiwai = Ward.objects.create(city=city, code="14132", name_ja="幸区", name_en="Saiwai-ku")
    districts = [
        District.objects.create(city=city, ward=kawasaki, code="D01", name_ja="川崎小学校区", name_romaji="Kawasaki",
                                school_name="川崎小学校", geom=_square(139.70, 35.52), dataset=boundary),
        District.objects.create(city=city, ward=kawasaki, code="D02", name_ja="大師小学校区", name_romaji="Daishi",
                                geom=_square(139.72, 35.52, clockwise=True), dataset=boundary),
        District.objects.create(city=city, ward=saiwai, code="D03", name_ja="幸町小学校区", name_romaji="",
                                geom=_square(139.68, 35.54, hole=True), dataset=boundary),
    ]
    inputs = {"datasets": [{"id": census.pk, "source_name": census.source_name, "vintage": 2020, "licence": census.licence}],
              "year": 2020, "method_id": "areal_weighting_v1", "parameters": {"weights": "residential area"}}
    ageing = {"D01": (24.123456789, 2), "D02": (31.5, 1), "D03": (18.0, 3)}
    for code, (value, rank) in ageing.items():
        IndicatorValue.objects.create(tier="district", area_code=code, city=city, indicator="ageing_rate", year=2020,
                                      value=value, unit="%", rank=rank, method="65歳以上人口 / 年齢判明人口",
                                      inputs=inputs, uncertain_share=0.05)
        IndicatorValue.objects.create(tier="district", area_code=code, city=city, indicator="ageing_rate", year=2015,
                                      value=value - 2, unit="%", rank=rank, method="65歳以上人口 / 年齢判明人口", inputs=inputs)
    walk = {"D01": 55.0, "D02": float("nan"), "D03": 80.0}
    for rank, (code, value) in enumerate(walk.items(), start=1):
        IndicatorValue.objects.create(tier="district", area_code=code, city=city, indicator="walk_coverage", year=2020,
                                      value=value, unit="%", rank=None if math.isnan(value) else rank,
                                      method="徒歩500m圏内の高齢者の割合", inputs=inputs)
        IndicatorValue.objects.create(tier="district", area_code=code, city=city, indicator="pop_total", year=2020,
                                      value=1000.0 * rank, unit="人", method="面積按分", inputs=inputs)
    for tier, area, value in (("ward", "14131", 27.0), ("ward", "14132", 18.0), ("city", "14130", 22.2)):
        IndicatorValue.objects.create(tier=tier, area_code=area, city=city, indicator="ageing_rate", year=2020,
                                      value=value, unit="%", method="65歳以上人口 / 年齢判明人口", inputs=inputs)

    resource_set = Dataset.objects.create(kind=Dataset.Kind.RESOURCE, source_name="川崎市 施設一覧 (test)",
                                          licence="CC BY 4.0", vintage=2024, checksum="c" * 64)
    resources = []
    for i, (lon, lat, kind) in enumerate([
        (139.705, 35.525, ResourceKind.CIVIC_HALL), (139.725, 35.525, ResourceKind.LIBRARY),
        (139.685, 35.545, ResourceKind.CAFE), (139.706, 35.526, ResourceKind.VACANT_HOUSE),
        (139.707, 35.527, ResourceKind.VACANT_HOUSE),
    ]):
        point = Point(lon, lat, srid=6668)
        resources.append(Resource.objects.create(
            source_key=f"test:{i}", kind=kind, name=f"資源{i}", address=f"川崎市{i}", geom=point, location=point,
            city=city, district=districts[0 if lon < 139.71 and lat < 35.53 else (1 if lon > 139.71 else 2)],
            dataset=resource_set,
        ))
    park_polygon = Polygon(((139.701, 35.521), (139.701, 35.523), (139.703, 35.523), (139.703, 35.521), (139.701, 35.521)), srid=6668)
    resources.append(Resource.objects.create(
        source_key="test:park", kind=ResourceKind.PARK, name="公園", geom=park_polygon,
        location=park_polygon.point_on_surface, area_m2=40000.0, city=city, district=districts[0], dataset=resource_set,
    ))
    candidates = [
        CandidateSite.objects.create(resource=resources[3], walk_distance_m=500, score=120.5, elderly_reached=300,
                                     elderly_alone_reached=40, uncovered_elderly_reached=120.5, method="greedy test"),
        CandidateSite.objects.create(resource=resources[4], walk_distance_m=500, score=80.25, elderly_reached=200,
                                     elderly_alone_reached=20, uncovered_elderly_reached=80.25, method="greedy test"),
        CandidateSite.objects.create(resource=resources[4], walk_distance_m=800, score=150.0, elderly_reached=400,
                                     elderly_alone_reached=50, uncovered_elderly_reached=150.0, method="greedy test"),
    ]
    run = SitingRun.objects.create(
        city=city, candidate_kinds=["vacant_house"], walk_distance_m=500, k=2, solver="greedy",
        demand_total=1000.0, covered_before=400.0, covered_after=600.75,
        chosen=[{"resource_id": resources[3].pk, "newly_covered": 120.5}, {"resource_id": resources[4].pk, "newly_covered": 80.25}],
        runtime_s=0.01, method="maximal covering, greedy", published=True,
    )
    return {"city": city, "wards": [kawasaki, saiwai], "districts": districts, "resources": resources,
            "candidates": candidates, "run": run, "datasets": [census, boundary, resource_set]}


@pytest.fixture
def small_city(db):
    return build_small_city()


# ----------------------------------------------------------------------------------------------
# Validation helpers
# ----------------------------------------------------------------------------------------------

OPENAPI = openapi_document()


def _media(content_type: str) -> str:
    return content_type.split(";")[0].strip()


def validate_against_openapi(path: str, response, status: int | None = None) -> None:
    """The response body validates against the OpenAPI response schema of ``path`` (GET)."""
    status = status or response.status_code
    operation = OPENAPI["paths"][path]["get"]
    assert str(status) in operation["responses"], f"{path}: status {status} not documented"
    content = operation["responses"][str(status)]["content"]
    media = _media(response["Content-Type"])
    assert media in content, f"{path}: content type {media} not documented"
    if media == "text/csv":
        return
    schema = dict(content[media]["schema"])
    schema["components"] = OPENAPI["components"]
    OAS31Validator(schema).validate(json.loads(response.content))


def assert_rfc7946(collection: dict) -> None:
    """geojson-pydantic model + what it does not check: winding, ranges, NaN, no crs member."""
    FeatureCollection(**collection)
    assert "crs" not in collection
    text = json.dumps(collection, allow_nan=False)  # raises on NaN/inf anywhere
    assert "NaN" not in text
    for item in collection["features"]:
        assert "crs" not in item
        geometry = item["geometry"]
        if geometry is None:
            continue
        coords = shapely.get_coordinates(shape(geometry))
        assert ((coords[:, 0] >= -180) & (coords[:, 0] <= 180)).all()
        assert ((coords[:, 1] >= -90) & (coords[:, 1] <= 90)).all()
        assert all(round(c, 7) == c for c in coords.ravel())
        geom = shape(geometry)
        polygons = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom] if geom.geom_type == "Polygon" else []
        for polygon in polygons:
            assert polygon.exterior.is_ccw, f"feature {item.get('id')}: exterior not counter-clockwise"
            for interior in polygon.interiors:
                assert not interior.is_ccw, f"feature {item.get('id')}: hole not clockwise"


def _get(client, url: str, expected_status: int = 200, path: str | None = None):
    response = client.get(url)
    assert response.status_code == expected_status, response.content[:500]
    if path is not None:
        validate_against_openapi(path, response)
    return response


# ----------------------------------------------------------------------------------------------
# Districts
# ----------------------------------------------------------------------------------------------

def test_districts_geojson_matches_database_and_contract(client, small_city):
    response = _get(client, "/api/districts/?city=14130&indicators=ageing_rate,walk_coverage", path="/api/districts/")
    assert _media(response["Content-Type"]) == "application/geo+json"
    collection = response.json()
    assert_rfc7946(collection)
    features = {f["id"]: f for f in collection["features"]}
    assert sorted(features) == ["D01", "D02", "D03"]
    for code, feature in features.items():
        props = feature["properties"]
        for indicator in ("ageing_rate", "walk_coverage"):
            stored = IndicatorValue.objects.get(tier="district", area_code=code, indicator=indicator, year=2020)
            expected = None if stored.value is None or math.isnan(stored.value) else stored.value
            assert props[indicator] == expected
            assert props[f"{indicator}__rank"] == stored.rank
    assert features["D02"]["properties"]["walk_coverage"] is None  # stored NaN → null
    assert features["D01"]["properties"]["ward_name_ja"] == "川崎区"
    assert features["D01"]["properties"]["ward_name_en"] == "Kawasaki-ku"
    assert features["D03"]["properties"]["name_romaji"] is None

    meta = collection["karte:metadata"]
    assert meta["year"] == 2020 and meta["available_years"] == [2015, 2020]
    ageing = meta["indicators"]["ageing_rate"]
    assert ageing["unit"] == "%" and ageing["method"] == "65歳以上人口 / 年齢判明人口"
    assert ageing["ward_values"] == {"14131": 27.0, "14132": 18.0}
    assert ageing["city_values"] == {"14130": 22.2}
    assert ageing["method_id"] == "areal_weighting_v1"
    census = small_city["datasets"][0]
    source = next(s for s in meta["sources"] if s["id"] == census.pk)
    assert source["licence"] == census.licence and source["vintage"] == 2020 and source["url"] == census.url
    assert any(s["source_name"].startswith("国土数値情報 A27") for s in meta["sources"])


def test_districts_geometry_is_the_stored_one_in_wgs84(client, small_city):
    collection = _get(client, "/api/districts/?indicators=ageing_rate").json()
    for item in collection["features"]:
        stored = shapely.from_wkb(bytes(District.objects.get(code=item["id"]).geom.wkb))
        served = shape(item["geometry"])
        # JGD2011 and WGS84 coincide to well under a metre (~1e-5 degree).
        assert served.symmetric_difference(stored).area < 1e-9
    d03 = next(f for f in collection["features"] if f["id"] == "D03")
    assert len(d03["geometry"]["coordinates"][0]) == 2  # exterior + hole kept


def test_districts_ward_year_and_default_indicators(client, small_city):
    collection = _get(client, "/api/districts/?ward=14132&year=2015", path="/api/districts/").json()
    assert [f["id"] for f in collection["features"]] == ["D03"]
    props = collection["features"][0]["properties"]
    # Default columns: the derived indicators, not the census counts.
    assert "ageing_rate" in props and "pop_total" not in props
    assert props["ageing_rate"] == pytest.approx(16.0)
    assert props["walk_coverage"] is None  # no 2015 value
    assert collection["karte:metadata"]["year"] == 2015


def test_districts_simplify_keeps_valid_geometry(client, small_city):
    collection = _get(client, "/api/districts/?simplify=50", path="/api/districts/").json()
    assert_rfc7946(collection)
    assert all(shape(f["geometry"]).is_valid for f in collection["features"])
    assert collection["karte:metadata"]["simplify_m"] == 50


def test_districts_csv(client, small_city):
    response = _get(client, "/api/districts/?indicators=ageing_rate,walk_coverage&format=csv", path="/api/districts/")
    rows = {row["code"]: row for row in csv.DictReader(io.StringIO(response.content.decode("utf-8")))}
    assert float(rows["D01"]["ageing_rate"]) == 24.123456789
    assert rows["D02"]["walk_coverage"] == ""
    assert rows["D01"]["ageing_rate__rank"] == "2"
    assert "geometry" not in rows["D01"] and "wkt" not in rows["D01"]


def test_district_detail_has_every_figure(client, small_city):
    response = _get(client, "/api/districts/D01/", path="/api/districts/{code}/")
    feature = response.json()
    Feature(**{k: v for k, v in feature.items() if k != "karte:metadata"})
    assert feature["id"] == "D01"
    assert feature["properties"]["pop_total"] == 1000.0
    assert feature["properties"]["ageing_rate"] == 24.123456789
    assert "ageing_rate" in feature["karte:metadata"]["indicators"]
    assert _get(client, "/api/districts/NOPE/", 404, path="/api/districts/{code}/").json()["parameter"] == "code"


# ----------------------------------------------------------------------------------------------
# Resources, candidates, siting
# ----------------------------------------------------------------------------------------------

def test_resources_paginated_and_bbox_bounded(client, small_city):
    first = _get(client, "/api/resources/?limit=2", path="/api/resources/").json()
    assert_rfc7946(first)
    page = first["karte:metadata"]["page"]
    assert len(first["features"]) == 2 and page["total"] == 6 and page["next_offset"] == 2
    assert "offset=2" in page["next"]
    seen = [f["id"] for f in first["features"]]
    offset = 2
    while offset is not None:
        body = _get(client, f"/api/resources/?limit=2&offset={offset}", path="/api/resources/").json()
        seen += [f["id"] for f in body["features"]]
        offset = body["karte:metadata"]["page"]["next_offset"]
    assert sorted(seen) == sorted(r.pk for r in small_city["resources"])

    boxed = _get(client, "/api/resources/?bbox=139.70,35.52,139.71,35.53&kind=vacant_house", path="/api/resources/").json()
    assert {f["properties"]["source_key"] for f in boxed["features"]} == {"test:3", "test:4"}
    park = _get(client, "/api/resources/?kind=park").json()["features"][0]
    assert park["geometry"]["type"] == "Polygon" and park["properties"]["area_m2"] == 40000.0
    assert _get(client, "/api/resources/?kind=park&geometry=point").json()["features"][0]["geometry"]["type"] == "Point"


def test_resources_limit_is_capped(client, small_city):
    error = _get(client, "/api/resources/?limit=100000", 400, path="/api/resources/").json()
    assert error["parameter"] == "limit"


def test_resources_csv_has_lon_lat(client, small_city):
    response = _get(client, "/api/resources/?kind=cafe&format=csv", path="/api/resources/")
    (row,) = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert float(row["lon"]) == pytest.approx(139.685, abs=1e-5) and float(row["lat"]) == pytest.approx(35.545, abs=1e-5)


def test_candidates(client, small_city):
    collection = _get(client, "/api/candidates/?walk_distance=500", path="/api/candidates/").json()
    assert_rfc7946(collection)
    scores = [f["properties"]["score"] for f in collection["features"]]
    assert scores == [120.5, 80.25]
    assert [f["properties"]["rank"] for f in collection["features"]] == [1, 2]
    assert len(_get(client, "/api/candidates/?limit=1").json()["features"]) == 1
    default = _get(client, "/api/candidates/", path="/api/candidates/").json()
    assert default["karte:metadata"]["walk_distance_m"] == 500  # one distance at a time
    assert [f["properties"]["score"] for f in default["features"]] == scores
    ward = _get(client, "/api/candidates/?ward=14132", path="/api/candidates/").json()
    assert ward["features"] == []


def test_siting_run(client, small_city):
    run = small_city["run"]
    collection = _get(client, f"/api/siting/{run.pk}/", path="/api/siting/{id}/").json()
    assert_rfc7946(collection)
    props = [f["properties"] for f in collection["features"]]
    assert [p["order"] for p in props] == [1, 2]
    assert [p["resource_id"] for p in props] == [c["resource_id"] for c in run.chosen]
    assert props[-1]["covered_cumulative"] == pytest.approx(run.covered_after)
    assert collection["karte:metadata"]["siting_run"]["coverage_after_pct"] == pytest.approx(60.075)
    assert _get(client, f"/api/siting/{run.pk + 999}/", 404, path="/api/siting/{id}/").json()["parameter"] == "id"
    _get(client, f"/api/siting/{run.pk}/?format=csv", path="/api/siting/{id}/")


# ----------------------------------------------------------------------------------------------
# Indicators and class breaks
# ----------------------------------------------------------------------------------------------

def test_indicator_catalogue(client, small_city):
    body = _get(client, "/api/indicators/", path="/api/indicators/").json()
    entries = {e["code"]: e for e in body["indicators"]}
    assert entries["ageing_rate"]["years"] == [2015, 2020]
    assert entries["ageing_rate"]["unit"] == "%"
    _get(client, "/api/indicators/?format=csv", path="/api/indicators/")


@pytest.mark.parametrize("scheme", ["quantiles", "natural_breaks", "equal_interval"])
def test_class_breaks(client, small_city, scheme):
    body = _get(client, f"/api/indicators/?indicator=ageing_rate&scheme={scheme}&k=3", path="/api/indicators/").json()
    values = sorted(IndicatorValue.objects.filter(tier="district", indicator="ageing_rate", year=2020)
                    .values_list("value", flat=True))
    assert body["breaks"][0] == values[0] and body["breaks"][-1] == values[-1]
    assert sum(c["count"] for c in body["classes"]) == len(values)
    assert body["breaks"] == sorted(body["breaks"])
    assert body["ward_values"] == {"14131": 27.0, "14132": 18.0} and body["city_values"] == {"14130": 22.2}


def test_class_breaks_with_fewer_values_than_classes(client, small_city):
    body = _get(client, "/api/indicators/?indicator=walk_coverage&k=5", path="/api/indicators/").json()
    assert body["k_requested"] == 5 and body["k"] <= 2 and body["missing_count"] == 1


# ----------------------------------------------------------------------------------------------
# Strictness: bad values, unknown parameters, methods
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "parameter"), [
    ("/api/districts/?colour=red", "colour"),
    ("/api/districts/?indicators=no_such_indicator", "indicators"),
    ("/api/districts/?indicators=a;drop", "indicators"),
    ("/api/districts/?year=twenty", "year"),
    ("/api/districts/?simplify=-5", "simplify"),
    ("/api/districts/?simplify=nan", "simplify"),
    ("/api/districts/?ward=99999", "ward"),
    ("/api/districts/?city=99999", "city"),
    ("/api/districts/?format=xml", "format"),
    ("/api/districts/?year=2020&year=2015", "year"),
    ("/api/districts/D01/?ward=14131", "ward"),
    ("/api/resources/?bbox=1,2,3", "bbox"),
    ("/api/resources/?bbox=139.8,35.5,139.7,35.6", "bbox"),
    ("/api/resources/?kind=castle", "kind"),
    ("/api/resources/?offset=-1", "offset"),
    ("/api/candidates/?limit=0", "limit"),
    ("/api/candidates/?walk_distance=far", "walk_distance"),
    ("/api/indicators/?indicator=ageing_rate&scheme=magic", "scheme"),
    ("/api/indicators/?indicator=ageing_rate&k=1", "k"),
    ("/api/indicators/?indicator=nope", "indicator"),
    ("/api/indicators/?scheme=quantiles", "scheme"),
    ("/api/indicators/?indicator=ageing_rate&year=1999", "year"),
    ("/api/openapi.json?x=1", "x"),
])
def test_bad_parameters_are_400_with_a_clear_message(client, small_city, url, parameter):
    response = client.get(url)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["parameter"] == parameter and body["error"]
    path = url.split("?")[0]
    documented = "/api/districts/{code}/" if path.startswith("/api/districts/D") else path
    validate_against_openapi(documented, response)


@pytest.mark.parametrize("url", ["/api/districts/", "/api/districts/D01/", "/api/resources/", "/api/candidates/",
                                 "/api/indicators/", "/api/openapi.json"])
@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_write_methods_are_405(client, small_city, url, method):
    response = getattr(client, method)(url, data="{}", content_type="application/json")
    assert response.status_code == 405
    assert "GET" in response["Allow"]
    assert response.json()["error"]


def test_openapi_document_is_valid_and_covers_every_route(client):
    from django.urls import get_resolver
    from openapi_spec_validator import validate as validate_spec

    document = _get(client, "/api/openapi.json").json()
    validate_spec(document)
    assert document["openapi"].startswith("3.1")
    routes = {str(p.pattern) for p in get_resolver().url_patterns}
    assert "api/" in routes
    from karte.api.urls import urlpatterns

    documented = {p.replace("{code}", "<str:code>").replace("{id}", "<int:run_id>").removeprefix("/api/")
                  for p in document["paths"]}
    assert documented == {str(p.pattern) for p in urlpatterns}


def test_empty_database_answers_empty_collections(client, db):
    collection = _get(client, "/api/districts/", path="/api/districts/").json()
    assert collection["features"] == [] and collection["karte:metadata"]["year"] is None
    assert _get(client, "/api/resources/", path="/api/resources/").json()["features"] == []
    catalogue = _get(client, "/api/indicators/", path="/api/indicators/").json()["indicators"]
    assert all(entry["years"] == [] and entry["in_catalogue"] for entry in catalogue)


# ----------------------------------------------------------------------------------------------
# The demo city (fixtures loaded, indicators computed): every endpoint against the real pipeline
# ----------------------------------------------------------------------------------------------

@pytest.fixture
def demo_city(demo_db, db):
    if not District.objects.exists():
        pytest.skip("load_demo loaded no districts: the fixture loaders have not landed yet")
    return City.objects.get(code="14130")


def test_demo_districts_every_indicator_matches_the_database(client, demo_city):
    collection = _get(client, "/api/districts/?city=14130&indicators=all", path="/api/districts/").json()
    assert_rfc7946(collection)
    meta = collection["karte:metadata"]
    year = meta["year"]
    assert len(collection["features"]) == District.objects.filter(city=demo_city).count()
    stored = {(iv.area_code, iv.indicator): iv for iv in IndicatorValue.objects.filter(tier="district", year=year)}
    assert stored, "compute_all stored no district values"
    for item in collection["features"]:
        for code in meta["indicators"]:
            iv = stored.get((item["id"], code))
            expected = None if iv is None or iv.value is None or math.isnan(iv.value) else iv.value
            assert item["properties"][code] == expected
            assert item["properties"][f"{code}__rank"] == (iv.rank if iv else None)
    ageing = meta["indicators"]["ageing_rate"]
    assert ageing["method"] and ageing["unit"] == "%"
    assert set(ageing["ward_values"]) == set(Ward.objects.filter(city=demo_city).values_list("code", flat=True))
    assert set(ageing["city_values"]) == {"14130"}
    assert all(s["source_name"] for s in meta["sources"]) and meta["sources"]


def test_demo_every_endpoint_validates(client, demo_city):
    code = District.objects.filter(city=demo_city).values_list("code", flat=True).first()
    ward = Ward.objects.filter(city=demo_city).values_list("code", flat=True).first()
    for url, path in [
        ("/api/districts/?simplify=20", "/api/districts/"),
        (f"/api/districts/?ward={ward}&format=csv", "/api/districts/"),
        (f"/api/districts/{code}/", "/api/districts/{code}/"),
        ("/api/resources/?limit=50", "/api/resources/"),
        ("/api/resources/?bbox=139.6,35.5,139.8,35.6&kind=park,cafe", "/api/resources/"),
        ("/api/candidates/", "/api/candidates/"),
        ("/api/indicators/", "/api/indicators/"),
        ("/api/indicators/?indicator=ageing_rate&scheme=natural_breaks&k=5", "/api/indicators/"),
        ("/api/openapi.json", "/api/openapi.json"),
    ]:
        response = _get(client, url, path=path)
        if _media(response["Content-Type"]) == "application/geo+json" and response.json().get("type") == "FeatureCollection":
            assert_rfc7946(response.json())
    breaks = _get(client, "/api/indicators/?indicator=ageing_rate&k=5").json()
    assert sum(c["count"] for c in breaks["classes"]) == breaks["district_count"]
