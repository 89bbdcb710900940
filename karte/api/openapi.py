"""The OpenAPI 3.1 description of Karte's read-only API (served at ``/api/openapi.json``).

Tests validate every response body against the schemas here, so the document and the views cannot
drift apart silently.
"""
from __future__ import annotations

import copy
from functools import lru_cache

from karte.layers.extensions import PublishedLayer, published_layers

NULLABLE_NUMBER = {"type": ["number", "null"]}
NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_INTEGER = {"type": ["integer", "null"]}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _param(name: str, description: str, schema: dict, location: str = "query", required: bool = False) -> dict:
    return {"name": name, "in": location, "required": required or location == "path",
            "description": description, "schema": schema}


_CODE_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9_\\-]{1,64}$"}
_CODES_SCHEMA = {"type": "string", "description": "comma-separated codes", "examples": ["ageing_rate,walk_coverage"]}
_FORMAT = _param("format", "json (default: GeoJSON/JSON) or csv (UTF-8, no geometry)",
                 {"type": "string", "enum": ["json", "csv"], "default": "json"})
_YEAR = _param("year", "indicator year (default: the latest with values)", {"type": "integer", "minimum": 1900, "maximum": 2100})
_CITY = _param("city", "city JIS code, e.g. 14130", _CODE_SCHEMA)
_WARD = _param("ward", "ward JIS code, e.g. 14131", _CODE_SCHEMA)
_SIMPLIFY = _param("simplify", "geometry simplification tolerance in metres (topology preserved, in the city's projected CRS)",
                   {"type": "number", "minimum": 0, "maximum": 1000})
_INDICATORS = _param("indicators", "comma-separated indicator codes, or 'all'; default: the derived indicators "
                     "(list) / every stored figure (one district)", _CODES_SCHEMA)


def _error_responses(*statuses: int) -> dict:
    descriptions = {400: "bad or unknown query parameter", 404: "no such object", 405: "method not allowed (read-only API)",
                    413: "request body too large"}
    return {
        str(status): {"description": descriptions[status], "content": {"application/json": {"schema": _ref("Error")}}}
        for status in statuses
    }


def _ok(schema_name: str, description: str, *, geojson: bool = True, csv: bool = True) -> dict:
    content = {("application/geo+json" if geojson else "application/json"): {"schema": _ref(schema_name)}}
    if csv:
        content["text/csv"] = {"schema": {"type": "string"}}
    return {"200": {"description": description, "content": content}}


_GEOMETRY = {
    "type": ["object", "null"],
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"enum": ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"]},
        "coordinates": {"type": "array"},
    },
}

_SOURCE = {
    "type": "object",
    "required": ["id", "source_name", "url", "licence", "vintage"],
    "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string"}, "source_name": {"type": "string"},
        "url": NULLABLE_STRING, "licence": NULLABLE_STRING, "attribution": NULLABLE_STRING,
        "vintage": NULLABLE_INTEGER, "file_name": NULLABLE_STRING,
    },
}

_PAGE = {
    "type": "object",
    "required": ["limit", "offset", "total", "next_offset", "next"],
    "properties": {
        "limit": {"type": "integer"}, "offset": {"type": "integer"}, "total": {"type": "integer"},
        "next_offset": NULLABLE_INTEGER, "next": NULLABLE_STRING,
    },
}

_BASE_METADATA_PROPERTIES = {
    "layer": {"type": "string"},
    "generated_at": {"type": "string"},
    "coordinates": {"type": "string"},
    "coordinate_decimals": {"type": "integer"},
    "sources": {"type": "array", "items": _ref("Source")},
    "feature_count": {"type": "integer"},
}


def _metadata(extra: dict, required: list[str] = ()) -> dict:
    return {
        "type": "object",
        "required": ["layer", "coordinates", "sources", "feature_count", *required],
        "properties": {**_BASE_METADATA_PROPERTIES, **extra},
    }


