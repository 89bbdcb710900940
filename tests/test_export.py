"""export_geojson: every file written is validated (RFC 7946 rules, provenance sidecar) and read
back with geopandas/csv giving the database's numbers."""
from __future__ import annotations

import csv
import json
import math

import geopandas
import pytest
import shapely
from django.core.management import CommandError, call_command

from karte.export import export_layer
from karte.layers import collection_to_csv, frame_to_feature_collection
from karte.models import District, IndicatorValue, Resource

from .test_api import assert_rfc7946, build_small_city


@pytest.fixture
def small_city(db):
    return build_small_city()


def _stored(code: str, indicator: str, year: int = 2020):
    value = IndicatorValue.objects.get(tier="district", area_code=code, indicator=indicator, year=year).value
    return None if value is None or math.isnan(value) else value


def _export(tmp_path, name: str, *args: str) -> tuple:
    out = tmp_path / name
    call_command("export_geojson", *args, "--out", str(out), stdout=open(tmp_path / "log.txt", "w"))
    sidecar = out.with_name(out.name + ".meta.json")
    assert sidecar.exists(), "every export writes its provenance sidecar"
    return out, json.loads(sidecar.read_text(encoding="utf-8"))


def test_districts_geojson_file(tmp_path, small_city):
    out, meta = _export(tmp_path, "districts.geojson", "--what", "districts", "--indicators", "ageing_rate,walk_coverage")
    collection = json.loads(out.read_text(encoding="utf-8"))
    assert_rfc7946(collection)
    assert collection["karte:metadata"]["indicators"]["ageing_rate"]["method"]
    assert meta["export"]["format"] == "geojson" and meta["indicators"]["ageing_rate"]["year"] == 2020
    census = small_city["datasets"][0]
    assert any(s["id"] == census.pk and s["licence"] == census.licence for s in meta["sources"])

    frame = geopandas.read_file(out, engine="pyogrio")
    assert frame.crs.to_epsg() == 4326
    assert len(frame) == District.objects.count()
    for row in frame.itertuples():
        assert row.ageing_rate == _stored(row.code, "ageing_rate")
        walk = _stored(row.code, "walk_coverage")
        assert (walk is None and math.isnan(row.walk_coverage)) or row.walk_coverage == walk
        stored_geom = shapely.from_wkb(bytes(District.objects.get(code=row.code).geom.wkb))
        assert row.geometry.symmetric_difference(stored_geom).area < 1e-9


def test_districts_ward_and_year_options(tmp_path, small_city):
    out, meta = _export(tmp_path, "kawasaki-ku.geojson", "--what", "districts", "--ward", "14131", "--year", "2015",
                        "--indicators", "ageing_rate", "--simplify", "20")
    collection = json.loads(out.read_text(encoding="utf-8"))
    assert_rfc7946(collection)
    assert sorted(f["id"] for f in collection["features"]) == ["D01", "D02"]
    assert {f["properties"]["ageing_rate"] for f in collection["features"]} == {
        _stored("D01", "ageing_rate", 2015), _stored("D02", "ageing_rate", 2015)}
    assert meta["year"] == 2015 and meta["export"]["options"]["ward"] == "14131"


@pytest.mark.parametrize("bom", [False, True])
def test_districts_csv_file(tmp_path, small_city, bom):
    args = ["--what", "districts", "--indicators", "ageing_rate,walk_coverage", "--format", "csv"]
    out, meta = _export(tmp_path, "districts.csv", *args, *(["--bom"] if bom else []))
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") is bom
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {"geometry", "wkt", "WKT"}.isdisjoint(rows[0])
    assert meta["export"]["columns"] == list(rows[0])
    for row in rows:
        assert float(row["ageing_rate"]) == _stored(row["code"], "ageing_rate")
        walk = _stored(row["code"], "walk_coverage")
        assert row["walk_coverage"] == ("" if walk is None else repr(walk))
        assert row["name_ja"] == District.objects.get(code=row["code"]).name_ja  # UTF-8 Japanese intact


