"""Pure resource readers (no database): 国土数値情報 kind mappings, lat/lon CSV with configurable
columns, OSM export, 空き家, and far-away points reported with their row."""
from __future__ import annotations

from pathlib import Path

import pytest

from loaders.boundaries import read_n03
from loaders.common import Extent
from loaders.errors import FileFormatError, MappingError, ValueFormatError
from loaders.resources import read_ksj_facilities, read_osm_export, read_points_csv, read_vacant_houses

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="module")
def city_extent():
    geometry = read_n03(FIXTURES / "n03" / "N03-20240101_14_kawasaki.geojson").extra["cities"].geometry.iloc[0]
    return Extent(geometry, "川崎市")


def _columns_ok(frame):
    assert frame.crs.to_epsg() == 6668
    assert frame.source_key.is_unique
    assert (frame.location.geom_type == "Point").all()


@pytest.mark.parametrize("product,file,kinds", [
    ("p02", "P02-06_14_kawasaki.geojson", {"civic_hall", "library", "elderly_welfare_centre", "public_facility"}),
    ("p13", "P13-11_14_kawasaki.geojson", {"park"}),
    ("p14", "P14-15_14_kawasaki.geojson", {"nursery", "childcare_support_centre", "welfare_facility"}),
    ("p29", "P29-21_14_kawasaki.geojson", {"school"}),
])
def test_ksj_products_map_to_resource_kinds(product, file, kinds, city_extent):
    data = read_ksj_facilities(FIXTURES / "ksj" / file, product, extent=city_extent)
    _columns_ok(data.frame)
    assert set(data.frame.kind) == kinds
    assert data.frame.is_public.all()
    assert data.frame.source_key.str.startswith(f"ksj:{product}:").all()
    if product == "p13":
        assert data.frame.area_m2.between(500, 100_000).all()


def test_ksj_kind_rules_can_be_replaced():
    rules = (("P02_003", "03002", "library"),)
    data = read_ksj_facilities(FIXTURES / "ksj" / "P02-06_14_kawasaki.geojson", "p02", kind_rules=rules)
    assert set(data.frame.kind) == {"library", "public_facility"}
    with pytest.raises(MappingError, match="p99"):
        read_ksj_facilities(FIXTURES / "ksj" / "P02-06_14_kawasaki.geojson", "p99")
    with pytest.raises(FileFormatError, match="P29_004"):
        read_ksj_facilities(FIXTURES / "ksj" / "P02-06_14_kawasaki.geojson", "p29")


def test_municipal_csv_with_kind_labels(city_extent):
    data = read_points_csv(FIXTURES / "resources" / "kawasaki_ibasho_facilities.csv", id_column="施設ID",
                           prefix="ibasho", extent=city_extent)
    _columns_ok(data.frame)
    assert data.report.facts["encoding"] == "utf-8-sig"
    assert set(data.frame.kind) == {"civic_hall", "library", "children_culture_centre", "ikoi_no_ie", "community_hall"}
    assert data.frame.attributes.iloc[0]["区"].endswith("区")


def test_csv_columns_are_configurable_and_errors_name_row_and_field(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("id,title,type,lat,lng\n1,ふれあい館,集会所,35.56,139.66\n2,さくら館,謎の施設,35.57,139.67\n",
                    encoding="utf-8")
    with pytest.raises(MappingError) as error:
        read_points_csv(path, lat="lat", lon="lng", name="title", kind="type", id_column="id")
    assert error.value.row == 3 and error.value.field == "type" and "謎の施設" in str(error.value)
    data = read_points_csv(path, lat="lat", lon="lng", name="title", kind="type", id_column="id",
                           kind_labels={"謎の施設": "other"})
    assert list(data.frame.kind) == ["community_hall", "other"]
    path.write_text("id,title,type,lat,lng\n1,ふれあい館,集会所,北緯35度,139.66\n", encoding="utf-8")
    with pytest.raises(ValueFormatError) as error:
        read_points_csv(path, lat="lat", lon="lng", name="title", kind="type", id_column="id")
    assert error.value.row == 2 and error.value.field == "lat"


def test_cp932_vacant_houses_are_private(city_extent):
    data = read_vacant_houses(FIXTURES / "housing" / "akiya_points.csv", id_column="管理番号", extent=city_extent)
    assert data.report.facts["encoding"] == "cp932"
    assert (data.frame.kind == "vacant_house").all() and not data.frame.is_public.any()
    assert data.frame.source_key.str.startswith("akiya:AK").all()


def test_osm_export_polygons_reduced_to_points_and_far_point_reported(city_extent):
    data = read_osm_export(FIXTURES / "osm" / "kawasaki_overpass_export.geojson", extent=city_extent)
    frame = data.frame
    _columns_ok(frame)
    assert {"cafe", "shrine_temple", "community_hall"} == set(frame.kind)
    polygons = frame[frame.geom_type == "Polygon"]
    assert len(polygons) > 0
    assert all(g.contains(p) for g, p in zip(polygons.geometry, polygons.location))
    messages = [str(i) for i in data.report.issues]
    assert any("mixed geometry types" in m for m in messages)
    far = [m for m in messages if "outside the city extent" in m]
    assert len(far) == 1 and "row 64" in far[0]
    assert "osm:node/9876543210" not in set(frame.source_key)
    # Without an extent nothing is dropped.
    assert len(read_osm_export(FIXTURES / "osm" / "kawasaki_overpass_export.geojson").frame) == len(frame) + 1


def test_vacant_houses_from_geojson_in_tokyo_datum(tmp_path):
    import json

    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4301"}},
           "features": [{"type": "Feature", "properties": {"番号": "A1", "所在地": "川崎市幸区"},
                         "geometry": {"type": "Point", "coordinates": [139.69, 35.54]}},
                        {"type": "Feature", "properties": {"番号": "A2", "所在地": "川崎市幸区"},
                         "geometry": {"type": "Polygon", "coordinates": [[[139.70, 35.54], [139.7002, 35.54],
                                                                          [139.7002, 35.5402], [139.70, 35.54]]]}}]}
    path = tmp_path / "akiya.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    data = read_vacant_houses(path, id_column="番号")
    assert list(data.frame.source_key) == ["akiya:A1", "akiya:A2"]
    assert data.source_crs == "EPSG:4301" and data.frame.crs.to_epsg() == 6668
    assert data.frame.location.iloc[0].x != pytest.approx(139.69, abs=1e-4)  # moved by the datum change
    assert any("rows 2" in str(issue) for issue in data.report.issues)


def test_osm_export_with_nested_tags(tmp_path):
    import json

    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"type": "node", "id": 42, "tags": {"amenity": "library", "name": "中原図書館"}},
         "geometry": {"type": "Point", "coordinates": [139.657, 35.576]}},
        {"type": "Feature", "properties": {"type": "node", "id": 43, "tags": {"shop": "bakery", "name": "パン屋"}},
         "geometry": {"type": "Point", "coordinates": [139.658, 35.577]}}]}
    path = tmp_path / "osm.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    data = read_osm_export(path)
    assert list(data.frame.source_key) == ["osm:node/42"]
    assert data.frame.kind.iloc[0] == "library" and data.frame.is_public.iloc[0]
    assert any("row 2" in str(i) and "no kind rule" in str(i) for i in data.report.issues)
