"""A karte for any area: several census small areas (町丁・字), a drawn polygon or a walking circle.

One entry point, :func:`area_report` — the area page, its PDF, the API (GET and POST), the CSV and
GeoJSON export and the notebooks all call it, so they show the same figures. Its input is an
:class:`AreaSpec`, parsed and checked by :func:`parse_area_query` (query strings: ``codes=``,
``geometry=`` in the encoding of :func:`encode_polygon`, or ``lon=&lat=&radius=``) or
:func:`parse_area_json` (a GeoJSON geometry or Feature, ``{"codes": [...]}``). Bad, too large, too
complex or out-of-city areas are a :class:`ParameterError` naming the parameter, before any heavy
work (the limits are the constants below).

Figures: the census counts of the small areas meeting the area are apportioned to it by
:mod:`spatial.area` — small areas wholly inside count whole (so an area made of whole small areas is
exactly their sum), cut ones by their share of land, or of population where a population layer is
loaded (dasymetric, as the district tier); suppressed cells are imputed by the ward's share, as the
district tier does. Ratios are computed from the summed counts (:mod:`spatial.indicators`). The
previous census (five years before) is apportioned the same way; for an area given by codes its
figures are first carried over to the new codes by the correspondence table
(``loaders.census.harmonise_to_new_codes``), so a renamed or split 町丁 still has its 2015 value.
Comparison columns are the stored values (``IndicatorValue``) of the districts the area overlaps
(the largest overlaps first), its ward (when the city has wards) and the city.

Small areas are found through the spatial index (:func:`.tiles.in_box`), never by a scan.
Geometries: stored in JGD2011 lon/lat (EPSG:6668); metric work in the city's ``projected_srid``.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from karte.models import (STORAGE_SRID, CandidateSite, CensusArea, CensusAreaCorrespondence, CensusFigure, City,
                          Dataset, District, IndicatorValue, Resource, ResourceKind, Ward)
from loaders.census import harmonise_to_new_codes
from spatial.area import METHOD_AREA, METHOD_DASYMETRIC, METHOD_WHOLE, apportion, overlap_fractions
from spatial.demand import WATER_HCODE
from spatial.indicators import BANDS, INDICATORS, OPEN_BANDS, RATE_CODES, changes, derived_indicators

from . import lookups
from .encoding import clean_number, transform_geometry
from .errors import ParameterError
from .provenance import datasets
from .report import COUNT_UNITS, Pyramid, display_digits
from .tiles import in_box

# Limits: an answer within a second, and an area a karte means something for.
MAX_CODES = 300            # small areas picked by code
MAX_VERTICES = 2000        # vertices of a drawn polygon
MAX_AREA_KM2 = 150.0       # a large ward (川崎市 as a whole is 143 km²)
MIN_RADIUS_M = 50
MAX_RADIUS_M = 3000        # a walking circle: 3 km is a long walk already
MAX_COMPARED_DISTRICTS = 3  # comparison columns for the districts overlapped (largest overlap first)
MAX_CONTEXT_AREAS = 5000   # small areas of the parents read for imputing suppressed cells
COORDINATE_DECIMALS = 6    # ~0.1 m: the permalink's precision
CIRCLE_SEGMENTS = 16       # per quarter circle

# The rows of an area karte: the census-based headline indicators (figures of stored layers —
# walk coverage, isolation index, projections, hazard — are the districts' only), then resources.
AREA_INDICATORS = (
    "pop_total", "pop_65_plus", "pop_75_plus", "ageing_rate", "old_old_share", "child_share", "dependency_ratio",
    "households_total", "households_elderly_alone", "elderly_alone_share", "apartment_share", "mobility_rate",
    "resources_total", "resources_per_1000_elderly",
)
RESOURCE_INDICATORS = ("resources_total", "resources_per_1000_elderly")
_CODE = re.compile(r"^[0-9A-Za-z_\-]{1,16}$")


@dataclass(frozen=True)
class AreaSpec:
    """What area a karte is asked for: ``kind`` is ``codes`` (small-area KEY_CODEs), ``polygon``
    (lon/lat, EPSG:6668) or ``circle`` (centre lon/lat and a radius in metres)."""

    kind: str
    codes: tuple[str, ...] = ()
    polygon: BaseGeometry | None = None
    lon: float | None = None
    lat: float | None = None
    radius_m: float | None = None

    def query(self) -> dict[str, str]:
        """The query string naming this area (a permalink's parameters)."""
        if self.kind == "codes":
            return {"codes": ",".join(self.codes)}
        if self.kind == "circle":
            return {"lon": _fmt(self.lon), "lat": _fmt(self.lat), "radius": f"{self.radius_m:g}"}
        return {"geometry": encode_polygon(self.polygon)}


def _fmt(value: float) -> str:
    return f"{value:.{COORDINATE_DECIMALS}f}".rstrip("0").rstrip(".")


def encode_polygon(geom: BaseGeometry) -> str:
    """A (multi)polygon as URL text: ``lon,lat,lon,lat,…`` per ring (closing vertex left out), rings
    of a polygon joined by ``;`` (outer first), polygons by ``|``. Decoded by :func:`decode_polygon`."""
    polygons = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]

    def ring(coords) -> str:
        return ",".join(f"{_fmt(x)},{_fmt(y)}" for x, y in list(coords)[:-1])

    return "|".join(";".join([ring(p.exterior.coords), *(ring(r.coords) for r in p.interiors)]) for p in polygons)


