"""Importers and the load command on the database (SpatiaLite by default, PostGIS with
DATABASE_URL=postgis://…): the demo manifest loads completely with provenance, loading twice changes
nothing, a second census vintage adds a year, --dry-run writes nothing, and a bad file or a failure
half-way leaves the database as it was."""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from karte.demo import load_demo, manifest_entries
from karte.importers import progress, run_load
from karte.models import (AreaStatistic, CensusArea, CensusAreaCorrespondence, CensusFigure, City, Dataset, District,
                          RasterLayer, Resource, Ward)
from loaders.census import read_census_table
from loaders.common import sha256_of
from loaders.errors import LoaderError

from .altered import shift_codes
from .dbsnapshot import snapshot

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
POP_2020 = FIXTURES / "census" / "2020" / "tblT001082C14130.csv"
POP_2015 = FIXTURES / "census" / "2015" / "tblT000849C14130.csv"
@pytest.fixture(scope="module")
def raster_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("rasters")


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker, raster_dir):
    """The demo manifest loaded twice, committed for this module and flushed afterwards."""
    with django_db_blocker.unblock(), override_settings(KARTE_RASTER_DIR=raster_dir):
        first = load_demo()
        before = snapshot()
        second = load_demo()
        after = snapshot()
    yield {"first": first, "second": second, "before": before, "after": after}
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


def test_demo_loads_every_manifest_entry_with_provenance(loaded, db):
    entries = manifest_entries()
    assert len(loaded["first"]) == len(entries)
    counts = loaded["before"]["counts"]
    assert counts["City"] == 1 and counts["Ward"] == 7 and counts["District"] == 35
    assert CensusArea.objects.filter(census_year=2015).count() == 248
    assert CensusArea.objects.filter(census_year=2020, hcode=8154).count() == 3
    assert counts["Dataset"] == len(entries)
    for entry in entries:
        dataset = Dataset.objects.get(checksum=sha256_of(FIXTURES / entry["path"]), source_name=entry["source_name"])
        assert dataset.licence == entry["licence"]
        assert dataset.file_name == Path(entry["path"]).name
        assert dataset.row_count > 0
    figure = CensusFigure.objects.filter(census_year=2020, variable="pop_total").first()
    assert figure.dataset.vintage == 2020 and "T001082" in figure.dataset.source_name


def test_loading_twice_changes_nothing(loaded, db):
    assert all(s.created == 0 and s.updated == 0 for s in loaded["second"])
    assert all(s.dataset_reused for s in loaded["second"])
    assert loaded["before"] == loaded["after"]


def test_city_and_wards_from_n03(loaded, db):
    city = City.objects.get(code="14130")
    assert city.name_ja == "川崎市" and city.projected_srid == 6677
    union = shapely.union_all([shapely.from_wkb(bytes(w.geom.wkb)) for w in Ward.objects.all()])
    assert shapely.from_wkb(bytes(city.geom.wkb)).symmetric_difference(union).area < 1e-9
    assert len(Ward.objects.get(code="14131").geom) == 2


def test_districts_linked_to_wards_by_code_or_overlay(loaded, db):
    assert not District.objects.filter(ward__isnull=True).exists()
    overlaid = gpd.read_file(FIXTURES / "a27" / "A27-21_14_kawasaki.geojson")
    code = overlaid.loc[overlaid.A27_001.isna(), "A27_003"].iloc[0]
    district = District.objects.get(code=code)
    point = shapely.from_wkb(bytes(district.geom.wkb)).representative_point()
    assert shapely.from_wkb(bytes(district.ward.geom.wkb)).contains(point)
    assert District.objects.exclude(name_romaji="").count() == 35


def test_resources_get_their_district_by_point_in_polygon(loaded, db):
    resources = Resource.objects.select_related("district")
    assert resources.filter(district__isnull=False).count() > 0.9 * resources.count()
    for resource in resources.filter(district__isnull=False)[:80]:
        district = shapely.from_wkb(bytes(resource.district.geom.wkb))
        assert district.intersects(shapely.from_wkb(bytes(resource.location.wkb)))
    assert not Resource.objects.filter(source_key="osm:node/9876543210").exists()  # the far café
    vacant = Resource.objects.filter(kind="vacant_house")
    assert vacant.count() > 0 and not vacant.filter(is_public=True).exists()
    temple = Resource.objects.filter(kind="shrine_temple").first()
    assert temple.geom.geom_type == "Polygon" and temple.geom.contains(temple.location)


