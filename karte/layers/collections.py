"""The layers Karte serves, as RFC 7946 FeatureCollections: districts with indicator values,
resources, candidate ひろば sites, a siting run's chosen sites, ward boundaries.

One builder per layer, shared by the HTTP API (``karte.api``), the pages' maps, the export command
(``karte.export`` writes these to files) and notebooks; encoding rules in :mod:`.encoding`,
provenance in :mod:`.provenance`, lookups in :mod:`.lookups`. Property names are documented in
``docs/export.md`` and the OpenAPI schema.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import QuerySet

from karte.models import STORAGE_SRID, City, Dataset, IndicatorValue, Resource, ResourceKind, SitingRun, Ward

from . import extensions, lookups
from .catalogue import default_indicator_codes, indicator_catalogue, validate_indicator_codes
from .encoding import (
    RANK_SUFFIX,
    base_metadata,
    clean_number,
    feature,
    feature_collection,
    geometry_to_geojson,
    point_parts,
    shapely_from_geos,
)
from .errors import ParameterError
from .provenance import dataset_ids_from_inputs, sources_for

MAX_SIMPLIFY_M = 1000.0
LAYERS = ("districts", "resources", "candidates", "sites", "wards")


def _geometry(geom, **options: Any) -> dict | None:
    """A stored (JGD2011) GEOS geometry as GeoJSON."""
    return geometry_to_geojson(shapely_from_geos(geom), source_srid=STORAGE_SRID, **options) if geom is not None else None


def _point(geom) -> tuple[dict | None, float | None, float | None]:
    return point_parts(shapely_from_geos(geom) if geom is not None else None, source_srid=STORAGE_SRID)


def kind_label(kind: str | None) -> str | None:
    """A resource kind's label in the active language (None for a kind outside the vocabulary)."""
    try:
        return str(ResourceKind(kind).label)
    except ValueError:
        return None


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

    Properties: ``code, name_ja, name_romaji, school_name, ward_code, ward_name_ja, ward_name_en,
    city_code`` and, per indicator, ``<code>`` (value or null) and ``<code>__rank`` (rank among the
    city's districts, 1 = highest). ``year`` defaults to the latest year with values for the chosen
    indicators; ``indicators`` to the derived indicators stored. ``simplify_m``: tolerance in metres,
    applied in each district's city's projected CRS.
    """
    if simplify_m is not None and not (0 <= simplify_m <= MAX_SIMPLIFY_M):
        raise ParameterError(f"simplify must be between 0 and {MAX_SIMPLIFY_M:g} metres", "simplify")
    if ward is not None:
        city = city or ward.city
    districts = list(lookups.districts(city=city, ward=ward, codes=codes))
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
            geometry = _geometry(district.geom, simplify_m=simplify_m, projected_srid=district.city.projected_srid)
        features.append(feature(district.code, geometry, properties))

    metadata = base_metadata("districts")
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


def wards_collection(city: City | None = None) -> dict:
    """Ward boundaries (区界) with their codes and names; wards without a boundary are left out."""
    features = [
        feature(ward.code, _geometry(ward.geom), {
            "code": ward.code, "name_ja": ward.name_ja, "name_en": ward.name_en or None, "city_code": ward.city.code,
        })
        for ward in lookups.wards(city).exclude(geom__isnull=True)
    ]
    metadata = base_metadata("wards")
    metadata["city_code"] = city.code if city else None
    # Ward lines come from the 行政区域 (N03) files loaded.
    metadata["sources"] = sources_for(Dataset.objects.filter(kind=Dataset.Kind.ADMIN_BOUNDARY).values_list("pk", flat=True))
    metadata["feature_count"] = len(features)
    return feature_collection(features, metadata)


# ---------------------------------------------------------------------------------------------
# Resources, candidate sites, siting runs
# ---------------------------------------------------------------------------------------------

def resource_properties(resource: Resource, lon: float | None, lat: float | None) -> dict:
    return {
        "id": resource.pk,
        "source_key": resource.source_key,
        "kind": resource.kind,
        "kind_label_ja": kind_label(resource.kind),
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
    resources: QuerySet[Resource] | Iterable[Resource], *, layer_metadata: dict | None = None,
    point_geometry: bool = False,
) -> dict:
    """Resources (施設・資源) as Features with their source geometry (point or polygon); ``lon``/``lat``
    give the resource's location point. ``point_geometry=True`` uses the location point as geometry."""
    if isinstance(resources, QuerySet):
        resources = resources.select_related("district")
    resources = list(resources)
    features = []
    for resource in resources:
        point, lon, lat = _point(resource.location)
        geometry = point if point_geometry else _geometry(resource.geom)
        features.append(feature(resource.pk, geometry, resource_properties(resource, lon, lat)))
    metadata = base_metadata("resources")
    metadata.update(layer_metadata or {})
    metadata["sources"] = sources_for(r.dataset_id for r in resources)
    metadata["feature_count"] = len(features)
    return feature_collection(features, metadata)


def candidates_collection(candidates: QuerySet | Iterable, *, layer_metadata: dict | None = None) -> dict:
    """Candidate ひろば sites as points (the resource's location), in the order given (best first)."""
    if isinstance(candidates, QuerySet):
        candidates = candidates.select_related("resource", "resource__district")
    features = []
    dataset_ids = set()
    for position, candidate in enumerate(candidates, start=1):
        resource = candidate.resource
        geometry, lon, lat = _point(resource.location)
        properties = {
            "rank": position,
            "candidate_id": candidate.pk,
            "resource_id": resource.pk,
            "name": resource.name or None,
            "kind": resource.kind,
            "kind_label_ja": kind_label(resource.kind),
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
    metadata = base_metadata("candidates")
    metadata.update(layer_metadata or {})
    metadata["sources"] = sources_for(dataset_ids)
    metadata["feature_count"] = len(features)
    return feature_collection(features, metadata)


def siting_run_record(run: SitingRun) -> dict:
    """A siting run's parameters and coverage before/after, as JSON."""
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
        geometry, lon, lat = _point(resource.location) if resource is not None else (None, None, None)
        properties = {
            "order": order,
            "resource_id": entry["resource_id"],
            "newly_covered": newly,
            "covered_cumulative": clean_number(cumulative),
            "name": (resource.name or None) if resource else None,
            "kind": resource.kind if resource else None,
            "kind_label_ja": kind_label(resource.kind) if resource else None,
            "address": (resource.address or None) if resource else None,
            "district_code": resource.district.code if resource and resource.district else None,
            "lon": lon,
            "lat": lat,
        }
        features.append(feature(entry["resource_id"], geometry, properties))
    metadata = base_metadata("sites")
    metadata["siting_run"] = siting_run_record(run)
    metadata["sources"] = sources_for(r.dataset_id for r in resources.values())
    metadata["feature_count"] = len(features)
    return feature_collection(features, metadata)


# ---------------------------------------------------------------------------------------------
# One layer by name (the export command)
# ---------------------------------------------------------------------------------------------

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
    params: dict[str, str] | None = None,
) -> dict:
    """The FeatureCollection of one layer named ``what`` (:data:`LAYERS`, or a layer an app published
    through :mod:`.extensions`, which reads ``params`` as its API reads the query string), from codes
    as a command line gives them; raises :class:`ParameterError` for bad options."""
    published = extensions.published_layer(what)
    if published is not None:
        unknown = sorted(set(params or {}) - set(published.parameter_names))
        if unknown:
            raise ParameterError(f"layer {what} takes no parameter {', '.join(unknown)}; it takes: "
                                 f"{', '.join(published.parameter_names) or 'none'}", "param")
        return published.build({name: (params or {}).get(name) for name in published.parameter_names})
    if params:
        raise ParameterError(f"--param applies to the layers apps publish, not to {what}", "param")
    if what not in LAYERS:
        names = [*LAYERS, *(layer.name for layer in extensions.published_layers())]
        raise ParameterError(f"unknown layer {what!r}; choose one of {', '.join(names)}", "what")
    city_obj = lookups.resolve_city(city)
    ward_obj = lookups.resolve_ward(ward, city_obj)
    if what == "districts":
        return districts_collection(
            city=city_obj, ward=ward_obj, indicators=indicators, year=year, simplify_m=simplify_m
        )
    if what == "resources":
        queryset = lookups.resources(city=city_obj, ward=ward_obj, kinds=kinds)
        return resources_collection(queryset, layer_metadata={"ward_code": ward, "kinds": kinds})
    if what == "candidates":
        walk_distance_m = walk_distance_m if walk_distance_m is not None else lookups.default_walk_distance()
        return candidates_collection(
            lookups.candidates(ward=ward_obj, walk_distance_m=walk_distance_m),
            layer_metadata={"ward_code": ward, "walk_distance_m": walk_distance_m},
        )
    if what == "wards":
        return wards_collection(city_obj)
    return siting_collection(lookups.siting_run(run_id))


def layer_names() -> list[str]:
    """Every layer :func:`build_collection` builds: karte's own and those apps published."""
    return [*LAYERS, *(layer.name for layer in extensions.published_layers())]
