"""Pure geometry readers (no database): CRS from the file, datum shifts (Tokyo datum 4301, JGD2000
4612), refusal without CRS, make_valid repairs and other reported problems with row numbers,
N03/A27/e-Stat boundaries, rasters and JIS X 0410 mesh polygons via jismesh."""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import jismesh.utils as ju
import numpy as np
import pandas as pd
import pytest
import rasterio
from pyproj import Geod
from rasterio.transform import from_origin
from shapely.geometry import Point

from loaders.boundaries import city_of_ward, read_census_boundary, read_n03, read_school_districts
from loaders.common import read_vector, to_storage
from loaders.errors import CRSConflictError, FileFormatError, GeometryError, MissingCRSError
from loaders.housing import read_area_table
from loaders.mesh import mesh_polygons, read_mesh_table
from loaders.raster import inspect_raster

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
A27 = FIXTURES / "a27" / "A27-21_14_kawasaki.geojson"
GEOD = Geod(ellps="GRS80")


def _geojson(path: Path, features: list[dict], epsg: int | None) -> Path:
    doc = {"type": "FeatureCollection", "features": features}
    if epsg:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _a27_feature(code: str, coords, ward="14131") -> dict:
    return {"type": "Feature", "properties": {"A27_001": ward, "A27_002": "川崎市", "A27_003": code,
                                              "A27_004": f"{code}小学校", "A27_005": "川崎市川崎区"},
            "geometry": {"type": "Polygon", "coordinates": [coords]} if coords else None}


def test_census_boundaries_2015_jgd2000_and_2020_jgd2011_end_in_6668():
    b2015 = read_census_boundary(FIXTURES / "census" / "2015" / "r15ka14130.shp")
    b2020 = read_census_boundary(FIXTURES / "census" / "2020" / "r20ka14130.shp")
    assert b2015.source_crs == "EPSG:4612" and b2020.source_crs == "EPSG:6668"
    assert b2015.frame.crs.to_epsg() == b2020.frame.crs.to_epsg() == 6668
    assert (b2020.frame.hcode == 8154).sum() == 3
    assert set(b2020.frame.hcode) == {8101, 8154}
    # The Shift_JIS DBF (no .cpg, as e-Stat ships it) decodes to Japanese names.
    assert b2020.frame.name_ja.str.contains("丁目").any()
    assert b2020.frame.key_code.str.len().eq(11).all()
    # A few codes differ between vintages (renamed/split areas), most are shared.
    only_2015 = set(b2015.frame.key_code) - set(b2020.frame.key_code)
    assert 1 <= len(only_2015) <= 5
    total = b2020.frame.area_m2.sum() / 1e6
    assert 100 < total < 200  # Kawasaki is 143 km²


def test_tokyo_datum_is_transformed_not_relabelled(tmp_path):
    # The same lon/lat numbers on the Tokyo datum lie ~400–500 m from JGD2011 around Kawasaki.
    lon, lat = 139.70, 35.53
    path = _geojson(tmp_path / "tokyo.geojson", [{"type": "Feature", "properties": {"id": 1},
                                                   "geometry": {"type": "Point", "coordinates": [lon, lat]}}], 4301)
    gdf, crs = read_vector(path)
    assert crs.to_epsg() == 4301
    moved = to_storage(gdf).geometry.iloc[0]
    _, _, distance = GEOD.inv(lon, lat, moved.x, moved.y)
    assert 350 < distance < 550
    assert moved.y > lat  # JGD coordinates of a Tokyo-datum point are further north-west
    assert moved.x < lon


def test_file_without_crs_is_refused_unless_crs_given(tmp_path):
    src = gpd.read_file(A27).head(3)
    path = tmp_path / "nocrs.shp"
    src.to_file(path, engine="pyogrio", encoding="utf-8")
    path.with_suffix(".prj").unlink()
    with pytest.raises(MissingCRSError) as error:
        read_school_districts(path)
    assert "nocrs.shp" in str(error.value) and "--crs" in str(error.value)
    data = read_school_districts(path, crs=6668)
    assert len(data.frame) == 3 and data.frame.crs.to_epsg() == 6668