def test_census_cells_keep_their_status(loaded, db):
    figures = CensusFigure.objects.filter(census_year=2020)
    suppressed = figures.filter(status="suppressed")
    assert suppressed.exists() and not suppressed.exclude(value=None).exists()
    assert figures.filter(status="zero", value=0).exists()
    merged = figures.filter(status="merged")
    assert merged.exists() and not merged.exclude(value=None).exists() and not merged.filter(merged_into="").exists()


def test_both_vintages_coexist_with_their_own_values(loaded, db):
    for path, year in ((POP_2015, 2015), (POP_2020, 2020)):
        data = read_census_table(path)
        expected = data.figures[data.figures.variable == "pop_total"].set_index("key_code").value.dropna()
        stored = dict(CensusFigure.objects.filter(census_year=year, variable="pop_total")
                      .exclude(value=None).values_list("key_code", "value"))
        assert stored == expected.to_dict()
    assert CensusAreaCorrespondence.objects.filter(relation="split").count() == 2


def test_raster_copied_and_registered(loaded, db, raster_dir):
    layer = RasterLayer.objects.get(kind="hazard")
    assert layer.crs == "EPSG:6677" and layer.unit == "m" and layer.threshold == 0.5
    copied = raster_dir / layer.path
    assert copied.read_bytes() == (FIXTURES / "hazard" / "flood_depth_tama_l2_6677.tif").read_bytes()
    assert AreaStatistic.objects.filter(area_code__regex=r"^\d{9}$", variable="pop_total").count() > 300


def _changed_copy(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_bytes().decode("cp932")
    assert old in text
    target = tmp_path / source.name
    target.write_bytes(text.replace(old, new, 1).encode("cp932"))
    return target


def _first_leaf_total(path: Path) -> tuple[str, str]:
    data = read_census_table(path)
    row = data.figures[(data.figures.variable == "pop_total") & (data.figures.status == "ok")].iloc[0]
    return row.key_code, str(int(row.value))


def test_dry_run_writes_nothing(loaded, db, tmp_path, capsys):
    key, total = _first_leaf_total(POP_2020)
    changed = _changed_copy(tmp_path, POP_2020, f"{key},3,", f"{key},3,")
    text = changed.read_bytes().decode("cp932").splitlines()
    line = next(i for i, l in enumerate(text) if l.startswith(key + ","))
    cells = text[line].split(",")
    cells[7] = str(int(cells[7]) + 5)
    text[line] = ",".join(cells)
    changed.write_bytes("\r\n".join(text).encode("cp932"))
    before = snapshot()
    call_command("load", "census_table", str(changed), "--dry-run")
    out = capsys.readouterr().out
    assert "dry run: nothing written" in out and "would update 1" in out
    assert snapshot() == before


def test_newer_file_of_one_year_never_touches_another_year(loaded, db, tmp_path):
    key, total = _first_leaf_total(POP_2020)
    text = POP_2020.read_bytes().decode("cp932").splitlines()
    line = next(i for i, l in enumerate(text) if l.startswith(key + ","))
    cells = text[line].split(",")
    cells[7] = str(int(cells[7]) + 5)
    text[line] = ",".join(cells)
    changed = tmp_path / POP_2020.name
    changed.write_bytes("\r\n".join(text).encode("cp932"))
    figures_2015 = sorted(CensusFigure.objects.filter(census_year=2015).values_list("key_code", "variable", "value"))
    call_command("load", "census_table", str(changed), "--year", "2020")
    assert CensusFigure.objects.get(key_code=key, census_year=2020, variable="pop_total").value == int(total) + 5
    assert sorted(CensusFigure.objects.filter(census_year=2015).values_list("key_code", "variable", "value")) == figures_2015
    assert Dataset.objects.filter(checksum=sha256_of(changed)).count() == 1


def test_year_disagreeing_with_the_table_is_refused(loaded, db):
    before = snapshot()["counts"]
    with pytest.raises(CommandError, match="2020 census, not 2015"):
        call_command("load", "census_table", str(POP_2020), "--year", "2015")
    assert snapshot()["counts"] == before


def test_bad_row_names_file_row_field_and_leaves_db_unchanged(loaded, db, tmp_path):
    bad = tmp_path / "facilities.csv"
    source = (FIXTURES / "resources" / "kawasaki_ibasho_facilities.csv").read_text(encoding="utf-8-sig").splitlines()
    cells = source[3].split(",")
    cells[2] = "宇宙ステーション"  # the 種別 column: a kind no mapping knows
    source[3] = ",".join(cells)
    bad.write_text("\n".join(source) + "\n", encoding="utf-8")
    before = snapshot()
    with pytest.raises(CommandError) as error:
        call_command("load", "resource_csv", str(bad), "--city", "14130", "--option", "id=施設ID")
    message = str(error.value)
    assert "facilities.csv" in message and "row 4" in message and "種別" in message
    assert snapshot() == before


def test_failure_half_way_rolls_back_everything(loaded, db, tmp_path, monkeypatch):
    from karte.importers import base as importer_base

    real_upsert = importer_base.upsert

    def upsert_then_fail(*args, **kwargs):
        real_upsert(*args, **kwargs)
        raise LoaderError("simulated failure after writing", path=tmp_path / "x")

    csv = tmp_path / "new_places.csv"
    csv.write_text("名称,種別,所在地,緯度,経度\n新しい集会所,集会所,川崎市中原区,35.57,139.66\n", encoding="utf-8")
    before = snapshot()
    monkeypatch.setattr(importer_base, "upsert", upsert_then_fail)
    with pytest.raises(CommandError, match="simulated failure"):
        call_command("load", "resource_csv", str(csv), "--city", "14130")
    assert snapshot() == before
    monkeypatch.setattr(importer_base, "upsert", real_upsert)
    call_command("load", "resource_csv", str(csv), "--city", "14130")
    assert Resource.objects.get(name="新しい集会所").district is not None


def test_file_without_crs_refused_unless_crs_given(loaded, db, tmp_path, capsys):
    frame = gpd.read_file(FIXTURES / "a27" / "A27-21_14_kawasaki.geojson").head(4)
    shp = tmp_path / "a27_nocrs.shp"
    frame.to_file(shp, engine="pyogrio", encoding="utf-8")
    shp.with_suffix(".prj").unlink()
    before = snapshot()
    with pytest.raises(CommandError, match="--crs"):
        call_command("load", "a27", str(shp), "--city", "14130")
    call_command("load", "a27", str(shp), "--city", "14130", "--crs", "6668", "--dry-run")
    assert "unchanged 4" in capsys.readouterr().out
    assert snapshot() == before


def test_invalid_polygon_repaired_and_reported_by_the_command(loaded, db, tmp_path, capsys):
    bowtie = [[139.65, 35.56], [139.66, 35.57], [139.66, 35.56], [139.65, 35.57], [139.65, 35.56]]
    doc = {"type": "FeatureCollection",
           "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::6668"}},
           "features": [{"type": "Feature", "properties": {"A27_001": None, "A27_002": "川崎市", "A27_003": "TEST-1",
                                                           "A27_004": "試験小学校", "A27_005": "川崎市"},
                         "geometry": {"type": "Polygon", "coordinates": [bowtie]}}]}
    path = tmp_path / "bowtie.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    call_command("load", "a27", str(path), "--city", "14130")
    out = capsys.readouterr().out
    assert "make_valid" in out and "row 1" in out and "by overlay" in out
    district = District.objects.get(code="TEST-1")
    assert district.geom.valid and district.ward is not None


