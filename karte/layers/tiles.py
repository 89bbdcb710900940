"""Vector tiles of districts and census small areas, for maps of many cities at once.

Contract (Mapbox Vector Tile 2.1, extent 4096, buffer 64, Web Mercator EPSG:3857 tile grid)::

    layer "districts"    code, name, city, ward (absent when the district has none), and one
                         number per indicator of the map: the district's value in the latest year
                         stored for that indicator (absent when there is no value); the years are
                         listed by the TileJSON (``karte:indicator_years``)
    layer "small_areas"  key_code, name, city (5-digit JIS code), year — of the latest census
                         year loaded

Two builders give the same tile: on PostGIS one SQL statement (``ST_TileEnvelope``,
``ST_AsMVTGeom``, ``ST_AsMVT``); elsewhere (the embedded SpatiaLite) Python does the same steps —
transform to Web Mercator, scale to tile coordinates, clip to the tile plus its buffer, snap to the
integer grid, repair — and ``mapbox_vector_tile`` encodes. Both first simplify by half a tile
unit. An empty tile is ``b""``.

Which indicators and years a tile carries depends only on what was loaded and computed; it is
worked out once per data version (``data_version``), so a tile request costs one spatial query;
tiles of low zooms are kept in Django's cache per version too (the tiles of all zooms are not: a
national map would crowd the pages and PDFs out of the read cache of ``karte.httpcache``). A tile's address is
checked here (``tile_address``: 400 for what is no whole number, 404 for a layer, zoom or tile that
does not exist); ``karte.views.tiles`` answers HTTP; ``.catalogue`` says which indicators the map
shows.
"""
from __future__ import annotations

import hashlib
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

import mapbox_vector_tile
import numpy as np
import shapely
from django.contrib.gis.db.models import Extent
from django.core.cache import cache
from django.db import connection
from django.db.models import Max, Q
from django.db.models.expressions import RawSQL

from karte.models import STORAGE_SRID, CensusArea, City, DataVersion, District, IndicatorValue, Ward

from .catalogue import default_indicator_codes, indicator_catalogue
from .encoding import shapely_from_geos, transform_geometry
from .errors import NotFoundError, ParameterError

MVT_CONTENT_TYPE = "application/vnd.mapbox-vector-tile"
TILE_EXTENT = 4096
TILE_BUFFER = 64
WEB_MERCATOR_SRID = 3857
WEB_MERCATOR_HALF_WORLD = 20037508.342789244  # metres: the grid spans ±this in x and y
# Tiles up to this zoom are few (Japan: ~50 at z8) and the slowest to build: kept per data version.
CACHED_UP_TO_ZOOM = 10
TILE_CACHE_SECONDS = 7 * 24 * 3600  # a new data version makes new keys; this only frees the space
# Indicator codes become property names (and SQL column aliases on PostGIS): plain codes only.
_PROPERTY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")


@dataclass(frozen=True)
class TileLayer:
    """One layer served as tiles: its name and the zooms it is served at (a client over-zooms above
    ``maxzoom``; below ``minzoom`` a tile would hold too many features to be useful or fast)."""

    name: str
    minzoom: int
    maxzoom: int
    description: str


TILE_LAYERS: dict[str, TileLayer] = {
    "districts": TileLayer("districts", 6, 18, "小学校区 (地域): code, name, city, ward and indicator values"),
    "small_areas": TileLayer("small_areas", 10, 18, "国勢調査 小地域: key_code, name, city, year"),
}


def tile_exists(z: int, x: int, y: int) -> bool:
    return 0 <= z <= 30 and 0 <= x < 2**z and 0 <= y < 2**z


@dataclass(frozen=True)
class TileAddress:
    layer: str
    z: int
    x: int
    y: int


def _whole_number(value: str, name: str) -> int:
    if not (value.isascii() and value.isdigit() and len(value) <= 9):
        raise ParameterError(f"{name} must be a whole number, not {value[:40]!r}", name)
    return int(value)


