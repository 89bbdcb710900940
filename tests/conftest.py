"""Shared test set-up. The same suite runs on SpatiaLite (default) and PostGIS (DATABASE_URL=postgis://…)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"


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