def test_unknown_source_and_missing_file(db):
    with pytest.raises(CommandError):
        call_command("load", "nonsense", "x.csv")
    with pytest.raises(CommandError, match="file not found"):
        call_command("load", "census_table", "/nonexistent/tbl.csv")


def test_second_vintage_adds_a_year(loaded, db, capsys):
    # Start from a database holding only the 2020 population figures, then load the 2015 table.
    CensusFigure.objects.filter(census_year=2015).delete()
    figures_2020 = sorted(CensusFigure.objects.filter(census_year=2020).values_list("key_code", "variable", "value"))
    call_command("load", "census_table", str(POP_2015), "--year", "2015", "--city", "14130")
    assert "CensusFigure 2015: created" in capsys.readouterr().out
    years = set(CensusFigure.objects.values_list("census_year", flat=True))
    assert years == {2015, 2020}
    expected = len(read_census_table(POP_2015).figures)
    assert CensusFigure.objects.filter(census_year=2015).count() == expected
    assert sorted(CensusFigure.objects.filter(census_year=2020).values_list("key_code", "variable", "value")) == figures_2020


class _Stream:
    def __init__(self, tty: bool):
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_bar_only_for_a_person_at_a_terminal():
    assert progress.wanted(False, _Stream(True), {}) is True
    assert progress.wanted(True, _Stream(True), {}) is False  # --quiet
    assert progress.wanted(False, _Stream(True), {"CI": "true"}) is False
    assert progress.wanted(False, _Stream(False), {}) is False  # a pipe or a log file


