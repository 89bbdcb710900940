"""The analyst notebooks run top to bottom (nbclient) on the demo fixtures, and say what they found.

The database is prepared once (migrate, load_demo, compute_indicators) in a temporary directory
and handed to each notebook through ``KARTE_NOTEBOOK_DB``; the notebooks always use SpatiaLite in
their own temporary copy, whichever backend the suite runs on.
"""
from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK_NAMES = ["01_explore_districts.ipynb", "02_custom_indicator.ipynb", "03_siting_experiment.ipynb"]
SUMMARY_PREFIX = "KARTE_SUMMARY "


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebooks_are_committed_without_outputs(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}: clear outputs before committing"


@pytest.fixture(scope="module")
def prepared_db(tmp_path_factory) -> Path:
    """A SpatiaLite database with the demo fixtures loaded and indicators computed (or the directory
    named by ``KARTE_NOTEBOOK_DB``, already prepared, to iterate on a notebook quickly)."""
    given = os.environ.get("KARTE_NOTEBOOK_DB")
    if given:
        return Path(given)
    directory = tmp_path_factory.mktemp("notebook-db")
    env = {**os.environ, "DATABASE_URL": f"spatialite:///{directory / 'karte.sqlite3'}",
           "KARTE_VAR_DIR": str(directory), "DJANGO_SETTINGS_MODULE": "karte.settings"}
    for command in (["migrate", "--noinput", "-v", "0"], ["load_demo"], ["compute_indicators"]):
        result = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f"manage.py {' '.join(command)} failed:\n{result.stderr[-3000:]}"
    with sqlite3.connect(directory / "karte.sqlite3") as connection:
        districts = connection.execute("SELECT COUNT(*) FROM karte_district").fetchone()[0]
    if districts == 0:
        pytest.skip("load_demo loaded no districts: the fixture loaders have not landed yet")
    return directory


def _run(name: str, prepared_db: Path, monkeypatch) -> dict:
    monkeypatch.setenv("KARTE_NOTEBOOK_DB", str(prepared_db))
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError on any cell error
    lines = [
        line for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
        if output.get("output_type") == "stream" for line in output.get("text", "").splitlines()
        if line.startswith(SUMMARY_PREFIX)
    ]
    assert len(lines) == 1, f"{name}: expected one summary line, got {lines}"
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors
    return json.loads(lines[0][len(SUMMARY_PREFIX):])


@pytest.mark.slow
def test_01_explore_districts(prepared_db, monkeypatch):
    summary = _run("01_explore_districts.ipynb", prepared_db, monkeypatch)
    with sqlite3.connect(prepared_db / "karte.sqlite3") as connection:
        districts = connection.execute("SELECT COUNT(*) FROM karte_district").fetchone()[0]
        wards = connection.execute("SELECT COUNT(DISTINCT ward_id) FROM karte_district").fetchone()[0]
    assert summary["districts"] == districts and summary["wards"] == wards
    assert 0 < summary["ageing_rate_values"] <= districts
    assert summary["sources"] > 0
    html = Path(summary["map_html"])
    assert html.exists() and html.stat().st_size > 1000 and summary["map_has_district_names"]
    # The area karte from Python: three whole small areas are exactly their cells' sum.
    assert summary["area_population"] == summary["area_cell_sum"] > 0
    assert summary["circle_method"] in ("area", "dasymetric") and summary["circle_query"]["radius"] == "600"


@pytest.mark.slow
def test_02_custom_indicator(prepared_db, monkeypatch):
    summary = _run("02_custom_indicator.ipynb", prepared_db, monkeypatch)
    assert summary["crs_epsg"] == 4326
    assert summary["values_roundtrip"] and summary["exteriors_ccw"]
    assert summary["null_where_no_park"] == summary["no_park_districts"]
    assert summary["elderly_total"] > 0
    collection = json.loads(Path(summary["path"]).read_text(encoding="utf-8"))
    assert "crs" not in collection and collection["karte:metadata"]["indicators"]["elderly_per_park_ha"]["method"]
    from geojson_pydantic import FeatureCollection

    FeatureCollection(**collection)


@pytest.mark.slow
def test_03_siting_experiment(prepared_db, monkeypatch):
    summary = _run("03_siting_experiment.ipynb", prepared_db, monkeypatch)
    assert summary["distances"] == [300, 500, 800]
    before, greedy, exact = summary["covered_before"], summary["covered_after_greedy"], summary["covered_after_exact"]
    # A longer walk covers at least as many from the same places.
    assert before == sorted(before)
    for b, g, e in zip(before, greedy, exact):
        assert b <= g <= e + 1e-6 <= summary["demand_total"] + 1e-6
        # Greedy maximal covering is within (1 - 1/e) of the optimum of the added coverage.
        assert g - b >= (1 - 1 / math.e) * (e - b) - 1e-6
    assert 0 < summary["sites_at_500"] <= 5
    assert Path(summary["figure"]).exists()
