"""Vector tiles (``/tiles/<layer>/<z>/<x>/<y>.pbf``) on both backends, decoded with mapbox-vector-tile.

Expected geometries are worked out here from the sample city's known squares with the spherical
Mercator formulas, independently of the code under test. On PostGIS the SQL builder (ST_AsMVT) is
also compared with the Python builder the embedded SpatiaLite uses, tile by tile.
"""
from __future__ import annotations

import json
import math

import mapbox_vector_tile
import pytest
import shapely
from django.db import connection

from karte.layers import tiles
from karte.models import IndicatorValue

from .test_pages import SAMPLE_AGEING, SAMPLE_DISTRICTS, SAMPLE_WALK, build_sample_city

EARTH_RADIUS = 6378137.0
MVT = "application/vnd.mapbox-vector-tile"


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def _to_tile_coordinates(lon: float, lat: float, z: int, x: int, y: int) -> tuple[float, float]:
    """(lon, lat) in the 4096-unit coordinates of tile z/x/y, y down (the MVT convention)."""
    mercator_x = EARTH_RADIUS * math.radians(lon)
    mercator_y = EARTH_RADIUS * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    size = 2 * math.pi * EARTH_RADIUS / 2**z
    left, top = -math.pi * EARTH_RADIUS + x * size, math.pi * EARTH_RADIUS - y * size
    return (mercator_x - left) / size * 4096, (top - mercator_y) / size * 4096


def _expected_square(corner: tuple[float, float], size: float, z: int, x: int, y: int) -> shapely.Polygon:
    lon, lat = corner
    ring = [(lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size)]
    square = shapely.Polygon([_to_tile_coordinates(a, b, z, x, y) for a, b in ring])
    return shapely.clip_by_rect(square, -64, -64, 4096 + 64, 4096 + 64)


def _decode(data: bytes) -> dict:
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})


def _features_by(decoded: dict, layer: str, key: str) -> dict[str, dict]:
    return {f["properties"][key]: f for f in decoded[layer]["features"]}


def _shape(feature: dict):
    return shapely.geometry.shape(feature["geometry"])


@pytest.fixture
def sample(db):
    tiles.forget()
    return build_sample_city()


# A z11 tile holds the whole sample city (four 0.02° squares near 139.7°E 35.53°N).
Z = 11
X, Y = _tile_of(139.70, 35.53, Z)


def test_district_tile_holds_each_district_with_its_code_names_and_indicator_values(client, sample):
    response = client.get(f"/tiles/districts/{Z}/{X}/{Y}.pbf")
    assert response.status_code == 200
    assert response["Content-Type"] == MVT
    assert "max-age=" in response["Cache-Control"]
    decoded = _decode(response.content)
    assert decoded["districts"]["extent"] == 4096
    features = _features_by(decoded, "districts", "code")
    assert set(features) == {code for code, *_ in SAMPLE_DISTRICTS}
    for code, name, ward_code, corner in SAMPLE_DISTRICTS:
        properties = features[code]["properties"]
        # The map's indicators of the latest year; census counts (pop_*) are not carried.
        assert properties == {"code": code, "name": name, "city": "14130", "ward": ward_code,
                              "ageing_rate": SAMPLE_AGEING[code], "walk_coverage": SAMPLE_WALK[code]}
        expected = _expected_square(corner, 0.02, Z, X, Y)
        drawn = _shape(features[code])
        assert drawn.is_valid
        # Snapped to whole tile units: every vertex within half a unit of the exact square's.
        assert drawn.symmetric_difference(expected).area < 0.02 * expected.area, code
        assert all(abs(a - b) <= 0.5 + 1e-9 for a, b in zip(drawn.bounds, expected.bounds)), (drawn.bounds, expected.bounds)


def test_tile_clips_a_district_to_the_tile_and_its_buffer(client, sample):
    """At z15 a 0.02° district spans several tiles; each keeps its part plus the 64-unit buffer."""
    code, _, _, corner = SAMPLE_DISTRICTS[0]
    z = 15
    x, y = _tile_of(corner[0] + 0.01, corner[1] + 0.01, z)
    decoded = _decode(client.get(f"/tiles/districts/{z}/{x}/{y}.pbf").content)
    drawn = _shape(_features_by(decoded, "districts", "code")[code])
    assert drawn.bounds == (-64.0, -64.0, 4160.0, 4160.0)  # the centre tile is wholly inside the square
    expected = _expected_square(corner, 0.02, z, x, y)
    assert drawn.symmetric_difference(expected).area < 1e-6 * expected.area


def test_small_area_tile_holds_the_latest_census_areas(client, sample):
    decoded = _decode(client.get(f"/tiles/small_areas/{Z}/{X}/{Y}.pbf").content)
    features = _features_by(decoded, "small_areas", "key_code")
    assert len(features) == 16
    first = features[f"{SAMPLE_DISTRICTS[0][0]}00"]
    assert first["properties"] == {"key_code": "141310100", "name": "大師1丁目", "city": "14131", "year": 2020}
    expected = _expected_square(SAMPLE_DISTRICTS[0][3], 0.01, Z, X, Y)
    assert _shape(first).symmetric_difference(expected).area < 0.04 * expected.area


