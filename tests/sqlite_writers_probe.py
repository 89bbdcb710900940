"""Readers and writers at once on one database: run as a script with DATABASE_URL set.

``python tests/sqlite_writers_probe.py [--readers 10] [--rounds 1]`` starts ``--readers`` threads,
each asking ``/api/districts/`` through Django's test client in a loop (each thread on its own
database connection, as a threaded server would), and meanwhile runs, as separate ``manage.py``
processes like an operator's, the writers a user reported failing on the embedded default:
``compute_indicators`` and ``load resource_csv`` of the 133-row facilities file, ``--rounds`` times
each. It prints one JSON object: how many reads were served and failed, and each writer's outcome
(``ok`` or its last line of error), then exits 0 when nothing failed.

The database must hold the demo data (``load_demo``; ``compute_indicators`` once). Used by
``tests/test_sqlite_concurrency.py``; by hand it reproduces the ``database is locked`` failure on a
checkout without WAL.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "karte.settings")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    stop = threading.Event()
    lock = threading.Lock()
    reads = {"served": 0, "failed": 0, "errors": []}

    def reader() -> None:
        client = Client(raise_request_exception=True)
        try:
            while not stop.is_set():
                try:
                    response = client.get("/api/districts/")
                    ok, detail = response.status_code == 200, f"HTTP {response.status_code}"
                except Exception as error:  # noqa: BLE001 — the probe reports whatever a reader met
                    ok, detail = False, f"{type(error).__name__}: {error}"
                with lock:
                    reads["served" if ok else "failed"] += 1
                    if not ok and len(reads["errors"]) < 5:
                        reads["errors"].append(detail)
        finally:
            connection.close()

    fixture = ROOT / "fixtures" / "resources" / "kawasaki_ibasho_facilities.csv"
    writers = [
        ("compute_indicators", ["compute_indicators"]),
        ("load resource_csv", ["load", "resource_csv", str(fixture), "--year", "2024", "--city", "14130",
                               "--quiet", "--option", "lat=緯度", "--option", "lon=経度", "--option", "name=名称",
                               "--option", "kind=種別", "--option", "address=所在地", "--option", "id=施設ID"]),
    ]
    threads = [threading.Thread(target=reader, daemon=True) for _ in range(args.readers)]
    for thread in threads:
        thread.start()
    # Let every reader be inside a request before the first write.
    while True:
        with lock:
            if reads["served"] + reads["failed"] >= args.readers:
                break
        stop.wait(0.05)
    outcomes = []
    for round_number in range(args.rounds):
        for name, command in writers:
            result = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, capture_output=True,
                                    text=True, timeout=600)
            errors = result.stderr.strip().splitlines()
            outcome = "ok" if result.returncode == 0 else (errors[-1] if errors else f"exit {result.returncode}")
            outcomes.append({"writer": name, "round": round_number, "outcome": outcome})
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    report = {"readers": args.readers, "reads": reads, "writers": outcomes,
              "journal_mode": connection.cursor().execute("PRAGMA journal_mode").fetchone()[0]
              if connection.vendor == "sqlite" else None}
    print(json.dumps(report, ensure_ascii=False))
    failed = reads["failed"] or any(entry["outcome"] != "ok" for entry in outcomes)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
