"""Read-only API views: parse and check the query, call one function of :mod:`karte.layers`, answer
JSON/GeoJSON/CSV.

Every path, parameter and response schema is described in ``karte/api/openapi.py`` (served at
``/api/openapi.json``); the map pages read their layers from here, so these names are a contract.
"""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from karte import layers
from karte.layers import METADATA_MEMBER, collection_to_csv, rows_collection
from karte.layers.catalogue import YEAR_RANGE
from karte.layers.extensions import PublishedLayer
from karte.layers.search import DEFAULT_LIMIT, MAX_LIMIT, search_places

from .openapi import openapi_document
from .params import QueryParams, api_endpoint, csv_response, json_response

RESOURCES_DEFAULT_LIMIT = 500
RESOURCES_MAX_LIMIT = 2000
CANDIDATES_DEFAULT_LIMIT = 50
CANDIDATES_MAX_LIMIT = 1000
MAX_K = 10
FORMATS = ("json", "csv")


def _respond(collection: dict, fmt: str, filename: str) -> HttpResponse:
    if fmt == "csv":
        return csv_response(collection_to_csv(collection), filename)
    return json_response(collection, geojson=True)


def _year(params: QueryParams) -> int | None:
    return params.integer("year", minimum=YEAR_RANGE[0], maximum=YEAR_RANGE[1])


def _indicator_codes(params: QueryParams, area_codes: list[str] | None = None) -> list[str] | None:
    """``indicators=a,b`` as a list; ``indicators=all`` = every code stored for the districts."""
    if params.text("indicators") == "all":
        return layers.stored_indicator_codes(area_codes)
    return params.codes("indicators")


@api_endpoint({"city", "ward", "indicators", "year", "simplify", "format"})
def districts_list(request: HttpRequest, params: QueryParams) -> HttpResponse:
    fmt = params.choice("format", FORMATS, "json")
    city = layers.resolve_city(params.code("city"))
    collection = layers.districts_collection(
        city=city,
        ward=layers.resolve_ward(params.code("ward"), city),
        indicators=_indicator_codes(params),
        year=_year(params),
        simplify_m=params.number("simplify", minimum=0, maximum=layers.MAX_SIMPLIFY_M),
        with_geometry=fmt == "json",
    )
    return _respond(collection, fmt, "districts.csv")


@api_endpoint({"indicators", "year", "simplify", "format"})
def district_detail(request: HttpRequest, params: QueryParams, code: str) -> HttpResponse:
    fmt = params.choice("format", FORMATS, "json")
    district = layers.get_district(code)
    # One district: every stored figure, the census counts included, unless some are asked for.
    indicators = _indicator_codes(params, [district.code]) or layers.stored_indicator_codes([district.code])
    collection = layers.districts_collection(
        codes=[district.code],
        indicators=indicators,
        year=_year(params),
        simplify_m=params.number("simplify", minimum=0, maximum=layers.MAX_SIMPLIFY_M),
        with_geometry=fmt == "json",
    )
    if fmt == "csv":
        return csv_response(collection_to_csv(collection), f"district-{code}.csv")
    feature = dict(collection["features"][0])
    feature[METADATA_MEMBER] = collection[METADATA_MEMBER]
    return json_response(feature, geojson=True)


@api_endpoint({"city", "format"})
def wards_list(request: HttpRequest, params: QueryParams) -> HttpResponse:
    fmt = params.choice("format", FORMATS, "json")
    collection = layers.wards_collection(layers.resolve_city(params.code("city")))
    return _respond(collection, fmt, "wards.csv")


@api_endpoint({"city", "ward", "kind", "bbox", "limit", "offset", "geometry", "format"})
def resources_list(request: HttpRequest, params: QueryParams) -> HttpResponse:
    fmt = params.choice("format", FORMATS, "json")
    city = layers.resolve_city(params.code("city"))
    kinds = params.codes("kind")
    bbox = params.bbox("bbox")
    queryset = layers.resources(city=city, ward=layers.resolve_ward(params.code("ward"), city), kinds=kinds, bbox=bbox)
    limit = params.integer("limit", RESOURCES_DEFAULT_LIMIT, minimum=1, maximum=RESOURCES_MAX_LIMIT)
    offset = params.integer("offset", 0, minimum=0, maximum=10_000_000)
    geometry = params.choice("geometry", ("source", "point"), "source")
    total = queryset.count()
    next_offset = offset + limit if offset + limit < total else None
    next_url = None
    if next_offset is not None:
        query = request.GET.copy()
        query["offset"] = str(next_offset)
        next_url = f"{reverse('api:resources')}?{query.urlencode()}"
    collection = layers.resources_collection(
        queryset[offset:offset + limit],
        point_geometry=geometry == "point",
        layer_metadata={
            "kinds": kinds,
            "bbox": list(bbox) if bbox else None,
            "page": {"limit": limit, "offset": offset, "total": total, "next_offset": next_offset, "next": next_url},
        },
    )
    return _respond(collection, fmt, "resources.csv")


@api_endpoint({"city", "ward", "walk_distance", "limit", "format"})
def candidates_list(request: HttpRequest, params: QueryParams) -> HttpResponse:
    fmt = params.choice("format", FORMATS, "json")
    city = layers.resolve_city(params.code("city"))
    ward = layers.resolve_ward(params.code("ward"), city)
    walk_distance = params.integer("walk_distance", minimum=1, maximum=5000)
    if walk_distance is None:
        walk_distance = layers.default_walk_distance()
    limit = params.integer("limit", CANDIDATES_DEFAULT_LIMIT, minimum=1, maximum=CANDIDATES_MAX_LIMIT)
    queryset = layers.candidates(city=city, ward=ward, walk_distance_m=walk_distance)
    total = queryset.count()
    collection = layers.candidates_collection(
        queryset[:limit],
        layer_metadata={
            "city_code": city.code if city else None,
            "ward_code": ward.code if ward else None,
            "walk_distance_m": walk_distance,
            "page": {"limit": limit, "offset": 0, "total": total, "next_offset": None, "next": None},
        },
    )
    return _respond(collection, fmt, "candidates.csv")


