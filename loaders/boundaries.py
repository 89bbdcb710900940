"""Polygon sources: e-Stat 小地域 boundaries, 国土数値情報 N03 (wards, city) and A27 (school districts).

Every reader returns a GeoDataFrame in JGD2011 (EPSG:6668) with MultiPolygon geometries and a
``Report`` of what was repaired or skipped. Areas are computed in ``metric_epsg`` (m²).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .census import normalise_key
from .common import (JAPAN, Extent, TableData, check_extent, clean_geometries, read_japanese_csv, read_vector,
                     to_multipolygon, to_storage)
from .errors import FileFormatError, Report, ValueFormatError

RESIDENTIAL_HCODE = 8101
WATER_HCODE = 8154

# Romaji of the demo city's units (N03 carries no romaji).
KNOWN_ROMAJI = {
    "14130": "Kawasaki", "14131": "Kawasaki-ku", "14132": "Saiwai-ku", "14133": "Nakahara-ku",
    "14134": "Takatsu-ku", "14135": "Tama-ku", "14136": "Miyamae-ku", "14137": "Asao-ku",
}


@dataclass
class PolygonData:
    frame: gpd.GeoDataFrame
    report: Report
    source_crs: str
    extra: dict = field(default_factory=dict)


def _require(gdf: gpd.GeoDataFrame, columns: list[str], path: Path) -> None:
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise FileFormatError(f"missing field(s) {', '.join(missing)}; found {', '.join(map(str, gdf.columns))}",
                              path=path)


# JGD2011 plane rectangular CS (平面直角座標系, 告示 平成14年国土交通省告示第9号) by prefecture: the zone
# that holds the prefecture's main part. Islands in another zone (東京都 小笠原・伊豆諸島, 鹿児島県 奄美,
# 沖縄県 先島, 北海道 east and west) give the city's zone explicitly (load n03 --option projected_srid=…).
PREFECTURE_PLANE_RECTANGULAR_EPSG = {
    "42": 6669,                                                                      # I
    "40": 6670, "41": 6670, "43": 6670, "44": 6670, "45": 6670, "46": 6670,          # II
    "32": 6671, "34": 6671, "35": 6671,                                              # III
    "36": 6672, "37": 6672, "38": 6672, "39": 6672,                                  # IV
    "28": 6673, "31": 6673, "33": 6673,                                              # V
    "18": 6674, "24": 6674, "25": 6674, "26": 6674, "27": 6674, "29": 6674, "30": 6674,  # VI
    "16": 6675, "17": 6675, "21": 6675, "23": 6675,                                  # VII
    "15": 6676, "19": 6676, "20": 6676, "22": 6676,                                  # VIII
    "07": 6677, "08": 6677, "09": 6677, "10": 6677, "11": 6677, "12": 6677, "13": 6677, "14": 6677,  # IX
    "02": 6678, "03": 6678, "04": 6678, "05": 6678, "06": 6678,                      # X
    "01": 6680,                                                                      # XII (札幌 and central 北海道)
    "47": 6683,                                                                      # XV (沖縄本島)
}


def plane_rectangular_epsg(municipality_code: str) -> int:
    """The EPSG code of the JGD2011 plane rectangular zone for a JIS municipality code (its first two
    digits are the prefecture): 14130 (川崎市) → 6677 (zone IX), 27100 (大阪市) → 6674 (zone VI)."""
    prefecture = str(municipality_code).zfill(5)[:2]
    try:
        return PREFECTURE_PLANE_RECTANGULAR_EPSG[prefecture]
    except KeyError:
        raise ValueError(f"{municipality_code!r} is not a JIS municipality code (prefecture {prefecture!r})") from None


# The 20 designated cities (政令指定都市); their wards' codes follow the city's code.
DESIGNATED_CITIES = ("01100", "04100", "11100", "12100", "14100", "14130", "14150", "15100", "22100", "22130",
                     "23100", "26100", "27100", "27140", "28100", "33100", "34100", "40100", "40130", "43100")


def city_of_ward(code: str) -> str:
    """JIS code of the designated city that contains a ward (14131 → 14130, 27127 → 27100);
    any other municipality is its own city."""
    candidates = [c for c in DESIGNATED_CITIES if c[:2] == code[:2] and c <= code < c[:3] + "99"]
    return max(candidates) if candidates and code not in DESIGNATED_CITIES else code


def in_city(code: str, city_code: str) -> bool:
    """Whether a municipality or ward code belongs to the city ``city_code`` (14131 → 14130)."""
    return code == city_code or city_of_ward(code) == city_code


def read_census_boundary(path: Path | str, *, crs=None, metric_epsg: int = 6677,
                         city_code: str | None = None, extent: Extent | None = None) -> PolygonData:
    """e-Stat 境界データ 小地域 (shapefile or GeoJSON): KEY_CODE, S_NAME, HCODE, PREF+CITY.

    2015 files are JGD2000 (EPSG:4612), 2020 files JGD2011 (EPSG:6668); both are read from the
    .prj and reprojected to 6668. ``city_code`` keeps only the areas of that city (and its wards);
    the areas kept must lie in ``extent`` (the city's, else Japan), or the file is refused with the
    CRS that would fit (:func:`loaders.common.check_extent`).
    """
    path = Path(path)
    gdf, source = read_vector(path, crs=crs)
    _require(gdf, ["KEY_CODE", "HCODE"], path)
    report = Report(path)
    gdf = clean_geometries(gdf, report, kind="polygon", path=path)
    for pos, key in zip(gdf["feature"], gdf["KEY_CODE"].astype(str)):
        if not key.isdigit() or len(key) not in (9, 11):
            raise ValueFormatError(f"KEY_CODE {key!r} is not a 9/11-digit small-area code", path=path, row=int(pos),
                                   field="KEY_CODE")
    gdf = gdf.copy()
    gdf["key_code"] = gdf["KEY_CODE"].astype(str).map(normalise_key)
    if city_code:
        keep = gdf["key_code"].str[:5].map(lambda c: in_city(c, city_code))
        if not keep.any():
            raise FileFormatError(f"no small area of city {city_code} in the file (KEY_CODE)", path=path)
        if not keep.all():
            report.add(f"{int((~keep).sum())} area(s) outside city {city_code} skipped")
        gdf = gdf.loc[keep]
    check_extent(gdf.geometry, extent, path=path, what="small areas")
    try:
        gdf["hcode"] = pd.to_numeric(gdf["HCODE"]).astype(int)
    except (ValueError, TypeError):
        raise ValueFormatError("HCODE must be numeric (8101 or 8154)", path=path, field="HCODE") from None
    name_col = "S_NAME" if "S_NAME" in gdf.columns else None
    gdf["name_ja"] = gdf[name_col].fillna("").astype(str) if name_col else ""
    gdf.loc[gdf["hcode"] == WATER_HCODE, "name_ja"] = gdf.loc[gdf["hcode"] == WATER_HCODE, "name_ja"].replace("", "水面")
    gdf["city_code"] = gdf["key_code"].str[:5]
    # e-Stat splits a few areas into several records (飛び地); one area = one MultiPolygon.
    dissolved = gdf.dissolve(by="key_code", aggfunc={"name_ja": "first", "city_code": "first", "hcode": "first",
                                                     "feature": "first"}).reset_index()
    dup = len(gdf) - len(dissolved)
    if dup:
        report.add(f"{dup} extra record(s) of multi-part areas merged into one MultiPolygon per KEY_CODE")
    dissolved = to_storage(dissolved)
    dissolved["geometry"] = dissolved.geometry.map(to_multipolygon)
    dissolved["area_m2"] = dissolved.geometry.to_crs(metric_epsg).area
    report.facts.update(areas=len(dissolved), water=int((dissolved.hcode == WATER_HCODE).sum()),
                        source_crs=source.to_string())
    frame = dissolved[["key_code", "name_ja", "city_code", "hcode", "area_m2", "feature", "geometry"]]
    return PolygonData(frame, report, source.to_string())


def read_n03(path: Path | str, *, crs=None, city_code: str | None = None, extent: Extent | None = None) -> PolygonData:
    """国土数値情報 N03 行政区域 → one row per ward of a designated city (parts dissolved; none for
    an ordinary 市), ``extra['cities']`` with each city as the union of its polygons. Keeps the wards of ``city_code`` if given; they must lie in
    ``extent`` (Japan by default)."""
    path = Path(path)
    gdf, source = read_vector(path, crs=crs)
    _require(gdf, ["N03_001", "N03_004", "N03_007"], path)
    report = Report(path)
    gdf = clean_geometries(gdf, report, kind="polygon", path=path)
    codes = gdf["N03_007"]
    missing = codes.isna() | (codes.astype(str).str.len() != 5)
    for pos in gdf.loc[missing, "feature"]:
        report.add("no 5-digit 行政区域コード (N03_007; e.g. 所属未定地): feature skipped", row=int(pos), field="N03_007")
    gdf = gdf.loc[~missing].copy()
    gdf["code"] = gdf["N03_007"].astype(str)
    gdf["city_code"] = gdf["code"].map(city_of_ward)
    if city_code:
        gdf = gdf.loc[(gdf["city_code"] == city_code) | (gdf["code"] == city_code)]
        if gdf.empty:
            raise FileFormatError(f"no feature of city {city_code} (N03_007)", path=path)
    check_extent(gdf.geometry, extent, path=path, what="municipal polygons")
    gdf["name_ja"] = gdf["N03_004"].fillna("").astype(str)
    gdf["city_name"] = gdf["N03_003"].fillna(gdf["N03_004"]).astype(str) if "N03_003" in gdf else gdf["name_ja"]
    gdf["pref_name"] = gdf["N03_001"].astype(str)
    gdf = to_storage(gdf)
    wards = gdf.dissolve(by="code", aggfunc={"name_ja": "first", "city_code": "first", "city_name": "first",
                                            "pref_name": "first"}).reset_index()
    parts = gdf.groupby("code").size()
    for code, n in parts[parts > 1].items():
        report.add(f"ward {code}: {n} polygons (islands/enclaves) dissolved into one MultiPolygon")
    wards["geometry"] = wards.geometry.map(to_multipolygon)
    wards["name_en"] = wards["code"].map(KNOWN_ROMAJI).fillna("")
    # An ordinary 市 is its own municipality: it becomes a City with no Ward (two tiers, district
    # and city), never a ward named after itself.
    cities = wards.dissolve(by="city_code", aggfunc={"city_name": "first"}).reset_index()
    wards = wards.loc[wards["code"] != wards["city_code"]]
    cities["geometry"] = cities.geometry.map(to_multipolygon)
    cities = cities.rename(columns={"city_code": "code", "city_name": "name_ja"})
    cities["name_en"] = cities["code"].map(KNOWN_ROMAJI).fillna("")
    cities["projected_srid"] = cities["code"].map(plane_rectangular_epsg)
    report.facts.update(wards=len(wards), cities=len(cities), source_crs=source.to_string())
    return PolygonData(wards[["code", "name_ja", "name_en", "city_code", "geometry"]], report, source.to_string(),
                       {"cities": cities[["code", "name_ja", "name_en", "projected_srid", "geometry"]]})


# Field mapping of a school-district layer: Karte name → source field. A27 by default; a
# municipality's own file is read by passing its field names.
A27_FIELDS = {"municipality_code": "A27_001", "operator": "A27_002", "code": "A27_003", "school_name": "A27_004",
              "school_address": "A27_005"}


def read_school_districts(path: Path | str, *, crs=None, fields: dict[str, str] | None = None,
                          city_code: str | None = None, extent: Extent | None = None) -> PolygonData:
    """小学校区 polygons → code, name_ja (…小学校区), school_name, school_address, ward_code
    (None where the file has no municipality code: the importer links those by overlay).

    The districts must lie in Japan (half of them at least) and, given the city's ``extent``, at
    least one in the city (a prefecture's file holds other cities' districts too)."""
    path = Path(path)
    fields = {**A27_FIELDS, **(fields or {})}
    gdf, source = read_vector(path, crs=crs)
    _require(gdf, [fields["code"], fields["school_name"]], path)
    report = Report(path)
    gdf = clean_geometries(gdf, report, kind="polygon", path=path)
    out = pd.DataFrame({"feature": gdf["feature"]})
    out["code"] = gdf[fields["code"]].astype("string")
    for pos, code in zip(gdf["feature"], out["code"]):
        if code is pd.NA or not str(code).strip():
            raise ValueFormatError("school district without a code", path=path, row=int(pos), field=fields["code"])
    dup = out["code"].duplicated(keep=False)
    if dup.any():
        # One school's district drawn as several features: dissolve them.
        report.add(f"{int(dup.sum())} features share a code: dissolved per code", field=fields["code"])
    out["school_name"] = gdf[fields["school_name"]].fillna("").astype(str)
    out["name_ja"] = out["school_name"].map(lambda n: n + "区" if n.endswith("学校") else n + "小学校区")
    out["school_address"] = gdf[fields["school_address"]].fillna("").astype(str) if fields["school_address"] in gdf else ""
    muni = gdf[fields["municipality_code"]] if fields["municipality_code"] in gdf else pd.Series(None, index=gdf.index)
    out["ward_code"] = muni.map(lambda v: str(v) if v is not None and str(v).strip() not in {"", "nan", "None"} else None)
    for pos in out.loc[out["ward_code"].isna(), "feature"]:
        report.add("no municipality code: ward found by overlay", row=int(pos), field=fields["municipality_code"])
    frame = gpd.GeoDataFrame(out, geometry=gdf.geometry.values, crs=gdf.crs)
    if city_code:
        keep = frame["ward_code"].map(lambda c: not isinstance(c, str) or in_city(c, city_code)).astype(bool)
        if not keep.any():
            raise FileFormatError(f"no school district of city {city_code} in the file "
                                  f"({fields['municipality_code']})", path=path)
        frame = frame.loc[keep]
    check_extent(frame.geometry, JAPAN, path=path, what="school districts")
    if extent is not None:
        check_extent(frame.geometry, extent, path=path, min_share=0.0, what="school districts")
    frame = to_storage(frame)
    if dup.any():
        frame = frame.dissolve(by="code", aggfunc="first").reset_index()
    frame["geometry"] = frame.geometry.map(to_multipolygon)
    report.facts.update(districts=len(frame), source_crs=source.to_string())
    return PolygonData(frame[["code", "name_ja", "school_name", "school_address", "ward_code", "feature", "geometry"]],
                       report, source.to_string())


def read_district_names(path: Path | str) -> TableData:
    """Karte's table of district names: district_code, [name_ja], name_romaji."""
    path = Path(path)
    frame, _, _ = read_japanese_csv(path, header_rows=1)
    for col in ("district_code", "name_romaji"):
        if col not in frame.columns:
            raise FileFormatError(f"missing column {col}", path=path, row=1)
    report = Report(path)
    for row, r in frame.iterrows():
        if not r["district_code"]:
            raise ValueFormatError("empty district_code", path=path, row=row, field="district_code")
    return TableData(frame.assign(row=frame.index), report)
