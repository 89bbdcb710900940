"""Benchmark: the karte of any area (``/api/area/``, :func:`karte.layers.area_report`), server time.

Run: ``.venv/bin/python benchmarks/custom_area.py`` (the demo city on a scratch SpatiaLite file);
with ``DATABASE_URL=postgis://user:password@127.0.0.1:5432/anydb`` also the Japan-scale set (a
scratch database is created on that server and dropped at the end); ``--quick`` for a 1/10-size
"Japan"; ``--demo-only`` / ``--japan-only``.

Cases, each the median of 20 requests through the Django view (test client: routing, middleware,
parameter parsing, the report, JSON) after one warm-up request, in a fresh process that holds only
the server (its peak RSS is reported):

* **30 small areas**: ``POST /api/area/`` with ``{"codes": […]}``, the 30 small areas nearest a
  point (whole small areas: the figures of 2020 and 2015, the comparison columns, resources,
  candidates). A POST is never served from the read cache; the same area's permalink
  (``GET ?codes=…``) asked again is a cache hit, reported beside it;
* **ward-sized polygon**: ``POST /api/area/`` with a GeoJSON polygon — on the demo city the outline
  of a ward (中原区, simplified to the drawing limit), on the Japan-scale set a 64-gon of 25 km² (a
  ward's size) — cut small areas apportioned (dasymetric by 地域メッシュ population on the demo).

Data: the demo city 川崎市 as ``load_demo`` + ``compute_indicators`` give it; the synthetic
Japan-scale set of ``benchmarks/interpolation.py`` loaded as ``benchmarks/tiles.py`` loads it
(~220,000 small areas, ~19,000 districts, 1,681 cities with their boxes as outlines), plus census
cells (the variables of the karte's ratios) for the small areas of the 5 × 5 cities in the middle,
for 2020 and 2015 (the 2015 small areas of those cities loaded as well, same codes), so a request
does the demo's work against national-size tables. Small areas are found through the spatial
index (``karte.layers.tiles.in_box``), so the time does not grow with the table.

Goals (printed as ``goal …: met`` / ``goal …: missed (…)``): 30 small areas < 150 ms and a
ward-sized polygon < 500 ms on the demo; both < 1 s on the Japan-scale set; the server process
< 1 GiB peak RSS with the Japan-scale set loaded.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

REPEAT = 20
GOALS_MS = {("demo", "codes"): 150.0, ("demo", "polygon"): 500.0, ("japan", "codes"): 1000.0,
            ("japan", "polygon"): 1000.0}
MEMORY_GOAL_MIB = 1024
CENTRE_CITIES = 5  # the middle CENTRE_CITIES × CENTRE_CITIES cities get census cells
VARIABLES = ("pop_total", "pop_0_14", "pop_15_64", "pop_65_plus", "pop_75_plus", "households_total",
             "households_with_elderly", "households_elderly_alone", "dwelling_households_total",
             "dwelling_households_apartment", "movers_5y", "pop_5y_base")


def goal_line(name: str, value: float, goal: float, unit: str) -> str:
    if value < goal:
        return f"goal {name} < {goal:g} {unit}: met ({value:.0f} {unit})"
    return f"goal {name} < {goal:g} {unit}: missed ({value:.0f} {unit})"


# ------------------------------------------------------------------------------------------------
# The measuring process (holds only the server)
# ------------------------------------------------------------------------------------------------

def measure(case_file: str) -> None:
    """Time the requests of ``case_file`` (JSON: codes, polygon) through the view; print JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "karte.settings")
    os.environ["DJANGO_DEBUG"] = "0"
    import django

    django.setup()
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    case = json.loads(Path(case_file).read_text())
    client = Client()
    result = {}
    # POST for both: a POST is never served from the read cache, so every request builds the karte
    # (a repeated GET of one permalink is a cache hit, timed separately below).
    for name, request in (("codes", lambda: client.post("/api/area/", data=json.dumps({"codes": case["codes"]}),
                                                        content_type="application/json")),
                          ("polygon", lambda: client.post("/api/area/", data=json.dumps(case["polygon"]),
                                                          content_type="application/json"))):
        response = request()  # warm-up: imports, the database's caches
        if response.status_code != 200:
            raise SystemExit(f"{name}: HTTP {response.status_code} {response.content[:300]!r}")
        body = response.json()
        times = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            response = request()
            times.append((time.perf_counter() - started) * 1000)
        rows = {row["code"]: row for row in body["rows"]}
        result[name] = {"median_ms": statistics.median(times), "p90_ms": float(np.percentile(times, 90)),
                        "method": body["method"], "small_areas": len(body["small_areas"]),
                        "area_km2": body["area"]["area_km2"],
                        "pop_total": rows.get("pop_total", {}).get("value"),
                        "previous_year": body["previous_year"], "columns": len(body["columns"])}
    get = lambda: client.get("/api/area/", {"codes": ",".join(case["codes"])})  # noqa: E731
    get()
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        get()
        times.append((time.perf_counter() - started) * 1000)
    result["cached_get_ms"] = statistics.median(times)
    result["max_rss_mib"] = peak_rss_mib()
    print(json.dumps(result))