@pytest.mark.parametrize("z", [tiles.CACHED_UP_TO_ZOOM, tiles.CACHED_UP_TO_ZOOM + 1])
def test_new_figures_reach_the_tiles_without_a_restart(client, sample, z):
    """Whether the tile was kept in the cache (low zooms) or not: computing anew changes the tile."""
    code = SAMPLE_DISTRICTS[1][0]
    x, y = _tile_of(139.70, 35.53, z)
    before = client.get(f"/tiles/districts/{z}/{x}/{y}.pbf").content  # remembered (and cached at low zooms)
    assert "child_share" not in _features_by(_decode(before), "districts", "code")[code]["properties"]
    IndicatorValue.objects.create(tier="district", area_code=code, city=sample.city, indicator="child_share",
                                  year=2020, value=11.5, unit="%")
    decoded = _decode(client.get(f"/tiles/districts/{z}/{x}/{y}.pbf").content)
    assert _features_by(decoded, "districts", "code")[code]["properties"]["child_share"] == 11.5


def test_low_zoom_tiles_are_built_once_per_data_version(client, sample, monkeypatch):
    builds = []
    for name in ("_postgis_tile", "_python_tile"):
        build = getattr(tiles, name)
        monkeypatch.setattr(tiles, name, lambda *args, build=build: builds.append(args) or build(*args))
    for z in (tiles.CACHED_UP_TO_ZOOM, tiles.CACHED_UP_TO_ZOOM + 1):
        x, y = _tile_of(139.70, 35.53, z)
        first = client.get(f"/tiles/districts/{z}/{x}/{y}.pbf").content
        assert client.get(f"/tiles/districts/{z}/{x}/{y}.pbf").content == first
    assert [args[1] for args in builds] == [tiles.CACHED_UP_TO_ZOOM] + [tiles.CACHED_UP_TO_ZOOM + 1] * 2


def test_empty_tile_is_204(client, sample):
    response = client.get("/tiles/districts/12/0/0.pbf")  # the Arctic Ocean off Alaska
    assert response.status_code == 204
    assert response.content == b""
    assert "max-age=" in response["Cache-Control"]


@pytest.mark.parametrize(("path", "status", "parameter"), [
    ("/tiles/roads/12/3637/1614.pbf", 404, "layer"),
    ("/tiles/districts/12/3637/1614.png", 404, "format"),
    ("/tiles/districts/twelve/3637/1614.pbf", 400, "z"),
    ("/tiles/districts/12/-1/1614.pbf", 400, "x"),
    ("/tiles/districts/12/3637/1e3.pbf", 400, "y"),
    ("/tiles/districts/12/4096/1614.pbf", 404, "x"),
    ("/tiles/districts/12/3637/99999.pbf", 404, "y"),
    ("/tiles/districts/3/7/3.pbf", 404, "z"),       # below the layer's zooms: too many districts per tile
    ("/tiles/small_areas/8/227/100.pbf", 404, "z"),
    ("/tiles/districts/99/0/0.pbf", 404, "z"),
    ("/tiles/districts/11/1818/807.pbf?simplify=1", 400, "simplify"),
    ("/tiles/parks.json", 404, "layer"),
])
def test_bad_tile_requests_get_a_json_error(client, sample, path, status, parameter):
    response = client.get(path)
    assert response.status_code == status, response.content
    body = json.loads(response.content)
    assert body["parameter"] == parameter
    assert body["error"]


def test_tiles_are_read_only(client, sample):
    response = client.post(f"/tiles/districts/{Z}/{X}/{Y}.pbf")
    assert response.status_code == 405


def test_tilejson_describes_the_layer(client, sample):
    response = client.get("/tiles/districts.json")
    assert response.status_code == 200
    payload = response.json()
    assert payload["tiles"] == ["http://testserver/tiles/districts/{z}/{x}/{y}.pbf"]
    assert payload["karte:indicator_years"] == {"ageing_rate": 2020, "walk_coverage": 2020}
    assert payload["karte:feature_count"] == 4
    assert payload["vector_layers"][0]["id"] == "districts"
    assert set(payload["vector_layers"][0]["fields"]) == {"code", "name", "city", "ward", "ageing_rate", "walk_coverage"}
    west, south, east, north = payload["bounds"]
    assert (west, south) == pytest.approx((139.66, 35.52)) and (east, north) == pytest.approx((139.74, 35.56))
    small = client.get("/tiles/small_areas.json").json()
    assert small["karte:feature_count"] == 16 and small["karte:census_year"] == 2020


@pytest.mark.skipif(connection.vendor != "postgresql", reason="ST_AsMVT needs PostGIS")
@pytest.mark.parametrize("layer", ["districts", "small_areas"])
@pytest.mark.parametrize("z", [12, 14, 15])
def test_postgis_and_python_builders_give_the_same_tile(sample, layer, z):
    key = "code" if layer == "districts" else "key_code"
    compared = 0
    for corner in {corner for *_, corner in SAMPLE_DISTRICTS}:
        x, y = _tile_of(corner[0] + 0.005, corner[1] + 0.005, z)
        postgis = _decode(tiles.vector_tile(layer, z, x, y, builder="postgis"))
        python = _decode(tiles.vector_tile(layer, z, x, y, builder="python"))
        assert set(postgis) == set(python) == {layer}
        ours, theirs = _features_by(python, layer, key), _features_by(postgis, layer, key)
        assert set(ours) == set(theirs)
        for name, feature in ours.items():
            assert feature["properties"] == theirs[name]["properties"]
            a, b = _shape(feature), _shape(theirs[name])
            assert a.symmetric_difference(b).area <= 0.01 * max(a.area, b.area), (name, a.wkt, b.wkt)
            compared += 1
    assert compared >= 4
