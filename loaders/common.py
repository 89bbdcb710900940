"""Helpers shared by the readers: checksums, text encodings of Japanese files, CRS and geometry
validation. Pure Python (no Django)."""
from __future__ import annotations

import hashlib
import io
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from .errors import CRSConflictError, ExtentError, FileFormatError, GeometryError, MissingCRSError, Report


@dataclass
class TableData:
    """A table a loader read (no geometry) and what it noticed while reading it."""

    frame: pd.DataFrame
    report: Report

STORAGE_EPSG = 6668  # JGD2011 geographic: what the database stores
# A layer may lose a feature or two to empty geometries (a publishing quirk); more than this share
# means a damaged file (a .shp cut short reads as empty geometries), which is refused.
MAX_EMPTY_SHARE = 0.05
JAPANESE_ENCODINGS = ("utf-8-sig", "cp932")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def decode_japanese(path: Path, encoding: str | None = None) -> tuple[str, str]:
    """Text of a CSV published in UTF-8 (with or without BOM) or Shift_JIS/CP932.

    CP932 is tried after UTF-8 because valid CP932 text is almost never valid UTF-8, while the
    reverse guess would silently produce mojibake. Returns (text, encoding used).
    """
    raw = _read_bytes(Path(path))
    candidates = (encoding,) if encoding else JAPANESE_ENCODINGS
    for enc in candidates:
        try:
            return raw.decode(enc), enc
        except (UnicodeDecodeError, LookupError):
            continue
    raise FileFormatError(f"cannot decode the file as {' or '.join(candidates)}", path=path)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes; for a .zip as e-Stat distributes them, the one .csv/.txt inside."""
    if not path.exists():
        raise FileFormatError("file not found", path=path)
    if path.suffix.lower() != ".zip":
        return path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        members = [n for n in archive.namelist() if n.lower().endswith((".csv", ".txt"))]
        if len(members) != 1:
            raise FileFormatError(f"expected one .csv/.txt in the zip, found {members or 'none'}", path=path)
        return archive.read(members[0])


def read_japanese_csv(path: Path, encoding: str | None = None, header_rows: int = 1) -> tuple[pd.DataFrame, list[list[str]], str]:
    """All cells as strings; returns (data, header rows, encoding). Data rows keep their file line
    numbers in the index (1-based, counting header rows)."""
    text, used = decode_japanese(path, encoding)
    import csv

    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < header_rows:
        raise FileFormatError(f"expected {header_rows} header row(s), found {len(rows)} rows", path=path)
    header, data = rows[:header_rows], rows[header_rows:]
    width = len(header[0])
    for i, r in enumerate(data, start=header_rows + 1):
        if len(r) != width:
            raise FileFormatError(f"has {len(r)} cells, the header has {width}", path=path, row=i)
    columns = [c.strip() for c in header[0]]
    frame = pd.DataFrame(data, columns=columns, index=range(header_rows + 1, header_rows + 1 + len(data)), dtype=object)
    frame = frame.apply(lambda s: s.str.strip())
    return frame, header, used


def parse_crs(value) -> CRS | None:
    if value in (None, ""):
        return None
    if isinstance(value, CRS):
        return value
    text = str(value)
    return CRS.from_user_input(int(text) if text.isdigit() else text)


def read_vector(path: Path, crs=None, encoding: str | None = None, layer=None) -> tuple[gpd.GeoDataFrame, CRS]:
    """Read a GeoJSON/shapefile/GeoPackage keeping the CRS the file declares.

    ``crs`` (e.g. from --crs) is used only for a file that declares none; a file declaring a
    different CRS is refused rather than silently reinterpreted. Shapefiles without ``.cpg`` (as
    e-Stat and 国土数値情報 distribute them) are read as CP932.
    """
    path = Path(path)
    require_file(path)
    kwargs = {}
    if encoding:
        kwargs["encoding"] = encoding
    elif path.suffix.lower() == ".shp" and not path.with_suffix(".cpg").exists():
        kwargs["encoding"] = "cp932"
    elif path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            names = [n.lower() for n in archive.namelist()]
        if any(n.endswith(".shp") for n in names) and not any(n.endswith(".cpg") for n in names):
            kwargs["encoding"] = "cp932"
    try:
        with warnings.catch_warnings():
            # GDAL warns and passes an unclosed ring on; GEOS then refuses it, and that is reported.
            warnings.filterwarnings("ignore", message="Non closed ring detected", category=RuntimeWarning)
            gdf = gpd.read_file(path, engine="pyogrio", layer=layer, **kwargs)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as error:
        raise FileFormatError(f"cannot read as a vector layer: {error}", path=path) from None
    except shapely.errors.GEOSException:
        # One geometry GEOS cannot build (an unclosed ring, a ring of two points) fails the whole
        # read; read the raw geometries again to name the feature.
        raise _unreadable_feature(path, layer, kwargs.get("encoding")) from None
    given = parse_crs(crs)
    declared = gdf.crs
    if declared is None:
        if given is None:
            raise MissingCRSError(
                "the file declares no CRS (no .prj / crs member); give it with --crs EPSG "
                "(e.g. --crs 6668 for JGD2011, 4612 JGD2000, 4301 Tokyo datum)", path=path)
        gdf = gdf.set_crs(given)
    elif given is not None and not CRS(declared).equals(given):
        # GeoJSON without a crs member is read as OGC:CRS84/EPSG:4326 by GDAL; that is a default,
        # not a declaration, so an explicit --crs wins there.
        if _declares_crs(path):
            raise CRSConflictError(f"--crs {given.to_string()} differs from the file's CRS {CRS(declared).to_string()}",
                                   path=path)
        gdf = gdf.set_crs(given, allow_override=True)
    return gdf, CRS(gdf.crs)


def require_file(path: Path) -> None:
    """A readable file, not a folder (GDAL would open a folder of shapefiles as one of its layers)."""
    if not path.exists():
        raise FileFormatError("file not found", path=path)
    if path.is_dir():
        raise FileFormatError("is a folder, not a file: give the file itself (e.g. the .shp, .csv or .zip in it)",
                              path=path)


def _unreadable_feature(path: Path, layer, encoding: str | None) -> GeometryError:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL warns about the very ring we are about to name
        _, _, geometries, _ = pyogrio.raw.read(path, layer=layer, encoding=encoding, columns=[])
    for number, wkb in enumerate(geometries, start=1):
        if wkb is None:
            continue
        try:
            shapely.from_wkb(wkb)
        except shapely.errors.GEOSException as error:
            reason = str(error).split(":", 1)[-1].strip()
            return GeometryError(f"geometry cannot be built ({reason}): fix or remove this feature", path=path,
                                 row=number, field="geometry")
    return GeometryError("a geometry cannot be built", path=path)


def _declares_crs(path: Path) -> bool:
    if path.suffix.lower() in {".geojson", ".json"}:
        head = path.read_bytes()[:4000].decode("utf-8", "ignore")
        return '"crs"' in head
    return True


def to_storage(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject to JGD2011 (EPSG:6668). pyproj picks the datum transformation (Tokyo datum 4301
    → JGD2011 uses the Helmert/grid transformation PROJ knows; JGD2000 → JGD2011 is near-identity
    outside the 2011 earthquake zone)."""
    if CRS(gdf.crs).to_epsg() == STORAGE_EPSG:
        return gdf
    return gdf.to_crs(STORAGE_EPSG)