def decode_polygon(text: str, parameter: str = "geometry") -> BaseGeometry:
    """The polygon :func:`encode_polygon` wrote; :class:`ParameterError` for anything else."""
    polygons = []
    vertices = 0
    for part in text.split("|"):
        rings = []
        for ring_text in part.split(";"):
            try:
                numbers = [float(n) for n in ring_text.split(",")]
            except ValueError:
                raise ParameterError(f"{parameter} must be lon,lat,lon,lat,… numbers (rings joined by ';')",
                                     parameter) from None
            if len(numbers) % 2 or len(numbers) < 6 or not all(math.isfinite(n) for n in numbers):
                raise ParameterError(f"{parameter}: a ring needs at least three lon,lat pairs", parameter)
            vertices += len(numbers) // 2
            if vertices > MAX_VERTICES:
                raise ParameterError(_too_complex(vertices), parameter)
            rings.append(list(zip(numbers[0::2], numbers[1::2])))
        polygons.append(Polygon(rings[0], rings[1:]))
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)


def _too_complex(vertices: int) -> str:
    return (f"範囲の頂点が多すぎます (the area has too many vertices ({vertices}; at most {MAX_VERTICES}): "
            "draw it more simply)")


def _checked_polygon(geom: BaseGeometry, parameter: str) -> BaseGeometry:
    """A valid polygonal lon/lat geometry, or ParameterError (out of range, empty, too complex)."""
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise ParameterError(f"{parameter} must be a Polygon or MultiPolygon, not {geom.geom_type}", parameter)
    vertices = shapely.get_num_coordinates(geom)
    if vertices > MAX_VERTICES + 1:
        raise ParameterError(_too_complex(vertices), parameter)
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ParameterError(f"{parameter} must be in longitude/latitude degrees (JGD2011 / WGS 84)", parameter)
    if not geom.is_valid:
        # A hand-drawn lasso crosses itself: keep what it encloses.
        geom = shapely.make_valid(geom)
        parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")]
        geom = shapely.union_all(parts) if parts else Polygon()
    if geom.is_empty or geom.area == 0:
        raise ParameterError(f"{parameter} encloses no area", parameter)
    return geom


def _codes(value: str | list, parameter: str = "codes") -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ParameterError(f"{parameter} must be a list of small-area codes", parameter)
    codes = [str(c).strip() for c in items if str(c).strip()]
    if not codes or any(not _CODE.match(c) for c in codes):
        raise ParameterError(f"{parameter} must be comma-separated small-area codes (KEY_CODE)", parameter)
    codes = list(dict.fromkeys(codes))
    if len(codes) > MAX_CODES:
        raise ParameterError(f"小地域が多すぎます (too many small areas ({len(codes)}; at most {MAX_CODES}): "
                             "choose a smaller area)", parameter)
    return tuple(codes)