def test_long_load_draws_a_progress_bar_when_asked_and_quiet_prints_one_line(loaded, db, capsys):
    CensusFigure.objects.filter(census_year=2020).delete()  # so that the load has >13,000 rows to write
    run_load("census_table", POP_2020, dry_run=True, show_progress=False)
    assert capsys.readouterr().err == ""
    run_load("census_table", POP_2020, dry_run=True, show_progress=True)
    err = capsys.readouterr().err
    assert f"census_table {POP_2020.name} CensusFigure" in err and "rows" in err
    call_command("load", "census_table", str(POP_2020), "--dry-run", "--quiet")
    captured = capsys.readouterr()
    assert captured.out.count("\n") == 1 and "would create" in captured.out
    assert captured.err == ""


def test_city_gets_its_plane_rectangular_zone_and_an_option_overrides_it(loaded, db):
    assert City.objects.get(code="14130").projected_srid == 6677  # 神奈川県 → zone IX
    n03 = next(e for e in manifest_entries() if e["source"] == "n03")
    run_load("n03", FIXTURES / n03["path"], city="14130", options={"projected_srid": 6678})
    assert City.objects.get(code="14130").projected_srid == 6678


def test_rows_gone_from_a_reloaded_file_are_reported_and_removed_only_with_replace(loaded, db, tmp_path, capsys):
    """A corrected file of the same name without some rows (a closed facility): the rows an earlier
    load of it wrote are kept and reported; ``--replace`` removes them; rows of other files stay."""
    entry = next(e for e in manifest_entries() if e["source"] == "resource_csv")
    original = FIXTURES / entry["path"]
    lines = original.read_bytes().splitlines(keepends=True)
    corrected = tmp_path / original.name
    corrected.write_bytes(b"".join(lines[:-2]))  # the last two facilities closed
    args = ["--city", "14130", *(f"--option={k}={v}" for k, v in entry["options"].items())]
    prefix = "csv:"  # the natural key of a listed facility: never the file name
    before = Resource.objects.filter(source_key__startswith=prefix).count()
    others = sorted(Resource.objects.exclude(source_key__startswith=prefix).values_list("source_key", flat=True))

    call_command("load", "resource_csv", str(corrected), *args)
    out = capsys.readouterr().out
    assert "Resource: 2 row(s) loaded before from " + original.name in out and "--replace" in out
    assert Resource.objects.filter(source_key__startswith=prefix).count() == before

    snap = snapshot()
    call_command("load", "resource_csv", str(corrected), *args, "--replace", "--dry-run")
    assert "would remove 2" in capsys.readouterr().out
    assert snapshot() == snap

    call_command("load", "resource_csv", str(corrected), *args, "--replace")
    assert "removed 2" in capsys.readouterr().out
    assert Resource.objects.filter(source_key__startswith=prefix).count() == before - 2
    assert sorted(Resource.objects.exclude(source_key__startswith=prefix).values_list("source_key", flat=True)) == others

    call_command("load", "resource_csv", str(corrected), *args, "--replace")
    assert "removed 0" in capsys.readouterr().out  # nothing more to remove: idempotent


def test_reloading_the_demo_reports_nothing_stale(loaded, db):
    assert all(not summary.stale for summary in loaded["second"])


def test_household_table_numbered_otherwise_loads_the_same_figures(loaded, db, tmp_path, capsys):
    """Issue 17: the household table with its codes shifted by one extra leading column gives the
    same figures, in a dry run and in a real load; a required label missing is refused."""
    original = FIXTURES / "census" / "2020" / "tblT001087C14130.csv"
    shifted = shift_codes(original, tmp_path / original.name)
    figures = snapshot()["figures"]
    stored = CensusFigure.objects.filter(census_year=2020, variable__startswith="households").count()
    assert stored > 0
    call_command("load", "census_table", str(shifted), "--dry-run")
    out = capsys.readouterr().out
    assert f"would create 0, would update 0, unchanged {stored}" in out
    call_command("load", "census_table", str(shifted))
    assert f"created 0, updated 0, unchanged {stored}" in capsys.readouterr().out
    assert snapshot()["figures"] == figures

    text = original.read_bytes().decode("cp932").replace("65歳以上世帯員のいる一般世帯数（単独世帯）", "単独世帯", 1)
    broken = tmp_path / "renamed" / original.name
    broken.parent.mkdir()
    broken.write_bytes(text.encode("cp932"))
    before = snapshot()
    with pytest.raises(CommandError) as error:
        call_command("load", "census_table", str(broken))
    assert "households_elderly_alone" in str(error.value) and "単独世帯" in str(error.value)
    assert snapshot() == before