def test_resources_all_formats(tmp_path, small_city):
    out, _ = _export(tmp_path, "resources.geojson", "--what", "resources")
    collection = json.loads(out.read_text(encoding="utf-8"))
    assert_rfc7946(collection)
    assert len(collection["features"]) == Resource.objects.count()

    out, _ = _export(tmp_path, "resources.csv", "--what", "resources", "--format", "csv", "--kind", "vacant_house")
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == Resource.objects.filter(kind="vacant_house").count()
    for row in rows:
        location = Resource.objects.get(pk=int(row["id"])).location
        assert float(row["lon"]) == pytest.approx(location.x, abs=1e-5)
        assert float(row["lat"]) == pytest.approx(location.y, abs=1e-5)

    out, _ = _export(tmp_path, "resources.gpkg", "--what", "resources", "--format", "gpkg")
    frame = geopandas.read_file(out, engine="pyogrio")
    assert len(frame) == Resource.objects.count() and frame.crs.to_epsg() == 4326
    assert set(frame["kind"]) == set(Resource.objects.values_list("kind", flat=True))
    park = frame[frame["kind"] == "park"].iloc[0]
    assert park.geometry.geom_type == "Polygon" and park["area_m2"] == 40000.0


def test_districts_gpkg(tmp_path, small_city):
    out, _ = _export(tmp_path, "districts.gpkg", "--what", "districts", "--indicators", "ageing_rate", "--format", "gpkg")
    frame = geopandas.read_file(out, layer="districts", engine="pyogrio")
    assert sorted(frame["code"]) == ["D01", "D02", "D03"]
    for row in frame.itertuples():
        assert row.ageing_rate == _stored(row.code, "ageing_rate")
        assert row.ageing_rate__rank == IndicatorValue.objects.get(
            tier="district", area_code=row.code, indicator="ageing_rate", year=2020).rank
        for polygon in row.geometry.geoms:
            assert polygon.exterior.is_ccw


def test_candidates_and_sites(tmp_path, small_city):
    out, meta = _export(tmp_path, "candidates.geojson", "--what", "candidates", "--walk-distance", "800")
    collection = json.loads(out.read_text(encoding="utf-8"))
    assert_rfc7946(collection)
    assert [f["properties"]["score"] for f in collection["features"]] == [150.0]

    run = small_city["run"]
    out, meta = _export(tmp_path, "sites.geojson", "--what", "sites", "--run", str(run.pk))
    collection = json.loads(out.read_text(encoding="utf-8"))
    assert_rfc7946(collection)
    assert [f["properties"]["resource_id"] for f in collection["features"]] == [c["resource_id"] for c in run.chosen]
    assert meta["siting_run"]["k"] == run.k and meta["siting_run"]["solver"] == "greedy"

    out, _ = _export(tmp_path, "sites.csv", "--what", "sites", "--format", "csv", "--bom")
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["newly_covered"]) for r in rows] == [c["newly_covered"] for c in run.chosen]


@pytest.mark.parametrize(("args", "message"), [
    (["--what", "districts", "--indicators", "nope"], "--indicators"),
    (["--what", "districts", "--ward", "99999"], "--ward"),
    (["--what", "districts", "--format", "geojson", "--bom"], "--bom"),
    (["--what", "resources", "--kind", "castle"], "--kind"),
    (["--what", "sites", "--run", "987654"], "--run"),
])
def test_bad_options_are_clear_command_errors(tmp_path, small_city, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_geojson", *args, "--out", str(tmp_path / "x.geojson"))


def test_frame_export_for_analysts(small_city):
    """A notebook's own GeoDataFrame (projected CRS, NaN values) gets the same RFC 7946 treatment."""
    frame = geopandas.GeoDataFrame(
        {"code": ["A", "B"], "score": [1.5, float("nan")]},
        geometry=[shapely.box(-40000, -60000, -39000, -59000).reverse(), shapely.box(-39000, -60000, -38000, -59000)],
        crs="EPSG:6677",
    )
    collection = frame_to_feature_collection(frame, id_column="code", metadata={"method": "test"})
    assert_rfc7946(collection)
    assert [f["properties"]["score"] for f in collection["features"]] == [1.5, None]
    lon, lat = shapely.get_coordinates(shapely.geometry.shape(collection["features"][0]["geometry"]))[0]
    assert 139 < lon < 140 and 35 < lat < 36  # zone IX origin is 139°50′E 36°N
    assert collection_to_csv(collection).splitlines()[0] == "code,score"


def test_export_layer_api_returns_counts(tmp_path, small_city):
    result = export_layer("districts", tmp_path / "d.geojson", indicators=["ageing_rate"])
    assert result.feature_count == 3 and result.metadata_path.name == "d.geojson.meta.json"
