"""Backups restore: scripts/backup.sh, scripts/restore.sh and scripts/backup-restore-check.sh on the
demo data, on a SpatiaLite file and (in the PostGIS pass) on the test database itself."""
from __future__ import annotations

import sqlite3
import subprocess

import pytest
from django.db import connection

from karte.models import IndicatorValue

from .conftest import ROOT, copy_sqlite, subprocess_env

pytestmark = pytest.mark.slow


def _script(name: str, *args: str, database_url: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "scripts" / name), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=subprocess_env(DATABASE_URL=database_url))


def _verdict(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "karte_district\t35\n" in result.stdout  # the counts were read, not assumed
    return result.stdout.strip().splitlines()[-1]


def test_spatialite_backup_restores_with_the_same_counts(demo_sqlite_file, tmp_path):
    live = copy_sqlite(demo_sqlite_file, tmp_path / "karte.sqlite3")
    url = f"spatialite:///{live}"
    verdict = _verdict(_script("backup-restore-check.sh", database_url=url))
    assert verdict.startswith("backup-restore-check: ") and verdict.endswith(
        "the restored copy has the same row count in every table")

    # restore replaces what the target holds: a database changed after the backup is put back.
    backup = tmp_path / "karte.backup"
    assert _script("backup.sh", str(backup), database_url=url).returncode == 0
    with sqlite3.connect(live) as db:
        db.execute("DELETE FROM karte_district WHERE code IN (SELECT code FROM karte_district LIMIT 5)")
    restored = _script("restore.sh", str(backup), database_url=url)
    assert restored.returncode == 0, restored.stderr
    with sqlite3.connect(live) as db:
        assert db.execute("SELECT count(*) FROM karte_district").fetchone() == (35,)


def test_restore_refuses_a_missing_backup(tmp_path):
    result = _script("restore.sh", str(tmp_path / "nothing"), database_url=f"spatialite:///{tmp_path / 'x.sqlite3'}")
    assert result.returncode == 1 and f"restore: no backup file {tmp_path / 'nothing'}" in result.stderr


@pytest.fixture
def postgis_url(request, backend_name):
    """The test database (demo data committed by demo_db) as a URL for the scripts."""
    if backend_name != "postgis":
        pytest.skip("pg_dump / pg_restore: runs in the PostGIS pass")
    request.getfixturevalue("demo_db")
    request.getfixturevalue("db")
    s = connection.settings_dict
    return f"postgis://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def test_postgis_dump_drop_restore_keeps_every_count(postgis_url):
    verdict = _verdict(_script("backup-restore-check.sh", database_url=postgis_url))
    assert verdict.endswith("the restored copy has the same row count in every table")
    # The scratch database is gone again.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [connection.settings_dict["NAME"] + "_restore_check"])
        assert cursor.fetchone() == (0,)


def test_postgis_restore_drops_what_the_target_held(postgis_url, tmp_path):
    backup = tmp_path / "karte.dump"
    assert _script("backup.sh", str(backup), database_url=postgis_url).returncode == 0
    scratch = postgis_url.rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"] + "_restore_twice"
    libpq = "postgresql://" + scratch.split("://", 1)[1]
    try:
        assert _script("restore.sh", str(backup), database_url=scratch).returncode == 0
        subprocess.run(["psql", libpq, "-qc", "DELETE FROM karte_indicatorvalue"], check=True, capture_output=True)
        again = _script("restore.sh", str(backup), database_url=scratch)  # drop, create, restore
        assert again.returncode == 0, again.stderr
        count = subprocess.run(["psql", libpq, "-Atc", "SELECT count(*) FROM karte_indicatorvalue"], check=True,
                               capture_output=True, text=True).stdout.strip()
        assert int(count) == IndicatorValue.objects.count() > 9000
    finally:
        maintenance = libpq.rsplit("/", 1)[0] + "/postgres"
        subprocess.run(["psql", maintenance, "-qc",
                        f'DROP DATABASE IF EXISTS "{connection.settings_dict["NAME"]}_restore_twice" WITH (FORCE)'],
                       capture_output=True)
