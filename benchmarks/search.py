"""How fast the place search answers: building the index once per data version, then one keystroke.

Run after ``make demo`` has loaded the database (or with DATABASE_URL pointing at a loaded one):
    .venv/bin/python benchmarks/search.py
Also times a synthetic national-scale index (220,000 町丁 names, as many as Japan has; ``--quick`` for
a tenth) to show the per-keystroke scan stays usable without a database full-text index.
Goals: a keystroke on a loaded city < 20 ms; on the national-scale index < 300 ms.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "karte.settings")

import django  # noqa: E402

django.setup()

from karte.layers import search  # noqa: E402
from karte.layers.placenames import best_rank, name_key, query_keys  # noqa: E402

QUERIES = ("上麻生３丁目", "三丁目", "百合", "ゆりがおか", "市民館", "z")
DIGITS = "一二三四五六七八九"


def goal(name: str, value: float, limit: float, unit: str = "ms") -> None:
    verdict = "met" if value < limit else f"missed ({value:.1f} {unit} ≥ {limit} {unit})"
    print(f"goal {name} < {limit} {unit}: {verdict} ({value:.1f} {unit})")


def city() -> None:
    search.forget()
    start = time.perf_counter()
    places = search.place_index()
    built = (time.perf_counter() - start) * 1000
    if not places:
        sys.exit("search: nothing loaded; run `make demo` (or load_demo + compute_indicators) first")
    print(f"index of {len(places)} places built in {built:.0f} ms (once per data version)")
    timings = []
    for query in QUERIES * 20:
        start = time.perf_counter()
        search.search_places(query, limit=8)
        timings.append((time.perf_counter() - start) * 1000)
    goal("keystroke on the loaded city (median)", statistics.median(timings), 20)


def national(count: int) -> None:
    # Names shaped like e-Stat's: a two-kanji stem, a numeral chome; keys as the index keeps them.
    stems = [chr(0x4E00 + (i * 7919) % 20000) + chr(0x4E00 + (i * 104729) % 20000) for i in range(count // 4 + 1)]
    keys = [(name_key(f"{stems[i // 4]}{DIGITS[i % 4]}丁目"),) for i in range(count)]
    timings = []
    for query in ("上麻生３丁目", "三丁目", stems[123] + "2", "x"):
        wanted = query_keys(query)
        start = time.perf_counter()
        found = [k for k in keys if best_rank(wanted, k, ()) is not None]
        timings.append((time.perf_counter() - start) * 1000)
    print(f"national-scale scan over {count} names (last query found {len(found)})")
    goal(f"keystroke over {count} names (median)", statistics.median(timings), 300)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the national-scale names")
    args = parser.parse_args()
    city()
    national(22_000 if args.quick else 220_000)
