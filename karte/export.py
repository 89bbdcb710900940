"""Write a layer to a file: GeoJSON, CSV or GeoPackage, with a provenance sidecar.

Logic behind ``python manage.py export_geojson``. The collections come from
:func:`karte.layers.build_collection` and their text from :mod:`karte.layers.encoding`, so a file holds
exactly what the API serves. Every export also writes ``<file>.meta.json``: the provenance record
(sources, years, methods) that the GeoJSON carries as ``"karte:metadata"``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .layers import METADATA_MEMBER, ParameterError, build_collection, collection_to_csv, to_json
from .layers.encoding import csv_columns

FORMATS = ("geojson", "csv", "gpkg")


@dataclass
class ExportResult:
    path: Path
    metadata_path: Path
    layer: str
    format: str
    feature_count: int


def write_geojson(collection: dict, path: Path) -> None:
    path.write_text(to_json(collection), encoding="utf-8")


def write_csv(collection: dict, path: Path, *, bom: bool = False) -> None:
    # newline="" so the csv module's CRLF line ends are written as they are (RFC 4180, Excel).
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(collection_to_csv(collection, bom=bom))


def write_gpkg(collection: dict, path: Path, layer: str) -> None:
    import geopandas

    features = [f for f in collection["features"] if f["geometry"] is not None]
    if not features:
        raise ParameterError("nothing to write: a GeoPackage layer needs at least one feature", "what")
    frame = geopandas.GeoDataFrame.from_features(features, crs="EPSG:4326")
    if path.exists():
        path.unlink()
    frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")


def metadata_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".meta.json")


def export_layer(
    what: str,
    out: str | Path,
    *,
    fmt: str = "geojson",
    bom: bool = False,
    **options: Any,
) -> ExportResult:
    """Write one layer to ``out`` in ``fmt`` plus its ``<out>.meta.json`` provenance sidecar;
    ``options`` as :func:`karte.layers.build_collection` takes them."""
    if fmt not in FORMATS:
        raise ParameterError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}", "format")
    if bom and fmt != "csv":
        raise ParameterError("--bom only applies to --format csv", "bom")
    path = Path(out)
    if not path.parent.exists():
        raise ParameterError(f"directory {path.parent} does not exist", "out")
    collection = build_collection(what, **options)
    if fmt == "geojson":
        write_geojson(collection, path)
    elif fmt == "csv":
        write_csv(collection, path, bom=bom)
    else:
        write_gpkg(collection, path, layer=what)
    metadata = dict(collection[METADATA_MEMBER])
    metadata["export"] = {
        "file": path.name,
        "format": fmt,
        "layer": what,
        "utf8_bom": bom,
        "options": {key: value for key, value in options.items() if value is not None},
        "columns": csv_columns(collection),
    }
    sidecar = metadata_path_for(path)
    sidecar.write_text(json.dumps(metadata, ensure_ascii=False, allow_nan=False, indent=2), encoding="utf-8")
    return ExportResult(path, sidecar, what, fmt, len(collection["features"]))