def test_crs_conflicting_with_the_file_is_refused():
    with pytest.raises(CRSConflictError):
        read_school_districts(A27, crs=4301)


def test_invalid_polygon_repaired_with_make_valid_and_reported(tmp_path):
    bowtie = [[139.70, 35.53], [139.71, 35.54], [139.71, 35.53], [139.70, 35.54], [139.70, 35.53]]
    square = [[139.72, 35.53], [139.73, 35.53], [139.73, 35.54], [139.72, 35.54], [139.72, 35.53]]
    path = _geojson(tmp_path / "a27.geojson", [_a27_feature("B1", square), _a27_feature("B2", bowtie)], 6668)
    data = read_school_districts(path)
    assert data.frame.geometry.is_valid.all()
    assert data.frame.geom_type.eq("MultiPolygon").all()
    messages = [str(i) for i in data.report.issues]
    assert any("make_valid" in m and "row 2" in m for m in messages)
    repaired = data.frame.set_index("code").geometry["B2"]
    assert len(repaired.geoms) == 2  # a bow-tie is two triangles


def test_empty_geometries_and_mixed_types_reported_with_rows(tmp_path):
    square = [[139.72, 35.53], [139.73, 35.53], [139.73, 35.54], [139.72, 35.54], [139.72, 35.53]]
    point = {"type": "Feature", "properties": {"A27_001": "14131", "A27_003": "B3", "A27_004": "x小学校"},
             "geometry": {"type": "Point", "coordinates": [139.7, 35.5]}}
    path = _geojson(tmp_path / "a27.geojson", [_a27_feature("B1", square), _a27_feature("B2", None), point], 6668)
    data = read_school_districts(path)
    messages = [str(i) for i in data.report.issues]
    assert any("row 2" in m and "empty or null" in m for m in messages)
    assert any("row 3" in m and "Point in a polygon layer" in m for m in messages)
    assert list(data.frame.code) == ["B1"]
    with pytest.raises(GeometryError):
        read_school_districts(_geojson(tmp_path / "none.geojson", [_a27_feature("B2", None)], 6668))


def test_n03_wards_dissolved_and_city_is_their_union():
    data = read_n03(FIXTURES / "n03" / "N03-20240101_14_kawasaki.geojson")
    wards = data.frame
    assert sorted(wards.code) == [f"1413{i}" for i in range(1, 8)]
    assert (wards.city_code == "14130").all()
    kawasaki_ku = wards.set_index("code").geometry["14131"]
    assert len(kawasaki_ku.geoms) == 2  # mainland + reclaimed island
    assert any("14131" in str(i) and "dissolved" in str(i) for i in data.report.issues)
    city = data.extra["cities"]
    assert list(city.code) == ["14130"] and city.name_ja.iloc[0] == "川崎市"
    metric = wards.to_crs(6677)
    assert city.to_crs(6677).area.iloc[0] == pytest.approx(metric.area.sum(), rel=1e-6)


def test_city_of_ward_handles_designated_cities():
    assert city_of_ward("14131") == "14130"
    assert city_of_ward("14101") == "14100"
    assert city_of_ward("27127") == "27100"
    assert city_of_ward("14201") == "14201"


def test_a27_school_districts_fields_and_missing_code_reported():
    data = read_school_districts(A27, city_code="14130")
    frame = data.frame
    assert len(frame) == 35 and frame.code.is_unique
    assert frame.name_ja.str.endswith("小学校区").all()
    assert frame.school_address.str.startswith("神奈川県川崎市").all()
    assert frame.ward_code.isna().sum() == 1
    assert any("overlay" in str(i) for i in data.report.issues)


