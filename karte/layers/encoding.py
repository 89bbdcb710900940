"""Encoding of Karte's layers: RFC 7946 GeoJSON, CSV and JSON text. Pure: no Django, no database.

The collections (:mod:`karte.layers.collections`) and analysts' own GeoDataFrames
(:func:`frame_to_feature_collection`) are encoded by the same rules, so a map, a downloaded file and
a notebook see the same names and numbers (property names are listed in ``docs/export.md``):

- coordinates are WGS84 longitude/latitude (EPSG:4326), transformed with pyproj from the source CRS
  (JGD2011, EPSG:6668, for what the database stores), rounded to 7 decimals (about 1 cm);
- polygons follow the right-hand rule (exteriors counter-clockwise, holes clockwise);
- no ``crs`` member; numbers are JSON numbers and unknown values ``null`` (never NaN);
- provenance (datasets, years, methods) travels in the top-level foreign member ``"karte:metadata"``.

Simplification works in metres, so it needs a projected CRS: the caller passes the city's
``projected_srid`` (there is no default zone here — a default would be wrong for most of Japan).
"""
from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from .errors import ParameterError

WGS84_SRID = 4326
COORDINATE_DECIMALS = 7
METADATA_MEMBER = "karte:metadata"
RANK_SUFFIX = "__rank"
CRS_NOTE = "WGS84 longitude/latitude (EPSG:4326, RFC 7946), transformed from JGD2011 (EPSG:6668)"
UTF8_BOM = "\ufeff"
JSON_OPTIONS = {"ensure_ascii": False, "allow_nan": False}


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------

def clean_number(value: Any) -> float | int | None:
    """A JSON-safe number: ``None`` for missing, NaN or infinite values; ints stay ints."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(number) or math.isinf(number):
        return None
    return number


def clean_value(value: Any) -> Any:
    """JSON-safe property value: numbers via :func:`clean_number`, strings and booleans as they are,
    dates as ISO 8601 text."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        return clean_number(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


# ---------------------------------------------------------------------------------------------
# Geometries
# ---------------------------------------------------------------------------------------------

def shapely_from_geos(geom) -> BaseGeometry:
    """A shapely geometry from a Django GEOS geometry (anything with ``.wkb``; no precision lost)."""
    return shapely.from_wkb(bytes(geom.wkb))


@lru_cache(maxsize=16)
def _transformer(source_srid: int, target_srid: int) -> Transformer:
    return Transformer.from_crs(f"EPSG:{source_srid}", f"EPSG:{target_srid}", always_xy=True)


def transform_geometry(geom: BaseGeometry, source_srid: int, target_srid: int) -> BaseGeometry:
    """``geom`` re-projected (x = longitude/easting, y = latitude/northing in both CRSs)."""
    if source_srid == target_srid:
        return geom
    transformer = _transformer(int(source_srid), int(target_srid))

    def _apply(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, _apply)


def orient_right_hand(geom: BaseGeometry) -> BaseGeometry:
    """Polygons with counter-clockwise exteriors and clockwise holes (RFC 7946 §3.1.6)."""
    if isinstance(geom, Polygon):
        return orient(geom, 1.0)
    if isinstance(geom, MultiPolygon):
        return MultiPolygon([orient(part, 1.0) for part in geom.geoms])
    if geom.geom_type == "GeometryCollection":
        return shapely.GeometryCollection([orient_right_hand(part) for part in geom.geoms])
    return geom


def to_wgs84(
    geom: BaseGeometry,
    *,
    source_srid: int,
    simplify_m: float | None = None,
    projected_srid: int | None = None,
) -> BaseGeometry:
    """``geom`` (in ``source_srid``) in WGS84 lon/lat, optionally simplified, rounded to 7 decimals,
    right-hand wound.

    ``simplify_m`` is a tolerance in metres applied in ``projected_srid`` (a metric CRS: the city's
    plane rectangular zone, ``City.projected_srid``) with topology preserved; each polygon is
    simplified on its own, so neighbouring districts may show slivers at large tolerances.
    """
    if simplify_m:
        if projected_srid is None:
            raise ParameterError("simplifying needs a projected CRS in metres (the city's projected_srid)",
                                 "simplify")
        metric = transform_geometry(geom, source_srid, projected_srid)
        metric = metric.simplify(float(simplify_m), preserve_topology=True)
        geom = transform_geometry(metric, projected_srid, WGS84_SRID)
    else:
        geom = transform_geometry(geom, source_srid, WGS84_SRID)
    geom = shapely.transform(geom, lambda coords: np.round(coords, COORDINATE_DECIMALS))
    return orient_right_hand(geom)