def _feature(properties_schema: str, id_schema: dict) -> dict:
    return {
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "not": {"required": ["crs"]},
        "properties": {
            "type": {"const": "Feature"}, "id": id_schema, "geometry": _GEOMETRY, "properties": _ref(properties_schema),
        },
    }


def _collection(feature_schema: str, metadata_schema: str) -> dict:
    return {
        "type": "object",
        "required": ["type", "features", "karte:metadata"],
        "not": {"required": ["crs"]},
        "properties": {
            "type": {"const": "FeatureCollection"},
            "features": {"type": "array", "items": _ref(feature_schema)},
            "karte:metadata": _ref(metadata_schema),
        },
    }


_INDICATOR_SPEC = {
    "type": "object",
    "required": ["code", "label_ja", "label_en", "unit", "kind", "higher_is", "description_ja", "in_catalogue"],
    "properties": {
        "code": {"type": "string"}, "label_ja": NULLABLE_STRING, "label_en": NULLABLE_STRING, "unit": NULLABLE_STRING,
        "kind": NULLABLE_STRING, "higher_is": NULLABLE_STRING, "description_ja": NULLABLE_STRING,
        "in_catalogue": {"type": "boolean", "description": "false: found in the database, not in spatial/indicators.py"},
    },
}

_AREA_VALUES = {"type": "object", "additionalProperties": NULLABLE_NUMBER,
                "description": "value by ward/city JIS code"}

_INDICATOR_METADATA = {
    "type": "object",
    "required": ["code", "label_ja", "unit", "year", "method", "dataset_ids", "ward_values", "city_values"],
    "properties": {
        "code": {"type": "string"}, "label_ja": {"type": "string"}, "label_en": {"type": "string"},
        "unit": NULLABLE_STRING, "kind": NULLABLE_STRING, "higher_is": NULLABLE_STRING, "year": NULLABLE_INTEGER,
        "method": NULLABLE_STRING, "method_id": NULLABLE_STRING, "parameters": {"type": ["object", "null"]},
        "dataset_ids": {"type": "array", "items": {"type": "integer"}},
        "district_count_with_value": {"type": "integer"}, "max_uncertain_share": NULLABLE_NUMBER,
        "ward_values": _AREA_VALUES, "city_values": _AREA_VALUES,
    },
}

_DISTRICT_PROPERTIES = {
    "type": "object",
    "required": ["code", "name_ja", "name_romaji", "ward_code", "ward_name_ja"],
    "properties": {
        "code": {"type": "string"}, "name_ja": {"type": "string"}, "name_romaji": NULLABLE_STRING,
        "school_name": NULLABLE_STRING, "ward_code": NULLABLE_STRING, "ward_name_ja": NULLABLE_STRING, "ward_name_en": NULLABLE_STRING,
        "city_code": {"type": "string"},
    },
    "patternProperties": {"__rank$": NULLABLE_INTEGER},
    "additionalProperties": NULLABLE_NUMBER,
    "description": "per indicator: <code> (value or null) and <code>__rank (1 = highest among the city's districts)",
}

_WARD_PROPERTIES = {
    "type": "object",
    "required": ["code", "name_ja", "name_en", "city_code"],
    "additionalProperties": False,
    "properties": {"code": {"type": "string"}, "name_ja": {"type": "string"}, "name_en": NULLABLE_STRING,
                   "city_code": {"type": "string"}},
}

_RESOURCE_PROPERTIES = {
    "type": "object",
    "required": ["id", "kind", "name", "is_public", "lon", "lat"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer"}, "source_key": {"type": "string"}, "kind": {"type": "string"},
        "kind_label_ja": NULLABLE_STRING, "name": NULLABLE_STRING, "address": NULLABLE_STRING,
        "is_public": {"type": "boolean"}, "is_gathering_place": {"type": "boolean"}, "area_m2": NULLABLE_NUMBER,
        "district_code": NULLABLE_STRING, "lon": NULLABLE_NUMBER, "lat": NULLABLE_NUMBER,
        "dataset_id": NULLABLE_INTEGER,
    },
}