def _coordinate(value, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number", name) from None
    if not low <= number <= high:  # also NaN
        raise ParameterError(f"{name} must be between {low:g} and {high:g}", name)
    return number


def _circle(lon, lat, radius) -> AreaSpec:
    return AreaSpec("circle", lon=_coordinate(lon, "lon", -180, 180), lat=_coordinate(lat, "lat", -90, 90),
                    radius_m=_coordinate(radius, "radius", MIN_RADIUS_M, MAX_RADIUS_M))


AREA_PARAMETERS = ("codes", "geometry", "lon", "lat", "radius")


def parse_area_query(query: Mapping[str, str]) -> AreaSpec:
    """The area a query string names: exactly one of ``codes=``, ``geometry=`` or ``lon,lat,radius``."""
    given = [name for name in ("codes", "geometry", "lon") if (query.get(name) or "").strip()]
    if len(given) != 1:
        raise ParameterError("name the area by one of codes=<KEY_CODE,…>, geometry=<lon,lat,…> or "
                             "lon=&lat=&radius=<metres>", given[1] if len(given) > 1 else "codes")
    if given == ["codes"]:
        return AreaSpec("codes", codes=_codes(query["codes"]))
    if given == ["geometry"]:
        text = query["geometry"].strip()
        if len(text) > MAX_VERTICES * 2 * 16:
            raise ParameterError(_too_complex(len(text) // 20), "geometry")
        return AreaSpec("polygon", polygon=_checked_polygon(decode_polygon(text), "geometry"))
    return _circle(query.get("lon"), query.get("lat"), query.get("radius") or "")


def parse_area_json(data) -> AreaSpec:
    """The area a JSON body names: a GeoJSON Polygon/MultiPolygon (or a Feature holding one), a Point
    (or Feature) with ``radius`` (metres, in the object or its properties), or ``{"codes": [...]}``."""
    if not isinstance(data, dict):
        raise ParameterError("the body must be a JSON object: a GeoJSON geometry or Feature, or {\"codes\": [...]}",
                             "body")
    if "codes" in data:
        return AreaSpec("codes", codes=_codes(data["codes"]))
    properties = data.get("properties") if isinstance(data.get("properties"), dict) else {}
    geometry = data.get("geometry") if data.get("type") == "Feature" else data
    if not isinstance(geometry, dict) or "type" not in geometry:
        raise ParameterError("the body holds no GeoJSON geometry", "geometry")
    if geometry.get("type") == "Point":
        coords = geometry.get("coordinates")
        if not isinstance(coords, list) or len(coords) < 2:
            raise ParameterError("a Point needs [lon, lat]", "geometry")
        return _circle(coords[0], coords[1], data.get("radius", properties.get("radius")))
    try:
        geom = shape(geometry)
    except Exception:  # shapely raises several kinds for malformed GeoJSON
        raise ParameterError("geometry is not valid GeoJSON (Polygon or MultiPolygon in lon/lat)", "geometry") from None
    return AreaSpec("polygon", polygon=_checked_polygon(geom, "geometry"))


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------

@dataclass
class AreaRow:
    """One indicator of an area karte: the area's value, the previous census's and the change, and
    the comparison columns (``comparisons``, in the order of :attr:`AreaReport.columns`)."""

    code: str
    label: str
    unit: str
    value: float | None
    previous: float | None
    change: float | None
    comparisons: list[float | None]
    year: int
    method: str
    uncertain_share: float | None = None
    dataset_ids: list[int] = field(default_factory=list)
    source_numbers: list[int] = field(default_factory=list)

    @property
    def uncertain(self) -> bool:
        return bool(self.uncertain_share and self.uncertain_share > 0.05)

    @property
    def digits(self) -> int:
        return display_digits(self.unit, self.value, self.previous, *self.comparisons)

    @property
    def change_unit(self) -> str:
        return self.unit if self.unit in COUNT_UNITS else ("pt" if self.unit == "%" else self.unit)


@dataclass
class Column:
    """A comparison column: ``tier`` (district, ward, city), the area's ``code`` and its name."""

    tier: str
    code: str
    name: str


@dataclass
class AreaReport:
    spec: AreaSpec
    city: City
    geometry: BaseGeometry                     # lon/lat (EPSG:6668)
    area_km2: float
    year: int | None
    previous_year: int | None
    rows: list[AreaRow]
    columns: list[Column]
    pyramid: Pyramid | None
    resource_groups: list[tuple[str, list[Resource]]]
    candidates: list[CandidateSite]
    sources: list[Dataset]
    method: str                               # whole / area / dasymetric
    method_text: str
    small_areas: list[dict]                   # key_code, name_ja, fraction
    walk_distance_m: int | None = None

    @property
    def resources(self) -> list[Resource]:
        return [r for _, items in self.resource_groups for r in items]

    @property
    def resources_by_kind(self) -> list[tuple[str, list[Resource]]]:
        return [(ResourceKind(kind).label, items) for kind, items in self.resource_groups]

    @property
    def query(self) -> dict[str, str]:
        return self.spec.query()

    @property
    def title(self) -> str:
        if self.spec.kind == "codes":
            names = [a["name_ja"] for a in self.small_areas][:3]
            more = len(self.small_areas) - len(names)
            return "・".join(names) + (f" ほか{more}地域" if more > 0 else "")
        near = next((f"（{c.name}付近）" for c in self.columns if c.tier == "district"), "")
        if self.spec.kind == "circle":
            return f"半径{self.spec.radius_m:g}mの圏域{near}"
        return f"描いた範囲{near}"


def _metric_crs(city: City) -> int:
    return city.projected_srid or settings.KARTE_DEFAULT_PROJECTED_SRID


def _geos(geom: BaseGeometry) -> GEOSGeometry:
    return GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=STORAGE_SRID)


def _city_of_geometry(geom: BaseGeometry, parameter: str) -> City:
    """The loaded city the area lies in (the largest overlap), or ParameterError: outside every city."""
    candidates = list(City.objects.filter(geom__intersects=_geos(geom)))
    if not candidates:
        raise ParameterError("この範囲は読み込まれた市の外にあります (the area lies outside every city loaded in "
                             "Karte: draw it inside the city)", parameter)
    if len(candidates) == 1:
        return candidates[0]
    from .encoding import shapely_from_geos

    return max(candidates, key=lambda c: shapely_from_geos(c.geom).intersection(geom).area)


def _resolve_area(spec: AreaSpec, year: int | None) -> tuple[City, BaseGeometry, list[CensusArea] | None, int | None]:
    """(city, lon/lat geometry, the small areas picked by code or None, census year of the codes)."""
    if spec.kind == "codes":
        areas = CensusArea.objects.filter(key_code__in=spec.codes)
        if year is not None:
            areas = areas.filter(census_year=year)
        latest = areas.order_by("-census_year").values_list("census_year", flat=True).first()
        found = list(areas.filter(census_year=latest)) if latest else []
        missing = sorted(set(spec.codes) - {a.key_code for a in found})
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            raise ParameterError(f"該当する小地域がありません (no small area with code {shown}"
                                 + (f" in {year}" if year else "") + ")", "codes")
        parents = {a.city_code for a in found}
        city_codes = set(City.objects.filter(code__in=parents).values_list("code", flat=True))
        city_codes |= set(Ward.objects.filter(code__in=parents).values_list("city__code", flat=True))
        if len(city_codes) != 1:
            raise ParameterError("the small areas must all lie in one loaded city", "codes")
        city = City.objects.get(code=city_codes.pop())
        from .encoding import shapely_from_geos

        geometry = shapely.union_all([shapely_from_geos(a.geom) for a in found])
        return city, geometry, found, latest
    if spec.kind == "circle":
        centre = Point(spec.lon, spec.lat)
        city = _city_of_geometry(centre, "lon")
        crs = _metric_crs(city)
        metric = transform_geometry(centre, STORAGE_SRID, crs).buffer(spec.radius_m, quad_segs=CIRCLE_SEGMENTS)
        return city, transform_geometry(metric, crs, STORAGE_SRID), None, None
    return _city_of_geometry(spec.polygon, "geometry"), spec.polygon, None, None


@dataclass
class _YearFigures:
    counts: pd.Series
    uncertain: pd.Series
    dataset_ids: set[int]
    method: str
    method_text: str
    contributing: pd.Series
    names: dict[str, str]


def _wide_figures(year: int, keys: list[str]) -> tuple[pd.DataFrame, dict[str, str], set[int]]:
    """Census counts of ``keys`` (rows) × variables, NaN where suppressed; merged cells → carriers."""
    rows = list(CensusFigure.objects.filter(census_year=year, key_code__in=keys)
                .values_list("key_code", "variable", "value", "status", "merged_into", "dataset_id"))
    frame = pd.DataFrame(rows, columns=["key_code", "variable", "value", "status", "merged_into", "dataset_id"])
    merged = frame.loc[(frame["status"] == "merged") & (frame["merged_into"] != ""), ["key_code", "merged_into"]] \
        .drop_duplicates("key_code").set_index("key_code")["merged_into"].to_dict()
    dataset_ids = {int(d) for d in frame["dataset_id"].dropna().unique()}
    wide = frame.pivot_table(index="key_code", columns="variable", values="value", aggfunc="first", dropna=False)
    wide = wide.reindex(index=keys)
    wide = wide[[c for c in wide.columns if c in INDICATORS and INDICATORS[c].kind == "count"]].astype(float)
    return wide, merged, dataset_ids


def _area_frame(year: int, keys_query, *, with_geometry: bool) -> pd.DataFrame:
    fields = ["key_code", "name_ja", "city_code", "hcode", "area_m2", "dataset_id"] + (["geom"] if with_geometry else [])
    return pd.DataFrame(list(keys_query.filter(census_year=year).values_list(*fields)), columns=fields)


def _apportion_year(year: int, city: City, metric: BaseGeometry, lonlat: BaseGeometry,
                    codes: tuple[str, ...] | None, harmonise_from: int | None = None,
                    new_codes_year: int | None = None) -> _YearFigures | None:
    """Census counts of ``year`` for the area. ``codes``: the area is these small areas of
    ``new_codes_year`` (whole); ``harmonise_from``: their figures come from census ``year`` carried
    over by the correspondence table. Otherwise: the small areas of ``year`` meeting the polygon."""
    from .encoding import shapely_from_geos

    crs = _metric_crs(city)
    base = CensusArea.objects.all()
    if codes is not None and harmonise_from is None:
        touching = _area_frame(year, base.filter(key_code__in=codes), with_geometry=False)
        fractions = {k: 1.0 for k in touching["key_code"]}
        method, weight_name = METHOD_WHOLE, ""
    elif codes is not None:
        links = list(CensusAreaCorrespondence.objects.filter(
            old_year=year, new_year=new_codes_year, new_key_code__in=codes).values_list(
            "old_key_code", "new_key_code", "area_share"))
        linked_new = {new for _, new, _ in links}
        old_keys = {old for old, _, _ in links} | {c for c in codes if c not in linked_new}
        touching = _area_frame(year, base.filter(key_code__in=old_keys), with_geometry=False)
        fractions = {}
        method, weight_name = METHOD_WHOLE, ""
    else:
        candidates = _area_frame(year, in_box(base, lonlat.bounds), with_geometry=True)
        if candidates.empty:
            return None
        geoms = [transform_geometry(shapely_from_geos(g), STORAGE_SRID, crs) for g in candidates["geom"]]
        # Dasymetric only where a small area is cut: whole ones need no weights.
        weights = {}
        shapely.prepare(metric)
        cut = any(shapely.intersects(metric, g) and not shapely.contains(metric, g) for g in geoms)
        if cut:
            from karte.layers import frames  # the bridge to the population layers (rasters, mesh cells)

            population = frames.population_weights(year, crs, city)
            if population.raster is not None:
                weights = {"weight_raster": population.raster, "weight_name": population.label}
            elif population.mesh is not None:
                weights = {"weight_cells": population.mesh, "weight_name": population.label}
        result = overlap_fractions(np.asarray(geoms, dtype=object), metric, crs=crs, **weights)
        candidates["fraction"] = result.values
        touching = candidates[candidates["fraction"] > 0].drop(columns="geom")
        fractions = dict(zip(touching["key_code"], touching["fraction"]))
        method, weight_name = result.method, result.weight_name
    if touching.empty:
        return None
    parent = "区" if Ward.objects.filter(city=city).exists() else "市"  # whose share fills a suppressed cell
    # The parents' small areas: suppressed cells are imputed by the ward's share, as for districts.
    parents = set(touching["city_code"])
    context = base.filter(census_year=year, city_code__in=parents)
    if context.count() <= MAX_CONTEXT_AREAS:
        context_frame = _area_frame(year, context, with_geometry=False)
    else:
        context_frame = touching
    context_frame = context_frame.drop_duplicates("key_code").set_index("key_code")
    keys = list(context_frame.index)
    wide, merged, dataset_ids = _wide_figures(year, keys)
    dataset_ids |= {int(d) for d in context_frame["dataset_id"].dropna().unique()}
    if merged:
        # A small area whose figures the census merged into another: its share goes to the carrier,
        # weighted by land area (the district tier joins their polygons).
        area = context_frame["area_m2"].fillna(0.0)
        for key, carrier in merged.items():
            if key in fractions and carrier in context_frame.index:
                joint = area.get(key, 0.0) + area.get(carrier, 0.0)
                if joint > 0:
                    fractions[carrier] = (fractions.get(carrier, 0.0) * area.get(carrier, 0.0)
                                          + fractions[key] * area.get(key, 0.0)) / joint
        wide = wide.drop(index=[k for k in merged if k in wide.index])
        context_frame = context_frame.drop(index=[k for k in merged if k in context_frame.index])
        for key in merged:
            fractions.pop(key, None)
    no_figures = wide.isna().all(axis=1)
    water = pd.to_numeric(context_frame["hcode"], errors="coerce").eq(WATER_HCODE).reindex(wide.index).fillna(False)
    wide.loc[no_figures & water] = 0.0  # water surfaces: nobody lives there
    if harmonise_from is not None:
        tidy = wide.rename_axis(index="key_code", columns=None).reset_index().melt(
            id_vars="key_code", var_name="variable", value_name="value")
        tidy["status"] = np.where(tidy["value"].isna(), "suppressed", "ok")
        links_frame = pd.DataFrame(list(CensusAreaCorrespondence.objects.filter(
            old_year=year, new_year=new_codes_year, old_key_code__in=keys).values(
            "old_key_code", "new_key_code", "area_share")), columns=["old_key_code", "new_key_code", "area_share"])
        moved = harmonise_to_new_codes(tidy, links_frame)
        # A carried-over suppressed cell stays unknown: impute it by the parent's share as below.
        moved.loc[moved["status"].isin(["suppressed", "unknown"]), "value"] = np.nan
        wide = moved.pivot_table(index="key_code", columns="variable", values="value", aggfunc="first", dropna=False)
        parent_of_old = context_frame["city_code"].to_dict()
        parent_of_new = {}
        for old, new in zip(links_frame["old_key_code"], links_frame["new_key_code"]):
            parent_of_new.setdefault(new, parent_of_old.get(old))
        groups = [parent_of_new.get(k, parent_of_old.get(k, "")) for k in wide.index]
        area_m2 = np.ones(len(wide))
        fractions = {c: 1.0 for c in codes if c in wide.index}
        method_text = (f"{year}年の小地域{len(touching)}件を対応表で{new_codes_year}年の小地域コードに組み替えて合計"
                       f"(秘匿値は{parent}の比率で補完)")
    else:
        groups = context_frame["city_code"].reindex(wide.index).fillna("").to_numpy()
        area_m2 = context_frame["area_m2"].reindex(wide.index).fillna(1.0).to_numpy()
        whole = sum(1 for f in fractions.values() if f == 1.0)
        cut = len(fractions) - whole
        if method == METHOD_WHOLE:
            method_text = f"小地域{whole}件の値を合計(秘匿値は{parent}の比率で補完)"
        elif method == METHOD_AREA:
            method_text = f"面積按分: 小地域{whole}件は全域、{cut}件は面積の割合で按分(秘匿値は{parent}の比率で補完)"
        else:
            method_text = (f"ダシメトリック按分({weight_name}): 小地域{whole}件は全域、{cut}件は人口の分布で按分"
                           f"(秘匿値は{parent}の比率で補完)")
    result = apportion(wide, fractions, area_m2=area_m2, groups=groups)
    names = context_frame["name_ja"].to_dict() if "name_ja" in context_frame else {}
    return _YearFigures(result.counts, result.uncertain_share, dataset_ids, method, method_text,
                        result.contributing, names)


def _comparison_columns(city: City, geometry: BaseGeometry) -> list[Column]:
    """The districts the area overlaps (largest overlap first, at most MAX_COMPARED_DISTRICTS), its
    ward (largest overlap; none in a city without wards) and the city."""
    from .encoding import shapely_from_geos

    geos = _geos(geometry)
    columns = []
    overlapping = []
    for district in in_box(District.objects.filter(city=city), geometry.bounds).filter(
            geom__intersects=geos).only("code", "name_ja", "geom"):
        share = shapely_from_geos(district.geom).intersection(geometry).area
        if share > 0:
            overlapping.append((share, district))
    overlapping.sort(key=lambda pair: (-pair[0], pair[1].code))
    columns += [Column("district", d.code, d.name_ja) for _, d in overlapping[:MAX_COMPARED_DISTRICTS]]
    wards = [(shapely_from_geos(w.geom).intersection(geometry).area, w)
             for w in Ward.objects.filter(city=city, geom__intersects=geos)]
    wards = [pair for pair in wards if pair[0] > 0]
    if wards:
        ward = max(wards, key=lambda pair: pair[0])[1]
        columns.append(Column("ward", ward.code, ward.name_ja))
    columns.append(Column("city", city.code, city.name_ja))
    return columns


def _stored_values(columns: list[Column], codes: tuple[str, ...]) -> dict[tuple[str, str, str], float | None]:
    from django.db.models import Q

    where = Q()
    for column in columns:
        where |= Q(tier=column.tier, area_code=column.code)
    latest = {}
    for tier, area, indicator, value in IndicatorValue.objects.filter(where, indicator__in=codes).order_by(
            "year").values_list("tier", "area_code", "indicator", "value"):
        latest[(tier, area, indicator)] = value
    return latest


def _pyramid(counts: pd.Series, year: int) -> Pyramid | None:
    male, female = {}, {}
    for band in BANDS + OPEN_BANDS:
        for sex, target in (("m", male), ("f", female)):
            value = counts.get(f"pop_{sex}_{band}")
            if value is not None and not pd.isna(value):
                target[band] = float(value)
    if not male and not female:
        return None
    # A table ending at an open band (75+) has no finer bands above it.
    open_band = next((b for b in OPEN_BANDS if b in male), None)
    if open_band is not None:
        top = int(open_band.split("_")[0])
        for target in (male, female):
            for band in list(target):
                if band in BANDS and int(band.split("_")[0]) >= top:
                    target.pop(band)
    return Pyramid(year=year, male=male, female=female)


def area_report(spec: AreaSpec, *, year: int | None = None, top_candidates: int = 5,
                label: Callable[[str], str] | None = None) -> AreaReport:
    """Everything the karte of one area shows (see the module docstring): the page, the PDF, the
    API, the exports and the notebooks call this. ``year``: the census year (latest loaded by
    default); ``label`` names an indicator (default: the registry's Japanese label)."""
    city, geometry, picked, codes_year = _resolve_area(spec, year)
    crs = _metric_crs(city)
    metric = transform_geometry(geometry, STORAGE_SRID, crs)
    area_km2 = metric.area / 1e6
    if area_km2 > MAX_AREA_KM2:
        parameter = {"codes": "codes", "circle": "radius"}.get(spec.kind, "geometry")
        raise ParameterError(f"範囲が広すぎます (the area is too large ({area_km2:.0f} km²; at most "
                             f"{MAX_AREA_KM2:g} km²): choose a smaller area or open the ward's page)", parameter)
    if year is None:
        from karte.layers.frames import census_years

        loaded = census_years(city)
        year = codes_year or (loaded[-1] if loaded else None)
    codes = spec.codes if spec.kind == "codes" else None
    current = _apportion_year(year, city, metric, geometry, codes) if year else None
    previous_year = year - 5 if year else None
    previous = None
    if previous_year and CensusArea.objects.filter(census_year=previous_year).exists():
        previous = _apportion_year(previous_year, city, metric, geometry, codes,
                                   harmonise_from=previous_year if codes else None, new_codes_year=year)
    if previous is None:
        previous_year = None

    # Resources and candidate sites inside the area.
    # Through the spatial index first (on SpatiaLite a plain Intersects would test every resource).
    resources = in_box(Resource.objects.all(), geometry.bounds, field="location").filter(
        location__intersects=_geos(geometry))
    grouped: dict[str, list[Resource]] = defaultdict(list)
    dataset_ids: set[int] = set()
    for resource in resources.select_related("dataset").order_by("kind", "name", "pk"):
        grouped[resource.kind].append(resource)
        if resource.dataset_id:
            dataset_ids.add(resource.dataset_id)
    resource_groups = [(kind, grouped[kind]) for kind in ResourceKind.values if kind in grouped]
    resource_count = sum(len(items) for items in grouped.values())
    walk_distance_m = lookups.default_walk_distance()
    candidates = list(lookups.candidates(walk_distance_m=walk_distance_m, resources_in=resources)[:top_candidates])

    counts = current.counts.copy() if current is not None else pd.Series(dtype=float)
    counts["resources_total"] = float(resource_count)
    ratios = derived_indicators(counts.to_frame().T) if len(counts) else pd.DataFrame()
    previous_ratios = derived_indicators(previous.counts.to_frame().T) if previous is not None else None
    delta = changes(ratios, previous_ratios, RATE_CODES) if previous_ratios is not None else pd.DataFrame()

    columns = _comparison_columns(city, geometry)
    stored = _stored_values(columns, AREA_INDICATORS)
    census_ids = current.dataset_ids if current is not None else set()
    rows: list[AreaRow] = []
    for code in AREA_INDICATORS:
        spec_ = INDICATORS[code]
        if code in counts.index:
            value = counts[code]
        elif code in ratios.columns:
            value = ratios[code].iloc[0]
        else:
            continue
        value = clean_number(value)
        if value is None and code not in RESOURCE_INDICATORS:
            continue
        prev = change = None
        if previous is not None and code not in RESOURCE_INDICATORS:
            if code in previous.counts.index:
                prev = clean_number(previous.counts[code])
                change = None if prev is None or value is None else value - prev
            elif previous_ratios is not None and code in previous_ratios.columns:
                prev = clean_number(previous_ratios[code].iloc[0])
                change = clean_number(delta[f"{code}_change"].iloc[0]) if f"{code}_change" in delta else None
        members = spec_.numerator + spec_.denominator if spec_.numerator else (code,)
        uncertain = None
        if current is not None:
            shares = [float(current.uncertain.get(m, 0.0)) for m in members if m in current.uncertain.index]
            uncertain = max(shares) if shares else None
        if code in RESOURCE_INDICATORS:
            method = "地点がこの範囲内にある資源の数" if code == "resources_total" else spec_.method_ja
            ids = sorted(dataset_ids | (census_ids if code != "resources_total" else set()))
        else:
            method = f"{spec_.method_ja}; {current.method_text}" if spec_.method_ja else current.method_text
            ids = sorted(census_ids | (previous.dataset_ids if previous is not None else set()))
        rows.append(AreaRow(
            code=code, label=label(code) if label else spec_.label_ja, unit=spec_.unit, value=value,
            previous=prev, change=change,
            comparisons=[clean_number(stored.get((c.tier, c.code, code))) for c in columns],
            year=year, method=method, uncertain_share=uncertain, dataset_ids=ids,
        ))
    all_ids = {i for row in rows for i in row.dataset_ids}
    sources = datasets(all_ids)
    number_of = {d.pk: n for n, d in enumerate(sources, start=1)}
    for row in rows:
        row.source_numbers = sorted(number_of[i] for i in row.dataset_ids if i in number_of)
    small_areas = []
    if current is not None:
        small_areas = [{"key_code": key, "name_ja": current.names.get(key, ""), "fraction": float(f)}
                       for key, f in current.contributing.items()]
    if picked is not None:
        order = {code: i for i, code in enumerate(spec.codes)}
        small_areas.sort(key=lambda a: order.get(a["key_code"], len(order)))
    return AreaReport(
        spec=spec, city=city, geometry=geometry, area_km2=area_km2, year=year, previous_year=previous_year,
        rows=rows, columns=columns, pyramid=_pyramid(counts, year) if current is not None else None,
        resource_groups=resource_groups, candidates=candidates, sources=sources,
        method=current.method if current is not None else METHOD_WHOLE,
        method_text=current.method_text if current is not None else "",
        small_areas=small_areas, walk_distance_m=walk_distance_m,
    )


METHOD_LABELS = {METHOD_WHOLE: "whole small areas summed", METHOD_AREA: "area-weighted",
                 METHOD_DASYMETRIC: "dasymetric"}


def area_record(report: AreaReport) -> dict:
    """What ``report`` shows as JSON-safe data (the API's answer; the CSV and GeoJSON are made from it)."""
    return {
        "area": {"kind": report.spec.kind, "query": report.query, "title": report.title,
                 "city_code": report.city.code, "city_name_ja": report.city.name_ja,
                 "area_km2": clean_number(round(report.area_km2, 4))},
        "year": report.year, "previous_year": report.previous_year,
        "method": report.method, "method_label": METHOD_LABELS[report.method], "method_text": report.method_text,
        "columns": [{"tier": c.tier, "code": c.code, "name_ja": c.name}
                    for c in report.columns],
        "rows": [{"code": r.code, "label": str(r.label), "unit": r.unit, "value": clean_number(r.value),
                  "previous": clean_number(r.previous), "change": clean_number(r.change),
                  "comparisons": [clean_number(v) for v in r.comparisons], "year": r.year,
                  "previous_year": report.previous_year, "method": r.method,
                  "uncertain_share": clean_number(r.uncertain_share), "source_numbers": r.source_numbers}
                 for r in report.rows],
        "pyramid": None if report.pyramid is None else {
            "year": report.pyramid.year, "male": report.pyramid.male, "female": report.pyramid.female},
        "small_areas": report.small_areas,
        "resources": [{"id": r.pk, "kind": r.kind, "name": r.name, "address": r.address,
                       "lon": r.location.x, "lat": r.location.y} for r in report.resources],
        "candidates": [{"resource_id": c.resource_id, "name": c.resource.name, "kind": c.resource.kind,
                        "score": clean_number(c.score), "walk_distance_m": c.walk_distance_m,
                        "lon": c.resource.location.x, "lat": c.resource.location.y} for c in report.candidates],
        "sources": [{"number": n, "id": d.pk, "source_name": d.source_name, "vintage": d.vintage,
                     "licence": d.licence} for n, d in enumerate(report.sources, start=1)],
    }


def area_feature(report: AreaReport) -> dict:
    """The area as a GeoJSON Feature (RFC 7946: WGS 84 lon/lat) whose properties are its figures
    (``<code>``, ``<code>__previous``, ``<code>__change``) and whose ``karte:metadata`` is :func:`area_record`."""
    from .encoding import METADATA_MEMBER, geometry_to_geojson

    properties = {"title": report.title, "year": report.year, "previous_year": report.previous_year,
                  "method": METHOD_LABELS[report.method], "area_km2": clean_number(round(report.area_km2, 4))}
    for row in report.rows:
        properties[row.code] = clean_number(row.value)
        properties[f"{row.code}__previous"] = clean_number(row.previous)
        properties[f"{row.code}__change"] = clean_number(row.change)
    return {"type": "Feature", "geometry": geometry_to_geojson(report.geometry, source_srid=STORAGE_SRID),
            "properties": properties, METADATA_MEMBER: area_record(report)}


def area_csv_rows(report: AreaReport) -> list[dict]:
    """One row per indicator: value, previous census, change, comparison columns, method, sources."""
    rows = []
    for row in report.rows:
        item = {"indicator": row.code, "label": str(row.label), "unit": row.unit, "year": row.year,
                "value": clean_number(row.value), "previous_year": report.previous_year,
                "previous": clean_number(row.previous), "change": clean_number(row.change)}
        for column, value in zip(report.columns, row.comparisons):
            item[f"{column.tier}:{column.code}"] = clean_number(value)
        item["method"] = row.method
        item["sources"] = " ".join(f"{d.source_name} ({d.vintage})" for n, d in enumerate(report.sources, start=1)
                                   if n in row.source_numbers)
        rows.append(item)
    return rows
