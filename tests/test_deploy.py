"""The production path: ``make serve`` (scripts/serve.sh production) runs gunicorn with WhiteNoise and a
worker on a real port; compose.yaml, the Dockerfile and the systemd units say what docs/deploy.md says.

No container engine runs where these tests run, so compose.yaml is checked by its structure only
(parsed, services, images, environment, commands), not started.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import dj_database_url
import pytest
import yaml

from .conftest import ROOT, copy_sqlite, run_manage, subprocess_env


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_has_app_worker_postgis_and_redis():
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"app", "worker", "db", "redis"}
    assert services["db"]["image"] == "postgis/postgis:16-3.4"
    assert set(compose["volumes"]) == {"db-data", "redis-data", "media"}
    app, worker = services["app"], services["worker"]
    assert app["build"] == "." and worker["image"] == app["image"]
    # One environment for both (the YAML anchor), production mode, PostGIS and Redis by service name.
    for service in (app, worker):
        env = service["environment"]
        assert env["KARTE_MODE"] == "production"
        assert dj_database_url.parse(env["DATABASE_URL"].replace("${KARTE_DB_PASSWORD:?set KARTE_DB_PASSWORD in .env}",
                                                                 "pw"))["ENGINE"] == "django.contrib.gis.db.backends.postgis"
        assert "@db:5432/karte" in env["DATABASE_URL"]
        assert env["KARTE_TASKS_URL"] == "redis://redis:6379/0"
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")  # refused to start without one
    assert services["db"]["environment"]["POSTGRES_PASSWORD"] == "${KARTE_DB_PASSWORD:?set KARTE_DB_PASSWORD in .env}"
    assert "gunicorn -c gunicorn.conf.py karte.wsgi" in app["command"][-1]
    assert "migrate --noinput" in app["command"][-1]
    assert worker["command"] == ["python", "manage.py", "run_worker"]
    assert app["ports"] == ["127.0.0.1:8000:8000"]  # the host's loopback only: the TLS proxy is in front
    assert "/healthz" in " ".join(app["healthcheck"]["test"])
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert worker["depends_on"]["app"]["condition"] == "service_healthy"


def test_dockerfile_and_systemd_units_run_what_the_docs_say():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "scripts/system-deps.sh base" in dockerfile and "collectstatic --noinput" in dockerfile
    assert re.search(r"^USER karte$", dockerfile, re.M)
    web = (ROOT / "deploy" / "karte-web.service").read_text()
    worker = (ROOT / "deploy" / "karte-worker.service").read_text()
    assert "ExecStart=/srv/karte/app/.venv/bin/gunicorn -c gunicorn.conf.py karte.wsgi" in web
    assert "ExecStart=/srv/karte/app/.venv/bin/python manage.py run_worker" in worker
    for unit in (web, worker):
        assert "EnvironmentFile=/etc/karte/karte.env" in unit and "User=karte" in unit
    example = (ROOT / "deploy" / "karte.env.example").read_text()
    assert "KARTE_MODE=production" in example and "KARTE_HTTPS=1" in example
    deploy_doc = (ROOT / "docs" / "deploy.md").read_text()
    for named in ("deploy/karte-web.service", "deploy/karte-worker.service", "deploy/karte.env.example",
                  "compose.yaml", "scripts/backup.sh", "scripts/restore.sh", "/healthz"):
        assert named in deploy_doc, named


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, timeout: float = 10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def served(demo_sqlite_file, tmp_path):
    """``scripts/serve.sh production`` (what ``make serve`` runs) on a free port, on a copy of the demo
    database, until the test ends; returns (base URL, environment, log path, the script's process)."""
    port = _free_port()
    database = copy_sqlite(demo_sqlite_file, tmp_path / "karte.sqlite3")
    env = subprocess_env(DATABASE_URL=f"spatialite:///{database}", KARTE_VAR_DIR=str(demo_sqlite_file.parent),
                         STATIC_ROOT=str(tmp_path / "static"), PORT=str(port), KARTE_WEB_WORKERS="2",
                         SECRET_KEY_FILE=str(tmp_path / "secret-key"),
                         KARTE_TASKS_URL=f"sqlite:///{tmp_path / 'tasks.sqlite3'}")
    (tmp_path / "secret-key").write_text("t" * 60)
    log = open(tmp_path / "serve.log", "w")
    process = subprocess.Popen([str(ROOT / "scripts" / "serve.sh"), "production"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if _get(base + "/healthz", timeout=5)[0] in (200, 503):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("gunicorn did not answer: " + (tmp_path / "serve.log").read_text()[-3000:])
        yield base, env, tmp_path / "serve.log", process
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(60)
        except ProcessLookupError:
            pass  # the test stopped it already
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        log.close()


@pytest.mark.slow
def test_make_serve_runs_gunicorn_with_static_files_and_a_worker(served):
    base, env, log_path, process = served
    status, headers, body = _get(base + "/healthz")
    health = json.loads(body)
    assert status == 200, health
    assert health["mode"] == "production" and health["checks"]["static"]["detail"].endswith("files in staticfiles.json")
    assert headers["Server"].startswith("gunicorn")

    status, headers, body = _get(base + "/")
    assert status == 200 and "default-src 'self'" in headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in headers  # plain HTTP on the loopback (KARTE_HTTPS=0)
    stylesheet = re.search(r'href="(/static/karte/karte\.[0-9a-f]{12}\.css)"', body.decode()).group(1)
    status, headers, css = _get(base + stylesheet)
    assert status == 200 and len(css) > 1000 and "max-age=315360000" in headers["Cache-Control"]

    status, _, body = _get(base + "/districts/no-such-district/")
    assert status == 404 and "ページが見つかりません (404)" in body.decode() and "Traceback" not in body.decode()

    # The worker serve.sh started beside gunicorn takes jobs.
    result = run_manage("worker_selftest", "--wait", "60", env=env)
    assert result.returncode == 0, result.stderr + log_path.read_text()[-3000:]

    # A TERM to the script alone (a supervisor stopping it) stops gunicorn and the worker with it.
    process.send_signal(signal.SIGTERM)
    process.wait(60)
    deadline = time.monotonic() + 30
    while _session_processes(process.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _session_processes(process.pid) == [], log_path.read_text()[-3000:]


def _session_processes(session_id: int) -> list[str]:
    """The processes still running in a session (what ``start_new_session`` made), as ``ps`` lines."""
    listing = subprocess.run(["ps", "-o", "pid=,stat=,args=", "-s", str(session_id)], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if line.strip() and " Z" not in line]


@pytest.mark.slow
def test_make_serve_refuses_an_unmigrated_database(tmp_path):
    env = subprocess_env(DATABASE_URL=f"spatialite:///{tmp_path / 'empty.sqlite3'}", KARTE_VAR_DIR=str(tmp_path),
                         SECRET_KEY="s" * 60, STATIC_ROOT=str(tmp_path / "static"))
    result = subprocess.run([str(ROOT / "scripts" / "serve.sh"), "production"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "serve: the database is not reachable or has migrations not applied: run 'make migrate'" in result.stderr
