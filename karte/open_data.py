"""A city's real open data, one command away: download every source the karte needs
(:mod:`loaders.fetch`, catalogue ``loaders/open_data.toml``), load it in order with the importers
``manage.py load`` uses, and compute the indicators.

All downloads (and the conversions that need no database: A31 → a depth raster, Overpass → GeoJSON)
happen first; a download that fails stops everything before the database is touched. The loads then
run in ONE transaction, so a file refused half-way leaves the database as it was; the indicators are
computed once they are committed (a computation can always be run again with compute_indicators). ``fetch_open_data`` is a plain function reporting through a callback, so that a long run can
later move to a background task; ``manage.py fetch_open_data`` only parses its arguments.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from karte.compute import compute_all, summary_lines
from karte.importers import ImportSummary, run_load
from loaders.boundaries import plane_rectangular_epsg, read_n03
from loaders.errors import LoaderError
from loaders.fetch import (Downloader, FetchError, Planned, extract, load_catalogue, overpass_query,
                           overpass_to_geojson, plan)
from loaders.hazard import a31_depth_raster
from loaders.mesh import mesh1_codes
from loaders.resources import OSM_RULES

SCHOOL_DISTRICT_SOURCE = "a27"


@dataclass
class Prepared:
    """A file ready for ``run_load``: which loader, with which options and provenance."""

    planned: Planned
    path: Path
    cached: bool


@dataclass
class FetchResult:
    city: str
    year: int
    downloads: list[Prepared] = field(default_factory=list)
    loads: list[ImportSummary] = field(default_factory=list)
    compute: dict | None = None


def _say(progress: Callable[[str], None] | None, line: str) -> None:
    if progress is not None:
        progress(line)


def fetch_open_data(city: str, year: int = 2020, *, cache_dir: Path | str | None = None,
                    only: Iterable[str] | None = None, estat_app_id: str = "", base_url: str | None = None,
                    school_districts: Path | str | None = None, school_district_fields: dict | None = None,
                    osm: bool = False, timeout: float = 60.0, show_progress: bool = False,
                    progress: Callable[[str], None] | None = None, compute: bool = True) -> FetchResult:
    """Download, load and compute the open data of ``city`` (5-digit JIS code) for census ``year``.

    ``only``: catalogue names to fetch (default: every non-optional one); ``school_districts``: the
    city's own school-district file (loaded instead of A27, with ``school_district_fields`` mapping
    Karte's names to its columns); ``osm``: also query Overpass. ``progress`` receives one line per
    file downloaded and per file loaded (the line ``manage.py load`` prints), then the compute line.
    Raises :class:`loaders.errors.LoaderError` (a :class:`loaders.fetch.FetchError` for downloads);
    the database is then unchanged."""
    city, year = str(city), int(year)
    catalogue = load_catalogue()
    cache = Path(cache_dir or settings.KARTE_OPEN_DATA_CACHE) / city
    base_url = base_url or settings.KARTE_OPEN_DATA_BASE_URL or None
    own_districts = Path(school_districts) if school_districts else None
    if own_districts is not None and not own_districts.is_file():
        raise LoaderError("the school-district file given is not a file", path=own_districts)
    options = dict(city=city, year=year, base_url=base_url, estat_app_id=estat_app_id, only=only,
                   optional=["osm"] if osm else [], skip=[SCHOOL_DISTRICT_SOURCE] if own_districts else [])
    downloader = Downloader(cache, timeout=timeout, show_progress=show_progress)
    result = FetchResult(city, year)

    # 1. Downloads. N03 first: the city's outline decides which 1次メッシュ and which box to ask for
    #    (it is read even when --only leaves N03 out of the loads).
    wanted = plan(catalogue, **options)
    n03 = next((p for p in wanted if p.spec.name == "n03"), None)
    first = _download(downloader, n03 or plan(catalogue, **{**options, "only": ["n03"], "skip": []})[0], cache,
                      progress)
    outline = _city_outline(first.path, city)
    if n03 is not None:
        result.downloads.append(first)
    for planned in plan(catalogue, **options, mesh1=mesh1_codes(outline)):
        if planned.spec.name != "n03":
            result.downloads.append(_download(downloader, planned, cache, progress, outline=outline, city=city))

    # 2. The loads, all or nothing; then the computation (its own transaction, once the loads are
    #    committed: the hazard raster is copied into place on commit).
    with transaction.atomic():
        for prepared in result.downloads:
            spec = prepared.planned.spec
            summary = run_load(spec.load, prepared.path, year=year if spec.load in {"census_boundary", "census_table",
                                                                                      "mesh"} else None,
                               city=city, options={k: (v.format(**prepared.planned.values) if isinstance(v, str) else v)
                                                   for k, v in spec.options.items()},
                               provenance={"source_name": spec.source_name, "url": prepared.planned.url,
                                           "licence": spec.licence},
                               show_progress=show_progress)
            result.loads.append(summary)
            _say(progress, summary.lines()[0])
            if spec.name == "n03" and own_districts is not None:
                result.loads.append(_load_own_districts(own_districts, school_district_fields, city, show_progress,
                                                        progress))
    if compute:
        result.compute = compute_all(city=city, year=year)
        for line in summary_lines(result.compute):
            _say(progress, line)
    return result


def _download(downloader: Downloader, planned: Planned, cache: Path, progress, *, outline=None,
              city: str | None = None) -> Prepared:
    data = None
    if planned.spec.convert == "overpass_to_geojson":
        data = {"data": overpass_query(outline.bounds, OSM_RULES)}
    path, cached = downloader.fetch(planned, data=data)
    _say(progress, f"fetch {planned.spec.name} {planned.file}: "
                   + ("in the cache, checksum unchanged" if cached else f"downloaded {path.stat().st_size:,} bytes"))
    work = cache / Path(planned.file).stem
    if planned.spec.convert == "overpass_to_geojson":
        target = work.with_suffix(".geojson")
        target.write_text(json.dumps(overpass_to_geojson(json.loads(path.read_text(encoding="utf-8"))),
                                     ensure_ascii=False), encoding="utf-8")
        return Prepared(planned, target, cached)
    members = extract(path, planned, work) if path.suffix.lower() == ".zip" else [path]
    if planned.spec.convert == "a31_depth_raster":
        target = work.with_suffix(".tif")
        a31_depth_raster(members, outline, plane_rectangular_epsg(city), target)
        return Prepared(planned, target, cached)
    if planned.spec.convert:
        raise FetchError(f"unknown conversion {planned.spec.convert!r} in the catalogue", path=planned.url)
    return Prepared(planned, members[0], cached)


def _city_outline(path: Path, city: str):
    cities = read_n03(path, city_code=city).extra["cities"]
    return cities.loc[cities["code"] == city].geometry.iloc[0] if (cities["code"] == city).any() \
        else cities.geometry.union_all()


def _load_own_districts(path: Path, fields: dict | None, city: str, show_progress: bool, progress) -> ImportSummary:
    summary = run_load(SCHOOL_DISTRICT_SOURCE, path, city=city, options={"fields": fields} if fields else None,
                       provenance={"source_name": f"小学校区 ({path.name}, 市町村の提供)"}, show_progress=show_progress)
    _say(progress, summary.lines()[0])
    return summary
