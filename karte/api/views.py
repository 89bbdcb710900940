"""Read-only API views: parse and check parameters, call karte.geojson, answer JSON/GeoJSON/CSV.

Every path, parameter and response schema is described in ``karte/api/openapi.py``
(served at ``/api/openapi.json``); the map front end depends on these names.
"""
from __future__ import annotations

import warnings

import numpy as np
from django.contrib.gis.geos import Polygon
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from karte.export import candidates_queryset, collection_to_csv, default_walk_distance, resources_in_ward
from karte.geojson import (
    METADATA_MEMBER,
    MAX_SIMPLIFY_M,
    STORAGE_SRID,
    candidates_collection,
    clean_number,
    districts_collection,
    indicator_catalogue,
    resolve_city,
    resolve_ward,
    resources_collection,
    siting_collection,
)
from karte.models import District, IndicatorValue, Resource, ResourceKind, SitingRun

from .openapi import openapi_document
from .params import ApiError, QueryParams, api_endpoint, csv_response, json_response

RESOURCES_DEFAULT_LIMIT = 500
RESOURCES_MAX_LIMIT = 2000
CANDIDATES_DEFAULT_LIMIT = 50
CANDIDATES_MAX_LIMIT = 1000
MAX_K = 10
SCHEMES = ("quantiles", "natural_breaks", "equal_interval")
FORMATS = ("json", "csv")


def _indicator_codes(params: QueryParams, present_codes_for: list[str] | None = None) -> list[str] | None:
    """``indicators=a,b`` as a list; ``indicators=all`` = every code stored for the districts."""
    if params.text("indicators") == "all":
        return _stored_indicator_codes(present_codes_for)
    return params.codes("indicators")


def _stored_indicator_codes(area_codes: list[str] | None = None) -> list[str]:
    """Every indicator code stored for districts (of ``area_codes`` if given)."""
    queryset = IndicatorValue.objects.filter(tier=IndicatorValue.Tier.DISTRICT)
    if area_codes is not None:
        queryset = queryset.filter(area_code__in=area_codes)
    return sorted(set(queryset.values_list("indicator", flat=True)))


@api_endpoint({"city", "ward", "indicators", "year", "simplify", "format"})
def districts_list(request: HttpRequest, params: QueryParams) -> HttpResponse:
    fmt = params.choice("format", FORMATS, "json")
    city = resolve_city(params.code("city"))
    ward = resolve_ward(params.code("ward"), city)
    collection = districts_collection(
        city=city,
        ward=ward,
        indicators=_indicator_codes(params),
        year=params.integer("year", minimum=1900, maximum=2100),
        simplify_m=params.number("simplify", minimum=0, maximum=MAX_SIMPLIFY_M),
        with_geometry=fmt == "json",
    )
    if fmt == "csv":
        return csv_response(collection_to_csv(collection), "districts.csv")
    return json_response(collection, geojson=True)


@api_endpoint({"indicators", "year", "simplify", "format"})
def district_detail(request: HttpRequest, params: QueryParams, code: str) -> HttpResponse:
    fmt = params.choice("format", FORMATS, "json")
    if not District.objects.filter(code=code).exists():
        raise ApiError(f"no district with code {code!r}", "code", status=404)
    indicators = _indicator_codes(params, [code])
    if indicators is None:  # one district: every stored figure, the census counts included
        indicators = _stored_indicator_codes([code])
    collection = districts_collection(
        codes=[code],
        indicators=indicators,
        year=params.integer("year", minimum=1900, maximum=2100),
        simplify_m=params.number("simplify", minimum=0, maximum=MAX_SIMPLIFY_M),
        with_geometry=fmt == "json",
    )
    if fmt == "csv":
        return csv_response(collection_to_csv(collection), f"district-{code}.csv")
    feature = dict(collection["features"][0])
    feature[METADATA_MEMBER] = collection[METADATA_MEMBER]
    return json_response(feature, geojson=True)


