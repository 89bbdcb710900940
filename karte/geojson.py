"""RFC 7946 GeoJSON for Karte's districts, resources, candidate sites and siting runs.

Shared by the HTTP API (``karte/api/``) and the export command (``karte/export.py``), so a map, a
downloaded file and an analyst's notebook see the same names and the same numbers.

Rules every collection here follows (RFC 7946; property names are listed in ``docs/export.md``):

- coordinates are WGS84 longitude/latitude (EPSG:4326), transformed from the stored JGD2011
  (EPSG:6668) with pyproj, rounded to 7 decimals (about 1 cm);
- polygons follow the right-hand rule (exteriors counter-clockwise, holes clockwise);
- no ``crs`` member; numbers are JSON numbers and unknown values ``null`` (never NaN);
- provenance (datasets, years, methods) travels in the top-level foreign member ``"karte:metadata"``.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from .frames import shapely_from_geos
from .models import (
    STORAGE_SRID,
    CandidateSite,
    City,
    Dataset,
    District,
    IndicatorValue,
    Resource,
    ResourceKind,
    SitingRun,
    Ward,
)

WGS84_SRID = 4326
COORDINATE_DECIMALS = 7
METADATA_MEMBER = "karte:metadata"
RANK_SUFFIX = "__rank"
CRS_NOTE = "WGS84 longitude/latitude (EPSG:4326, RFC 7946), transformed from JGD2011 (EPSG:6668)"
MAX_SIMPLIFY_M = 1000.0

# Census counts interpolated to districts share the IndicatorValue table with the derived
# indicators; without a catalogue they are left out of the default column set (there are ~70 of them).
_CENSUS_VARIABLE = re.compile(r"^(pop_|households_|dwelling_households_|movers_5y$)")


class ExportParameterError(ValueError):
    """A request for something that does not exist (unknown indicator, ward, city…).

    ``parameter`` names the query parameter / command option at fault, so the API can answer
    ``{"error": ..., "parameter": ...}`` with HTTP 400 and the command can say which option is wrong.
    """

    def __init__(self, message: str, parameter: str):
        super().__init__(message)
        self.message = message
        self.parameter = parameter


# ---------------------------------------------------------------------------------------------
# Numbers and geometries
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
    """JSON-safe property value: numbers via :func:`clean_number`, strings and booleans as they are."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        return clean_number(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


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
    source_srid: int = STORAGE_SRID,
    simplify_m: float | None = None,
    projected_srid: int = 6677,
) -> BaseGeometry:
    """``geom`` in WGS84 lon/lat, optionally simplified, rounded to 7 decimals, right-hand wound.

    ``simplify_m`` is a tolerance in metres applied in ``projected_srid`` (a metric CRS, the city's
    plane rectangular zone) with topology preserved; each polygon is simplified on its own, so
    neighbouring districts may show slivers at large tolerances.
    """
    if simplify_m:
        metric = transform_geometry(geom, source_srid, projected_srid)
        metric = metric.simplify(float(simplify_m), preserve_topology=True)
        geom = transform_geometry(metric, projected_srid, WGS84_SRID)
    else:
        geom = transform_geometry(geom, source_srid, WGS84_SRID)
    geom = shapely.transform(geom, lambda coords: np.round(coords, COORDINATE_DECIMALS))
    return orient_right_hand(geom)


def geometry_to_geojson(geom: BaseGeometry | None, **kwargs: Any) -> dict | None:
    """GeoJSON geometry object (WGS84, see :func:`to_wgs84`), or ``None`` for a missing geometry."""
    if geom is None or geom.is_empty:
        return None
    return _lists(mapping(to_wgs84(geom, **kwargs)))