def clean_geometries(gdf: gpd.GeoDataFrame, report: Report, *, kind: str, first_row: int = 1,
                     path: Path | None = None) -> gpd.GeoDataFrame:
    """Drop null/empty geometries, repair invalid ones with ``make_valid`` (keeping the parts of
    the expected dimension) and report mixed geometry types — each with its feature number.

    ``kind`` is "polygon" or "point" (points accept polygons; they are reduced later).
    Feature numbers are 1-based positions in the source layer (``first_row`` offsets them).
    """
    gdf = gdf.copy()
    positions = np.arange(len(gdf)) + first_row
    gdf["feature"] = positions
    geoms = gdf.geometry.values
    null = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if null.all():
        raise GeometryError("no feature has a geometry", path=path or report.path)
    if null.sum() > max(1, MAX_EMPTY_SHARE * len(gdf)):
        first = ", ".join(str(int(p)) for p in positions[null][:5])
        raise GeometryError(
            f"{int(null.sum())} of {len(gdf)} features have no readable geometry (features {first} …): the file "
            "is probably cut short or damaged; download it again", path=path or report.path)
    for pos in positions[null]:
        report.add("empty or null geometry: feature skipped", row=int(pos), field="geometry")
    gdf = gdf.loc[~null]
    types = gdf.geometry.geom_type
    if kind == "polygon":
        bad = ~types.isin(["Polygon", "MultiPolygon"])
        for pos, t in zip(gdf.loc[bad, "feature"], types[bad]):
            report.add(f"{t} in a polygon layer: feature skipped", row=int(pos), field="geometry")
        gdf = gdf.loc[~bad]
        invalid = ~shapely.is_valid(gdf.geometry.values)
        if invalid.any():
            repaired = []
            for pos, geom in zip(gdf.loc[invalid, "feature"], gdf.geometry.values[invalid]):
                reason = shapely.is_valid_reason(geom)
                fixed = _polygonal(shapely.make_valid(geom))
                report.add(f"invalid polygon repaired with make_valid ({reason})", row=int(pos), field="geometry")
                repaired.append(fixed)
            gdf.loc[invalid, gdf.geometry.name] = repaired
            report.facts["repaired_geometries"] = int(invalid.sum())
        gdf = gdf.loc[~(shapely.is_empty(gdf.geometry.values))]
    else:
        counts = types.value_counts().to_dict()
        if len(counts) > 1:
            minority = types != types.mode().iloc[0]
            rows = ", ".join(str(int(p)) for p in gdf.loc[minority, "feature"].head(10))
            more = " …" if minority.sum() > 10 else ""
            report.add(f"mixed geometry types {counts} (rows {rows}{more}): non-points are reduced to a "
                       "representative point")
    if gdf.empty:
        raise GeometryError(f"no usable {kind} geometry", path=path or report.path)
    return gdf