@api_endpoint({"city", "ward", "kind", "bbox", "limit", "offset", "geometry", "format"})
def resources_list(request: HttpRequest, params: QueryParams) -> HttpResponse:
    fmt = params.choice("format", FORMATS, "json")
    kinds = params.codes("kind")
    if kinds:
        unknown = [kind for kind in kinds if kind not in ResourceKind.values]
        if unknown:
            raise ApiError(
                f"unknown resource kind(s) {', '.join(unknown)}; known: {', '.join(ResourceKind.values)}", "kind"
            )
    city = resolve_city(params.code("city"))
    ward = resolve_ward(params.code("ward"), city)
    bbox = params.bbox("bbox")
    limit = params.integer("limit", RESOURCES_DEFAULT_LIMIT, minimum=1, maximum=RESOURCES_MAX_LIMIT)
    offset = params.integer("offset", 0, minimum=0, maximum=10_000_000)
    geometry = params.choice("geometry", ("source", "point"), "source")

    queryset = Resource.objects.order_by("kind", "name", "pk")
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    if city is not None:
        queryset = queryset.filter(city=city)
    if ward is not None:
        queryset = resources_in_ward(queryset, ward)
    if bbox is not None:
        # The bbox is WGS84; stored points are JGD2011: the datums differ by well under a metre.
        queryset = queryset.filter(location__intersects=_bbox_polygon(bbox))
    total = queryset.count()
    page = queryset[offset:offset + limit]
    next_offset = offset + limit if offset + limit < total else None
    next_url = None
    if next_offset is not None:
        query = request.GET.copy()
        query["offset"] = str(next_offset)
        next_url = f"{reverse('api:resources')}?{query.urlencode()}"
    collection = resources_collection(
        page,
        point_geometry=geometry == "point",
        layer_metadata={
            "kinds": kinds,
            "bbox": list(bbox) if bbox else None,
            "page": {"limit": limit, "offset": offset, "total": total, "next_offset": next_offset, "next": next_url},
        },
    )
    if fmt == "csv":
        return csv_response(collection_to_csv(collection), "resources.csv")
    return json_response(collection, geojson=True)


def _bbox_polygon(bbox: tuple[float, float, float, float]) -> Polygon:
    polygon = Polygon.from_bbox(bbox)
    polygon.srid = STORAGE_SRID
    return polygon


@api_endpoint({"ward", "walk_distance", "limit", "format"})
def candidates_list(request: HttpRequest, params: QueryParams) -> HttpResponse:
    fmt = params.choice("format", FORMATS, "json")
    ward = resolve_ward(params.code("ward"))
    walk_distance = params.integer("walk_distance", minimum=1, maximum=5000)
    if walk_distance is None:
        walk_distance = default_walk_distance()
    limit = params.integer("limit", CANDIDATES_DEFAULT_LIMIT, minimum=1, maximum=CANDIDATES_MAX_LIMIT)
    queryset = candidates_queryset(ward, walk_distance)
    total = queryset.count()
    collection = candidates_collection(
        queryset[:limit],
        layer_metadata={
            "ward_code": ward.code if ward else None,
            "walk_distance_m": walk_distance,
            "page": {"limit": limit, "offset": 0, "total": total, "next_offset": None, "next": None},
        },
    )
    if fmt == "csv":
        return csv_response(collection_to_csv(collection), "candidates.csv")
    return json_response(collection, geojson=True)


@api_endpoint({"format"})
def siting_detail(request: HttpRequest, params: QueryParams, run_id: int) -> HttpResponse:
    fmt = params.choice("format", FORMATS, "json")
    run = SitingRun.objects.select_related("city", "ward").filter(pk=run_id).first()
    if run is None:
        raise ApiError(f"no siting run with id {run_id}", "id", status=404)
    collection = siting_collection(run)
    if fmt == "csv":
        return csv_response(collection_to_csv(collection), f"siting-{run_id}.csv")
    return json_response(collection, geojson=True)


