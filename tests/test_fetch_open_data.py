"""fetch_open_data against a stand-in for the portals on 127.0.0.1 (tests/open_data_server.py),
serving the demo fixtures in the official archive layouts: a whole run downloads, loads in order and
computes (and resumes a transfer cut short); a second run finds everything in the cache and changes
nothing; each failure — offline, 404, a timeout, a transfer cut short, a truncated zip, an HTML page
where a zip was expected, a zip without the expected member, a file refused half-way through the
loads — is one clear line naming the page to download from and the load command, and leaves every
table of the database as it was. No test touches the internet."""
from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from karte.models import (AreaStatistic, CensusArea, CensusFigure, City, District, IndicatorValue, RasterLayer,
                          Resource, Ward)
from karte.open_data import fetch_open_data
from loaders.errors import LoaderError
from loaders.fetch import Downloader, FetchError, load_catalogue, overpass_to_geojson, plan
from loaders.mesh import mesh1_codes

from .dbsnapshot import snapshot
from .open_data_server import OpenDataServer, kawasaki_site, zipped

POPULATION = "/gis/statmap-search/data?statsId=T001082&code=14130&downloadType=2"
HOUSEHOLDS = "/gis/statmap-search/data?statsId=T001087&code=14130&downloadType=2"
BOUNDARY = ("/gis/statmap-search/data?dlserveyId=A002005212020&code=14130&coordSys=1&format=shape&downloadType=5"
            "&datum=2011")
N03 = "/ksj/gml/data/N03/N03-2024/N03-20240101_14_GML.zip"
P13 = "/ksj/gml/data/P13/P13-11/P13-11_14_GML.zip"


@pytest.fixture(scope="module")
def site():
    return kawasaki_site()


@pytest.fixture
def server(site):
    with OpenDataServer(site, slow_s=3.0) as running:
        yield running


def _fetch(server_or_url, tmp_path, **kwargs):
    url = server_or_url if isinstance(server_or_url, str) else server_or_url.url
    lines: list[str] = []
    result = fetch_open_data("14130", 2020, cache_dir=tmp_path / "cache", base_url=url, timeout=1.0,
                             progress=lines.append, **kwargs)
    return result, lines


def test_catalogue_plans_every_source_of_a_city():
    catalogue = load_catalogue()
    planned = plan(catalogue, city="14130", year=2020, mesh1=["5339"])
    names = [p.spec.name for p in planned]
    assert names[0] == "n03" and "osm" not in names
    assert {"census_boundary", "census_population", "census_households", "census_dwellings", "census_mobility",
            "a27", "p02", "p13", "p14", "p29", "mesh", "a31"} <= set(names)
    by_name = {p.spec.name: p for p in planned}
    assert by_name["census_boundary"].url == ("https://www.e-stat.go.jp/gis/statmap-search/data?dlserveyId=A002005212020"
                                              "&code=14130&coordSys=1&format=shape&downloadType=5&datum=2011")
    assert by_name["n03"].url == "https://nlftp.mlit.go.jp/ksj/gml/data/N03/N03-2024/N03-20240101_14_GML.zip"
    assert by_name["mesh"].url.endswith("statsId=T001141&code=5339&downloadType=2")
    local = plan(catalogue, city="14130", year=2020, base_url="http://127.0.0.1:9/")
    assert all(p.url.startswith("http://127.0.0.1:9/") for p in local)
    assert [p.spec.name for p in plan(catalogue, city="20202", year=2015)][:2] == ["n03", "census_boundary"]
    with pytest.raises(LoaderError, match="not in the catalogue"):
        plan(catalogue, city="14130", year=2020, only=["nonsense"])
    with pytest.raises(LoaderError, match="census years 2015, 2020"):
        plan(catalogue, city="14130", year=2010)


def test_mesh_codes_and_overpass_conversion():
    import shapely

    assert mesh1_codes(shapely.box(139.47, 35.50, 139.78, 35.65)) == ["5339"]
    assert mesh1_codes(shapely.box(139.9, 35.6, 140.1, 35.7)) == ["5339", "5340"]
    doc = {"elements": [{"type": "node", "id": 1, "lat": 35.6, "lon": 139.6, "tags": {"amenity": "cafe"}},
                        {"type": "way", "id": 2, "center": {"lat": 35.5, "lon": 139.5}, "tags": {"leisure": "park"}},
                        {"type": "node", "id": 3, "lat": 35.5, "lon": 139.5}]}
    features = overpass_to_geojson(doc)["features"]
    assert [f["id"] for f in features] == ["node/1", "way/2"]
    assert features[1]["geometry"]["coordinates"] == [139.5, 35.5] and features[1]["properties"]["@id"] == "way/2"


def test_download_resumes_with_a_range_request_and_keeps_checksums(server, tmp_path):
    planned = next(p for p in plan(load_catalogue(), city="14130", year=2020, base_url=server.url)
                   if p.spec.name == "census_population")
    downloader = Downloader(tmp_path, timeout=5)
    server.faults[POPULATION] = "cut"
    with pytest.raises(FetchError, match="cut short .* run again to resume"):
        downloader.fetch(planned)
    part = tmp_path / (planned.file + ".part")
    kept = part.stat().st_size
    assert 0 < kept <= len(server.site[POPULATION]) // 2
    del server.faults[POPULATION]
    path, cached = downloader.fetch(planned)
    assert not cached and path.read_bytes() == server.site[POPULATION] and not part.exists()
    assert server.requests[-1][2] == f"bytes={kept}-"  # only the rest was asked for
    index = json.loads((tmp_path / "checksums.json").read_text(encoding="utf-8"))
    assert index[planned.file]["bytes"] == len(server.site[POPULATION])
    asked = len(server.requests)
    assert downloader.fetch(planned) == (path, True) and len(server.requests) == asked  # from the cache
    path.write_bytes(b"PK changed")  # a cached file that no longer matches its checksum is fetched again
    assert downloader.fetch(planned) == (path, False) and len(server.requests) == asked + 1