def _lists(obj: Any) -> Any:
    # shapely's mapping() nests tuples; lists keep the object identical after a JSON round trip.
    if isinstance(obj, dict):
        return {key: _lists(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_lists(value) for value in obj]
    if isinstance(obj, np.floating):
        return float(obj)
    return obj


def feature(feature_id: str | int | None, geometry: dict | None, properties: dict) -> dict:
    result: dict[str, Any] = {"type": "Feature"}
    if feature_id is not None:
        result["id"] = feature_id
    result["geometry"] = geometry
    result["properties"] = {key: clean_value(value) for key, value in properties.items()}
    return result


def feature_collection(features: list[dict], metadata: dict) -> dict:
    return {"type": "FeatureCollection", "features": features, METADATA_MEMBER: metadata}


def _base_metadata(layer: str) -> dict:
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
    projected_srid: int = 6677,
    metadata: dict | None = None,
) -> dict:
    """A GeoDataFrame (any CRS with an EPSG code) as an RFC 7946 FeatureCollection.

    For analysts' own indicators (see notebooks/02_custom_indicator.ipynb): the same rules as the
    database collections: WGS84, rounding, winding, null for NaN.
    """
    if frame.crs is None:
        raise ExportParameterError("the frame has no CRS; set one (e.g. frame.set_crs(6668))", "frame")
    source_srid = frame.crs.to_epsg()
    if source_srid is None:
        raise ExportParameterError(f"the frame's CRS {frame.crs.name!r} has no EPSG code", "frame")
    geometry_column = frame.geometry.name
    names = list(columns) if columns is not None else [c for c in frame.columns if c != geometry_column]
    features = []
    for index, row in frame.iterrows():
        feature_id = row[id_column] if id_column else None
        if isinstance(feature_id, np.integer):
            feature_id = int(feature_id)
        geometry = geometry_to_geojson(
            row[geometry_column], source_srid=source_srid, simplify_m=simplify_m, projected_srid=projected_srid
        )
        features.append(feature(feature_id, geometry, {name: row[name] for name in names}))
    meta = _base_metadata("frame")
    meta.update(metadata or {})
    return feature_collection(features, meta)


# ---------------------------------------------------------------------------------------------
# Provenance
# ---------------------------------------------------------------------------------------------

def dataset_record(dataset: Dataset) -> dict:
    return {
        "id": dataset.pk,
        "kind": dataset.kind,
        "source_name": dataset.source_name,
        "url": dataset.url or None,
        "licence": dataset.licence or None,
        "attribution": dataset.attribution or None,
        "vintage": dataset.vintage,
        "file_name": dataset.file_name or None,
    }


def dataset_ids_from_inputs(inputs) -> set[int]:
    """Dataset ids named in an IndicatorValue's ``inputs`` (a list, or a dict with ``datasets``)."""
    if isinstance(inputs, dict):
        inputs = inputs.get("datasets", inputs.get("dataset_ids", []))
    ids: set[int] = set()
    for item in inputs or []:
        if isinstance(item, int):
            ids.add(item)
        elif isinstance(item, dict) and isinstance(item.get("id"), int):
            ids.add(item["id"])
    return ids


def sources_for(dataset_ids: Iterable[int]) -> list[dict]:
    ids = sorted({i for i in dataset_ids if i is not None})
    return [dataset_record(d) for d in Dataset.objects.filter(pk__in=ids).order_by("pk")]


# ---------------------------------------------------------------------------------------------
# Indicator catalogue
# ---------------------------------------------------------------------------------------------

_SPEC_FIELDS = ("code", "label_ja", "label_en", "unit", "kind", "higher_is", "description_ja")


def indicator_catalogue() -> dict[str, dict]:
    """Catalogue entries by code: ``spatial.indicators.INDICATORS`` when present, else codes found in
    the database (label = code, unit from the stored values)."""
    catalogue: dict[str, dict] = {}
    try:
        from spatial.indicators import INDICATORS  # written by the "indicators" helper
    except ImportError:
        INDICATORS = {}
    for code, spec in INDICATORS.items():
        if is_dataclass(spec):
            raw = asdict(spec)
        elif isinstance(spec, dict):
            raw = dict(spec)
        else:
            raw = {name: getattr(spec, name, None) for name in _SPEC_FIELDS}
        entry = {name: raw.get(name) for name in _SPEC_FIELDS}
        entry["code"] = code
        entry["in_catalogue"] = True
        catalogue[code] = entry
    stored = IndicatorValue.objects.values_list("indicator", "unit").distinct()
    for code, unit in stored:
        if code in catalogue:
            if not catalogue[code].get("unit") and unit:
                catalogue[code]["unit"] = unit
            continue
        catalogue[code] = {
            "code": code, "label_ja": code, "label_en": code, "unit": unit or None, "kind": None,
            "higher_is": None, "description_ja": None, "in_catalogue": False,
        }
    return catalogue


def default_indicator_codes(present: Iterable[str], catalogue: dict[str, dict]) -> list[str]:
    """The derived indicators among ``present`` (census counts left out unless asked for)."""
    present = set(present)
    in_catalogue = [c for c in catalogue if catalogue[c].get("in_catalogue") and c in present]
    chosen = in_catalogue or [c for c in present if not _CENSUS_VARIABLE.match(c)]
    return sorted(c for c in chosen if not _CENSUS_VARIABLE.match(c)) or sorted(chosen)


