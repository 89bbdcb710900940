"""The embedded database under readers and writers at once, on a real SpatiaLite file (not the suite's
in-memory database): WAL lets a writer commit while readers read, writers queue on the busy timeout,
and a writer that still cannot get the lock stops with one line saying what to do.

Before WAL (Django's defaults: rollback journal, 5 s timeout), ``compute_indicators`` failed with a raw
``OperationalError: database is locked`` traceback whenever a reader held a read transaction open
(``test_a_reader_holding_a_transaction_does_not_block_compute``). These tests run in the SpatiaLite
pass of the suite only: they are about the embedded database.
"""
from __future__ import annotations

import json
import sqlite3
import sys
import threading

import pytest

from .conftest import ROOT, copy_sqlite, run_manage, subprocess_env

pytestmark = pytest.mark.slow


@pytest.fixture
def sqlite_db(demo_sqlite_file, tmp_path, backend_name):
    if backend_name != "spatialite":
        pytest.skip("the embedded database's concurrency; runs in the SpatiaLite pass")
    path = copy_sqlite(demo_sqlite_file, tmp_path / "karte.sqlite3")
    return path, subprocess_env(DATABASE_URL=f"spatialite:///{path}", KARTE_VAR_DIR=str(demo_sqlite_file.parent))


def test_database_runs_in_wal_mode_with_immediate_writers(sqlite_db):
    path, env = sqlite_db
    result = run_manage("shell", "-c", (
        "from django.db import connection\n"
        "connection.ensure_connection()\n"
        "print(connection.cursor().execute('PRAGMA journal_mode').fetchone()[0], connection.transaction_mode,\n"
        "      connection.cursor().execute('SELECT spatialite_version()').fetchone()[0] is not None)\n"
    ), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == ["wal", "IMMEDIATE", "True"]  # and mod_spatialite loaded


def test_ten_readers_and_the_writers_at_once(sqlite_db):
    """10 threads reading /api/districts/ while compute_indicators and a load of the 133-row
    facilities CSV run: every read served, every writer succeeded."""
    path, env = sqlite_db
    probe = subprocess_run_probe(env, "--readers", "10", "--rounds", "1")
    report = json.loads(probe.stdout.strip().splitlines()[-1])
    assert report["journal_mode"] == "wal"
    assert report["reads"]["failed"] == 0, report["reads"]["errors"]
    assert report["reads"]["served"] >= 10
    assert [entry["outcome"] for entry in report["writers"]] == ["ok"] * 2, report["writers"]
    assert probe.returncode == 0


def subprocess_run_probe(env, *args):
    import subprocess

    return subprocess.run([sys.executable, str(ROOT / "tests" / "sqlite_writers_probe.py"), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=900)


def _hold(path, statement: str, ready: threading.Event, release: threading.Event) -> None:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        connection.execute(statement)
        connection.execute("SELECT count(*) FROM karte_indicatorvalue").fetchone()
        ready.set()
        release.wait(300)
        connection.execute("COMMIT")
    finally:
        connection.close()


@pytest.fixture
def holder(sqlite_db):
    """Runs a second connection that begins a transaction (``BEGIN`` for a reader, ``BEGIN IMMEDIATE``
    for a writer), reads, and keeps it open until the test ends."""
    path, _ = sqlite_db
    release = threading.Event()
    threads = []

    def hold(statement: str) -> None:
        ready = threading.Event()
        thread = threading.Thread(target=_hold, args=(path, statement, ready, release), daemon=True)
        thread.start()
        threads.append(thread)
        assert ready.wait(60), "the holding connection did not start"

    yield hold
    release.set()
    for thread in threads:
        thread.join(60)


def test_a_reader_holding_a_transaction_does_not_block_compute(sqlite_db, holder):
    path, env = sqlite_db
    holder("BEGIN")  # a long export or report reading in one transaction
    result = run_manage("compute_indicators", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "compute_indicators 14130: 9057 values" in result.stdout


def test_a_writer_locked_out_gets_one_line_saying_what_to_do(sqlite_db, holder, tmp_path):
    path, env = sqlite_db
    holder("BEGIN IMMEDIATE")  # another writer holds the write lock throughout
    env = dict(env, KARTE_SQLITE_TIMEOUT="1")
    compute = run_manage("compute_indicators", env=env)
    # A file the demo has not loaded, so the load has rows to write.
    lines = (ROOT / "fixtures" / "resources" / "kawasaki_ibasho_facilities.csv").read_text(encoding="utf-8-sig").splitlines()
    csv = tmp_path / "extra_facilities.csv"
    csv.write_text("\n".join([lines[0]] + [line.replace("14137-", "99999-", 1) for line in lines[1:3]]) + "\n",
                   encoding="utf-8")
    load = run_manage("load", "resource_csv", str(csv), "--year", "2024", "--city", "14130", "--option", "lat=緯度",
                      "--option", "lon=経度", "--option", "name=名称", "--option", "kind=種別", "--option",
                      "address=所在地", "--option", "id=施設ID", env=env)
    for command, result in (("compute_indicators", compute), (f"load resource_csv {csv}", load)):
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        message = result.stderr.strip()
        assert message.count("\n") == 0, message
        assert message.startswith(f"CommandError: {command}: the database was locked by another writer "
                                  "for longer than 1 s; nothing was changed."), message
        assert "docs/deploy.md" in message
    # Nothing was written: the copy still holds exactly the demo's facilities.
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM karte_resource WHERE source_key LIKE '%99999-%'").fetchone() == (0,)