def geometry_to_geojson(geom: BaseGeometry | None, *, source_srid: int, simplify_m: float | None = None,
                        projected_srid: int | None = None) -> dict | None:
    """GeoJSON geometry object (WGS84, see :func:`to_wgs84`), or ``None`` for a missing geometry."""
    if geom is None or geom.is_empty:
        return None
    return _lists(mapping(to_wgs84(geom, source_srid=source_srid, simplify_m=simplify_m,
                                   projected_srid=projected_srid)))


def point_parts(geom: BaseGeometry | None, *, source_srid: int) -> tuple[dict | None, float | None, float | None]:
    """A location point as a GeoJSON geometry and its WGS84 lon/lat, transformed once for both."""
    geometry = geometry_to_geojson(geom, source_srid=source_srid)
    if geometry is None:
        return None, None, None
    lon, lat = geometry["coordinates"]
    return geometry, lon, lat


def _lists(obj: Any) -> Any:
    # shapely's mapping() nests tuples; lists keep the object identical after a JSON round trip.
    if isinstance(obj, dict):
        return {key: _lists(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_lists(value) for value in obj]
    if isinstance(obj, np.floating):
        return float(obj)
    return obj


# ---------------------------------------------------------------------------------------------
# Features and collections
# ---------------------------------------------------------------------------------------------

def feature(feature_id: str | int | None, geometry: dict | None, properties: dict) -> dict:
    """A GeoJSON Feature; property values made JSON-safe by :func:`clean_value`."""
    result: dict[str, Any] = {"type": "Feature"}
    if feature_id is not None:
        result["id"] = feature_id
    result["geometry"] = geometry
    result["properties"] = {key: clean_value(value) for key, value in properties.items()}
    return result


def feature_collection(features: list[dict], metadata: dict) -> dict:
    """A FeatureCollection with its provenance in the ``"karte:metadata"`` member."""
    return {"type": "FeatureCollection", "features": features, METADATA_MEMBER: metadata}


def base_metadata(layer: str) -> dict:
    """The metadata every collection starts with: layer name, time of generation, coordinates."""
    return {
        "layer": layer,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "coordinates": CRS_NOTE,
        "coordinate_decimals": COORDINATE_DECIMALS,
    }


def frame_to_feature_collection(
    frame,
    *,
    id_column: str | None = None,
    columns: Sequence[str] | None = None,
    simplify_m: float | None = None,
    projected_srid: int | None = None,
    metadata: dict | None = None,
) -> dict:
    """A GeoDataFrame (any CRS with an EPSG code) as an RFC 7946 FeatureCollection.

    For analysts' own indicators (see notebooks/02_custom_indicator.ipynb): the same rules as the
    database collections (WGS84, rounding, winding, null for NaN). ``simplify_m`` (metres) needs
    ``projected_srid``, the city's plane rectangular zone (``City.projected_srid``).
    """
    if frame.crs is None:
        raise ParameterError("the frame has no CRS; set one (e.g. frame.set_crs(6668))", "frame")
    source_srid = frame.crs.to_epsg()
    if source_srid is None:
        raise ParameterError(f"the frame's CRS {frame.crs.name!r} has no EPSG code", "frame")
    geometry_column = frame.geometry.name
    names = list(columns) if columns is not None else [c for c in frame.columns if c != geometry_column]
    features = []
    for _, row in frame.iterrows():
        feature_id = row[id_column] if id_column else None
        if isinstance(feature_id, np.integer):
            feature_id = int(feature_id)
        geometry = geometry_to_geojson(
            row[geometry_column], source_srid=source_srid, simplify_m=simplify_m, projected_srid=projected_srid
        )
        features.append(feature(feature_id, geometry, {name: row[name] for name in names}))
    meta = base_metadata("frame")
    meta.update(metadata or {})
    return feature_collection(features, meta)


def rows_collection(rows: Sequence[dict], metadata: dict | None = None) -> dict:
    """Plain records (no geometry) in the shape of a collection, so they encode to CSV the same way."""
    return {"features": [{"properties": dict(row)} for row in rows], METADATA_MEMBER: metadata or {}}


# ---------------------------------------------------------------------------------------------
# Text: JSON and CSV
# ---------------------------------------------------------------------------------------------

def to_json(payload: Any, *, indent: int | None = None) -> str:
    """Compact (or indented) JSON text; NaN refused (the collections hold ``null`` instead)."""
    separators = None if indent else (",", ":")
    return json.dumps(payload, **JSON_OPTIONS, indent=indent, separators=separators)


def csv_columns(collection: dict) -> list[str]:
    """Every property name of the features, in the order first seen."""
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
    """The features' properties as CSV text (RFC 4180, CRLF; no geometry column: point layers carry
    lon/lat). ``bom`` starts with a UTF-8 BOM, which Excel in Japan needs to read UTF-8."""
    buffer = io.StringIO()
    if bom:
        buffer.write(UTF8_BOM)
    columns = csv_columns(collection)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for item in collection["features"]:
        writer.writerow([_csv_cell(item["properties"].get(column)) for column in columns])
    return buffer.getvalue()