def tile_layer(name: str) -> TileLayer:
    spec = TILE_LAYERS.get(name)
    if spec is None:
        raise NotFoundError(f"no tile layer {name[:40]!r}; layers: {', '.join(TILE_LAYERS)}", "layer")
    return spec


def tile_address(layer: str, z: str, x: str, y: str, extension: str) -> TileAddress:
    """The tile a path ``<layer>/<z>/<x>/<y>.<extension>`` names: ParameterError (400) for a z, x or
    y that is no whole number, NotFoundError (404) for an unknown layer or extension, a zoom the
    layer is not served at or a tile outside the grid."""
    spec = tile_layer(layer)
    if extension != "pbf":
        raise NotFoundError(f"tiles are served as .pbf (Mapbox Vector Tile), not .{extension[:20]}", "format")
    zoom, column, row = _whole_number(z, "z"), _whole_number(x, "x"), _whole_number(y, "y")
    if not spec.minzoom <= zoom <= spec.maxzoom:
        raise NotFoundError(f"layer {layer} is served at zoom {spec.minzoom}–{spec.maxzoom}, not {zoom}", "z")
    if not tile_exists(zoom, column, row):
        last = 2**zoom - 1
        raise NotFoundError(f"no tile {zoom}/{column}/{row}: x and y run from 0 to {last} at zoom {zoom}",
                            "x" if column > last else "y")
    return TileAddress(layer, zoom, column, row)


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of tile z/x/y in EPSG:3857 metres (XYZ scheme, y counted from the north)."""
    size = 2 * WEB_MERCATOR_HALF_WORLD / 2**z
    minx = -WEB_MERCATOR_HALF_WORLD + x * size
    maxy = WEB_MERCATOR_HALF_WORLD - y * size
    return minx, maxy - size, minx + size, maxy


# ---------------------------------------------------------------------------------------------
# What the tiles carry: indicator years and the census year, kept until the stored data changes
# ---------------------------------------------------------------------------------------------

_memo: dict[tuple, tuple[tuple, object]] = {}
_memo_lock = threading.Lock()


def data_version() -> tuple:
    """The stored data's version (``karte.models.DataVersion``: every load, compute and edit bumps
    it in the same transaction as its change), with the database's name; what tiles carry and the
    tiles of low zooms are kept per version. One primary-key lookup."""
    row = DataVersion.objects.filter(pk=1).values_list("token", "version").first()
    return (connection.settings_dict.get("NAME"), *(row or ()))


def _remembered(name: str, compute: Callable[[], object]) -> object:
    version = data_version()
    with _memo_lock:
        entry = _memo.get((name, connection.alias))
    if entry is not None and entry[0] == version:
        return entry[1]
    value = compute()
    with _memo_lock:
        _memo[(name, connection.alias)] = (version, value)
    return value


def forget() -> None:
    """Drop what is remembered about the stored data (the next tile works it out again)."""
    with _memo_lock:
        _memo.clear()


def district_indicator_years() -> dict[str, int]:
    """The indicators a district tile carries and the year of each: the map's indicators (census
    counts left out, as ``/api/districts/`` does) in the latest year stored for districts — the year
    ``/api/indicators/?indicator=`` classifies, so a client's class breaks fit the tiles' values."""
    def compute() -> dict[str, int]:
        latest = dict(
            IndicatorValue.objects.filter(tier=IndicatorValue.Tier.DISTRICT)
            .values_list("indicator").annotate(year=Max("year")).values_list("indicator", "year")
        )
        codes = default_indicator_codes(latest, indicator_catalogue())
        return {code: latest[code] for code in sorted(codes) if _PROPERTY_NAME.match(code)}

    return _remembered("district_indicator_years", compute)  # type: ignore[return-value]


def small_area_year() -> int | None:
    """The census year whose small areas the tiles show (the latest loaded)."""
    return _remembered(  # type: ignore[return-value]
        "small_area_year", lambda: CensusArea.objects.aggregate(year=Max("census_year"))["year"]
    )


def layer_summary(layer: str) -> tuple[int, list[float] | None]:
    """How many features the layer holds and their [west, south, east, north] in degrees (None
    when empty); kept like the indicator years (an extent reads every geometry)."""
    def compute() -> tuple[int, list[float] | None]:
        if layer == "districts":
            rows = District.objects.all()
        else:
            rows = CensusArea.objects.filter(census_year=small_area_year())
        extent = rows.aggregate(extent=Extent("geom"))["extent"]
        return rows.count(), [round(value, 6) for value in extent] if extent else None

    return _remembered(f"summary:{layer}", compute)  # type: ignore[return-value]


def tilejson(layer: str, tile_url: str) -> dict:
    """TileJSON 3.0.0 describing one layer, with the years of the district indicators."""
    spec = tile_layer(layer)
    if layer == "districts":
        years = district_indicator_years()
        fields = {"code": "district code", "name": "name (Japanese)", "city": "city JIS code",
                  "ward": "ward JIS code"} | {code: f"indicator value, {year}" for code, year in years.items()}
    else:
        years = {}
        fields = {"key_code": "e-Stat KEY_CODE", "name": "name (Japanese)", "city": "JIS code of the 市区町村",
                  "year": "census year"}
    count, bounds = layer_summary(layer)
    return {
        "tilejson": "3.0.0",
        "name": f"karte {layer}",
        "tiles": [tile_url],
        "minzoom": spec.minzoom,
        "maxzoom": spec.maxzoom,
        "bounds": bounds or [-180, -85.0511, 180, 85.0511],
        "vector_layers": [{"id": layer, "description": spec.description, "minzoom": spec.minzoom,
                           "maxzoom": spec.maxzoom, "fields": fields}],
        "karte:feature_count": count,
        "karte:indicator_years": years,
        "karte:census_year": small_area_year() if layer == "small_areas" else None,
    }


# ---------------------------------------------------------------------------------------------
# Building a tile
# ---------------------------------------------------------------------------------------------

def vector_tile(layer: str, z: int, x: int, y: int, *, builder: str | None = None) -> bytes:
    """The Mapbox Vector Tile of ``layer`` at z/x/y (``b""`` when no feature reaches it).

    Tiles up to ``CACHED_UP_TO_ZOOM`` (few, and the slowest to build: a z8 tile of all Japan holds
    ~700 districts) are kept in Django's cache per ``data_version()``. ``builder`` =
    ``"postgis"`` or ``"python"`` builds afresh with that builder; by default PostGIS builds on a
    PostGIS database and Python everywhere else (the Python builder also runs on PostGIS, which is
    how the tests compare the two)."""
    tile_layer(layer)
    if not tile_exists(z, x, y):
        raise NotFoundError(f"no tile {z}/{x}/{y}", "z")
    if builder is not None:
        return _postgis_tile(layer, z, x, y) if builder == "postgis" else _python_tile(layer, z, x, y)
    build = _postgis_tile if connection.vendor == "postgresql" else _python_tile
    if z > CACHED_UP_TO_ZOOM:
        return build(layer, z, x, y)
    version = data_version()
    key = f"karte:tile:{layer}:{z}:{x}:{y}:" + hashlib.sha256(repr(version).encode()).hexdigest()[:16]
    data = cache.get(key)
    if data is None:
        data = build(layer, z, x, y)
        if data_version() == version:  # no writer committed meanwhile: the tile is of one version
            cache.set(key, data, TILE_CACHE_SECONDS)
    return data


def _envelope_degrees(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile and its buffer as a lon/lat box (exact: Mercator keeps meridians and parallels straight)."""
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    margin = (maxx - minx) * TILE_BUFFER / TILE_EXTENT
    box = shapely.box(minx - margin, max(miny - margin, -WEB_MERCATOR_HALF_WORLD),
                      maxx + margin, min(maxy + margin, WEB_MERCATOR_HALF_WORLD))
    return transform_geometry(box, WEB_MERCATOR_SRID, STORAGE_SRID).bounds


