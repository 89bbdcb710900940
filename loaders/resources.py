"""Point resources: 国土数値情報 P02/P13/P14/P29, a generic lat/lon CSV, an OSM GeoJSON export and
空き家 lists → one frame of resources with a declarative kind mapping.

Output columns: ``source_key`` (natural key: source prefix + the feature's id in its source, or
where the source has no id its name, kind and position rounded to about a metre — never the file
name, so the same list downloaded again under another name is recognised),
``kind`` (a ``karte.models.ResourceKind`` value, kept as plain strings here: no Django),
``name``, ``address``, ``is_public``, ``area_m2``, ``attributes`` (dict of the source fields kept),
``geometry`` (as in the source, EPSG:6668), ``location`` (a point on it), ``_feature`` (1-based row
or feature number in the file).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .common import (JAPAN, STORAGE_EPSG, Extent, check_extent, clean_geometries, parse_crs, read_japanese_csv,
                     read_vector, report_far_points, representative_points, to_storage)
from .errors import FileFormatError, MappingError, Report, ValueFormatError
from .kinds import PUBLIC_KINDS


@dataclass(frozen=True)
class KsjProduct:
    """How to read one 国土数値情報 point product: which fields hold what, and the kind mapping
    (tried in order: (field, value) → kind; the first match wins; ``default_kind`` otherwise)."""

    prefix: str
    id_field: str | None
    name_field: str
    address_field: str | None
    kind_rules: tuple[tuple[str, str, str], ...]
    default_kind: str | None
    area_field: str | None = None
    keep_fields: tuple[str, ...] = ()


KSJ_PRODUCTS: dict[str, KsjProduct] = {
    # 公共施設: P02_002 大分類, P02_003 小分類.
    "p02": KsjProduct("P02", None, "P02_004", "P02_005", (
        ("P02_003", "03001", "civic_hall"),  # 公民館・市民館
        ("P02_003", "03002", "library"),
        ("P02_003", "16004", "elderly_welfare_centre"),
        ("P02_002", "16", "welfare_facility"),
        ("P02_002", "03", "public_facility"),
    ), "public_facility", keep_fields=("P02_001", "P02_002", "P02_003", "P02_006")),
    # 都市公園: points carrying the 供用面積 (m²).
    "p13": KsjProduct("P13", None, "P13_001", "P13_005", (), "park", area_field="P13_007",
                      keep_fields=("P13_002", "P13_003", "P13_004", "P13_008")),
    # 福祉施設: P14_003 大分類 (02 老人福祉, 05 児童福祉 …), P14_004 小分類.
    "p14": KsjProduct("P14", None, "P14_005", "P14_006", (
        ("P14_004", "0501", "nursery"),
        ("P14_004", "0507", "childcare_support_centre"),
        ("P14_004", "0204", "elderly_welfare_centre"),
    ), "welfare_facility", keep_fields=("P14_003", "P14_004", "P14_007")),
    # 学校: P29_003 学校分類 (16001 小学校, 16002 中学校 …).
    "p29": KsjProduct("P29", "P29_002", "P29_004", "P29_005", (), "school",
                      keep_fields=("P29_001", "P29_003")),
}

# The city's facility lists and other CSVs: the 種別 label → kind.
CSV_KIND_LABELS = {
    "市民館": "civic_hall", "分館": "civic_hall", "図書館": "library", "こども文化センター": "children_culture_centre",
    "いこいの家": "ikoi_no_ie", "老人福祉センター": "elderly_welfare_centre", "町内会館": "community_hall",
    "自治会館": "community_hall", "集会所": "community_hall", "地域子育て支援センター": "childcare_support_centre",
    "保育所": "nursery", "保育園": "nursery", "学校": "school", "公園": "park", "カフェ": "cafe",
    "空き家": "vacant_house", "空き店舗": "vacant_shop", "公開空地": "public_open_space", "農地": "farmland",
    "緑地": "green_space", "神社": "shrine_temple", "寺院": "shrine_temple",
}

# OSM tags → kind (first match wins).
OSM_RULES = (
    ("amenity", "community_centre", "community_hall"),
    ("amenity", "social_centre", "community_hall"),
    ("amenity", "place_of_worship", "shrine_temple"),
    ("amenity", "cafe", "cafe"),
    ("amenity", "library", "library"),
    ("amenity", "kindergarten", "nursery"),
    ("amenity", "childcare", "nursery"),
    ("amenity", "school", "school"),
    ("amenity", "social_facility", "welfare_facility"),
    ("amenity", "townhall", "public_facility"),
    ("leisure", "park", "park"),
    ("landuse", "farmland", "farmland"),
    ("shop", "vacant", "vacant_shop"),
)


@dataclass
class ResourceData:
    frame: gpd.GeoDataFrame
    report: Report
    source_crs: str
    extra: dict = field(default_factory=dict)


def _finish(gdf: gpd.GeoDataFrame, report: Report, extent: Extent | None, tolerance_m: float,
            source_crs: str) -> ResourceData:
    # Most points of a prefecture's file lie in other cities (skipped one by one below), but none in
    # the city, or most outside Japan, means coordinates read in the wrong CRS: refused.
    check_extent(gdf.geometry, JAPAN, path=report.path, what="resources")
    if extent is not None:
        check_extent(gdf.geometry, Extent(extent.geometry, extent.name, tolerance_m), path=report.path,
                     min_share=0.0, what="resources")
    gdf = to_storage(gdf)
    locations = representative_points(gdf.geometry)
    near = report_far_points(locations, gdf["feature"], extent.geometry if extent is not None else None, report,
                             tolerance_m)
    gdf = gdf.loc[near].copy()
    gdf["location"] = locations[near].values
    dup = gdf["source_key"].duplicated(keep=False)
    if dup.any():
        first = gdf.loc[dup].iloc[0]
        raise ValueFormatError(f"id {first.source_key!r} appears more than once", path=report.path,
                               row=int(first.feature))
    gdf["is_public"] = gdf["kind"].isin(PUBLIC_KINDS) if "is_public" not in gdf else gdf["is_public"]
    counts = gdf["kind"].value_counts().to_dict()
    report.facts.update(resources=len(gdf), kinds=counts, source_crs=source_crs)
    columns = ["source_key", "kind", "name", "address", "is_public", "area_m2", "attributes", "feature",
               "location", "geometry"]
    return ResourceData(gpd.GeoDataFrame(gdf[columns], geometry="geometry", crs=STORAGE_EPSG), report, source_crs)


def _clean_value(v):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


def read_ksj_facilities(path: Path | str, product: str, *, crs=None, extent=None, tolerance_m: float = 1000.0,
                        kind_rules=None) -> ResourceData:
    """国土数値情報 point layer (P02, P13, P14, P29) → resources."""
    path = Path(path)
    try:
        spec = KSJ_PRODUCTS[product.lower()]
    except KeyError:
        raise MappingError(f"unknown 国土数値情報 product {product!r}; known: {', '.join(KSJ_PRODUCTS)}", path=path) from None
    gdf, source = read_vector(path, crs=crs)
    needed = [spec.name_field] + ([spec.id_field] if spec.id_field else [])
    missing = [f for f in needed if f not in gdf.columns]
    if missing:
        raise FileFormatError(f"not a {spec.prefix} layer: missing field(s) {', '.join(missing)}", path=path)
    report = Report(path)
    gdf = clean_geometries(gdf, report, kind="point", path=path)
    rules = tuple(kind_rules or spec.kind_rules)
    kinds = []
    for pos, (_, r) in zip(gdf["feature"], gdf.iterrows()):
        kind = next((k for f, value, k in rules if f in r and str(r[f]) == value), spec.default_kind)
        if kind is None:
            raise MappingError("no kind mapping matches this feature", path=path, row=int(pos))
        kinds.append(kind)
    out = gpd.GeoDataFrame({"feature": gdf["feature"].values}, geometry=gdf.geometry.values, crs=gdf.crs)
    out["kind"] = kinds
    out["name"] = gdf[spec.name_field].fillna("").astype(str).values
    out["address"] = gdf[spec.address_field].fillna("").astype(str).values if spec.address_field in gdf else ""
    if spec.id_field:
        ids = gdf[spec.id_field].astype(str).values
    else:
        # P02/P13/P14 carry no stable id: the natural key is name + position (rounded to ~1 m),
        # which survives re-loading the same file and tells apart facilities of the same name.
        pts = representative_points(to_storage(gdf).geometry)
        ids = [f"{n}@{p.x:.5f},{p.y:.5f}" for n, p in zip(out["name"], pts)]
    out["source_key"] = [f"ksj:{spec.prefix.lower()}:{i}" for i in ids]
    if spec.area_field and spec.area_field in gdf:
        area = pd.to_numeric(gdf[spec.area_field], errors="coerce")
        for pos, raw, val in zip(gdf["feature"], gdf[spec.area_field], area):
            if raw is not None and not (isinstance(raw, float) and np.isnan(raw)) and np.isnan(val):
                raise ValueFormatError(f"area {raw!r} is not a number", path=path, row=int(pos), field=spec.area_field)
        out["area_m2"] = area.values
    else:
        out["area_m2"] = np.nan
    keep = [f for f in spec.keep_fields if f in gdf.columns]
    out["attributes"] = [{f: _clean_value(r[f]) for f in keep} for _, r in gdf.iterrows()]
    return _finish(out, report, extent, tolerance_m, source.to_string())


def _points_from_table(frame: pd.DataFrame, path: Path, lat: str, lon: str, crs) -> gpd.GeoSeries:
    for col in (lat, lon):
        if col not in frame.columns:
            raise FileFormatError(f"no column {col!r} (columns: {', '.join(frame.columns)})", path=path, row=1)
    values = {}
    for col in (lat, lon):
        parsed = pd.to_numeric(frame[col], errors="coerce")
        bad = parsed.isna()
        if bad.any():
            row = int(frame.index[bad.to_numpy()][0])
            raise ValueFormatError(f"{frame.loc[row, col]!r} is not a coordinate", path=path, row=row, field=col)
        values[col] = parsed
    lat_v, lon_v = values[lat], values[lon]
    if ((lat_v.abs() > 90) | (lon_v.abs() > 180)).any():
        bad = (lat_v.abs() > 90) | (lon_v.abs() > 180)
        row = int(frame.index[bad.to_numpy()][0])
        raise ValueFormatError("latitude/longitude out of range (are the columns swapped?)", path=path, row=row,
                               field=lat)
    given = parse_crs(crs) or parse_crs(STORAGE_EPSG)
    return gpd.GeoSeries(gpd.points_from_xy(lon_v, lat_v), index=frame.index, crs=given)


def point_key(prefix: str, kind: str, name: str, lat: float, lon: float) -> str:
    """Natural key of a listed point without an id of its own: name + kind + position to 5 decimals
    of a degree (≈1 m), e.g. ``csv:community_hall:中野島集会所@35.61234,139.55678``."""
    return f"{prefix}:{kind}:{name}@{lat:.5f},{lon:.5f}"


def read_points_csv(path: Path | str, *, lat: str = "緯度", lon: str = "経度", name: str = "名称",
                    kind: str | None = "種別", kind_labels: dict[str, str] | None = None, fixed_kind: str | None = None,
                    address: str | None = "所在地", id_column: str | None = None, prefix: str = "csv",
                    is_public: bool | None = None, crs=None, encoding: str | None = None, extent=None,
                    tolerance_m: float = 1000.0) -> ResourceData:
    """A CSV with latitude/longitude columns (names configurable) → resources.

    The kind comes from ``fixed_kind`` or from the ``kind`` column through ``kind_labels``
    (default ``CSV_KIND_LABELS``). The natural key is ``prefix:`` + the ``id_column`` value, or
    :func:`point_key` without one; give lists whose ids could collide a ``prefix`` each. Coordinates are JGD2011 unless ``crs`` says otherwise (a lat/lon
    CSV carries no CRS; WGS84 and JGD2011 differ by < 1 m).
    """
    path = Path(path)
    frame, _, used = read_japanese_csv(path, encoding, header_rows=1)
    points = _points_from_table(frame, path, lat, lon, crs)
    report = Report(path)
    labels = {**CSV_KIND_LABELS, **(kind_labels or {})}
    kinds = []
    for row, r in frame.iterrows():
        if fixed_kind:
            kinds.append(fixed_kind)
            continue
        if not kind or kind not in frame.columns:
            raise FileFormatError(f"no kind column {kind!r} and no fixed kind", path=path, row=1)
        label = r[kind]
        mapped = labels.get(label)
        if mapped is None:
            raise MappingError(f"kind label {label!r} has no mapping (add it to the kind mapping)", path=path,
                               row=row, field=kind)
        kinds.append(mapped)
    out = gpd.GeoDataFrame({"feature": frame.index.to_numpy()}, geometry=points.values, crs=points.crs,
                           index=frame.index)
    out["kind"] = kinds
    out["name"] = frame[name].values if name in frame.columns else ""
    out["address"] = frame[address].values if address and address in frame.columns else ""
    if id_column:
        if id_column not in frame.columns:
            raise FileFormatError(f"no id column {id_column!r}", path=path, row=1)
        ids = frame[id_column]
        empty = ids == ""
        if empty.any():
            raise ValueFormatError("empty id", path=path, row=int(frame.index[empty.to_numpy()][0]), field=id_column)
        out["source_key"] = [f"{prefix}:{i}" for i in ids]
    else:
        out["source_key"] = [point_key(prefix, k, n, float(a), float(o))
                             for k, n, a, o in zip(out["kind"], out["name"], frame[lat], frame[lon])]
    out["area_m2"] = np.nan
    other = [c for c in frame.columns if c not in {lat, lon, name, address, id_column, kind}]
    out["attributes"] = [{c: r[c] for c in other if r[c] != ""} for _, r in frame.iterrows()]
    if is_public is not None:
        out["is_public"] = is_public
    report.facts["encoding"] = used
    return _finish(out, report, extent, tolerance_m, points.crs.to_string())


def read_vacant_houses(path: Path | str, *, lat: str = "緯度", lon: str = "経度", address: str = "所在地",
                       id_column: str | None = None, crs=None, extent=None, tolerance_m: float = 1000.0) -> ResourceData:
    """空き家 list (CSV with lat/lon, or GeoJSON/shapefile) → resources of kind ``vacant_house``,
    never public (they are private buildings)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return read_points_csv(path, lat=lat, lon=lon, name="名称", kind=None, fixed_kind="vacant_house",
                               address=address, id_column=id_column, prefix="akiya", is_public=False, crs=crs,
                               extent=extent, tolerance_m=tolerance_m)
    gdf, source = read_vector(path, crs=crs)
    report = Report(path)
    gdf = clean_geometries(gdf, report, kind="point", path=path)
    out = gpd.GeoDataFrame({"feature": gdf["feature"].values}, geometry=gdf.geometry.values, crs=gdf.crs)
    out["kind"] = "vacant_house"
    out["name"] = ""
    out["address"] = gdf[address].fillna("").astype(str).values if address in gdf else ""
    pts = representative_points(to_storage(gdf).geometry)
    ids = gdf[id_column].astype(str).values if id_column and id_column in gdf else [f"{p.x:.6f},{p.y:.6f}" for p in pts]
    out["source_key"] = [f"akiya:{i}" for i in ids]
    out["area_m2"] = np.nan
    keep = [c for c in gdf.columns if c not in {"geometry", "feature", address}]
    out["attributes"] = [{c: _clean_value(r[c]) for c in keep} for _, r in gdf.iterrows()]
    out["is_public"] = False
    return _finish(out, report, extent, tolerance_m, source.to_string())


