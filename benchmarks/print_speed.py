"""How long printing takes: one district's karte and a whole ward's, on the fixture city.

Run after ``make demo`` has loaded the database (or with DATABASE_URL pointing at a loaded one):
    .venv/bin/python benchmarks/print_speed.py
Targets (issue 6): one district < 2 s, a ward of ~20 districts < 30 s on a 2-core machine.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "karte.settings")

import django  # noqa: E402

django.setup()

from karte.models import District, Ward  # noqa: E402
from karte.printing.pdf import district_pdf, ward_pdf  # noqa: E402


def main() -> None:
    district = District.objects.select_related("city", "ward").order_by("code").first()
    if district is None:
        sys.exit("print_speed: no districts in the database; run `make demo` (or load_demo + compute_indicators) first")
    district_pdf(district)  # warm-up: fonts, templates, matplotlib
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        district_pdf(district)
        runs.append(time.perf_counter() - start)
    best = min(runs)
    print(f"one district ({district.name_ja}): best of 3 = {best:.2f} s (target < 2 s) -> {'OK' if best < 2 else 'SLOW'}")
    ward = max(Ward.objects.all(), key=lambda w: w.districts.count())
    count = ward.districts.count()
    start = time.perf_counter()
    pdf = ward_pdf(ward)
    elapsed = time.perf_counter() - start
    per_district = elapsed / count
    print(f"ward {ward.name_ja} ({count} districts, {len(pdf) / 1024:.0f} KiB): {elapsed:.2f} s, "
          f"{per_district:.2f} s per district; a 20-district ward ≈ {per_district * 20:.1f} s (target < 30 s) -> "
          f"{'OK' if per_district * 20 < 30 else 'SLOW'}")


if __name__ == "__main__":
    main()