def _simplify_tolerance_degrees(z: int, envelope: tuple[float, float, float, float]) -> float:
    """Half a tile unit, in degrees at the tile's latitude farthest from the equator (the smallest
    there): vertices closer than that to a straight line mostly vanish when snapped to the grid
    anyway, so simplifying by it first moves no edge by more than the snapping does and spares
    transforming and clipping them (a district of the Japan-scale set at z8: ~130 vertices, ~35 left)."""
    unit_m = 2 * WEB_MERCATOR_HALF_WORLD / 2**z / TILE_EXTENT
    latitude = min(85.0, max(abs(envelope[1]), abs(envelope[3])))
    return math.degrees(0.5 * unit_m * math.cos(math.radians(latitude)) / 6378137.0)


# PostGIS ------------------------------------------------------------------------------------

def _postgis_tile(layer: str, z: int, x: int, y: int) -> bytes:
    quote = connection.ops.quote_name
    envelope = _envelope_degrees(z, x, y)
    geometry = (f"ST_AsMVTGeom(ST_Transform(ST_Simplify({{}}.geom, %s), {WEB_MERCATOR_SRID}), "
                f"ST_TileEnvelope(%s, %s, %s), {TILE_EXTENT}, {TILE_BUFFER}, true) AS geom")
    # The features are MATERIALIZED so that each geometry is built once (PostgreSQL would otherwise
    # inline the CTE and evaluate ST_AsMVTGeom both in the filter and in the output).
    params: list = [_simplify_tolerance_degrees(z, envelope), z, x, y, *envelope]
    values_join = ""
    if layer == "districts":
        years = district_indicator_years()
        features = f"""
            SELECT d.code, d.name_ja AS name, c.code AS city, w.code AS ward, {geometry.format("d")}
            FROM {District._meta.db_table} d
            JOIN {City._meta.db_table} c ON c.id = d.city_id
            LEFT JOIN {Ward._meta.db_table} w ON w.id = d.ward_id
            WHERE d.geom && ST_MakeEnvelope(%s, %s, %s, %s, {STORAGE_SRID})"""
        columns = ["code", "name", "city", "ward"]
        if years:
            # One column per indicator (its value in its year); NULL, NaN and infinities stay out.
            pivot = ", ".join(
                f"max(iv.value) FILTER (WHERE iv.indicator = %s AND iv.year = %s) AS {quote(code)}" for code in years
            )
            values_join = f"""
                LEFT JOIN LATERAL (
                    SELECT {pivot} FROM {IndicatorValue._meta.db_table} iv
                    WHERE iv.tier = 'district' AND iv.area_code = f.code AND iv.indicator = ANY(%s)
                      AND abs(iv.value) < 'Infinity'::float8
                ) v ON true"""
            params += [value for pair in years.items() for value in pair] + [list(years)]
            columns += [f"v.{quote(code)}" for code in years]
    else:
        features = f"""
            SELECT a.key_code, a.name_ja AS name, a.city_code AS city, a.census_year AS year, {geometry.format("a")}
            FROM {CensusArea._meta.db_table} a
            WHERE a.geom && ST_MakeEnvelope(%s, %s, %s, %s, {STORAGE_SRID}) AND a.census_year = %s"""
        params.append(small_area_year())
        columns = ["key_code", "name", "city", "year"]
    sql = f"""
        WITH features AS MATERIALIZED ({features})
        SELECT ST_AsMVT(layer.*, '{TILE_LAYERS[layer].name}', {TILE_EXTENT}, 'geom')
        FROM (SELECT {", ".join(c if "." in c else f"f.{c}" for c in columns)}, f.geom
              FROM features f{values_join} WHERE f.geom IS NOT NULL) AS layer"""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] else b""


