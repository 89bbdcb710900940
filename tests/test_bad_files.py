"""Loads that cannot corrupt (issue 17, part 5): files real downloads come as — a wrong .prj, a
.shp cut short, a school-district layer in the wrong CRS / with swapped axes / shifted, a table
with its headers only, invalid rings, a folder given for a file — are each refused with a one-line
error naming the file (and the feature, the CRS declared and one that would fit where that
applies), and the database is exactly as it was. The same facility list under another file name
is recognised: every row "unchanged"."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from pyproj import Transformer

from karte.demo import load_demo, manifest_entries

from .altered import cut_in_half, transformed_geojson, with_prj
from .dbsnapshot import snapshot

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BOUNDARY_2020 = FIXTURES / "census" / "2020" / "r20ka14130.shp"
A27 = FIXTURES / "a27" / "A27-21_14_kawasaki.geojson"
TO_METRIC = Transformer.from_crs(6668, 6677, always_xy=True)


@dataclass
class BadFile:
    source: str
    make: object  # (tmp_path) -> path
    expected: tuple[str, ...]  # every one of these appears in the error
    args: tuple[str, ...] = ("--city", "14130")


def _header_only(tmp_path: Path) -> Path:
    source = FIXTURES / "census" / "2020" / "tblT001087C14130.csv"
    lines = source.read_bytes().split(b"\r\n")
    target = tmp_path / source.name
    target.write_bytes(b"\r\n".join(lines[:2]) + b"\r\n")
    return target


def _ring(tmp_path: Path, ring: list, name: str) -> Path:
    square = [[139.72, 35.53], [139.73, 35.53], [139.73, 35.54], [139.72, 35.54], [139.72, 35.53]]

    def feature(code, coordinates):
        return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [coordinates]},
                "properties": {"A27_001": "14131", "A27_002": "川崎市", "A27_003": code, "A27_004": f"{code}小学校",
                               "A27_005": "川崎市"}}
    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::6668"}},
           "features": [feature("OK1", square), feature("BAD", ring)]}
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


CASES = {
    "census boundary with a UTM 54N .prj": BadFile(
        "census_boundary", lambda t: with_prj(BOUNDARY_2020, t / "utm", 32654),
        ("r20ka14130.shp", "EPSG:32654", "WGS 84 / UTM zone 54N", "EPSG:6668 (JGD2011)", "川崎市"),
        ("--city", "14130", "--year", "2020")),
    ".shp cut in half": BadFile(
        "census_boundary", lambda t: cut_in_half(BOUNDARY_2020, t / "cut"),
        ("r20ka14130.shp", "no readable geometry", "cut short"), ("--city", "14130", "--year", "2020")),
    "A27 in plane rectangular metres declared as JGD2011 lon/lat": BadFile(
        "a27", lambda t: transformed_geojson(A27, t / "metric" / A27.name, TO_METRIC.transform),
        (A27.name, "EPSG:6668", "Japan")),
    "A27 declared plane rectangular zone I": BadFile(
        "a27", lambda t: transformed_geojson(A27, t / "zone1" / A27.name, TO_METRIC.transform, declare_epsg=6669),
        (A27.name, "EPSG:6669", "EPSG:6677 (JGD2011 / Japan Plane Rectangular CS IX)", "川崎市")),
    "A27 with latitude and longitude swapped": BadFile(
        "a27", lambda t: transformed_geojson(A27, t / "swapped" / A27.name, lambda x, y: (y, x)),
        (A27.name, "latitude and longitude swapped")),
    "A27 shifted 30 km east": BadFile(
        "a27", lambda t: transformed_geojson(A27, t / "shifted" / A27.name, lambda x, y: (x + 0.33, y)),
        (A27.name, "川崎市", "shifted or damaged")),
    "census table with its header rows only": BadFile(
        "census_table", _header_only, ("tblT001087C14130.csv", "no data row")),
    "unclosed ring": BadFile(
        "a27", lambda t: _ring(t, [[139.65, 35.56], [139.66, 35.57], [139.66, 35.56], [139.65, 35.565]],
                               "unclosed.geojson"),
        ("unclosed.geojson", "row 2", "geometry cannot be built")),
    "ring of two points": BadFile(
        "a27", lambda t: _ring(t, [[139.65, 35.56], [139.66, 35.57]], "two_points.geojson"),
        ("two_points.geojson", "row 2", "geometry cannot be built")),
    "a folder given as the path": BadFile(
        "census_boundary", lambda t: (t / "folder").mkdir() or (t / "folder"),
        ("folder", "is a folder, not a file"), ("--city", "14130", "--year", "2020")),
}


@pytest.fixture(scope="module")
def kawasaki(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock(), override_settings(KARTE_RASTER_DIR=tmp_path_factory.mktemp("rasters")):
        load_demo()
    yield
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_file_is_refused_in_one_line_and_changes_nothing(kawasaki, db, tmp_path, case):
    bad = CASES[case]
    path = bad.make(tmp_path)
    before = snapshot()
    with pytest.raises(CommandError) as error:
        call_command("load", bad.source, str(path), *bad.args)
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message
    for expected in bad.expected:
        assert expected in message, (expected, message)
    assert snapshot() == before


def test_same_facility_list_under_another_name_is_unchanged(kawasaki, db, tmp_path, capsys):
    entry = next(e for e in manifest_entries() if e["source"] == "resource_csv")
    renamed = tmp_path / "downloaded_again (1).csv"
    renamed.write_bytes((FIXTURES / entry["path"]).read_bytes())
    options = [f"--option={k}={v}" for k, v in entry["options"].items()]
    before = snapshot()
    call_command("load", "resource_csv", str(renamed), "--city", "14130", *options,
                 "--source-name", entry["source_name"])
    out = capsys.readouterr().out
    rows = before["counts"]["Resource"] - sum(1 for key, *_ in before["resources"] if not key.startswith("csv:"))
    assert f"Resource: created 0, updated 0, unchanged {rows}" in out and "same file as before" in out
    assert snapshot() == before


def test_a_list_without_ids_is_keyed_on_name_kind_and_place(kawasaki, db, tmp_path, capsys):
    """Without an id column the key is name + kind + position (≈1 m): the same list under two names,
    with its rows in another order, loads once."""
    rows = ["名称,種別,所在地,緯度,経度", "中野島集会所,集会所,川崎市多摩区,35.6301,139.5601",
            "中野島集会所,公園,川崎市多摩区,35.6301,139.5601", "登戸町内会館,町内会館,川崎市多摩区,35.6201,139.5701"]
    first = tmp_path / "a.csv"
    first.write_text("\n".join(rows) + "\n", encoding="utf-8")
    call_command("load", "resource_csv", str(first), "--city", "14130")
    assert "created 3" in capsys.readouterr().out
    second = tmp_path / "b.csv"
    second.write_text("\n".join([rows[0], rows[3], rows[1], rows[2]]) + "\n", encoding="utf-8")
    before = snapshot()
    call_command("load", "resource_csv", str(second), "--city", "14130")
    assert "created 0, updated 0, unchanged 3" in capsys.readouterr().out
    assert snapshot()["resources"] == before["resources"]


def test_migration_rekeys_csv_resources_loaded_under_the_file_name(db):
    """Databases loaded before the change keyed listed facilities on the file name: the data
    migration gives them the new keys, so that the next load of the same list changes nothing."""
    import importlib

    from django.apps import apps
    from django.contrib.gis.geos import Point

    from karte.models import Dataset, Resource
    from loaders.resources import point_key

    migration = importlib.import_module("karte.migrations.0004_resource_csv_natural_key")
    with_id = Dataset.objects.create(kind="resource", source_name="list", file_name="ibasho_2023.csv",
                                     checksum="a", notes={"options": {"id": "施設ID"}})
    without_id = Dataset.objects.create(kind="resource", source_name="list2", file_name="places.csv", checksum="b",
                                        notes={"options": {}})
    akiya = Dataset.objects.create(kind="housing", source_name="akiya", file_name="akiya.csv", checksum="c",
                                   notes={"options": {}})
    ksj = Dataset.objects.create(kind="resource", source_name="p02", file_name="P02.geojson", checksum="d")
    point = Point(139.6, 35.6, srid=6668)

    def resource(key, kind, dataset):
        return Resource.objects.create(source_key=key, kind=kind, geom=point, location=point, dataset=dataset)

    resource("ibasho_2023:14131-0001", "civic_hall", with_id)
    resource("places:集会所A@35.60000,139.60000", "community_hall", without_id)
    resource("akiya:@35.60000,139.60000", "vacant_house", akiya)
    resource("ksj:p02:図書館@139.60000,35.60000", "library", ksj)
    resource("csv:14131-0002", "civic_hall", with_id)  # already new
    resource("ibasho_2023:14131-0002", "civic_hall", with_id)  # its new key is taken: left alone
    others = sorted(Resource.objects.exclude(dataset__in=[with_id, without_id, akiya, ksj]).values_list("source_key"))
    migration.rekey(apps, None)
    mine = Resource.objects.filter(dataset__in=[with_id, without_id, akiya, ksj])
    assert sorted(Resource.objects.exclude(pk__in=mine).values_list("source_key")) == others  # already new
    assert sorted(mine.values_list("source_key", flat=True)) == sorted([
        "csv:14131-0001", point_key("csv", "community_hall", "集会所A", 35.6, 139.6),
        point_key("akiya", "vacant_house", "", 35.6, 139.6), "ksj:p02:図書館@139.60000,35.60000", "csv:14131-0002",
        "ibasho_2023:14131-0002"])
