"""Shared test set-up. The same suite runs on SpatiaLite (default) and PostGIS (DATABASE_URL=postgis://…)."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"

# Tests never touch the internet: printed maps get no basemap unless a test points the tiles at its
# own server on 127.0.0.1 (tests/test_print_basemap.py). Set here, before any test or fixture of
# any scope prints, and in the environment for servers a test starts in another process.
os.environ["KARTE_PRINT_TILES"] = "none"
settings.KARTE_PRINT_TILES = "none"


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's language: a request in English (LocaleMiddleware) leaves English
    active in the thread, and a later test's fixture would name its data in English."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave screenshots, PDFs and PNGs for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def backend_name() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return "postgis" if url.startswith(("postgis", "postgres")) else "spatialite"


def pytest_report_header(config) -> str:
    url = os.environ.get("DATABASE_URL", "")
    backend = "PostGIS" if url.startswith(("postgis", "postgres")) else "SpatiaLite (embedded)"
    return f"Karte database backend: {backend}"


def _loaded_and_computed(django_db_blocker, city: str | None = None):
    from django.core.management import call_command

    from karte.compute import compute_all
    from karte.demo import load_demo

    with django_db_blocker.unblock():
        load_demo(city=city)
        summary = compute_all(city=city)
    yield summary
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(scope="module")
def second_city_db(django_db_setup, django_db_blocker):
    """The second demo city (松本市 20202, a 市 without wards) loaded and computed, like ``demo_db``."""
    yield from _loaded_and_computed(django_db_blocker, city="20202")


@pytest.fixture(scope="module")
def demo_db(django_db_setup, django_db_blocker):
    """The fixture city loaded (every manifest entry) and its indicators computed, committed to the
    test database for one test module and flushed after it, so modules that test loading itself
    still start from an empty database. Use it with ``db`` (not ``transactional_db``, whose flush
    would empty it mid-module)."""
    yield from _loaded_and_computed(django_db_blocker)
@pytest.fixture(scope="session", autouse=True)
def _jobs_run_immediately():
    """Background jobs run in the caller's thread (huey's immediate mode) in the unit tests, so a
    submitted job is finished when ``submit`` returns; tests/test_tasks.py starts real workers on
    queues of their own."""
    from django.conf import settings

    from karte import tasks

    previous = settings.KARTE_TASKS_URL
    settings.KARTE_TASKS_URL = "immediate"
    tasks.reset_queue()
    yield
    settings.KARTE_TASKS_URL = previous
    tasks.reset_queue()


# Variables of the developer's shell that would change what a subprocess of a test runs against.
_SUBPROCESS_UNSET = ("KARTE_MODE", "SECRET_KEY", "SECRET_KEY_FILE", "ALLOWED_HOSTS", "DJANGO_DEBUG", "KARTE_HTTPS",
                     "KARTE_TASKS_URL", "KARTE_TASKS_QUEUE", "STATIC_ROOT", "KARTE_SQLITE_TIMEOUT",
                     "KARTE_TASK_TIME_LIMITS")


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for ``manage.py`` in a subprocess: this one without Karte's settings variables
    (DATABASE_URL kept unless given), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in _SUBPROCESS_UNSET}
    env.update(extra)
    return env


def run_manage(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def copy_sqlite(source: Path, target: Path) -> Path:
    """A consistent copy of a (WAL-mode) SQLite file through SQLite's online backup, as docs/deploy.md
    tells operators to copy one."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


@pytest.fixture(scope="session")
def demo_sqlite_file(tmp_path_factory) -> Path:
    """A SpatiaLite file holding the demo city, loaded and computed once per run by the commands a
    user runs, for tests that need a real file on disk (concurrency, workers, backups). Copy it
    (``copy_sqlite``) before writing to it."""
    directory = tmp_path_factory.mktemp("demo-sqlite")
    path = directory / "karte.sqlite3"
    env = subprocess_env(DATABASE_URL=f"spatialite:///{path}", KARTE_VAR_DIR=str(directory))
    for args in (("migrate", "--noinput", "-v", "0"), ("load_demo", "--quiet"), ("compute_indicators",)):
        result = run_manage(*args, env=env, timeout=600)
        assert result.returncode == 0, f"manage.py {' '.join(args)}: {result.stderr[-2000:]}"
    return path
