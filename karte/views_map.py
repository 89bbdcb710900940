"""GeoJSON layers for the map pages, under ``/map-data/``.

The map fetches its large layers (every district polygon with its indicator values, every
resource point) instead of having them inlined in the HTML: the page stays small and cacheable,
the browser renders the frame at once, and the layers load in parallel. These views are thin and
reuse ``karte/geojson.py`` (the serialisation the HTTP API and the export use), so the map shows
the same names and numbers as ``/api/``. Ward boundaries and the latest siting run are only needed
by the map, which is why they live here and not in the public API.
"""
from __future__ import annotations

from django.http import Http404, HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from . import geojson
from .export import candidates_queryset, resources_in_ward
from .models import Resource, SitingRun, Ward


def _json(payload: dict) -> JsonResponse:
    return JsonResponse(payload, json_dumps_params={"ensure_ascii": False, "separators": (",", ":")})


def _error(error: geojson.ExportParameterError) -> JsonResponse:
    return JsonResponse({"error": error.message, "parameter": error.parameter}, status=400)


def _codes(request: HttpRequest, name: str) -> list[str] | None:
    raw = request.GET.get(name, "").strip()
    return [part.strip() for part in raw.split(",") if part.strip()] or None


@require_GET
def districts(request: HttpRequest) -> JsonResponse:
    """Districts with the indicator values asked for (``?indicators=a,b&ward=&city=&year=``)."""
    try:
        city = geojson.resolve_city(request.GET.get("city"))
        ward = geojson.resolve_ward(request.GET.get("ward"), city)
        year = int(request.GET["year"]) if request.GET.get("year") else None
        simplify = float(request.GET["simplify"]) if request.GET.get("simplify") else None
        payload = geojson.districts_collection(
            city=city, ward=ward, indicators=_codes(request, "indicators"), year=year, simplify_m=simplify
        )
    except geojson.ExportParameterError as error:
        return _error(error)
    except ValueError as error:
        return JsonResponse({"error": str(error), "parameter": "year/simplify"}, status=400)
    return _json(payload)


@require_GET
def resources(request: HttpRequest) -> JsonResponse:
    """Resources as points (their location), optionally of some kinds (``?kind=a,b``) or inside one
    ward's boundary (``?ward=``, as ``/api/`` and the exports select them)."""
    queryset = Resource.objects.order_by("kind", "name")
    kinds = _codes(request, "kind")
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    try:
        ward = geojson.resolve_ward(request.GET.get("ward"))
    except geojson.ExportParameterError as error:
        return _error(error)
    if ward is not None:
        queryset = resources_in_ward(queryset, ward)
    return _json(geojson.resources_collection(queryset, point_geometry=True))


@require_GET
def candidates(request: HttpRequest) -> JsonResponse:
    """Candidate ひろば sites for one walking distance (``?walk_distance_m=``, default 500 m or the
    shortest scored), best score first, optionally in one ward (``?ward=``) and only the best
    ``?limit=`` of them — the same selection as ``/api/candidates/``."""
    try:
        distance = int(request.GET["walk_distance_m"]) if request.GET.get("walk_distance_m") else None
    except ValueError:
        return JsonResponse({"error": "walk_distance_m must be whole metres", "parameter": "walk_distance_m"}, status=400)
    try:
        ward = geojson.resolve_ward(request.GET.get("ward"))
    except geojson.ExportParameterError as error:
        return _error(error)
    queryset = candidates_queryset(ward=ward, walk_distance_m=distance)
    if request.GET.get("limit"):
        try:
            queryset = queryset[: max(1, int(request.GET["limit"]))]
        except ValueError:
            return JsonResponse({"error": "limit must be a whole number", "parameter": "limit"}, status=400)
    return _json(geojson.candidates_collection(queryset))


@require_GET
def wards(request: HttpRequest) -> JsonResponse:
    """Ward boundaries (区界) with their codes and names."""
    features = []
    for ward in Ward.objects.select_related("city").exclude(geom__isnull=True).order_by("code"):
        geometry = geojson.geometry_to_geojson(geojson.shapely_from_geos(ward.geom))
        features.append(geojson.feature(ward.code, geometry, {
            "code": ward.code, "name_ja": ward.name_ja, "name_en": ward.name_en or None, "city_code": ward.city.code,
        }))
    return _json(geojson.feature_collection(features, {"layer": "wards", "feature_count": len(features)}))


@require_GET
def siting_run(request: HttpRequest, run_id: int) -> JsonResponse:
    """The sites one siting run chose (``run_id`` 0 = the latest run)."""
    if run_id == 0:
        run = SitingRun.objects.select_related("city", "ward").order_by("-created_at", "-pk").first()
        if run is None:
            raise Http404("no siting run yet")
    else:
        run = get_object_or_404(SitingRun.objects.select_related("city", "ward"), pk=run_id)
    return _json(geojson.siting_collection(run))
