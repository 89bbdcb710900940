"""e-Stat 地域メッシュ統計 CSV (keyed by JIS X 0410 mesh codes) → tidy figures, and mesh codes →
polygons with ``jismesh`` (no hand-written mesh arithmetic).

Karte stores mesh figures as ``AreaStatistic`` rows whose ``area_code`` is the mesh code: the
polygon of a cell is a pure function of its code (``mesh_polygons``), so it is not stored, and
mesh cells never mix with census small areas (which would double count people when
interpolating to districts).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import jismesh.utils as ju
import numpy as np
import pandas as pd
import shapely
from shapely import box

from .census import parse_cell, report_columns
from .census_tables import MESH_TABLES, CensusTable, match_columns, table_for_columns
from .common import read_japanese_csv
from .errors import FileFormatError, MappingError, Report, ValueFormatError

# Number of digits → JIS X 0410 level as jismesh numbers them.
MESH_LEVELS = {4: 1, 6: 2, 8: 3, 9: 4, 10: 5, 11: 6}
MESH_SIZE_LABEL = {1: "1次 (80 km)", 2: "2次 (10 km)", 3: "3次 (1 km)", 4: "4次 (500 m)", 5: "5次 (250 m)",
                   6: "6次 (125 m)"}
MESH_HEAD = ["KEY_CODE", "HTKSYORI", "HTKSAKI", "GASSAN"]


def mesh_polygons(codes, crs: int = 4612) -> gpd.GeoDataFrame:
    """Polygons of JIS X 0410 mesh cells from their codes (south-west and north-east corners via
    ``jismesh.to_meshpoint``). Mesh codes are defined on JGD2000/JGD2011 latitude/longitude;
    pass ``crs=6668`` for JGD2011 (the default 4612 is the e-Stat statistics' datum)."""
    codes = [str(c) for c in codes]
    levels = {MESH_LEVELS.get(len(c)) for c in codes}
    if None in levels or len(levels) != 1:
        raise ValueError("mesh codes must all be of one level (4, 6, 8, 9, 10 or 11 digits)")
    # jismesh turns a one-element array into a scalar with np.asscalar, which numpy 2 removed:
    # ask for a lone code twice and keep one answer.
    arr = np.array([int(c) for c in codes] * (2 if len(codes) == 1 else 1), dtype=np.int64)
    south, west = ju.to_meshpoint(arr, 0, 0)
    north, east = ju.to_meshpoint(arr, 1, 1)
    n = len(codes)
    geoms = box(np.asarray(west)[:n], np.asarray(south)[:n], np.asarray(east)[:n], np.asarray(north)[:n])
    return gpd.GeoDataFrame({"mesh_code": codes, "level": levels.pop()}, geometry=geoms, crs=crs)


def mesh1_codes(extent) -> list[str]:
    """The JIS X 0410 1次メッシュ codes (80 km cells, 4 digits) that the geometry ``extent``
    (EPSG:6668 lon/lat) touches: latitude × 1.5 and longitude − 100, each to two digits."""
    minx, miny, maxx, maxy = extent.bounds
    codes = []
    for p in range(int(miny * 1.5), int(maxy * 1.5) + 1):
        for u in range(int(minx) - 100, int(maxx) - 100 + 1):
            cell = shapely.box(u + 100, p / 1.5, u + 101, (p + 1) / 1.5)
            if cell.intersects(extent):
                codes.append(f"{p:02d}{u:02d}")
    return codes


@dataclass
class MeshTableData:
    """A 地域メッシュ統計 table: tidy figures by mesh code, the table it matched, what was noticed."""

    frame: pd.DataFrame
    table: CensusTable
    report: Report


def read_mesh_table(path: Path | str, *, year: int | None = None, encoding: str | None = None,
                    table: CensusTable | None = None) -> MeshTableData:
    """e-Stat mesh CSV (two header rows; KEY_CODE = mesh code) → mesh_code, variable, value,
    status, row."""
    path = Path(path)
    frame, header, used = read_japanese_csv(path, encoding, header_rows=2)
    codes = [c.strip() for c in header[0]]
    if codes[:1] != ["KEY_CODE"] or "HTKSYORI" not in codes:
        raise FileFormatError("not an e-Stat mesh CSV: row 1 must start with KEY_CODE,HTKSYORI,…", path=path, row=1)
    if table is None:
        try:
            table = table_for_columns(codes)
        except KeyError as error:
            raise MappingError(f"no mapping for mesh table(s) {error.args[0]}", path=path, row=1) from None
    if table.table_id not in MESH_TABLES:
        raise MappingError(f"{table.table_id} is a small-area table, not a mesh table", path=path, row=1)
    if year is not None and int(year) != table.year:
        raise MappingError(f"table {table.table_id} is the {table.year} census, not {year}", path=path, row=1)
    match = match_columns(table, codes, header[1], path=path, head=MESH_HEAD)
    report = Report(path)
    report_columns(match, report)
    if frame.empty:
        raise FileFormatError("the table has its two header rows but no data row: nothing to load", path=path)
    records = []
    level = None
    for row, r in frame.iterrows():
        key = r["KEY_CODE"]
        this_level = MESH_LEVELS.get(len(key)) if key.isdigit() else None
        if this_level is None:
            raise ValueFormatError(f"{key!r} is not a JIS X 0410 mesh code", path=path, row=row, field="KEY_CODE")
        if level is None:
            level = this_level
        elif level != this_level:
            raise ValueFormatError(f"mesh level {this_level} among level-{level} codes", path=path, row=row,
                                   field="KEY_CODE")
        merged = r["HTKSYORI"] == "1"
        for code in match.value_codes:
            value, status = (None, "merged") if merged else parse_cell(r[code], path=path, row=row, field=code)
            for variable in match.variables_of[code]:
                records.append({"mesh_code": key, "variable": variable, "value": value, "status": status, "row": row})
    report.facts.update(cells=len(frame), level=MESH_SIZE_LABEL.get(level, level), encoding=used)
    return MeshTableData(pd.DataFrame.from_records(records), table, report)
