"""/healthz tells the truth (karte.health): 200 only when the pages can be served; 503 naming what is
wrong when the database is unreachable or unmigrated, collectstatic's manifest is missing in
production, or the task queue does not answer. The broken states are made for real in subprocesses
(an empty SpatiaLite file, an empty STATIC_ROOT, a closed port)."""
from __future__ import annotations

import json

import pytest

from .conftest import copy_sqlite, run_manage, subprocess_env

pytestmark = pytest.mark.django_db

PROBE = (
    "from django.test import Client\n"
    "import json\n"
    "client = Client(raise_request_exception=False)\n"
    "health = client.get('/healthz', secure=True)\n"
    "home = client.get('/', secure=True)\n"
    "print('RESULT', json.dumps({'status': health.status_code, 'health': health.json(), 'home': home.status_code,\n"
    "      'home_body': home.content.decode()}))\n"
)


def _probe(**env: str) -> dict:
    result = run_manage("shell", "-c", PROBE, env=subprocess_env(**env), timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.split("RESULT", 1)[1])


def _failing(document: dict) -> dict[str, str]:
    return {name: check["detail"] for name, check in document["checks"].items() if not check["ok"]}


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    document = response.json()
    assert document["status"] == "ok" and _failing(document) == {}
    assert set(document["checks"]) == {"database", "migrations", "static", "task_queue"}
    assert document["checks"]["migrations"]["detail"] == "all applied"
    assert "no-store" in response["Cache-Control"]


def test_unmigrated_database_is_503_while_pages_fail(tmp_path):
    outcome = _probe(DATABASE_URL=f"spatialite:///{tmp_path / 'empty.sqlite3'}", KARTE_VAR_DIR=str(tmp_path),
                     KARTE_TASKS_URL=f"sqlite:///{tmp_path / 'tasks.sqlite3'}")
    assert outcome["home"] == 500  # what healthz used to hide
    assert "Traceback" not in outcome["home_body"] and "サーバーのエラー (500)" in outcome["home_body"]
    assert outcome["status"] == 503 and outcome["health"]["status"] == "fail"
    failing = _failing(outcome["health"])
    assert list(failing) == ["migrations"]
    assert failing["migrations"].endswith("migrations not applied (first contenttypes.0001_initial): run manage.py migrate")


def test_missing_static_manifest_in_production_is_503(tmp_path, demo_sqlite_file):
    database = copy_sqlite(demo_sqlite_file, tmp_path / "karte.sqlite3")
    outcome = _probe(KARTE_MODE="production", SECRET_KEY="s" * 60, ALLOWED_HOSTS="testserver", KARTE_HTTPS="1",
                     STATIC_ROOT=str(tmp_path / "static-not-collected"), DATABASE_URL=f"spatialite:///{database}",
                     KARTE_VAR_DIR=str(demo_sqlite_file.parent), KARTE_TASKS_URL=f"sqlite:///{tmp_path / 'tasks.sqlite3'}")
    assert outcome["home"] == 500
    # The 500 page cannot link its stylesheet either: the fixed page answers, still without a traceback.
    assert "Server error (500)" in outcome["home_body"] and "Traceback" not in outcome["home_body"]
    assert outcome["status"] == 503
    assert _failing(outcome["health"]) == {
        "static": "staticfiles.json missing in STATIC_ROOT: run manage.py collectstatic"}


def test_unreachable_database_is_503_without_revealing_where(tmp_path):
    outcome = _probe(DATABASE_URL="postgis://karte:secret-pw@127.0.0.1:1/nowhere",
                     KARTE_TASKS_URL=f"sqlite:///{tmp_path / 'tasks.sqlite3'}")
    assert outcome["status"] == 503
    failing = _failing(outcome["health"])
    assert failing == {"database": "postgresql database unreachable (OperationalError; the server log has the error)",
                       "migrations": "database unreachable"}
    assert "secret-pw" not in json.dumps(outcome["health"]) and "127.0.0.1" not in json.dumps(outcome["health"])


def test_unreachable_task_queue_is_503(client, settings):
    settings.KARTE_TASKS_URL = "redis://:queue-pw@127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    failing = _failing(response.json())
    assert failing == {"task_queue": "queue redis://127.0.0.1:1/0 unreachable (ConnectionError; the server log has "
                                     "the error)"}
    assert "queue-pw" not in response.content.decode()


def test_queue_detail_counts_waiting_jobs(client, settings, tmp_path):
    from karte.models import BackgroundJob

    settings.KARTE_TASKS_URL = f"sqlite:///{tmp_path / 'tasks.sqlite3'}"
    BackgroundJob.objects.create(kind="siting", time_limit_s=900)
    response = client.get("/healthz")
    assert response.status_code == 200
    detail = response.json()["checks"]["task_queue"]["detail"]
    assert detail.startswith(f"sqlite:///{tmp_path / 'tasks.sqlite3'}: 0 waiting, oldest queued ")