def read_osm_export(path: Path | str, *, crs=None, extent=None, tolerance_m: float = 1000.0,
                    rules=OSM_RULES) -> ResourceData:
    """An OSM GeoJSON export (overpass-turbo / osmtogeojson: properties hold the tags, ``@id`` or
    the feature ``id`` is ``node/…``/``way/…``). Features no rule matches are reported and skipped."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FileFormatError(f"not a GeoJSON document: {error}", path=path) from None
    ids = [f.get("id") or (f.get("properties") or {}).get("@id") or (f.get("properties") or {}).get("id")
           for f in doc.get("features", [])]
    gdf, source = read_vector(path, crs=crs)
    report = Report(path)
    nested = [(f.get("properties") or {}).get("tags") for f in doc.get("features", [])]
    if any(isinstance(t, dict) for t in nested):
        # osmtogeojson without flat properties: {"type": "node", "id": 1, "tags": {...}}.
        tags = pd.DataFrame([t if isinstance(t, dict) else {} for t in nested], index=gdf.index)
        gdf = gdf.drop(columns=[c for c in ("tags",) if c in gdf])
        tags = tags.rename(columns={c: f"{c}_tag" for c in tags.columns if c in gdf.columns})
        gdf = gdf.join(tags)
        ids = [i if isinstance(i, str) and "/" in i else
               f"{(f.get('properties') or {}).get('type', 'node')}/{(f.get('properties') or {}).get('id', i)}"
               for i, f in zip(ids, doc.get("features", []))]
    gdf["_osm_id"] = ids[: len(gdf)]
    gdf = clean_geometries(gdf, report, kind="point", path=path)
    kinds, keep = [], []
    for pos, (_, r) in zip(gdf["feature"], gdf.iterrows()):
        kind = next((k for tag, value, k in rules if tag in r and r[tag] == value), None)
        if kind is None:
            report.add("no kind rule matches its tags: skipped", row=int(pos))
        if not r["_osm_id"]:
            raise ValueFormatError("feature without an OSM id (id or @id)", path=path, row=int(pos), field="id")
        kinds.append(kind)
        keep.append(kind is not None)
    keep = np.array(keep)
    gdf = gdf.loc[keep]
    out = gpd.GeoDataFrame({"feature": gdf["feature"].values}, geometry=gdf.geometry.values, crs=gdf.crs)
    out["kind"] = [k for k in kinds if k is not None]
    out["name"] = gdf["name"].fillna("").astype(str).values if "name" in gdf else ""
    addr_cols = [c for c in ("addr:full", "addr:city", "addr:street", "addr:housenumber") if c in gdf]
    out["address"] = [" ".join(str(r[c]) for c in addr_cols if isinstance(r[c], str)) for _, r in gdf.iterrows()]
    out["source_key"] = [f"osm:{i}" for i in gdf["_osm_id"]]
    out["area_m2"] = np.nan
    tag_cols = [c for c in gdf.columns if c not in {"geometry", "feature", "_osm_id", "name", "@id", "id"}]
    out["attributes"] = [{c: _clean_value(r[c]) for c in tag_cols if _clean_value(r[c]) is not None}
                         for _, r in gdf.iterrows()]
    # OSM features are private unless they are a public kind (a library, a park …).
    out["is_public"] = out["kind"].isin(PUBLIC_KINDS)
    return _finish(out, report, extent, tolerance_m, source.to_string())