@api_endpoint({"indicator", "scheme", "k", "year", "city", "format"})
def indicators_view(request: HttpRequest, params: QueryParams) -> HttpResponse:
    fmt = params.choice("format", FORMATS, "json")
    code = params.code("indicator")
    catalogue = indicator_catalogue()
    if code is None:
        for name in ("scheme", "k", "year"):
            if params.text(name) is not None:
                raise ApiError(f"{name} needs indicator=<code> (class breaks of one indicator)", name)
        payload = catalogue_payload(catalogue, resolve_city(params.code("city")))
        if fmt == "csv":
            rows = {"features": [{"properties": {k: v for k, v in entry.items() if k != "years"} | {
                "years": " ".join(str(y) for y in entry["years"])}} for entry in payload["indicators"]]}
            return csv_response(collection_to_csv(rows), "indicators.csv")
        return json_response(payload)
    if code not in catalogue:
        raise ApiError(f"unknown indicator {code!r}; GET /api/indicators/ lists the catalogue", "indicator")
    payload = class_breaks(
        catalogue[code],
        scheme=params.choice("scheme", SCHEMES, "quantiles"),
        k=params.integer("k", 5, minimum=2, maximum=MAX_K),
        year=params.integer("year", minimum=1900, maximum=2100),
        city=resolve_city(params.code("city")),
    )
    if fmt == "csv":
        rows = {"features": [{"properties": {"indicator": code, "year": payload["year"], **row}} for row in payload["classes"]]}
        return csv_response(collection_to_csv(rows), f"breaks-{code}.csv")
    return json_response(payload)


def catalogue_payload(catalogue: dict[str, dict], city=None) -> dict:
    stored = IndicatorValue.objects.filter(tier=IndicatorValue.Tier.DISTRICT)
    if city is not None:
        stored = stored.filter(city=city)
    years: dict[str, set[int]] = {}
    for indicator, year in stored.values_list("indicator", "year").distinct():
        years.setdefault(indicator, set()).add(year)
    entries = []
    for code in sorted(catalogue):
        entry = dict(catalogue[code])
        entry["years"] = sorted(years.get(code, ()))
        entries.append(entry)
    return {"indicators": entries, "count": len(entries)}


def class_breaks(spec: dict, *, scheme: str, k: int, year: int | None, city=None) -> dict:
    """Class breaks of one indicator over the districts (mapclassify), with ward and city values."""
    import mapclassify

    code = spec["code"]
    values = IndicatorValue.objects.filter(indicator=code)
    if city is not None:
        values = values.filter(city=city)
    district_values = values.filter(tier=IndicatorValue.Tier.DISTRICT)
    if year is None:
        year = max(district_values.values_list("year", flat=True), default=None)
    numbers = [clean_number(v) for v in district_values.filter(year=year).values_list("value", flat=True)]
    y = np.array([v for v in numbers if v is not None], dtype=float)
    if y.size == 0:
        raise ApiError(f"no district values of {code} for year {year}", "year" if year else "indicator")
    distinct = np.unique(y)
    k_effective = min(k, distinct.size)
    if k_effective < 2:
        upper = [float(distinct[0])]
        counts = [int(y.size)]
    else:
        classifier_class = {
            "quantiles": mapclassify.Quantiles,
            "natural_breaks": mapclassify.FisherJenks,  # optimal Jenks breaks, deterministic
            "equal_interval": mapclassify.EqualInterval,
        }[scheme]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "not enough unique values": k_effective reports it
            classifier = classifier_class(y, k=k_effective)
        upper = [float(b) for b in classifier.bins]
        counts = [int(c) for c in classifier.counts]
    lowers = [float(y.min())] + upper[:-1]
    classes = [
        {"class": i + 1, "lower": lowers[i], "upper": upper[i], "count": counts[i]} for i in range(len(upper))
    ]
    upper_tiers = values.filter(year=year, tier__in=[IndicatorValue.Tier.WARD, IndicatorValue.Tier.CITY])
    ward_values = {iv.area_code: clean_number(iv.value) for iv in upper_tiers if iv.tier == IndicatorValue.Tier.WARD}
    city_values = {iv.area_code: clean_number(iv.value) for iv in upper_tiers if iv.tier == IndicatorValue.Tier.CITY}
    return {
        "indicator": spec,
        "year": year,
        "scheme": scheme,
        "k_requested": k,
        "k": len(classes),
        "breaks": [lowers[0]] + upper,
        "classes": classes,
        "min": float(y.min()),
        "max": float(y.max()),
        "district_count": int(y.size),
        "missing_count": len(numbers) - int(y.size),
        "ward_values": dict(sorted(ward_values.items())),
        "city_values": dict(sorted(city_values.items())),
    }


@api_endpoint(set())
def openapi_json(request: HttpRequest, params: QueryParams) -> HttpResponse:
    return json_response(openapi_document())