def test_whole_run_downloads_loads_and_computes_then_changes_nothing(server, tmp_path, transactional_db):
    with override_settings(KARTE_RASTER_DIR=tmp_path / "rasters"):
        result, lines = _fetch(server, tmp_path, osm=True)
        assert City.objects.get(code="14130").projected_srid == 6677 and Ward.objects.count() == 7
        assert District.objects.count() == 35 and CensusArea.objects.filter(census_year=2020).count() == 249
        assert CensusFigure.objects.filter(census_year=2020, variable="pop_65_plus").count() > 200
        assert Resource.objects.filter(source_key__startswith="osm:").count() == 63  # the far café skipped
        assert AreaStatistic.objects.filter(area_code__startswith="5339", variable="pop_total").count() > 600
        hazard = RasterLayer.objects.get(kind="hazard")
        assert hazard.name == "flood_a31a_14130" and hazard.threshold == 0.5 and hazard.crs == "EPSG:6677"
        share = IndicatorValue.objects.filter(tier="city", indicator="hazard_area_share").get().value
        assert 0 < share < 100
        assert IndicatorValue.objects.filter(tier="district", indicator="ageing_rate").count() == 35
        # one line per download, one per load (as `load` prints it), then the computation
        assert sum(line.startswith("fetch ") for line in lines) == 14
        assert sum(line.startswith("load ") for line in lines) == 14
        assert any(line.startswith("compute_indicators 14130:") for line in lines)
        assert not any("warning" in line for line in lines), lines
        asked = len(server.requests)
        before = snapshot()
        again, lines = _fetch(server, tmp_path, osm=True)
        assert len(server.requests) == asked  # all from the cache
        assert all(s.created == 0 and s.updated == 0 for s in again.loads)
        assert sum("in the cache, checksum unchanged" in line for line in lines) == 14
        assert snapshot() == before


FAILURES = {
    "404": (HOUSEHOLDS, "404", ("HTTP 404", "statsId=T001087", "python manage.py load census_table FILE --city 14130 "
                                "--year 2020")),
    "timeout": (BOUNDARY, "slow", ("did not answer within 1 s", "aggregateUnitForBoundary=A",
                                   "python manage.py load census_boundary")),
    "transfer cut short": (POPULATION, "cut", ("cut short", "run again to resume")),
    "HTML page instead of a zip": (N03, "html", ("HTML page («メンテナンス中 | e-Stat»)", "KsjTmplt-N03-2024.html",
                                                 "python manage.py load n03")),
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_failed_download_is_one_clear_line_and_changes_nothing(server, tmp_path, db, failure):
    path, fault, expected = FAILURES[failure]
    server.faults[path] = fault
    before = snapshot()
    with pytest.raises(FetchError) as error:
        _fetch(server, tmp_path)
    message = str(error.value)
    for text in expected:
        assert text in message, (text, message)
    assert "\n" not in message
    assert snapshot() == before


@pytest.mark.parametrize("broken", ["truncated zip", "zip without the member"])
def test_a_bad_archive_is_refused_and_not_kept(site, tmp_path, db, broken):
    body = site[P13]
    site = dict(site)
    site[P13] = body[: len(body) // 2] if broken == "truncated zip" else zipped({"P13-11_14_GML/KS-META-P13.xml": b"<x/>"})
    before = snapshot()
    with OpenDataServer(site) as server, pytest.raises(FetchError) as error:
        _fetch(server, tmp_path)
    message = str(error.value)
    if broken == "truncated zip":
        assert "not a zip archive" in message and "cut short or damaged" in message
    else:
        assert "KS-META-P13.xml" in message and "no member matching *P13-11_14*.geojson" in message
    assert "KsjTmplt-P13.html" in message and "python manage.py load p13" in message
    assert not (tmp_path / "cache" / "14130" / "P13-11_14_GML.zip").exists()
    assert snapshot() == before


def test_offline_names_the_page_and_the_load_command(tmp_path, db):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    before = snapshot()
    with pytest.raises(CommandError) as error:
        call_command("fetch_open_data", "--city", "14130", "--cache", str(tmp_path), "--base-url", closed,
                     "--timeout", "1")
    message = str(error.value)
    assert "cannot reach 127.0.0.1" in message and "offline" in message
    assert "https://nlftp.mlit.go.jp/ksj/gml/datalist/KsjTmplt-N03-2024.html" in message
    assert "python manage.py load n03 FILE --city 14130" in message
    assert snapshot() == before


def test_a_file_refused_half_way_through_the_loads_rolls_every_load_back(site, tmp_path, db):
    """The downloads succeed; the household table is a header-only file, refused after N03, the
    boundaries and the population table were loaded: none of them stays."""
    site = dict(site)
    csv = (Path(__file__).resolve().parent.parent / "fixtures" / "census" / "2020" / "tblT001087C14130.csv").read_bytes()
    site[HOUSEHOLDS] = zipped({"tblT001087C14130.txt": b"\r\n".join(csv.split(b"\r\n")[:2]) + b"\r\n"})
    before = snapshot()
    lines: list[str] = []
    with OpenDataServer(site) as server, pytest.raises(LoaderError, match="no data row"):
        fetch_open_data("14130", cache_dir=tmp_path, base_url=server.url, progress=lines.append)
    assert any(line.startswith("load census_table tblT001082C14130.txt") for line in lines)  # loaded, then undone
    assert snapshot() == before