# Python (SpatiaLite, or any backend) --------------------------------------------------------------

def in_box(queryset, box: tuple[float, float, float, float], field: str = "geom"):
    """``queryset`` narrowed to rows whose geometry (``field``) has a bounding box meeting ``box``
    (lon/lat), through the spatial index: PostGIS ``&&``; on SpatiaLite the R*Tree Django made for
    the column."""
    if connection.vendor == "postgresql":
        from django.contrib.gis.geos import Polygon

        return queryset.filter(**{f"{field}__bboverlaps": Polygon.from_bbox(box)})
    index = connection.ops.quote_name(f"idx_{queryset.model._meta.db_table}_{field}")
    minx, miny, maxx, maxy = box
    return queryset.filter(pk__in=RawSQL(
        f"SELECT pkid FROM {index} WHERE xmin <= %s AND xmax >= %s AND ymin <= %s AND ymax >= %s",
        (maxx, minx, maxy, miny),
    ))




def _tile_geometry(geom, z: int, x: int, y: int, tolerance: float):
    """A stored (JGD2011 lon/lat) polygon simplified by ``tolerance`` degrees and in this tile's
    integer coordinates (y down), clipped to the tile and its buffer, snapped to the grid and valid;
    None when nothing of it is left."""
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    scale = TILE_EXTENT / (maxx - minx)
    simplified = shapely.simplify(shapely_from_geos(geom), tolerance, preserve_topology=False)
    mercator = transform_geometry(simplified, STORAGE_SRID, WEB_MERCATOR_SRID)
    local = shapely.transform(mercator, lambda c: np.column_stack([(c[:, 0] - minx) * scale, (maxy - c[:, 1]) * scale]))
    clipped = shapely.clip_by_rect(local, -TILE_BUFFER, -TILE_BUFFER, TILE_EXTENT + TILE_BUFFER, TILE_EXTENT + TILE_BUFFER)
    snapped = shapely.set_precision(clipped, 1.0)  # to the integer grid, keeping it valid
    polygons = [part for part in shapely.get_parts(snapped) if part.geom_type in ("Polygon", "MultiPolygon")]
    if not polygons:
        return None
    result = shapely.union_all(polygons) if len(polygons) > 1 else polygons[0]
    return None if result.is_empty or result.area == 0 else result