_CANDIDATE_PROPERTIES = {
    "type": "object",
    "required": ["rank", "resource_id", "walk_distance_m", "score", "lon", "lat"],
    "additionalProperties": False,
    "properties": {
        "rank": {"type": "integer"}, "candidate_id": {"type": "integer"}, "resource_id": {"type": "integer"},
        "name": NULLABLE_STRING, "kind": {"type": "string"}, "kind_label_ja": NULLABLE_STRING,
        "address": NULLABLE_STRING, "district_code": NULLABLE_STRING, "walk_distance_m": {"type": "integer"},
        "score": NULLABLE_NUMBER, "elderly_reached": NULLABLE_NUMBER, "elderly_alone_reached": NULLABLE_NUMBER,
        "uncovered_elderly_reached": NULLABLE_NUMBER, "method": NULLABLE_STRING,
        "lon": NULLABLE_NUMBER, "lat": NULLABLE_NUMBER,
    },
}

_SITE_PROPERTIES = {
    "type": "object",
    "required": ["order", "resource_id", "newly_covered", "lon", "lat"],
    "additionalProperties": False,
    "properties": {
        "order": {"type": "integer"}, "resource_id": {"type": "integer"}, "newly_covered": NULLABLE_NUMBER,
        "covered_cumulative": NULLABLE_NUMBER, "name": NULLABLE_STRING, "kind": NULLABLE_STRING,
        "kind_label_ja": NULLABLE_STRING, "address": NULLABLE_STRING, "district_code": NULLABLE_STRING,
        "lon": NULLABLE_NUMBER, "lat": NULLABLE_NUMBER,
    },
}

_SITING_RUN = {
    "type": "object",
    "required": ["id", "city_code", "walk_distance_m", "k", "solver", "demand_total", "covered_before", "covered_after"],
    "properties": {
        "id": {"type": "integer"}, "city_code": {"type": "string"}, "ward_code": NULLABLE_STRING,
        "candidate_kinds": {"type": "array", "items": {"type": "string"}}, "walk_distance_m": {"type": "integer"},
        "k": {"type": "integer"}, "solver": {"type": "string"}, "demand_total": NULLABLE_NUMBER,
        "covered_before": NULLABLE_NUMBER, "covered_after": NULLABLE_NUMBER,
        "coverage_before_pct": NULLABLE_NUMBER, "coverage_after_pct": NULLABLE_NUMBER, "gap": NULLABLE_NUMBER,
        "runtime_s": NULLABLE_NUMBER, "method": NULLABLE_STRING, "created_at": NULLABLE_STRING,
    },
}

_DISTRICT_FEATURE_WITH_METADATA = {
    "allOf": [_ref("DistrictFeature"), {"type": "object", "required": ["karte:metadata"],
                                         "properties": {"karte:metadata": _ref("DistrictsMetadata")}}],
}

_CLASS_BREAKS = {
    "type": "object",
    "required": ["indicator", "year", "scheme", "k", "breaks", "classes", "min", "max", "ward_values", "city_values"],
    "properties": {
        "indicator": _ref("IndicatorSpec"), "year": {"type": "integer"},
        "scheme": {"enum": ["quantiles", "natural_breaks", "equal_interval"]},
        "k_requested": {"type": "integer"}, "k": {"type": "integer", "description": "classes formed (≤ k_requested)"},
        "breaks": {"type": "array", "items": {"type": "number"}, "description": "k+1 class edges, min first"},
        "classes": {"type": "array", "items": {
            "type": "object", "required": ["class", "lower", "upper", "count"],
            "properties": {"class": {"type": "integer"}, "lower": {"type": "number"}, "upper": {"type": "number"},
                           "count": {"type": "integer"}},
        }},
        "min": {"type": "number"}, "max": {"type": "number"}, "district_count": {"type": "integer"},
        "missing_count": {"type": "integer"}, "ward_values": _AREA_VALUES, "city_values": _AREA_VALUES,
    },
}