def validate_indicator_codes(codes: Sequence[str], catalogue: dict[str, dict], parameter: str = "indicators") -> None:
    unknown = [c for c in codes if c not in catalogue]
    if unknown:
        raise ExportParameterError(
            f"unknown indicator code(s): {', '.join(unknown)}; see /api/indicators/ for the catalogue", parameter
        )


# ---------------------------------------------------------------------------------------------
# Lookups shared by the API and the command
# ---------------------------------------------------------------------------------------------

def resolve_city(code: str | None) -> City | None:
    if not code:
        return None
    city = City.objects.filter(code=code).first()
    if city is None:
        raise ExportParameterError(f"no city with JIS code {code!r}", "city")
    return city


def resolve_ward(code: str | None, city: City | None = None) -> Ward | None:
    if not code:
        return None
    ward = Ward.objects.select_related("city").filter(code=code).first()
    if ward is None:
        raise ExportParameterError(f"no ward with JIS code {code!r}", "ward")
    if city is not None and ward.city_id != city.pk:
        raise ExportParameterError(f"ward {code} is not in city {city.code}", "ward")
    return ward


def _projected_srid(city: City | None) -> int:
    return int(city.projected_srid) if city is not None else 6677


# ---------------------------------------------------------------------------------------------
# Districts
# ---------------------------------------------------------------------------------------------

def districts_collection(
    *,
    city: City | None = None,
    ward: Ward | None = None,
    codes: Sequence[str] | None = None,
    indicators: Sequence[str] | None = None,
    year: int | None = None,
    simplify_m: float | None = None,
    with_geometry: bool = True,
    catalogue: dict[str, dict] | None = None,
) -> dict:
    """Districts (小学校区) with indicator values: one Feature per district, ``id`` = district code.

    Properties: ``code, name_ja, name_romaji, school_name, ward_code, ward_name_ja, ward_name_en, city_code`` and,
    per indicator, ``<code>`` (value or null) and ``<code>__rank`` (rank among the city's districts,
    1 = highest). ``year`` defaults to the latest year with values for the chosen indicators.
    """
    if simplify_m is not None and not (0 <= simplify_m <= MAX_SIMPLIFY_M):
        raise ExportParameterError(f"simplify must be between 0 and {MAX_SIMPLIFY_M:g} metres", "simplify")
    queryset = District.objects.select_related("ward", "city").order_by("code")
    if ward is not None:
        city = city or ward.city
        queryset = queryset.filter(ward=ward)
    if city is not None:
        queryset = queryset.filter(city=city)
    if codes is not None:
        queryset = queryset.filter(code__in=list(codes))
    districts = list(queryset)
    district_codes = [d.code for d in districts]

    catalogue = indicator_catalogue() if catalogue is None else catalogue
    district_values = IndicatorValue.objects.filter(tier=IndicatorValue.Tier.DISTRICT, area_code__in=district_codes)
    if indicators is None:
        present = district_values.values_list("indicator", flat=True).distinct()
        indicators = default_indicator_codes(present, catalogue)
    else:
        indicators = list(dict.fromkeys(indicators))
        validate_indicator_codes(indicators, catalogue)

    selected = district_values.filter(indicator__in=indicators)
    available_years = sorted(selected.values_list("year", flat=True).distinct())
    if year is None:
        year = available_years[-1] if available_years else None
    values = {(iv.area_code, iv.indicator): iv for iv in selected.filter(year=year)} if year is not None else {}

    ward_codes = sorted({d.ward.code for d in districts if d.ward is not None} | ({ward.code} if ward else set()))
    city_codes = sorted({d.city.code for d in districts} | ({city.code} if city else set()))
    upper_tiers = IndicatorValue.objects.filter(indicator__in=indicators, year=year).filter(
        tier__in=[IndicatorValue.Tier.WARD, IndicatorValue.Tier.CITY], area_code__in=ward_codes + city_codes
    ) if year is not None else IndicatorValue.objects.none()
    ward_values: dict[str, dict[str, float | None]] = {code: {} for code in indicators}
    city_values: dict[str, dict[str, float | None]] = {code: {} for code in indicators}
    dataset_ids: set[int] = {d.dataset_id for d in districts if d.dataset_id}
    for iv in upper_tiers:
        target = ward_values if iv.tier == IndicatorValue.Tier.WARD else city_values
        target[iv.indicator][iv.area_code] = clean_number(iv.value)
        dataset_ids |= dataset_ids_from_inputs(iv.inputs)

    indicator_meta: dict[str, dict] = {}
    for code in indicators:
        spec = catalogue.get(code, {})
        stored = [values[(d, code)] for d in district_codes if (d, code) in values]
        methods = sorted({iv.method for iv in stored if iv.method})
        method_ids = sorted({str(iv.inputs.get("method_id")) for iv in stored if (iv.inputs or {}).get("method_id")})
        ids: set[int] = set()
        for iv in stored:
            ids |= dataset_ids_from_inputs(iv.inputs)
        dataset_ids |= ids
        parameters = next((iv.inputs.get("parameters") for iv in stored if (iv.inputs or {}).get("parameters")), None)
        uncertain = [iv.uncertain_share for iv in stored if iv.uncertain_share is not None]
        indicator_meta[code] = {
            "code": code,
            "label_ja": spec.get("label_ja") or code,
            "label_en": spec.get("label_en") or code,
            "unit": spec.get("unit") or next((iv.unit for iv in stored if iv.unit), None),
            "kind": spec.get("kind"),
            "higher_is": spec.get("higher_is"),
            "year": year,
            "method": "; ".join(methods) or None,
            "method_id": ", ".join(method_ids) or None,
            "parameters": parameters,
            "dataset_ids": sorted(ids),
            "district_count_with_value": sum(1 for iv in stored if clean_number(iv.value) is not None),
            "max_uncertain_share": clean_number(max(uncertain)) if uncertain else None,
            "ward_values": ward_values[code],
            "city_values": city_values[code],
        }

    features = []
    for district in districts:
        properties: dict[str, Any] = {
            "code": district.code,
            "name_ja": district.name_ja,
            "name_romaji": district.name_romaji or None,
            "school_name": district.school_name or None,
            "ward_code": district.ward.code if district.ward else None,
            "ward_name_ja": district.ward.name_ja if district.ward else None,
            "ward_name_en": (district.ward.name_en or None) if district.ward else None,
            "city_code": district.city.code,
        }
        for code in indicators:
            iv = values.get((district.code, code))
            properties[code] = clean_number(iv.value) if iv else None
            properties[code + RANK_SUFFIX] = iv.rank if iv and iv.rank is not None else None
        geometry = None
        if with_geometry:
            geometry = geometry_to_geojson(
                shapely_from_geos(district.geom), simplify_m=simplify_m,
                projected_srid=_projected_srid(district.city),
            )
        features.append(feature(district.code, geometry, properties))

    metadata = _base_metadata("districts")
    metadata.update({
        "city_code": city.code if city else (city_codes[0] if len(city_codes) == 1 else None),
        "ward_code": ward.code if ward else None,
        "year": year,
        "available_years": available_years,
        "indicators": indicator_meta,
        "simplify_m": simplify_m,
        "rank_note": "<code>__rank: rank among all the city's districts, 1 = highest value",
        "sources": sources_for(dataset_ids),
        "feature_count": len(features),
    })
    return feature_collection(features, metadata)