def _python_features(layer: str, z: int, x: int, y: int) -> list[dict]:
    box = _envelope_degrees(z, x, y)
    tolerance = _simplify_tolerance_degrees(z, box)
    features = []
    if layer == "districts":
        years = district_indicator_years()
        districts = list(in_box(District.objects.all(), box).select_related("city", "ward").order_by("code"))
        values: dict[str, dict[str, float]] = {}
        if years and districts:
            selected = Q()
            for code, year in years.items():
                selected |= Q(indicator=code, year=year)
            stored = IndicatorValue.objects.filter(
                selected, tier=IndicatorValue.Tier.DISTRICT, area_code__in=[d.code for d in districts],
                value__isnull=False,
            ).values_list("area_code", "indicator", "value")
            for area_code, indicator, value in stored:
                if math.isfinite(value):
                    values.setdefault(area_code, {})[indicator] = float(value)
        for district in districts:
            geometry = _tile_geometry(district.geom, z, x, y, tolerance)
            if geometry is None:
                continue
            properties = {"code": district.code, "name": district.name_ja, "city": district.city.code}
            if district.ward is not None:
                properties["ward"] = district.ward.code
            properties.update(values.get(district.code, {}))
            features.append({"geometry": geometry, "properties": properties})
    else:
        areas = in_box(CensusArea.objects.filter(census_year=small_area_year()), box).order_by("key_code")
        for area in areas:
            geometry = _tile_geometry(area.geom, z, x, y, tolerance)
            if geometry is not None:
                features.append({"geometry": geometry, "properties": {
                    "key_code": area.key_code, "name": area.name_ja, "city": area.city_code, "year": area.census_year,
                }})
    return features


def _python_tile(layer: str, z: int, x: int, y: int) -> bytes:
    features = _python_features(layer, z, x, y)
    if not features:
        return b""
    return mapbox_vector_tile.encode(
        [{"name": layer, "features": features}],
        default_options={"extents": TILE_EXTENT, "y_coord_down": True,
                         "on_invalid_geometry": mapbox_vector_tile.encoder.on_invalid_geometry_make_valid},
    )