_CATALOGUE = {
    "type": "object",
    "required": ["indicators", "count"],
    "properties": {
        "count": {"type": "integer"},
        "indicators": {"type": "array", "items": {"allOf": [_ref("IndicatorSpec"), {
            "type": "object", "required": ["years"],
            "properties": {"years": {"type": "array", "items": {"type": "integer"}}}}]}},
    },
}


_PLACE = {
    "type": "object", "additionalProperties": False,
    "required": ["kind", "group", "code", "name", "match", "bbox", "point", "url"],
    "properties": {
        "kind": {"type": "string", "enum": ["district", "ward", "small_area", "resource"],
                 "description": "small_area: a 町丁・字 of the latest census; resource: a facility or other resource"},
        "group": {"type": "string", "enum": ["area", "facility"]},
        "code": {"type": "string", "description": "district code, ward JIS code, small area KEY_CODE or resource id"},
        "name": {"type": "string"},
        "name_romaji": {"type": "string"},
        "detail": {"type": "string", "description": "where it lies (ward, city) or a resource's kind"},
        "city_code": {"type": "string"},
        "resource_kind": NULLABLE_STRING,
        "match": {"type": "string", "enum": ["exact", "prefix", "contains"]},
        "bbox": {"type": ["array", "null"], "items": {"type": "number"}, "minItems": 4, "maxItems": 4,
                 "description": "[west, south, east, north] in degrees (areas)"},
        "point": {"type": ["array", "null"], "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
                  "description": "[lon, lat] in degrees (facilities)"},
        "url": {"type": ["string", "null"], "description": "the karte that shows it: district page, ward page, "
                                                         "small-area karte (/area/?codes=…)"},
    },
}


def _schema_name(layer: PublishedLayer) -> str:
    return "".join(part.capitalize() for part in layer.name.replace("-", "_").split("_"))


def _published_paths() -> dict:
    """Paths of the layers other apps registered (``karte.layers.extensions``)."""
    return {
        f"/api/{layer.name}/": {"get": {
            "summary": layer.summary,
            "operationId": f"list{_schema_name(layer)}",
            "parameters": [*layer.parameters, _FORMAT],
            "responses": {**_ok(f"{_schema_name(layer)}Collection", layer.summary), **_error_responses(400, 404, 405)},
        }}
        for layer in published_layers()
    }


def _published_schemas() -> dict:
    schemas = {}
    for layer in published_layers():
        name = _schema_name(layer)
        schemas[f"{name}Properties"] = layer.properties_schema
        schemas[f"{name}Feature"] = _feature(f"{name}Properties", {"type": ["integer", "string"]})
        schemas[f"{name}Metadata"] = _metadata(layer.metadata_schema)
        schemas[f"{name}Collection"] = _collection(f"{name}Feature", f"{name}Metadata")
    return schemas


