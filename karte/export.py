"""Export districts, resources, candidate sites and siting results as GeoJSON, CSV or GeoPackage.

Logic behind ``python manage.py export_geojson``; the collections come from :mod:`karte.geojson`, so
a file holds exactly what the API serves. Every export also writes ``<file>.meta.json``: the
provenance record (sources, years, methods) that the GeoJSON carries as ``"karte:metadata"``.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .geojson import (
    METADATA_MEMBER,
    ExportParameterError,
    candidates_collection,
    districts_collection,
    resolve_city,
    resolve_ward,
    resources_collection,
    siting_collection,
)
from .models import CandidateSite, Resource, ResourceKind, SitingRun

LAYERS = ("districts", "resources", "candidates", "sites")
FORMATS = ("geojson", "csv", "gpkg")
UTF8_BOM = "\ufeff"


@dataclass
class ExportResult:
    path: Path
    metadata_path: Path
    layer: str
    format: str
    feature_count: int


def build_collection(
    what: str,
    *,
    city: str | None = None,
    ward: str | None = None,
    indicators: list[str] | None = None,
    year: int | None = None,
    simplify_m: float | None = None,
    kinds: list[str] | None = None,
    walk_distance_m: int | None = None,
    run_id: int | None = None,
) -> dict:
    """The FeatureCollection for one layer; raises :class:`ExportParameterError` for bad options."""
    if what not in LAYERS:
        raise ExportParameterError(f"unknown layer {what!r}; choose one of {', '.join(LAYERS)}", "what")
    city_obj = resolve_city(city)
    ward_obj = resolve_ward(ward, city_obj)
    if what == "districts":
        return districts_collection(
            city=city_obj, ward=ward_obj, indicators=indicators, year=year, simplify_m=simplify_m
        )
    if what == "resources":
        queryset = Resource.objects.order_by("kind", "name", "pk")
        if kinds:
            unknown = [k for k in kinds if k not in ResourceKind.values]
            if unknown:
                raise ExportParameterError(f"unknown resource kind(s): {', '.join(unknown)}", "kind")
            queryset = queryset.filter(kind__in=kinds)
        if city_obj is not None:
            queryset = queryset.filter(city=city_obj)
        if ward_obj is not None:
            queryset = resources_in_ward(queryset, ward_obj)
        return resources_collection(queryset, layer_metadata={"ward_code": ward, "kinds": kinds})
    if what == "candidates":
        walk_distance_m = walk_distance_m if walk_distance_m is not None else default_walk_distance()
        queryset = candidates_queryset(ward_obj, walk_distance_m)
        return candidates_collection(
            queryset, layer_metadata={"ward_code": ward, "walk_distance_m": walk_distance_m}
        )
    runs = SitingRun.objects.select_related("city", "ward")
    run = runs.filter(pk=run_id).first() if run_id is not None else runs.order_by("-created_at", "-pk").first()
    if run is None:
        message = f"no siting run with id {run_id}" if run_id is not None else "no siting run stored yet"
        raise ExportParameterError(message, "run")
    return siting_collection(run)


def resources_in_ward(queryset, ward, via: str = ""):
    """Resources inside the ward's boundary, or assigned to its districts when it has none.
    ``via``: the lookup from the queryset's model to the resource (``"resource__"`` for candidates)."""
    if ward.geom is not None:
        return queryset.filter(**{f"{via}location__intersects": ward.geom})
    return queryset.filter(**{f"{via}district__ward": ward})


def default_walk_distance() -> int | None:
    """The walking distance candidates are shown for when none is asked: 500 m if scored, else the
    shortest scored (one distance at a time, so no resource appears twice)."""
    distances = sorted(CandidateSite.objects.values_list("walk_distance_m", flat=True).distinct())
    if not distances:
        return None
    return 500 if 500 in distances else distances[0]


def candidates_queryset(ward=None, walk_distance_m: int | None = None):
    """Candidates of one walking distance (default: :func:`default_walk_distance`), best first."""
    if walk_distance_m is None:
        walk_distance_m = default_walk_distance()
    queryset = CandidateSite.objects.select_related("resource", "resource__district").order_by("-score", "pk")
    if walk_distance_m is not None:
        queryset = queryset.filter(walk_distance_m=walk_distance_m)
    if ward is not None:
        queryset = resources_in_ward(queryset, ward, via="resource__")
    return queryset


# ---------------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------------

def csv_columns(collection: dict) -> list[str]:
    columns: dict[str, None] = {}
    for item in collection["features"]:
        for key in item["properties"]:
            columns.setdefault(key, None)
    return list(columns)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back as the same float
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def collection_to_csv(collection: dict, *, bom: bool = False) -> str:
    """The features' properties as CSV text (no geometry column; point layers carry lon/lat)."""
    buffer = io.StringIO()
    if bom:
        buffer.write(UTF8_BOM)
    columns = csv_columns(collection)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for item in collection["features"]:
        writer.writerow([_csv_cell(item["properties"].get(column)) for column in columns])
    return buffer.getvalue()


def write_geojson(collection: dict, path: Path) -> None:
    text = json.dumps(collection, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    path.write_text(text, encoding="utf-8")


def write_csv(collection: dict, path: Path, *, bom: bool = False) -> None:
    # newline="" so the csv module's CRLF line ends are written as they are (RFC 4180, Excel).
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(collection_to_csv(collection, bom=bom))


def write_gpkg(collection: dict, path: Path, layer: str) -> None:
    import geopandas

    features = [f for f in collection["features"] if f["geometry"] is not None]
    frame = geopandas.GeoDataFrame.from_features(features, crs="EPSG:4326")
    if frame.empty:
        raise ExportParameterError("nothing to write: a GeoPackage layer needs at least one feature", "what")
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
    """Write one layer to ``out`` in ``fmt`` plus its ``<out>.meta.json`` provenance sidecar."""
    if fmt not in FORMATS:
        raise ExportParameterError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}", "format")
    if bom and fmt != "csv":
        raise ExportParameterError("--bom only applies to --format csv", "bom")
    path = Path(out)
    if not path.parent.exists():
        raise ExportParameterError(f"directory {path.parent} does not exist", "out")
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