def _polygonal(geom):
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def to_multipolygon(geom):
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    if geom.geom_type == "MultiPolygon":
        return geom
    polys = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon"]
    return shapely.MultiPolygon(polys)


def representative_points(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """A point on each feature: the point itself, or a point guaranteed inside a polygon/line."""
    out = geoms.copy()
    not_point = geoms.geom_type != "Point"
    out[not_point] = geoms[not_point].representative_point()
    multi = geoms.geom_type == "MultiPoint"
    out[multi] = geoms[multi].apply(lambda g: g.geoms[0])
    return out


def report_far_points(points: gpd.GeoSeries, feature_numbers, extent, report: Report, tolerance_m: float,
                      metric_epsg: int = 6677) -> np.ndarray:
    """Mask of points within ``tolerance_m`` of ``extent`` (a shapely geometry in EPSG:6668);
    points farther away are reported with their feature/row number and should be skipped."""
    if extent is None or extent.is_empty:
        return np.ones(len(points), dtype=bool)
    metric = points.to_crs(metric_epsg)
    area = gpd.GeoSeries([extent], crs=STORAGE_EPSG).to_crs(metric_epsg).iloc[0]
    distances = metric.distance(area).to_numpy()
    near = distances <= tolerance_m
    numbers = list(feature_numbers)
    for idx in np.flatnonzero(~near):
        report.add(f"point {distances[idx] / 1000:.1f} km outside the city extent: skipped",
                   row=int(numbers[idx]), field="geometry")
    return near


# ------------------------------------------------------------------------------------------------
# Where a layer must lie
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Extent:
    """Where a layer's features must lie: a geometry in EPSG:6668, a name for messages (e.g.
    ``川崎市 (14130, N03)``) and how far outside a feature may still stand (metres)."""

    geometry: object
    name: str
    tolerance_m: float = 2000.0


# Japan from 与那国島 to 南鳥島 and from 沖ノ鳥島 to 択捉島, in JGD2011 lon/lat.
JAPAN = Extent(shapely.box(122.0, 20.0, 154.0, 46.0), "Japan", 0.0)

# CRSs a Japanese file is usually in, tried when one lands outside its extent: the three geographic
# datums, the 19 plane rectangular zones on each datum, UTM 51–55N (JGD2011) and web/GPS lon/lat.
CANDIDATE_EPSG = (6668, 4612, 4301, 4326, *range(6669, 6688), *range(2443, 2462), *range(30161, 30180),
                  *range(6688, 6693))
_SAMPLE = 200


def _inside_share(x: np.ndarray, y: np.ndarray, crs, extent: Extent) -> float:
    from pyproj import Transformer

    try:
        lon, lat = Transformer.from_crs(crs, STORAGE_EPSG, always_xy=True).transform(x, y, errcheck=False)
    except Exception:  # noqa: BLE001 — a CRS that cannot take these numbers simply does not fit
        return 0.0
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return 0.0
    zone = extent.geometry.buffer(extent.tolerance_m / 111_000.0) if extent.tolerance_m else extent.geometry
    inside = np.zeros(len(lon), dtype=bool)
    shapely.prepare(zone)
    inside[ok] = shapely.contains_xy(zone, lon[ok], lat[ok])
    return float(inside.mean())


def check_extent(geoms: gpd.GeoSeries, extent: Extent | None, *, path: Path, min_share: float = 0.5,
                 what: str = "features") -> None:
    """Refuse a layer whose features, read in the CRS the file declares (``geoms.crs``), do not lie
    in ``extent`` (at least ``min_share`` of them, and at least one): the usual cause is a wrong
    .prj/crs member, swapped latitude and longitude, or shifted coordinates, which would otherwise
    load the city somewhere else. The error names the declared CRS and every usual Japanese CRS
    (:data:`CANDIDATE_EPSG`, also with the axes swapped) that would put the features inside."""
    extent = extent or JAPAN
    geoms = geoms[~(geoms.is_empty | geoms.isna())]
    if geoms.empty:
        return
    step = max(1, len(geoms) // _SAMPLE)
    points = representative_points(geoms.iloc[::step])
    x, y = points.x.to_numpy(), points.y.to_numpy()
    declared = CRS(geoms.crs)
    share = _inside_share(x, y, declared, extent)
    if share >= min_share and share > 0:
        return
    # Degrees and metres cannot be mistaken for each other: only CRSs of the coordinates' kind are tried.
    degrees = bool(np.nanmax(np.abs(np.concatenate([x, y]))) <= 360)
    fits = []
    for epsg in CANDIDATE_EPSG:
        candidate = CRS.from_epsg(epsg)
        if candidate.is_geographic != degrees:
            continue
        name = f"EPSG:{epsg} ({candidate.name})"
        if not candidate.equals(declared) and _inside_share(x, y, candidate, extent) >= max(min_share, 0.5):
            fits.append(name)
        elif candidate.is_geographic and _inside_share(y, x, candidate, extent) >= max(min_share, 0.5):
            fits.append(f"{name} with latitude and longitude swapped")
    where = f"{extent.name}" + (f" (within {extent.tolerance_m / 1000:g} km)" if extent.tolerance_m else "")
    declared_name = f"EPSG:{declared.to_epsg()} ({declared.name})" if declared.to_epsg() else declared.name
    if fits:
        hint = ("they would lie inside in " + "; ".join(fits[:4]) + (" …" if len(fits) > 4 else "")
                + ": correct the file's .prj / crs member (or remove it and give --crs)")
    else:
        hint = "no usual Japanese CRS puts them inside: the coordinates are shifted or damaged"
    raise ExtentError(f"{share:.0%} of the {what} lie in {where} when read in the CRS the file declares, "
                      f"{declared_name}; {hint}. Nothing was loaded", path=path)
