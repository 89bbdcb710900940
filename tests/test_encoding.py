"""karte.layers.encoding without a database: numbers, geometries, features, CSV and JSON text."""
from __future__ import annotations

import csv
import io
import json
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

from karte.layers.encoding import (
    METADATA_MEMBER,
    UTF8_BOM,
    clean_number,
    clean_value,
    collection_to_csv,
    feature,
    feature_collection,
    frame_to_feature_collection,
    geometry_to_geojson,
    orient_right_hand,
    point_parts,
    rows_collection,
    to_json,
    to_wgs84,
)
from karte.layers.errors import NotFoundError, ParameterError

# A square of 100 m in JGD2011 plane rectangular zone IX near Kawasaki station (EPSG:6677).
SQUARE_6677 = Polygon([(-12000, -52000), (-11900, -52000), (-11900, -51900), (-12000, -51900)])


def test_clean_number_turns_nan_and_infinity_into_null_and_keeps_ints():
    assert clean_number(float("nan")) is None
    assert clean_number(np.inf) is None and clean_number(-np.inf) is None
    assert clean_number(None) is None and clean_number("abc") is None
    assert clean_number(np.int64(7)) == 7 and isinstance(clean_number(np.int64(7)), int)
    assert clean_number(np.float32(0.5)) == 0.5 and isinstance(clean_number(np.float32(0.5)), float)
    assert clean_number(True) is True


def test_clean_value_keeps_text_and_formats_dates():
    import datetime

    assert clean_value("川崎") == "川崎"
    assert clean_value(datetime.date(2020, 10, 1)) == "2020-10-01"
    assert clean_value(np.float64("nan")) is None


def test_to_wgs84_rounds_to_seven_decimals_and_winds_counter_clockwise():
    clockwise = shapely.Polygon(list(SQUARE_6677.exterior.coords)[::-1])
    geom = to_wgs84(clockwise, source_srid=6677)
    assert geom.exterior.is_ccw
    lon, lat = geom.exterior.coords[0]
    assert 139.6 < lon < 139.8 and 35.4 < lat < 35.6  # Kawasaki
    assert all(round(value, 7) == value for xy in geom.exterior.coords for value in xy)


def test_holes_wind_clockwise_and_multipolygons_keep_their_parts():
    outer = [(0, 0), (10, 0), (10, 10), (0, 10)]
    hole = [(2, 2), (2, 4), (4, 4), (4, 2)][::-1]
    polygon = orient_right_hand(Polygon(outer[::-1], [hole[::-1]]))
    assert polygon.exterior.is_ccw and not polygon.interiors[0].is_ccw
    multi = orient_right_hand(MultiPolygon([Polygon(outer[::-1]), Polygon([(20, 20), (21, 20), (21, 21)])]))
    assert len(multi.geoms) == 2 and all(part.exterior.is_ccw for part in multi.geoms)


def test_simplifying_needs_a_projected_crs():
    with pytest.raises(ParameterError) as error:
        to_wgs84(SQUARE_6677, source_srid=6677, simplify_m=10)
    assert error.value.parameter == "simplify" and error.value.status == 400
    simplified = to_wgs84(SQUARE_6677.segmentize(10), source_srid=6677, simplify_m=5, projected_srid=6677)
    assert len(simplified.exterior.coords) == 5  # the square's 4 corners, closed


def test_geometry_to_geojson_gives_lists_and_null_for_missing():
    geometry = geometry_to_geojson(Point(139.7, 35.53), source_srid=6668)
    assert geometry["type"] == "Point" and isinstance(geometry["coordinates"], list)
    assert geometry_to_geojson(None, source_srid=6668) is None
    assert geometry_to_geojson(Polygon(), source_srid=6668) is None
    point, lon, lat = point_parts(Point(139.7, 35.53), source_srid=6668)
    assert point["coordinates"] == [lon, lat]
    assert point_parts(None, source_srid=6668) == (None, None, None)


def test_feature_collection_round_trips_through_json_without_nan():
    collection = feature_collection(
        [feature("a", None, {"value": float("nan"), "count": np.int64(3), "name": "大師"})], {"layer": "test"}
    )
    text = to_json(collection)
    assert json.loads(text) == {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "id": "a", "geometry": None,
                      "properties": {"value": None, "count": 3, "name": "大師"}}],
        METADATA_MEMBER: {"layer": "test"},
    }
    assert "大師" in text  # UTF-8, not \\u escapes
    with pytest.raises(ValueError):
        to_json({"x": float("nan")})


def test_csv_has_every_column_once_crlf_and_optional_bom():
    collection = feature_collection([
        feature(1, None, {"code": "A", "value": 0.1 + 0.2, "flag": True}),
        feature(2, None, {"code": "B", "extra": [1, 2], "value": None}),
    ], {})
    text = collection_to_csv(collection)
    assert text.split("\r\n")[0] == "code,value,flag,extra"
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["A", repr(0.1 + 0.2), "true", ""]
    assert float(rows[1][1]) == 0.1 + 0.2  # the shortest text that reads back as the same float
    assert rows[2] == ["B", "", "", "[1, 2]"]
    assert collection_to_csv(collection, bom=True).startswith(UTF8_BOM + "code,")


def test_rows_collection_encodes_plain_records():
    assert collection_to_csv(rows_collection([{"a": 1}, {"b": 2}])) == "a,b\r\n1,\r\n,2\r\n"


def test_frame_to_feature_collection_reprojects_and_refuses_frames_without_crs():
    frame = gpd.GeoDataFrame({"code": ["x"], "score": [math.nan]}, geometry=[SQUARE_6677], crs=6677)
    collection = frame_to_feature_collection(frame, id_column="code", metadata={"method": "test"})
    item = collection["features"][0]
    assert item["id"] == "x" and item["properties"] == {"code": "x", "score": None}
    assert collection[METADATA_MEMBER]["method"] == "test" and collection[METADATA_MEMBER]["layer"] == "frame"
    lon, lat = item["geometry"]["coordinates"][0][0]
    assert 139.6 < lon < 139.8
    with pytest.raises(ParameterError, match="no CRS"):
        frame_to_feature_collection(frame.set_crs(None, allow_override=True))


def test_errors_carry_status_and_parameter():
    error = ParameterError("bad", "year")
    assert error.as_dict() == {"error": "bad", "parameter": "year"} and error.status == 400
    assert NotFoundError("none", "code").status == 404
    assert ParameterError("x", None, status=405).status == 405
    assert isinstance(error, ValueError)