@api_endpoint({"format"})
def siting_detail(request: HttpRequest, params: QueryParams, run_id: int) -> HttpResponse:
    fmt = params.choice("format", FORMATS, "json")
    collection = layers.siting_collection(layers.siting_run(run_id, parameter="id"))
    return _respond(collection, fmt, f"siting-{run_id}.csv")


@api_endpoint({"city", "format"})
def siting_latest(request: HttpRequest, params: QueryParams) -> HttpResponse:
    fmt = params.choice("format", FORMATS, "json")
    city = layers.resolve_city(params.code("city"))
    collection = layers.siting_collection(layers.siting_run(None, city=city, parameter="city"))
    return _respond(collection, fmt, "siting-latest.csv")


@api_endpoint({"indicator", "scheme", "k", "year", "city", "format"})
def indicators_view(request: HttpRequest, params: QueryParams) -> HttpResponse:
    fmt = params.choice("format", FORMATS, "json")
    code = params.code("indicator")
    city = layers.resolve_city(params.code("city"))
    if code is None:
        for name in ("scheme", "k", "year"):
            if params.text(name) is not None:
                raise layers.ParameterError(f"{name} needs indicator=<code> (class breaks of one indicator)", name)
        payload = layers.catalogue_payload(city)
        if fmt == "csv":
            rows = [entry | {"years": " ".join(str(y) for y in entry["years"])} for entry in payload["indicators"]]
            return csv_response(collection_to_csv(rows_collection(rows)), "indicators.csv")
        return json_response(payload)
    payload = layers.indicator_breaks(
        code,
        scheme=params.choice("scheme", layers.CLASS_SCHEMES, "quantiles"),
        k=params.integer("k", 5, minimum=2, maximum=MAX_K),
        year=_year(params),
        city=city,
    )
    if fmt == "csv":
        rows = [{"indicator": code, "year": payload["year"], **row} for row in payload["classes"]]
        return csv_response(collection_to_csv(rows_collection(rows)), f"breaks-{code}.csv")
    return json_response(payload)


@api_endpoint({"q", "city", "limit"})
def search_view(request: HttpRequest, params: QueryParams) -> HttpResponse:
    """Places by name (町丁, school districts, wards, facilities), best match first."""
    results = search_places(params.query.get("q"), city=params.code("city"),
                            limit=params.integer("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT))
    return json_response({"query": params.text("q"), "count": len(results), "results": results})


def published_layer_view(layer: PublishedLayer):
    """The endpoint of a layer another app registered: its own parameters, plus ``format``."""

    @api_endpoint({*layer.parameter_names, "format"})
    def view(request: HttpRequest, params: QueryParams) -> HttpResponse:
        fmt = params.choice("format", FORMATS, "json")
        collection = layer.build({name: params.text(name) for name in layer.parameter_names})
        return _respond(collection, fmt, f"{layer.name}.csv")

    view.__name__ = view.__qualname__ = f"{layer.name}_list"
    return view


@api_endpoint({"bbox", "year", "format"})
def small_areas_list(request: HttpRequest, params: QueryParams) -> HttpResponse:
    """Census small areas in a box, with their census ratios, change and suppressed flags."""
    fmt = params.choice("format", FORMATS, "json")
    bbox = params.bbox("bbox")
    if bbox is None:
        raise layers.ParameterError("bbox=minlon,minlat,maxlon,maxlat is required (small areas are many)", "bbox")
    collection = layers.small_areas_collection(bbox, year=_year(params))
    if fmt == "csv":
        for feature in collection["features"]:
            feature["properties"]["suppressed"] = " ".join(feature["properties"]["suppressed"])
    return _respond(collection, fmt, "small-areas.csv")


AREA_FORMATS = ("json", "geojson", "csv")


@api_endpoint({*layers.AREA_PARAMETERS, "year", "format"}, post_read=True)
def area_view(request: HttpRequest, params: QueryParams, body=None) -> HttpResponse:
    """The karte of any area: GET names it in the query (codes / geometry / lon,lat,radius), POST
    sends a GeoJSON geometry (or Feature, or {"codes": [...]}) as the body. Nothing is stored."""
    fmt = params.choice("format", AREA_FORMATS, "json")
    year = _year(params)
    if body is not None:
        given = [name for name in layers.AREA_PARAMETERS if params.text(name) is not None]
        if given:
            raise layers.ParameterError("a POST names the area in its body, not in the query", given[0])
        spec = layers.parse_area_json(body)
    else:
        spec = layers.parse_area_query({name: params.text(name) or "" for name in layers.AREA_PARAMETERS})
    report = layers.area_report(spec, year=year)
    if fmt == "csv":
        return csv_response(collection_to_csv(rows_collection(layers.area_csv_rows(report))), "area-karte.csv")
    if fmt == "geojson":
        return json_response(layers.area_feature(report), geojson=True)
    return json_response(layers.area_record(report))


@api_endpoint(set(), cached=False)  # built once per process, from code alone
def openapi_json(request: HttpRequest, params: QueryParams) -> HttpResponse:
    return json_response(openapi_document())