def test_municipal_district_file_via_field_mapping(tmp_path):
    square = [[139.72, 35.53], [139.73, 35.53], [139.73, 35.54], [139.72, 35.54], [139.72, 35.53]]
    path = _geojson(tmp_path / "muni.geojson", [{"type": "Feature", "properties": {
        "学区ID": "K-01", "学校名": "さくら小学校", "住所": "川崎市幸区1-1", "区コード": "14132"},
        "geometry": {"type": "Polygon", "coordinates": [square]}}], 6668)
    fields = {"code": "学区ID", "school_name": "学校名", "school_address": "住所", "municipality_code": "区コード"}
    frame = read_school_districts(path, fields=fields).frame
    assert frame.iloc[0][["code", "name_ja", "ward_code"]].tolist() == ["K-01", "さくら小学校区", "14132"]
    with pytest.raises(FileFormatError, match="学区ID"):
        read_school_districts(path)


def test_raster_metadata_and_no_crs_refusal(tmp_path):
    info = inspect_raster(FIXTURES / "hazard" / "flood_depth_tama_l2_6677.tif")
    assert info.crs == "EPSG:6677" and info.unit == "m" and info.nodata == -9999.0
    assert info.resolution == (100.0, 100.0)
    bare = tmp_path / "bare.tif"
    with rasterio.open(bare, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
                       transform=from_origin(-30000, -40000, 100, 100)) as dst:
        dst.write(np.ones((1, 4, 4), dtype="float32"))
    with pytest.raises(MissingCRSError, match="bare.tif"):
        inspect_raster(bare)
    assigned = inspect_raster(bare, crs=6677)
    assert assigned.crs == "EPSG:6677" and not assigned.crs_from_file
    assert "declares no CRS" in str(assigned.report.issues[0])
    assert not inspect_raster(FIXTURES / "hazard" / "flood_depth_tama_l2_6677.tif").report.issues


def test_mesh_codes_become_polygons_with_jismesh():
    lat, lon = 35.5712, 139.6601
    code = str(int(ju.to_meshcode(lat, lon, 4)))
    assert len(code) == 9
    polygons = mesh_polygons([code, str(int(ju.to_meshcode(lat + 0.01, lon, 4)))])
    cell = polygons.geometry.iloc[0]
    assert cell.contains(Point(lon, lat))
    south, west = ju.to_meshpoint(int(code), 0, 0)
    assert cell.bounds[:2] == pytest.approx((west, south))
    area = polygons.set_crs(4612, allow_override=True).to_crs(6677).area.iloc[0]
    assert area == pytest.approx(0.5 * 0.5 * 1e6 * 1.048, rel=0.03)  # 1/2 of a 3rd mesh (~1.05 km² there)
    with pytest.raises(ValueError):
        mesh_polygons(["5339", "533946211"])
    (lone,) = mesh_polygons([code]).geometry
    assert lone.equals(cell)
    first_mesh = mesh_polygons(["5339"]).geometry.iloc[0]
    assert first_mesh.bounds == pytest.approx((139.0, 35.333333, 140.0, 36.0))  # 1次メッシュ 5339


def test_mesh_table_reads_codes_and_suppressed_cells():
    data = read_mesh_table(FIXTURES / "mesh" / "tblT001141H5339.csv")
    frame, table, report = data.frame, data.table, data.report
    assert table.table_id == "T001141" and report.facts["level"].startswith("4次")
    assert frame.mesh_code.str.len().eq(9).all()
    assert (frame.status == "suppressed").any()
    polygons = mesh_polygons(frame.mesh_code.unique())
    assert polygons.total_bounds[0] > 139.4 and polygons.total_bounds[2] < 139.85


def test_housing_area_table_markers():
    frame = read_area_table(FIXTURES / "housing" / "jyutaku_tochi_2018_vacancy.csv").frame
    assert set(frame.area_code) == {"14130", *[f"1413{i}" for i in range(1, 8)]}
    rate = frame[(frame.variable == "vacancy_rate")]
    assert rate.unit.eq("%").all() and rate.value.between(3, 20).all()
    assert set(frame.status) == {"ok", "suppressed", "unknown"}
    assert frame[frame.status != "ok"].value.isna().all()