# ---------------------------------------------------------------------------------------------
# Resources, candidate sites, siting runs
# ---------------------------------------------------------------------------------------------

def _kind_label(kind: str) -> str | None:
    try:
        return str(ResourceKind(kind).label)
    except ValueError:
        return None


def _point_lon_lat(geom) -> tuple[float | None, float | None]:
    if geom is None:
        return None, None
    point = to_wgs84(shapely_from_geos(geom))
    return float(point.x), float(point.y)


def _point_feature_parts(geom) -> tuple[dict | None, float | None, float | None]:
    """A location point as a GeoJSON geometry and its lon/lat, transformed once for both."""
    geometry = geometry_to_geojson(shapely_from_geos(geom)) if geom is not None else None
    if geometry is None:
        return None, None, None
    lon, lat = geometry["coordinates"]
    return geometry, lon, lat


def resource_properties(resource: Resource, lon_lat: tuple[float | None, float | None] | None = None) -> dict:
    lon, lat = lon_lat if lon_lat is not None else _point_lon_lat(resource.location)
    return {
        "id": resource.pk,
        "source_key": resource.source_key,
        "kind": resource.kind,
        "kind_label_ja": _kind_label(resource.kind),
        "name": resource.name or None,
        "address": resource.address or None,
        "is_public": resource.is_public,
        "is_gathering_place": resource.is_gathering_place,
        "area_m2": clean_number(resource.area_m2),
        "district_code": resource.district.code if resource.district else None,
        "lon": lon,
        "lat": lat,
        "dataset_id": resource.dataset_id,
    }