def peak_rss_mib() -> float:
    """This process's peak resident memory: VmHWM (Linux) — ``ru_maxrss`` would count the parent's
    memory too, since Linux carries a process's maximum RSS across fork and exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_measure(case: dict, env: dict) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(case, handle)
    try:
        out = subprocess.run([sys.executable, __file__, "--measure", handle.name], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=1800)
    finally:
        os.unlink(handle.name)
    if out.returncode != 0:
        raise SystemExit(f"measuring failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(label: str, key: str, result: dict) -> list[str]:
    lines = []
    for name, title in (("codes", "30 small areas"), ("polygon", "ward-sized polygon")):
        r = result[name]
        print(f"{label} {title}: median {r['median_ms']:.0f} ms, p90 {r['p90_ms']:.0f} ms over {REPEAT} "
              f"({r['small_areas']} small areas met, {r['area_km2']:.1f} km², method {r['method']}, "
              f"population {r['pop_total'] or 0:,.0f}, previous census {r['previous_year']}, "
              f"{r['columns']} comparison columns)")
        lines.append(goal_line(f"{label} {title}", r["median_ms"], GOALS_MS[(key, name)], "ms"))
    print(f"{label} the 30 small areas' permalink asked again (GET, from the read cache): median "
          f"{result['cached_get_ms']:.1f} ms")
    print(f"{label} server process peak RSS {result['max_rss_mib']:.0f} MiB")
    return lines


# ------------------------------------------------------------------------------------------------
# The demo city
# ------------------------------------------------------------------------------------------------

def demo(env_base: dict) -> list[str]:
    directory = Path(tempfile.mkdtemp(prefix="karte-bench-area-"))
    env = dict(env_base, DATABASE_URL=f"spatialite:///{directory / 'demo.sqlite3'}", KARTE_VAR_DIR=str(directory))
    started = time.perf_counter()
    for args in (("migrate", "--noinput", "-v", "0"), ("load_demo", "--quiet"), ("compute_indicators",)):
        out = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(args)}: {out.stderr[-2000:]}")
    print(f"demo: loaded and computed in {time.perf_counter() - started:.0f} s ({directory})")
    script = (
        "import json, django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'karte.settings'); django.setup()\n"
        "import shapely\n"
        "from karte.layers.encoding import shapely_from_geos\n"
        "from karte.models import CensusArea, Ward\n"
        "areas = list(CensusArea.objects.filter(census_year=2020, city_code__startswith='1413'))\n"
        "centre = shapely.Point(139.66, 35.575)\n"
        "areas.sort(key=lambda a: shapely_from_geos(a.geom).representative_point().distance(centre))\n"
        "ward = shapely_from_geos(Ward.objects.get(code='14133').geom)\n"
        "tolerance = 0.0\n"
        "while shapely.get_num_coordinates(ward.simplify(tolerance)) > 2000: tolerance += 0.00002\n"
        "print(json.dumps({'codes': [a.key_code for a in areas[:30]],\n"
        "                  'polygon': shapely.geometry.mapping(ward.simplify(tolerance))}))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-2000:])
    case = json.loads(out.stdout.strip().splitlines()[-1])
    try:
        return report("demo (川崎市, SpatiaLite)", "demo", run_measure(case, env))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# The Japan-scale set (PostGIS)
# ------------------------------------------------------------------------------------------------

def load_japan(quick: bool) -> dict:
    """Loads the set into the database of DATABASE_URL; returns the case (codes, polygon)."""
    import shapely
    from django.db import connection, transaction

    from karte.models import CensusArea, CensusFigure, City, Dataset
    from tiles import CITY_GRID, _multipolygon, load, national_layers

    small_areas, districts, scale, side_km = national_layers(quick, "japan")
    started = time.perf_counter()
    timings = load(small_areas, districts)
    # Cities get their grid cell as outline (the area karte finds the city a polygon lies in).
    minx, miny, maxx, maxy = small_areas.total_bounds
    width, height = (maxx - minx) / CITY_GRID, (maxy - miny) / CITY_GRID
    with transaction.atomic():
        for city in City.objects.filter(code__startswith="9"):
            index = int(city.code) - 90000
            cx, cy = index % CITY_GRID, index // CITY_GRID
            city.geom = _multipolygon(shapely.box(minx + cx * width, miny + cy * height,
                                                  minx + (cx + 1) * width, miny + (cy + 1) * height))
            city.save(update_fields=["geom"])
    # Census cells for the middle cities, 2020 and 2015 (the 2015 small areas of the same cities too).
    middle = [f"{90000 + cy * CITY_GRID + cx:05d}" for cy in range(CITY_GRID // 2 - CENTRE_CITIES // 2,
                                                                  CITY_GRID // 2 + CENTRE_CITIES // 2 + 1)
              for cx in range(CITY_GRID // 2 - CENTRE_CITIES // 2, CITY_GRID // 2 + CENTRE_CITIES // 2 + 1)]
    rng = np.random.default_rng(15)
    dataset = Dataset.objects.get(checksum="benchmark")
    areas = list(CensusArea.objects.filter(census_year=2020, city_code__in=middle))
    with transaction.atomic():
        CensusArea.objects.bulk_create(
            [CensusArea(key_code=a.key_code, census_year=2015, name_ja=a.name_ja, city_code=a.city_code,
                        dataset=dataset, geom=a.geom) for a in areas], batch_size=5000)
        for year in (2020, 2015):
            figures = []
            for area in areas:
                total = float(rng.integers(200, 3000))
                young, old = total * rng.uniform(0.08, 0.16), total * rng.uniform(0.15, 0.4)
                households = total * rng.uniform(0.4, 0.55)
                values = {"pop_total": total, "pop_0_14": young, "pop_15_64": total - young - old, "pop_65_plus": old,
                          "pop_75_plus": old * 0.5, "households_total": households,
                          "households_with_elderly": households * 0.4, "households_elderly_alone": households * 0.12,
                          "dwelling_households_total": households * 0.98,
                          "dwelling_households_apartment": households * rng.uniform(0.2, 0.8),
                          "movers_5y": total * 0.2, "pop_5y_base": total * 0.95}
                figures += [CensusFigure(key_code=area.key_code, census_year=year, variable=name, value=round(value),
                                         dataset=dataset) for name, value in values.items()]
            CensusFigure.objects.bulk_create(figures, batch_size=10000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"japan: {len(small_areas):,} small areas, {len(districts):,} districts over a {side_km:.0f} km square; "
          f"census cells for {len(areas):,} small areas × {len(VARIABLES)} variables × 2 years; loaded in "
          f"{time.perf_counter() - started:.0f} s ({', '.join(f'{k} {v:.0f} s' for k, v in timings.items())})")
    # The 30 small areas nearest the middle, and a 25 km² 64-gon there (in the set's metric CRS).
    from karte.layers.encoding import shapely_from_geos, transform_geometry

    centre_lonlat = shapely.Point((minx + maxx) / 2, (miny + maxy) / 2)
    near = sorted(areas, key=lambda a: shapely_from_geos(a.geom).representative_point().distance(centre_lonlat))
    crs = City.objects.get(code=middle[len(middle) // 2]).projected_srid
    centre_metric = transform_geometry(centre_lonlat, 6668, crs)
    radius = np.sqrt(25e6 / (64 / 2 * np.sin(2 * np.pi / 64)))  # a 64-gon of 25 km²
    polygon = transform_geometry(centre_metric.buffer(radius, quad_segs=16), crs, 6668)
    return {"codes": [a.key_code for a in near[:30]], "polygon": shapely.geometry.mapping(polygon)}


def japan(server_url: str, quick: bool, env_base: dict) -> list[str]:
    from tiles import drop_database, scratch_database

    url, name = scratch_database(server_url)
    try:
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "karte.settings")
        os.environ["DJANGO_DEBUG"] = "0"
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        case = load_japan(quick)
        connections.close_all()
        result = run_measure(case, dict(env_base, DATABASE_URL=url))
        lines = report(f"japan-scale{' (quick)' if quick else ''} (PostGIS)", "japan", result)
        lines.append(goal_line("japan-scale server process peak RSS", result["max_rss_mib"], MEMORY_GOAL_MIB, "MiB"))
        return lines
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(server_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 1/10-size Japan-scale set")
    parser.add_argument("--demo-only", action="store_true")
    parser.add_argument("--japan-only", action="store_true")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure)
        return
    env_base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KARTE_VAR_DIR")}
    env_base.update({"DJANGO_DEBUG": "0", "KARTE_PRINT_TILES": "none"})
    server_url = os.environ.get("DATABASE_URL", "")
    print(f"area karte benchmark — {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f} at the start "
          "(other work on the machine slows every figure)")
    lines = []
    if not args.japan_only:
        lines += demo(env_base)
    if not args.demo_only:
        if server_url.startswith(("postgis://", "postgres://", "postgresql://")):
            lines += japan(server_url, args.quick, env_base)
        else:
            lines.append("goal japan-scale < 1000 ms: not measured (set DATABASE_URL to a PostGIS server)")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