_NUMBERS = {"type": "array", "items": NULLABLE_NUMBER}
_AREA_KARTE = {
    "type": "object",
    "required": ["area", "year", "previous_year", "method", "method_label", "method_text", "columns", "rows",
                 "pyramid", "small_areas", "resources", "candidates", "sources"],
    "properties": {
        "area": {"type": "object", "required": ["kind", "query", "title", "city_code", "area_km2"], "properties": {
            "kind": {"enum": ["codes", "polygon", "circle"]},
            "query": {"type": "object", "additionalProperties": {"type": "string"},
                      "description": "the query string naming the area (a permalink's parameters)"},
            "title": {"type": "string"}, "city_code": {"type": "string"}, "city_name_ja": {"type": "string"},
            "area_km2": NULLABLE_NUMBER}},
        "year": NULLABLE_INTEGER, "previous_year": NULLABLE_INTEGER,
        "method": {"enum": ["whole", "area", "dasymetric"],
                   "description": "whole small areas summed, area-weighted, or dasymetric (population layer)"},
        "method_label": {"type": "string"}, "method_text": {"type": "string"},
        "columns": {"type": "array", "description": "comparison columns: overlapped districts, the ward (cities with "
                    "wards only) and the city", "items": {"type": "object", "required": ["tier", "code", "name_ja"],
                                                         "properties": {"tier": {"enum": ["district", "ward", "city"]},
                                                                        "code": {"type": "string"},
                                                                        "name_ja": {"type": "string"}}}},
        "rows": {"type": "array", "items": {"type": "object", "required": [
            "code", "label", "unit", "value", "previous", "change", "comparisons", "year", "method"], "properties": {
            "code": {"type": "string"}, "label": {"type": "string"}, "unit": {"type": "string"},
            "value": NULLABLE_NUMBER, "previous": NULLABLE_NUMBER, "change": NULLABLE_NUMBER,
            "comparisons": _NUMBERS, "year": NULLABLE_INTEGER, "previous_year": NULLABLE_INTEGER,
            "method": {"type": "string"}, "uncertain_share": NULLABLE_NUMBER,
            "source_numbers": {"type": "array", "items": {"type": "integer"}}}}},
        "pyramid": {"type": ["object", "null"], "properties": {
            "year": {"type": "integer"}, "male": {"type": "object", "additionalProperties": {"type": "number"}},
            "female": {"type": "object", "additionalProperties": {"type": "number"}}}},
        "small_areas": {"type": "array", "items": {"type": "object", "required": ["key_code", "fraction"], "properties": {
            "key_code": {"type": "string"}, "name_ja": {"type": "string"},
            "fraction": {"type": "number", "minimum": 0, "maximum": 1}}}},
        "resources": {"type": "array", "items": {"type": "object"}},
        "candidates": {"type": "array", "items": {"type": "object"}},
        "sources": {"type": "array", "items": {"type": "object"}},
    },
}
_AREA_PARAMETERS = [
    _param("codes", "comma-separated census small-area codes (KEY_CODE), at most 300", {"type": "string"}),
    _param("geometry", "a polygon: lon,lat,lon,lat,… (WGS84/JGD2011 degrees; rings joined by ';', polygons by '|'), "
           "at most 2000 vertices", {"type": "string"}),
    _param("lon", "centre of a walking circle (with lat and radius)", {"type": "number", "minimum": -180, "maximum": 180}),
    _param("lat", "centre of a walking circle", {"type": "number", "minimum": -90, "maximum": 90}),
    _param("radius", "radius of the walking circle in metres", {"type": "number", "minimum": 50, "maximum": 3000}),
    _param("year", "census year (default: the latest loaded)", {"type": "integer", "minimum": 1900, "maximum": 2100}),
    _param("format", "json (the karte), geojson (a Feature with the figures as properties) or csv (one row per "
           "indicator)", {"type": "string", "enum": ["json", "geojson", "csv"], "default": "json"}),
]
_AREA_RESPONSES = {
    "200": {"description": "the area's karte", "content": {
        "application/json": {"schema": _ref("AreaKarte")},
        "application/geo+json": {"schema": {"type": "object", "required": ["type", "geometry", "properties"]}},
        "text/csv": {"schema": {"type": "string"}}}},
    **_error_responses(400, 405),
}