def test_zipped_downloads_are_read_as_distributed(tmp_path):
    import zipfile

    from loaders.census import read_census_table

    census_zip = tmp_path / "tblT001082C14.zip"
    with zipfile.ZipFile(census_zip, "w") as archive:
        archive.write(FIXTURES / "census" / "2020" / "tblT001082C14130.csv", "tblT001082C14.txt")
    assert read_census_table(census_zip).encoding == "cp932"
    shape_zip = tmp_path / "A002005212020DDSWC14130.zip"
    with zipfile.ZipFile(shape_zip, "w") as archive:
        for part in (FIXTURES / "census" / "2020").glob("r20ka14130.*"):
            archive.write(part, "r2ka14130" + part.suffix)
    data = read_census_boundary(shape_zip)
    assert data.source_crs == "EPSG:6668" and data.frame.name_ja.str.contains("丁目").any()


def test_plane_rectangular_zone_from_the_prefecture():
    from pyproj import CRS

    from loaders.boundaries import PREFECTURE_PLANE_RECTANGULAR_EPSG, plane_rectangular_epsg

    assert plane_rectangular_epsg("14130") == 6677  # 川崎市: zone IX
    assert plane_rectangular_epsg("27100") == 6674  # 大阪市: zone VI
    assert plane_rectangular_epsg("40130") == 6670  # 福岡市: zone II
    assert plane_rectangular_epsg("01100") == 6680  # 札幌市: zone XII
    assert plane_rectangular_epsg("47201") == 6683  # 那覇市: zone XV
    assert sorted(PREFECTURE_PLANE_RECTANGULAR_EPSG) == [f"{p:02d}" for p in range(1, 48)]
    for epsg in set(PREFECTURE_PLANE_RECTANGULAR_EPSG.values()):
        assert CRS.from_epsg(epsg).name.startswith("JGD2011 / Japan Plane Rectangular CS ")
    assert CRS.from_epsg(plane_rectangular_epsg("27100")).name.endswith(" VI")
    with pytest.raises(ValueError, match="not a JIS municipality code"):
        plane_rectangular_epsg("99999")


def test_mesh_columns_are_found_by_label(tmp_path):
    """T001141 as published puts the age groups between 人口（総数）男/女 and 世帯総数: the same
    figures load whatever the numbering."""
    source = FIXTURES / "mesh" / "tblT001141H5339.csv"
    lines = source.read_bytes().decode("cp932").split("\r\n")
    extra = ["０～１４歳人口　総数", "０～１４歳人口　男", "０～１４歳人口　女"]
    out = []
    for number, line in enumerate(lines):
        cells = line.split(",") if line else []
        if cells:
            head, values = cells[:4], cells[4:]
            inserted = extra if number == 1 else ["0", "0", "0"]
            values = values[:3] + inserted + values[3:]
            if number == 0:
                values = [f"T001141{i:03d}" for i in range(1, len(values) + 1)]
            cells = head + values
        out.append(",".join(cells))
    shifted = tmp_path / source.name
    shifted.write_bytes("\r\n".join(out).encode("cp932"))
    again = read_mesh_table(shifted)
    original = read_mesh_table(source)
    pd.testing.assert_frame_equal(again.frame.drop(columns="row"), original.frame.drop(columns="row"))
    assert any("3 column(s)" in str(issue) for issue in again.report.issues)


def test_wrong_prj_is_refused_against_japan_when_nothing_is_loaded(tmp_path):
    from loaders.errors import ExtentError

    from .altered import with_prj

    bad = with_prj(FIXTURES / "census" / "2020" / "r20ka14130.shp", tmp_path, 32654)
    with pytest.raises(ExtentError) as error:
        read_census_boundary(bad)
    message = str(error.value)
    assert "0% of the small areas lie in Japan" in message and "EPSG:32654" in message
    assert "EPSG:6668 (JGD2011)" in message and "EPSG:4612 (JGD2000)" in message
