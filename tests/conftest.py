"""Shared test set-up. The same suite runs on SpatiaLite (default) and PostGIS (DATABASE_URL=postgis://…)."""
from __future__ import annotations

import os
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
