"""Lookups of the read side: the one way to turn a code from a request, a form or a command option
into a City, Ward, District or siting run, and the one set of querysets over resources and candidate
sites. Every unknown code raises :class:`~karte.layers.errors.ParameterError` naming the parameter.

Below the rest of the read side (only models and errors are imported), so :mod:`.frames` and the
siting service find cities the same way as the API does.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.contrib.gis.geos import Polygon
from django.db.models import Q, QuerySet

from karte.models import STORAGE_SRID, CandidateSite, City, District, Resource, ResourceKind, SitingRun, Ward

from .errors import NotFoundError, ParameterError

DEFAULT_WALK_DISTANCE_M = 500


# ---------------------------------------------------------------------------------------------
# Places
# ---------------------------------------------------------------------------------------------

def resolve_city(city: City | str | int | None, *, default_first: bool = False,
                 parameter: str = "city") -> City | None:
    """A City from an instance or a JIS code (``"14130"``).

    ``None`` gives ``None`` — no filter — or, with ``default_first``, the only / first loaded city
    (what analysts and the compute step mean when they name no city). An unknown code, or no city
    loaded when one is needed, raises :class:`ParameterError`.
    """
    if isinstance(city, City):
        return city
    if city is None or str(city).strip() == "":
        if not default_first:
            return None
        found = City.objects.order_by("code").first()
        if found is None:
            raise ParameterError("no city is loaded yet: run `python manage.py load_demo` first", parameter)
        return found
    code = str(city).strip()
    found = City.objects.filter(code=code).first()
    if found is None:
        known = ", ".join(City.objects.order_by("code").values_list("code", flat=True)) or "none"
        raise ParameterError(f"no city with JIS code {code!r} (loaded: {known})", parameter)
    return found


def resolve_ward(ward: Ward | str | int | None, city: City | None = None, *, parameter: str = "ward") -> Ward | None:
    """A Ward from an instance or a JIS code (``"14131"``), optionally required to be in ``city``;
    ``None`` gives ``None``."""
    if ward is None or (not isinstance(ward, Ward) and str(ward).strip() == ""):
        return None
    if not isinstance(ward, Ward):
        code = str(ward).strip()
        ward = Ward.objects.select_related("city").filter(code=code).first()
        if ward is None:
            raise ParameterError(f"no ward with JIS code {code!r}", parameter)
    if city is not None and ward.city_id != city.pk:
        raise ParameterError(f"ward {ward.code} is not in city {city.code}", parameter)
    return ward


def get_district(code: str, *, parameter: str = "code") -> District:
    """The district of ``code`` (with its city and ward), or :class:`NotFoundError` (HTTP 404)."""
    district = District.objects.select_related("city", "ward", "dataset").filter(code=code).first()
    if district is None:
        raise NotFoundError(f"no district with code {code!r}", parameter)
    return district


def get_ward(code: str, *, parameter: str = "code") -> Ward:
    """The ward of ``code`` (with its city), or :class:`NotFoundError` (HTTP 404)."""
    ward = Ward.objects.select_related("city").filter(code=code).first()
    if ward is None:
        raise NotFoundError(f"no ward with JIS code {code!r}", parameter)
    return ward


def get_city(code: str, *, parameter: str = "code") -> City:
    """The city of ``code`` (a page's path names one), or :class:`NotFoundError` (HTTP 404); a query
    parameter that may be empty goes through :func:`resolve_city` instead."""
    city = City.objects.filter(code=code).first()
    if city is None:
        raise NotFoundError(f"no city with JIS code {code!r}", parameter)
    return city


def cities() -> QuerySet[City]:
    return City.objects.order_by("code")


def wards(city: City | None = None) -> QuerySet[Ward]:
    """Wards (of ``city``), by code."""
    queryset = Ward.objects.select_related("city").order_by("code")
    return queryset.filter(city=city) if city is not None else queryset


def districts(*, city: City | None = None, ward: Ward | None = None,
              codes: Sequence[str] | None = None) -> QuerySet[District]:
    """Districts (of a city, a ward, or of some codes), with ward and city, by code."""
    queryset = District.objects.select_related("ward", "city").order_by("code")
    if ward is not None:
        queryset = queryset.filter(ward=ward)
    if city is not None:
        queryset = queryset.filter(city=city)
    if codes is not None:
        queryset = queryset.filter(code__in=list(codes))
    return queryset


# ---------------------------------------------------------------------------------------------
# Resources
# ---------------------------------------------------------------------------------------------

def validate_kinds(kinds: Iterable[str] | None, *, parameter: str = "kind") -> list[str] | None:
    """``kinds`` checked against the vocabulary (``ResourceKind``), duplicates dropped; ``None`` or
    empty gives ``None`` (every kind)."""
    if not kinds:
        return None
    chosen = list(dict.fromkeys(str(kind) for kind in kinds))
    unknown = [kind for kind in chosen if kind not in ResourceKind.values]
    if unknown:
        raise ParameterError(
            f"unknown resource kind(s) {', '.join(unknown)}; known: {', '.join(ResourceKind.values)}", parameter
        )
    return chosen


def bbox_polygon(bbox: tuple[float, float, float, float]) -> Polygon:
    """A WGS84 ``(minlon, minlat, maxlon, maxlat)`` box as a polygon to compare with stored
    geometries (JGD2011: the two datums differ by well under a metre)."""
    polygon = Polygon.from_bbox(bbox)
    polygon.srid = STORAGE_SRID
    return polygon


def in_ward(queryset: QuerySet, ward: Ward, via: str = "") -> QuerySet:
    """Rows whose resource lies inside the ward's boundary, or is assigned to one of its districts
    when the ward has no boundary. ``via``: the lookup from the queryset's model to the resource
    (``"resource__"`` for candidate sites)."""
    if ward.geom is not None:
        return queryset.filter(**{f"{via}location__intersects": ward.geom})
    return queryset.filter(**{f"{via}district__ward": ward})


def resources(*, city: City | None = None, ward: Ward | None = None, kinds: Iterable[str] | None = None,
              bbox: tuple[float, float, float, float] | None = None) -> QuerySet[Resource]:
    """Resources by kind, name and id; of some kinds (checked), in a city, inside a ward's boundary
    or a WGS84 bounding box."""
    queryset = Resource.objects.select_related("district").order_by("kind", "name", "pk")
    kinds = validate_kinds(kinds)
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    if city is not None:
        queryset = queryset.filter(city=city)
    if ward is not None:
        queryset = in_ward(queryset, ward)
    if bbox is not None:
        queryset = queryset.filter(location__intersects=bbox_polygon(bbox))
    return queryset


def resources_of_district(district: District) -> QuerySet[Resource]:
    """The resources a district's karte lists: those assigned to it, and unassigned ones inside it."""
    return Resource.objects.filter(Q(district=district) | Q(district__isnull=True, location__within=district.geom))


def resource_kinds_present() -> list[str]:
    """The resource kinds loaded, in vocabulary order."""
    present = set(Resource.objects.values_list("kind", flat=True).distinct())
    return [kind for kind in ResourceKind.values if kind in present]


# ---------------------------------------------------------------------------------------------
# Candidate sites and siting runs
# ---------------------------------------------------------------------------------------------

def default_walk_distance() -> int | None:
    """The walking distance candidates are shown for when none is asked: 500 m if scored, else the
    shortest scored (one distance at a time, so no resource appears twice); None before scoring."""
    distances = sorted(CandidateSite.objects.values_list("walk_distance_m", flat=True).distinct())
    if not distances:
        return None
    return DEFAULT_WALK_DISTANCE_M if DEFAULT_WALK_DISTANCE_M in distances else distances[0]


def candidates(*, city: City | None = None, ward: Ward | None = None, walk_distance_m: int | None = None,
               resources_in: QuerySet[Resource] | None = None) -> QuerySet[CandidateSite]:
    """Candidate sites of one walking distance (default :func:`default_walk_distance`), best score
    first; of one city, inside a ward, or among some resources."""
    if walk_distance_m is None:
        walk_distance_m = default_walk_distance()
    queryset = CandidateSite.objects.select_related("resource", "resource__district").order_by("-score", "pk")
    if walk_distance_m is not None:
        queryset = queryset.filter(walk_distance_m=walk_distance_m)
    if city is not None:
        queryset = queryset.filter(resource__city=city)
    if ward is not None:
        queryset = in_ward(queryset, ward, via="resource__")
    if resources_in is not None:
        queryset = queryset.filter(resource__in=resources_in)
    return queryset


def siting_runs(*, published: bool | None = None, city: City | None = None) -> QuerySet[SitingRun]:
    """Siting runs, newest first; ``published=True``: only those published (what the city presents);
    ``city``: only that city's."""
    queryset = SitingRun.objects.select_related("city", "ward").order_by("-created_at", "-pk")
    if city is not None:
        queryset = queryset.filter(city=city)
    return queryset if published is None else queryset.filter(published=published)


def siting_run(run_id: int | None = None, *, city: City | None = None, parameter: str = "run") -> SitingRun:
    """That siting run (published or not: a run is read by its id), or the latest published run (of
    ``city`` when given) when ``run_id`` is None; :class:`NotFoundError` when there is no such run
    (or none published yet)."""
    if run_id is None:
        run = siting_runs(published=True, city=city).first()
        if run is None:
            raise NotFoundError("no published siting run yet" + (f" for city {city.code}" if city else ""), parameter)
        return run
    # An id past the database's 64-bit integers would overflow the query (SQLite raises); it names no run.
    run = siting_runs().filter(pk=run_id).first() if 0 < run_id < 2**63 else None
    if run is None:
        raise NotFoundError(f"no siting run with id {run_id}", parameter)
    return run