@lru_cache(maxsize=1)
def _document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Karte API (地区カルテ)",
            "version": "1.0.0",
            "description": (
                "Read-only GeoJSON/JSON/CSV API of Karte. Coordinates are WGS84 lon/lat (RFC 7946); "
                "every collection carries provenance in the foreign member 'karte:metadata'. "
                "Unknown or malformed query parameters give HTTP 400 {error, parameter}."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/api/districts/": {"get": {
                "summary": "小学校区 (districts) with indicator values",
                "operationId": "listDistricts",
                "parameters": [_CITY, _WARD, _INDICATORS, _YEAR, _SIMPLIFY, _FORMAT],
                "responses": {**_ok("DistrictCollection", "districts as a FeatureCollection"),
                              **_error_responses(400, 405)},
            }},
            "/api/districts/{code}/": {"get": {
                "summary": "one district as a Feature with 'karte:metadata'",
                "operationId": "getDistrict",
                "parameters": [_param("code", "district code", {"type": "string"}, "path"),
                               _INDICATORS, _YEAR, _SIMPLIFY, _FORMAT],
                "responses": {**_ok("DistrictFeatureWithMetadata", "the district"),
                              **_error_responses(400, 404, 405)},
            }},
            "/api/wards/": {"get": {
                "summary": "ward boundaries (区界) with codes and names",
                "operationId": "listWards",
                "parameters": [_CITY, _FORMAT],
                "responses": {**_ok("WardCollection", "wards as a FeatureCollection"), **_error_responses(400, 405)},
            }},
            "/api/resources/": {"get": {
                "summary": "resources (施設・資源), paginated and bbox-bounded",
                "operationId": "listResources",
                "parameters": [
                    _CITY, _WARD,
                    _param("kind", "comma-separated resource kinds (ResourceKind)", _CODES_SCHEMA),
                    _param("bbox", "minlon,minlat,maxlon,maxlat (WGS84)", {"type": "string"}),
                    _param("limit", "page size (max 2000)", {"type": "integer", "minimum": 1, "maximum": 2000, "default": 500}),
                    _param("offset", "features to skip", {"type": "integer", "minimum": 0, "default": 0}),
                    _param("geometry", "source geometry (point or polygon) or the location point",
                           {"type": "string", "enum": ["source", "point"], "default": "source"}),
                    _FORMAT,
                ],
                "responses": {**_ok("ResourceCollection", "one page of resources"), **_error_responses(400, 405)},
            }},
            "/api/candidates/": {"get": {
                "summary": "candidate ひろば sites, best score first",
                "operationId": "listCandidates",
                "parameters": [
                    _CITY, _WARD,
                    _param("walk_distance", "walking distance in metres the scores were computed for",
                           {"type": "integer", "minimum": 1, "maximum": 5000}),
                    _param("limit", "how many (max 1000)", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}),
                    _FORMAT,
                ],
                "responses": {**_ok("CandidateCollection", "candidate sites"), **_error_responses(400, 405)},
            }},
            "/api/siting/{id}/": {"get": {
                "summary": "the sites one SitingRun chose, in order",
                "operationId": "getSitingRun",
                "parameters": [_param("id", "SitingRun id", {"type": "integer"}, "path"), _FORMAT],
                "responses": {**_ok("SiteCollection", "chosen sites"), **_error_responses(400, 404, 405)},
            }},
            "/api/siting/latest/": {"get": {
                "summary": "the sites the latest published SitingRun (of one city, when asked) chose, in order",
                "operationId": "getLatestSitingRun",
                "parameters": [_CITY, _FORMAT],
                "responses": {**_ok("SiteCollection", "chosen sites"), **_error_responses(400, 404, 405)},
            }},
            "/api/indicators/": {"get": {
                "summary": "indicator catalogue, or class breaks of one indicator",
                "operationId": "indicators",
                "parameters": [
                    _param("indicator", "indicator code: answer its class breaks instead of the catalogue", _CODE_SCHEMA),
                    _param("scheme", "classification (mapclassify)",
                           {"type": "string", "enum": ["quantiles", "natural_breaks", "equal_interval"], "default": "quantiles"}),
                    _param("k", "number of classes", {"type": "integer", "minimum": 2, "maximum": 10, "default": 5}),
                    _YEAR, _CITY, _FORMAT,
                ],
                "responses": {
                    "200": {"description": "catalogue (no indicator) or class breaks (indicator=…)", "content": {
                        "application/json": {"schema": {"oneOf": [_ref("IndicatorCatalogue"), _ref("ClassBreaks")]}},
                        "text/csv": {"schema": {"type": "string"}},
                    }},
                    **_error_responses(400, 405),
                },
            }},
            "/api/area/": {
                "get": {
                    "summary": "the karte of any area: small areas by code, a polygon, or a walking circle",
                    "description": "Census counts of the small areas meeting the area are apportioned to it "
                                   "(whole small areas summed exactly; cut ones by land area, or dasymetrically by "
                                   "a population layer when one is loaded); ratios from the summed counts; the "
                                   "previous census apportioned the same way (codes carried over by the "
                                   "correspondence table). Too large (> 150 km²), too complex (> 2000 vertices, > 300 "
                                   "codes) or out-of-city areas give HTTP 400 naming the parameter.",
                    "operationId": "areaKarte",
                    "parameters": _AREA_PARAMETERS,
                    "responses": _AREA_RESPONSES,
                },
                "post": {
                    "summary": "the karte of an area sent as GeoJSON (a read: nothing is stored, no CSRF token needed)",
                    "operationId": "areaKarteFromGeoJSON",
                    "parameters": [p for p in _AREA_PARAMETERS if p["name"] in ("year", "format")],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "description": "a GeoJSON Polygon/MultiPolygon or a Feature holding one (lon/lat); a Point "
                                       "(or Feature) with 'radius' in metres; or {\"codes\": [KEY_CODE, …]}",
                        "type": "object"}}}},
                    "responses": {**_AREA_RESPONSES, **_error_responses(400, 405, 413)},
                },
            },
            "/api/small-areas/": {"get": {
                "summary": "census small areas (町丁・字) in a box, with their census ratios and change",
                "description": "Ratios from the small area's own cells; a ratio resting on a suppressed cell is "
                               "null and named in 'suppressed' (not zero). Change: percentage points since the "
                               "previous census, its cells carried over by the correspondence table. At most 4000 "
                               "small areas per box (400: zoom in).",
                "operationId": "listSmallAreas",
                "parameters": [_param("bbox", "minlon,minlat,maxlon,maxlat (WGS84), required", {"type": "string"},
                                      required=True),
                               _param("year", "census year (default: the latest loaded)",
                                      {"type": "integer", "minimum": 1900, "maximum": 2100}), _FORMAT],
                "responses": {**_ok("SmallAreaCollection", "small areas as a FeatureCollection"),
                              **_error_responses(400, 405)},
            }},
            "/api/search/": {"get": {
                "summary": "places by name: 町丁 (census small areas), school districts, wards, facilities",
                "description": "Matches what is loaded (no online geocoder). Full- and half-width forms, katakana and "
                               "hiragana, 丁目 written with kanji or digits (三丁目 = 3丁目 = ３丁目) are the same; a query "
                               "in kana or latin letters also meets the romaji the data carries. Ranked exact > prefix > "
                               "contains, areas before facilities.",
                "operationId": "searchPlaces",
                "parameters": [
                    _param("q", "what to look for (1–100 characters), e.g. 上麻生三丁目, 百合丘, ゆりがおか, 市民館",
                           {"type": "string", "minLength": 1, "maxLength": 100}, required=True),
                    _CITY,
                    _param("limit", "how many results (max 50)", {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}),
                ],
                "responses": {
                    "200": {"description": "matching places, best first",
                            "content": {"application/json": {"schema": _ref("SearchResults")}}},
                    **_error_responses(400, 405),
                },
            }},
            "/api/openapi.json": {"get": {
                "summary": "this document",
                "operationId": "openapi",
                "responses": {"200": {"description": "OpenAPI 3.1 document",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              **_error_responses(400, 405)},
            }},
            **_published_paths(),
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error", "parameter"], "additionalProperties": False,
                      "properties": {"error": {"type": "string"}, "parameter": NULLABLE_STRING}},
            "Source": _SOURCE,
            "Page": _PAGE,
            "IndicatorSpec": _INDICATOR_SPEC,
            "IndicatorMetadata": _INDICATOR_METADATA,
            "DistrictProperties": _DISTRICT_PROPERTIES,
            "DistrictFeature": _feature("DistrictProperties", {"type": "string"}),
            "DistrictsMetadata": _metadata({
                "city_code": NULLABLE_STRING, "ward_code": NULLABLE_STRING, "year": NULLABLE_INTEGER,
                "available_years": {"type": "array", "items": {"type": "integer"}},
                "indicators": {"type": "object", "additionalProperties": _ref("IndicatorMetadata")},
                "simplify_m": NULLABLE_NUMBER, "rank_note": {"type": "string"},
            }, ["year", "indicators"]),
            "DistrictCollection": _collection("DistrictFeature", "DistrictsMetadata"),
            "DistrictFeatureWithMetadata": _DISTRICT_FEATURE_WITH_METADATA,
            "WardProperties": _WARD_PROPERTIES,
            "WardFeature": _feature("WardProperties", {"type": "string"}),
            "WardsMetadata": _metadata({"city_code": NULLABLE_STRING}),
            "WardCollection": _collection("WardFeature", "WardsMetadata"),
            "ResourceProperties": _RESOURCE_PROPERTIES,
            "ResourceFeature": _feature("ResourceProperties", {"type": "integer"}),
            "ResourcesMetadata": _metadata({
                "kinds": {"type": ["array", "null"], "items": {"type": "string"}},
                "bbox": {"type": ["array", "null"], "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
                "page": _ref("Page"),
            }, ["page"]),
            "ResourceCollection": _collection("ResourceFeature", "ResourcesMetadata"),
            "CandidateProperties": _CANDIDATE_PROPERTIES,
            "CandidateFeature": _feature("CandidateProperties", {"type": "integer"}),
            "CandidatesMetadata": _metadata({
                "ward_code": NULLABLE_STRING, "walk_distance_m": NULLABLE_INTEGER, "page": _ref("Page"),
            }),
            "CandidateCollection": _collection("CandidateFeature", "CandidatesMetadata"),
            "SiteProperties": _SITE_PROPERTIES,
            "SiteFeature": _feature("SiteProperties", {"type": "integer"}),
            "SitingRun": _SITING_RUN,
            "SitesMetadata": _metadata({"siting_run": _ref("SitingRun")}, ["siting_run"]),
            "SiteCollection": _collection("SiteFeature", "SitesMetadata"),
            "IndicatorCatalogue": _CATALOGUE,
            "ClassBreaks": _CLASS_BREAKS,
            "AreaKarte": _AREA_KARTE,
            "SmallAreaProperties": {"type": "object", "required": ["key_code", "name_ja", "city_code", "year", "lon",
                                                                   "lat", "pop_total", "suppressed"], "properties": {
                "key_code": {"type": "string"}, "name_ja": {"type": "string"}, "city_code": {"type": "string"},
                "year": {"type": "integer"}, "lon": {"type": "number"}, "lat": {"type": "number"},
                "pop_total": NULLABLE_NUMBER,
                "suppressed": {"type": "array", "items": {"type": "string"}}},
                "additionalProperties": NULLABLE_NUMBER},
            "SmallAreaFeature": _feature("SmallAreaProperties", {"type": "string"}),
            "SmallAreasMetadata": _metadata({"year": NULLABLE_INTEGER, "previous_year": NULLABLE_INTEGER,
                                             "bbox": {"type": "array", "items": {"type": "number"}},
                                             "indicators": {"type": "array", "items": {"type": "string"}},
                                             "method": {"type": "string"}}, ["year"]),
            "SmallAreaCollection": _collection("SmallAreaFeature", "SmallAreasMetadata"),
            "Place": _PLACE,
            "SearchResults": {"type": "object", "required": ["query", "count", "results"], "additionalProperties": False,
                              "properties": {"query": NULLABLE_STRING, "count": {"type": "integer", "minimum": 0},
                                             "results": {"type": "array", "items": _ref("Place")}}},
            **_published_schemas(),
        }},
    }


def openapi_document() -> dict:
    """A fresh copy of the OpenAPI 3.1 document (callers may mutate it)."""
    return copy.deepcopy(_document())