def resources_collection(
    queryset, *, layer_metadata: dict | None = None, point_geometry: bool = False
) -> dict:
    """Resources (施設・資源) as Features with their source geometry (point or polygon); ``lon``/``lat``
    give the resource's location point. ``point_geometry=True`` uses the location point as geometry."""
    resources = list(queryset.select_related("district"))
    features = []
    for resource in resources:
        if point_geometry:
            geometry, lon, lat = _point_feature_parts(resource.location)
            properties = resource_properties(resource, (lon, lat))
        else:
            geometry = geometry_to_geojson(shapely_from_geos(resource.geom))
            properties = resource_properties(resource)
        features.append(feature(resource.pk, geometry, properties))
    metadata = _base_metadata("resources")
    metadata.update(layer_metadata or {})
    metadata["sources"] = sources_for(r.dataset_id for r in resources)
    metadata["feature_count"] = len(features)
    return feature_collection(features, metadata)


def candidates_collection(queryset, *, layer_metadata: dict | None = None) -> dict:
    """Candidate ひろば sites as points (the resource's location), best score first."""
    candidates = list(queryset.select_related("resource", "resource__district"))
    features = []
    dataset_ids = set()
    for position, candidate in enumerate(candidates, start=1):
        resource = candidate.resource
        geometry, lon, lat = _point_feature_parts(resource.location)
        properties = {
            "rank": position,
            "candidate_id": candidate.pk,
            "resource_id": resource.pk,
            "name": resource.name or None,
            "kind": resource.kind,
            "kind_label_ja": _kind_label(resource.kind),
            "address": resource.address or None,
            "district_code": resource.district.code if resource.district else None,
            "walk_distance_m": candidate.walk_distance_m,
            "score": clean_number(candidate.score),
            "elderly_reached": clean_number(candidate.elderly_reached),
            "elderly_alone_reached": clean_number(candidate.elderly_alone_reached),
            "uncovered_elderly_reached": clean_number(candidate.uncovered_elderly_reached),
            "method": candidate.method or None,
            "lon": lon,
            "lat": lat,
        }
        dataset_ids.add(resource.dataset_id)
        features.append(feature(candidate.pk, geometry, properties))
    metadata = _base_metadata("candidates")
    metadata.update(layer_metadata or {})
    metadata["sources"] = sources_for(dataset_ids)
    metadata["feature_count"] = len(features)
    return feature_collection(features, metadata)


def siting_run_record(run: SitingRun) -> dict:
    demand = clean_number(run.demand_total)
    return {
        "id": run.pk,
        "city_code": run.city.code,
        "ward_code": run.ward.code if run.ward else None,
        "candidate_kinds": list(run.candidate_kinds or []),
        "walk_distance_m": run.walk_distance_m,
        "k": run.k,
        "solver": run.solver,
        "demand_total": demand,
        "covered_before": clean_number(run.covered_before),
        "covered_after": clean_number(run.covered_after),
        "coverage_before_pct": clean_number(100.0 * run.covered_before / demand) if demand else None,
        "coverage_after_pct": clean_number(100.0 * run.covered_after / demand) if demand else None,
        "gap": clean_number(run.gap),
        "runtime_s": clean_number(run.runtime_s),
        "method": run.method or None,
        "created_at": run.created_at.isoformat() if run.created_at else None,
    }


def siting_collection(run: SitingRun) -> dict:
    """The sites a SitingRun chose, in the order chosen (``order`` 1 = first pick), as points."""
    chosen = [entry for entry in (run.chosen or []) if isinstance(entry, dict) and "resource_id" in entry]
    resources = Resource.objects.select_related("district").in_bulk([entry["resource_id"] for entry in chosen])
    features = []
    cumulative = clean_number(run.covered_before) or 0.0
    for order, entry in enumerate(chosen, start=1):
        resource = resources.get(entry["resource_id"])
        newly = clean_number(entry.get("newly_covered"))
        cumulative = cumulative + (newly or 0.0)
        properties = {
            "order": order,
            "resource_id": entry["resource_id"],
            "newly_covered": newly,
            "covered_cumulative": clean_number(cumulative),
            "name": (resource.name or None) if resource else None,
            "kind": resource.kind if resource else None,
            "kind_label_ja": _kind_label(resource.kind) if resource else None,
            "address": (resource.address or None) if resource else None,
            "district_code": resource.district.code if resource and resource.district else None,
            "lon": None,
            "lat": None,
        }
        geometry = None
        if resource is not None:
            geometry, properties["lon"], properties["lat"] = _point_feature_parts(resource.location)
        features.append(feature(entry["resource_id"], geometry, properties))
    metadata = _base_metadata("sites")
    metadata["siting_run"] = siting_run_record(run)
    metadata["sources"] = sources_for(r.dataset_id for r in resources.values())
    metadata["feature_count"] = len(features)
    return feature_collection(features, metadata)
