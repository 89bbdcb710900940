"""Benchmark: vector tiles at national scale on PostGIS.

Run: ``DATABASE_URL=postgis://user:password@127.0.0.1:5432/anydb .venv/bin/python benchmarks/tiles.py``
(``--quick`` for a 1/10-size set; ``--samples N`` tiles per zoom, default 200; ``--density tokyo``
for the builder's own, ten times denser, layout).

The script creates a scratch database on the server of ``DATABASE_URL`` (``karte_bench_tiles_<pid>``,
PostGIS extension, Karte's migrations), loads the Japan-scale synthetic set into it and drops it
at the end, whatever happens.

Data: the synthetic Japan-scale case of ``benchmarks/interpolation.py`` (its builder, cached under
var/benchmarks/): ~220,000 small areas (Voronoi cells) and ~19,000 districts built from them. Its
square is scaled so that it covers Japan's land area (377,975 km²) — small areas of 1.7 km² and
districts of 20 km² on average, as Japan's 町丁・字 and 小学校区 are — and centred on the origin of
JGD2011 plane rectangular zone IX (36°N 139°50'E). ``--density tokyo`` keeps the builder's scale
(0.16 km² per small area, like central Tokyo), ten times as many features per tile. Cities: a
41 × 41 grid over the square (1,681, about Japan's 1,741 municipalities); 16 indicators per district.

Measured: the load (ORM bulk inserts of the model layer, then ANALYZE) and, through the Django view
(test client: URL routing, middleware, the view, the SQL), every tile of z8 over the set and a seeded
random sample at z11 and z14, for districts and small areas (served from z10). Each tile is asked
once (built; the database's caches warm up; tiles up to z10 go into the tile cache — here, as on
the embedded default, a file cache, in a temporary folder), then timed again ("warm"), then built
once more bypassing the tile cache. Reference in the same run: the Python
builder (what the embedded SpatiaLite uses) on a subset of the same tiles, and the GeoJSON of every
district that the map fetches when it does not use tiles (``/api/districts/``).

Goal: tile p95 < 50 ms warm at z8, z11 and z14 (printed as ``goal …: met`` / ``goal …: missed (…)``).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from interpolation import japan_case  # noqa: E402  (the Japan-scale builder, shared)

JAPAN_LAND_KM2 = 377_975
CITY_GRID = 41
INDICATORS = (
    "ageing_rate", "old_old_share", "elderly_alone_share", "isolation_index", "walk_coverage",
    "walk_coverage_alone", "resources_per_1000_elderly", "vacant_house_density",
    "vacant_houses_per_100_households", "child_share", "dependency_ratio", "apartment_share",
    "park_area_per_capita", "hazard_area_share", "ageing_rate_2028", "ageing_rate_2040",
)
GOAL_MS = 50.0
PYTHON_REFERENCE_TILES = 20


# ------------------------------------------------------------------------------------------------
# Scratch database
# ------------------------------------------------------------------------------------------------

def scratch_database(server_url: str) -> tuple[str, str]:
    """(URL of a new database with PostGIS on the server of ``server_url``, its name)."""
    import psycopg

    parts = urlsplit(server_url)
    if parts.scheme not in {"postgis", "postgres", "postgresql"}:
        raise SystemExit("DATABASE_URL must name a PostGIS server (postgis://user:password@host:port/db)")
    name = f"karte_bench_tiles_{os.getpid()}"
    admin = urlunsplit(("postgresql", parts.netloc, parts.path, "", ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(urlunsplit(("postgresql", parts.netloc, f"/{name}", "", "")), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return urlunsplit(("postgis", parts.netloc, f"/{name}", "", "")), name


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    parts = urlsplit(server_url)
    with psycopg.connect(urlunsplit(("postgresql", parts.netloc, parts.path, "", "")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ------------------------------------------------------------------------------------------------
# The synthetic set, in the database
# ------------------------------------------------------------------------------------------------

def national_layers(quick: bool, density: str):
    """Small areas and districts (GeoDataFrames in EPSG:6668) and the scale used."""
    import shapely

    n_source, n_target = (22_000, 1_900) if quick else (220_000, 19_000)
    source, target = japan_case(n_source, n_target)
    minx, miny, maxx, maxy = source.total_bounds
    side = max(maxx - minx, maxy - miny)
    full_side_km = np.sqrt(JAPAN_LAND_KM2 * (n_source / 220_000))
    scale = 1.0 if density == "tokyo" else full_side_km * 1000 / side
    centre = np.array([(minx + maxx) / 2, (miny + maxy) / 2])

    def spread(frame):
        moved = shapely.transform(np.asarray(frame.geometry.values), lambda c: (c - centre) * scale)
        return frame.set_geometry(moved, crs=frame.crs).to_crs(6668)

    return spread(source), spread(target), scale, side * scale / 1000


def _multipolygon(shape):
    from django.contrib.gis.geos import GEOSGeometry, MultiPolygon

    geometry = GEOSGeometry(memoryview(shape.wkb), srid=6668)
    return geometry if geometry.geom_type == "MultiPolygon" else MultiPolygon(geometry, srid=6668)


def load(small_areas, districts) -> dict[str, float]:
    """Loads cities, districts, small areas and indicator values with the ORM; seconds per step."""
    from django.db import connection, transaction

    from karte.models import CensusArea, City, Dataset, District, IndicatorValue, bump_data_version

    timings: dict[str, float] = {}
    minx, miny, maxx, maxy = small_areas.total_bounds
    rng = np.random.default_rng(16)

    def city_of(points) -> np.ndarray:
        cx = np.clip(((points.x - minx) / (maxx - minx) * CITY_GRID).astype(int), 0, CITY_GRID - 1)
        cy = np.clip(((points.y - miny) / (maxy - miny) * CITY_GRID).astype(int), 0, CITY_GRID - 1)
        return np.asarray(cy * CITY_GRID + cx)

    started = time.perf_counter()
    with transaction.atomic():
        dataset = Dataset.objects.create(kind=Dataset.Kind.DERIVED, source_name="synthetic Japan-scale set",
                                         checksum="benchmark")
        cities = City.objects.bulk_create(
            [City(code=f"{90000 + i:05d}", name_ja=f"合成市{i}") for i in range(CITY_GRID * CITY_GRID)]
        )
        district_city = city_of(districts.geometry.representative_point())
        District.objects.bulk_create(
            (District(code=f"J{i:06d}", name_ja=f"合成地区{i}", city=cities[district_city[i]], dataset=dataset,
                      geom=_multipolygon(shape)) for i, shape in enumerate(districts.geometry)),
            batch_size=2000,
        )
    timings["districts"] = time.perf_counter() - started

    started = time.perf_counter()
    area_city = city_of(small_areas.geometry.representative_point())
    with transaction.atomic():
        CensusArea.objects.bulk_create(
            (CensusArea(key_code=f"{i:011d}", census_year=2020, name_ja=f"合成町{i}丁目",
                        city_code=cities[area_city[i]].code, dataset=dataset, geom=_multipolygon(shape))
             for i, shape in enumerate(small_areas.geometry)),
            batch_size=5000,
        )
    timings["small_areas"] = time.perf_counter() - started

    started = time.perf_counter()
    with transaction.atomic():
        values = rng.uniform(0, 60, (len(districts), len(INDICATORS)))
        IndicatorValue.objects.bulk_create(
            (IndicatorValue(tier="district", area_code=f"J{i:06d}", city=cities[district_city[i]], indicator=code,
                            year=2020, value=float(values[i, j]), unit="%", method="synthetic")
             for i in range(len(districts)) for j, code in enumerate(INDICATORS)),
            batch_size=10000,
        )
    timings["indicator_values"] = time.perf_counter() - started

    started = time.perf_counter()
    bump_data_version()  # as every loader does at the end of its transaction
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    timings["analyze"] = time.perf_counter() - started
    return timings


# ------------------------------------------------------------------------------------------------
# Tiles
# ------------------------------------------------------------------------------------------------

def tiles_over(bounds, z: int, samples: int | None, seed: int) -> list[tuple[int, int]]:
    """Every tile of zoom z over ``bounds`` (lon/lat), or a seeded random sample of ``samples``."""
    def tile_of(lon, lat):
        n = 2**z
        x = np.floor((np.asarray(lon) + 180.0) / 360.0 * n).astype(int)
        y = np.floor((1.0 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2.0 * n).astype(int)
        return x, y

    west, south, east, north = bounds
    (x0, x1), (y1, y0) = tile_of([west, east], [south, north])
    every = [(x, y) for x in range(int(x0), int(x1) + 1) for y in range(int(y0), int(y1) + 1)]
    if samples is None or len(every) <= samples:
        return every
    rng = np.random.default_rng(seed)
    xs, ys = tile_of(rng.uniform(west, east, samples * 3), rng.uniform(south, north, samples * 3))
    return list(dict.fromkeys(zip(xs.tolist(), ys.tolist())))[:samples]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def time_tiles(client, layer: str, z: int, coords: list[tuple[int, int]]) -> dict:
    """Each tile asked twice through the view: the first request builds it (and warms the
    database's caches; tiles up to CACHED_UP_TO_ZOOM go into the tile cache), the second is "warm".
    Then each tile built once more without the tile cache (ST_AsMVT, warm database)."""
    import mapbox_vector_tile

    from karte.layers import tiles

    first, warm, build, sizes, counts = [], [], [], [], []
    for times in (first, warm):
        for x, y in coords:
            started = time.perf_counter()
            response = client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf")
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code not in (200, 204):
                raise SystemExit(f"/tiles/{layer}/{z}/{x}/{y}.pbf answered {response.status_code}: "
                                 f"{response.content[:200]!r}")
            if times is warm:
                sizes.append(len(response.content))
                counts.append(len(mapbox_vector_tile.decode(response.content).get(layer, {}).get("features", []))
                              if response.content else 0)
    for x, y in coords:
        started = time.perf_counter()
        tiles.vector_tile(layer, z, x, y, builder="postgis")
        build.append((time.perf_counter() - started) * 1000)
    return {"layer": layer, "z": z, "tiles": len(coords), "cached": z <= tiles.CACHED_UP_TO_ZOOM,
            "first_p50": percentile(first, 50), "first_p95": percentile(first, 95),
            "p50": percentile(warm, 50), "p95": percentile(warm, 95), "max": max(warm),
            "build_p50": percentile(build, 50), "build_p95": percentile(build, 95),
            "mean_kb": statistics.mean(sizes) / 1024, "max_kb": max(sizes) / 1024,
            "mean_features": statistics.mean(counts), "max_features": max(counts),
            "empty": sum(1 for c in counts if c == 0)}


def python_reference(layer: str, z: int, coords: list[tuple[int, int]]) -> dict:
    """The Python builder (the SpatiaLite path) on the first tiles of ``coords``: its median time,
    and how far its decoded tiles are from PostGIS's (same features and properties; area)."""
    import mapbox_vector_tile
    import shapely.geometry

    from karte.layers import tiles

    key = "code" if layer == "districts" else "key_code"
    times, features, differing, difference, area = [], 0, 0, 0.0, 0.0
    for x, y in coords[:PYTHON_REFERENCE_TILES]:
        started = time.perf_counter()
        ours = tiles.vector_tile(layer, z, x, y, builder="python")
        times.append((time.perf_counter() - started) * 1000)
        theirs = tiles.vector_tile(layer, z, x, y, builder="postgis")
        decoded = [{f["properties"][key]: f for f in mapbox_vector_tile.decode(data).get(layer, {}).get("features", [])}
                   if data else {} for data in (ours, theirs)]
        for name in set(decoded[0]) | set(decoded[1]):
            a, b = decoded[0].get(name), decoded[1].get(name)
            features += 1
            if a is None or b is None or a["properties"] != b["properties"]:
                differing += 1
                continue
            shape_a, shape_b = shapely.geometry.shape(a["geometry"]), shapely.geometry.shape(b["geometry"])
            difference += shape_a.symmetric_difference(shape_b).area
            area += shape_b.area
    return {"median_ms": statistics.median(times), "tiles": len(times), "features": features,
            "differing": differing, "area_difference": difference / area if area else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 1/10-size set")
    parser.add_argument("--samples", type=int, default=200, help="random tiles per zoom at z11 and z14")
    parser.add_argument("--density", choices=["japan", "tokyo"], default="japan")
    parser.add_argument("--no-geojson-reference", action="store_true",
                        help="skip timing the GeoJSON of every district (slow at full size)")
    args = parser.parse_args()

    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith(("postgis://", "postgres://", "postgresql://")):
        raise SystemExit("set DATABASE_URL to a PostGIS server, e.g. postgis://karte:…@127.0.0.1:5432/karte "
                         "(a scratch database is created there and dropped afterwards)")
    small_areas, districts, scale, side_km = national_layers(args.quick, args.density)
    url, name = scratch_database(server_url)
    print(f"vector tile benchmark — {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f} at the start "
          f"(other work on the machine slows every figure); scratch database {name}; goal: tile p95 < "
          f"{GOAL_MS:.0f} ms warm at z8, z11, z14")
    cache_dir = tempfile.mkdtemp(prefix="karte-bench-cache-")
    try:
        os.environ["DATABASE_URL"] = url
        os.environ["KARTE_CACHE_URL"] = f"file://{cache_dir}"  # the embedded default's file cache, our own
        os.environ["DJANGO_DEBUG"] = "0"  # no query log growing over thousands of requests
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "karte.settings")
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections
        from django.test import Client
        from django.test.utils import setup_test_environment

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        timings = load(small_areas, districts)
        load_s = time.perf_counter() - started
        print(f"data: {len(small_areas):,} small areas, {len(districts):,} districts, "
              f"{len(districts) * len(INDICATORS):,} indicator values over a {side_km:.0f} km square "
              f"(density {args.density}: ×{scale:.2f} the builder's scale, "
              f"{side_km ** 2 / len(small_areas):.2f} km² per small area)")
        print(f"load: {load_s:.1f} s ({', '.join(f'{k} {v:.1f} s' for k, v in timings.items())}; "
              f"{len(small_areas) / timings['small_areas']:,.0f} small areas/s)")

        setup_test_environment()
        client = Client()
        bounds = client.get("/tiles/districts.json").json()["bounds"]
        results, references = [], {}
        for layer, zooms in (("districts", (8, 11, 14)), ("small_areas", (11, 14))):
            for z in zooms:
                coords = tiles_over(bounds, z, None if z == 8 else args.samples, seed=z)
                result = time_tiles(client, layer, z, coords)
                results.append(result)
                references[(layer, z)] = python_reference(layer, z, coords)
                reference = references[(layer, z)]
                print(f"{layer} z{z}: {result['tiles']} tiles | first request p50 {result['first_p50']:.1f} ms, p95 "
                      f"{result['first_p95']:.1f} ms | warm p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms, "
                      f"max {result['max']:.1f} ms{' (from the tile cache)' if result['cached'] else ''} | "
                      f"built without the tile cache p50 {result['build_p50']:.1f} ms, p95 {result['build_p95']:.1f} ms"
                      f" | {result['mean_features']:.0f} features per tile (max {result['max_features']}, "
                      f"{result['empty']} empty), {result['mean_kb']:.1f} kB (max {result['max_kb']:.0f} kB)")
                print(f"  Python builder (the SpatiaLite path) on {reference['tiles']} of these tiles: median "
                      f"{reference['median_ms']:.0f} ms; against ST_AsMVT: {reference['features']} features, "
                      f"{reference['differing']} present in one only or with other properties, symmetric "
                      f"difference {100 * reference['area_difference']:.3f} % of their area")
        if not args.no_geojson_reference:
            started = time.perf_counter()
            response = client.get("/api/districts/")
            print(f"reference: the GeoJSON of every district (/api/districts/, what the map fetches without tiles): "
                  f"{time.perf_counter() - started:.1f} s, {len(response.content) / 2**20:.1f} MiB, "
                  f"HTTP {response.status_code}")
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
        for result in results:
            label = f"goal {result['layer']} tile p95 < {GOAL_MS:.0f} ms warm at z{result['z']}" + (
                " (tile cache)" if result["cached"] else "")
            if result["p95"] < GOAL_MS:
                print(f"{label}: met ({result['p95']:.1f} ms)")
            else:
                print(f"{label}: missed ({result['p95']:.1f} ms)")
        connections.close_all()
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
        drop_database(server_url, name)
        print(f"(scratch database {name} dropped)")


if __name__ == "__main__":
    main()
