"""e-Stat 国勢調査 小地域集計 CSV → tidy figures, and the KEY_CODE correspondence between vintages.

The CSV (Shift_JIS/CP932 as published, UTF-8 accepted) has two header rows: column codes
(``KEY_CODE,HYOSYO,CITYNAME,NAME,HTKSYORI,HTKSAKI,GASSAN,T001082001,…``) and Japanese labels.
HYOSYO 1 is the municipality, 2 the 町・大字, 3 the 丁目・字. Karte keeps the *leaf* areas (the
finest level present for each town), whose KEY_CODE is normalised to the 11 digits of the
boundary file (a 9-digit town without 丁目 gets ``00``), so figures join their polygons.

Cell markers: ``X`` 秘匿 → value None, status ``suppressed``; ``-`` → 0, ``zero``; ``*``, ``…``,
``...`` → None, ``unknown``. Rows with HTKSYORI=1 are carried by the area in HTKSAKI: every
variable is None, status ``merged``, ``merged_into`` the receiving KEY_CODE.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .census_tables import CensusTable, ColumnMatch, match_columns, table_for_columns
from .common import TableData, read_japanese_csv
from .errors import FileFormatError, MappingError, Report, ValueFormatError

HEAD_COLUMNS = ["KEY_CODE", "HYOSYO", "CITYNAME", "NAME", "HTKSYORI", "HTKSAKI", "GASSAN"]
SUPPRESSED_MARKERS = {"X", "Ｘ", "x"}
ZERO_MARKERS = {"-", "－", "‐", "―"}
UNKNOWN_MARKERS = {"*", "＊", "…", "...", "･･･", "・・・", ""}
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass
class CensusTableData:
    table: CensusTable
    year: int
    figures: pd.DataFrame  # key_code, variable, value, status, merged_into, row
    areas: pd.DataFrame  # key_code, name, city_code, hyosyo, row (leaf areas)
    report: Report
    encoding: str


def parse_cell(text: str, *, path: Path, row: int, field: str) -> tuple[float | None, str]:
    """A census cell → (value, status)."""
    cell = text.strip()
    if cell in SUPPRESSED_MARKERS:
        return None, "suppressed"
    if cell in ZERO_MARKERS:
        return 0.0, "zero"
    if cell in UNKNOWN_MARKERS:
        return None, "unknown"
    plain = cell.replace(",", "")
    if _NUMBER.match(plain):
        value = float(plain)
        return value, "zero" if value == 0 else "ok"
    raise ValueFormatError(f"{cell!r} is neither a number nor a census marker (X, -, *, …)",
                           path=path, row=row, field=field)


def normalise_key(key: str) -> str:
    """11-digit small-area key as in the boundary file (9-digit towns without 丁目 get "00")."""
    if len(key) == 9:
        return key + "00"
    return key


def read_census_table(path: Path | str, *, year: int | None = None, encoding: str | None = None,
                      table: CensusTable | None = None) -> CensusTableData:
    path = Path(path)
    frame, header, used = read_japanese_csv(path, encoding, header_rows=2)
    codes = [c.strip() for c in header[0]]
    missing = [c for c in HEAD_COLUMNS if c not in codes]
    if missing:
        raise FileFormatError(f"not an e-Stat 小地域集計 CSV: row 1 lacks {', '.join(missing)}", path=path, row=1)
    if table is None:
        try:
            table = table_for_columns(codes)
        except KeyError as error:
            raise MappingError(f"no declarative mapping for table(s) {error.args[0]} in loaders/census_tables.py",
                               path=path, row=1) from None
    if year is not None and int(year) != table.year:
        raise MappingError(f"table {table.table_id} is the {table.year} census, not {year}", path=path, row=1)
    match = match_columns(table, codes, header[1], path=path, head=HEAD_COLUMNS)
    report = Report(path)
    report_columns(match, report)
    if frame.empty:
        raise FileFormatError("the table has its two header rows but no data row: nothing to load", path=path)

    keys = frame["KEY_CODE"]
    for row, key in keys.items():
        if not key.isdigit() or len(key) not in (5, 9, 11):
            raise FileFormatError(f"KEY_CODE {key!r} is not a 5/9/11-digit area code", path=path, row=row,
                                  field="KEY_CODE")
    # Leaves: 丁目 rows, and towns that have no 丁目 rows under them.
    nine = set(keys[keys.str.len() == 11].str[:9])
    is_leaf = (keys.str.len() == 11) | ((keys.str.len() == 9) & ~keys.str[:9].isin(nine))
    leaves = frame.loc[is_leaf]
    report.facts.update(rows=len(frame), leaf_areas=int(is_leaf.sum()), aggregate_rows=int((~is_leaf).sum()))

    records = []
    area_rows = []
    statuses = {"suppressed": 0, "zero": 0, "unknown": 0, "merged": 0}
    value_codes = match.value_codes
    for row, r in zip(leaves.index, leaves.to_dict("records")):
        key = normalise_key(r["KEY_CODE"])
        city_code = key[:5]
        area_rows.append({"key_code": key, "name": r["NAME"], "city_code": city_code,
                          "hyosyo": int(r["HYOSYO"] or 0), "row": row})
        htk = r["HTKSYORI"] or "0"
        if htk not in {"0", "1", "2"}:
            raise ValueFormatError(f"HTKSYORI {htk!r} is not 0, 1 or 2", path=path, row=row, field="HTKSYORI")
        merged_into = ""
        if htk == "1":
            saki = r["HTKSAKI"]
            if not saki.isdigit():
                raise ValueFormatError("a merged row (HTKSYORI=1) needs the receiving area in HTKSAKI",
                                       path=path, row=row, field="HTKSAKI")
            # HTKSAKI is published as the code within the municipality (町 4 digits [+ 丁目 2]).
            merged_into = normalise_key(city_code + saki if len(saki) in (4, 6) else saki)
            report.add(f"{key} is merged into {merged_into} (HTKSYORI=1)", row=row, field="HTKSAKI")
        if htk == "2" and r["GASSAN"]:
            report.add(f"{key} carries the figures of {r['GASSAN']} (HTKSYORI=2, GASSAN)", row=row, field="GASSAN")
        for code in value_codes:
            if htk == "1":
                value, status = None, "merged"
            else:
                value, status = parse_cell(r[code], path=path, row=row, field=code)
            if status in statuses:
                statuses[status] += 1
            for variable in match.variables_of[code]:
                records.append((key, variable, value, status, merged_into, row))
    figures = pd.DataFrame.from_records(records, columns=["key_code", "variable", "value", "status", "merged_into", "row"])
    leaf_keys = {a["key_code"] for a in area_rows}
    for receiver, row in figures.loc[figures.merged_into != "", ["merged_into", "row"]].drop_duplicates("merged_into").itertuples(index=False):
        if receiver not in leaf_keys:
            report.add(f"HTKSAKI {receiver} is not a small area of this file", row=int(row), field="HTKSAKI")
    dupes = figures.duplicated(["key_code", "variable"], keep=False)
    if dupes.any():
        first = figures.loc[dupes].iloc[0]
        raise FileFormatError(f"KEY_CODE {first.key_code} appears twice", path=path, row=int(first.row), field="KEY_CODE")
    report.facts.update({f"cells_{k}": v for k, v in statuses.items()})
    return CensusTableData(table, table.year, figures, pd.DataFrame(area_rows), report, used)


def report_columns(match: ColumnMatch, report: Report) -> None:
    """Say which optional variables a file lacks and how many columns were not recognised."""
    for variable in match.missing_optional:
        report.add(f"no column labelled 「{match.table.label_of(variable)}」: optional variable {variable} not loaded",
                   row=2)
    if match.unknown_columns:
        report.add(f"{len(match.unknown_columns)} column(s) with a label the mapping does not name were ignored "
                   f"({', '.join(match.unknown_columns[:5])}{' …' if len(match.unknown_columns) > 5 else ''})", row=2)
    report.facts["columns_loaded"] = len(match.value_codes)


CORRESPONDENCE_COLUMNS = ["OLD_YEAR", "OLD_KEY_CODE", "NEW_YEAR", "NEW_KEY_CODE", "RELATION", "AREA_SHARE"]


def read_correspondence(path: Path | str, encoding: str | None = None) -> TableData:
    """KEY_CODE correspondence between two census vintages (Karte format, UTF-8 or CP932):
    OLD_YEAR, OLD_KEY_CODE, [OLD_NAME], NEW_YEAR, NEW_KEY_CODE, [NEW_NAME], RELATION
    (rename|split|merge), AREA_SHARE (share of the OLD area that lies in the NEW one, 0–1)."""
    path = Path(path)
    frame, header, _ = read_japanese_csv(path, encoding, header_rows=1)
    missing = [c for c in CORRESPONDENCE_COLUMNS if c not in frame.columns]
    if missing:
        raise FileFormatError(f"missing column(s) {', '.join(missing)}", path=path, row=1)
    report = Report(path)
    out = []
    for row, r in frame.iterrows():
        for col in ("OLD_KEY_CODE", "NEW_KEY_CODE"):
            if not r[col].isdigit():
                raise ValueFormatError(f"{r[col]!r} is not a KEY_CODE", path=path, row=row, field=col)
        if r["RELATION"] not in {"rename", "split", "merge"}:
            raise ValueFormatError(f"RELATION {r['RELATION']!r} is not rename/split/merge", path=path, row=row,
                                   field="RELATION")
        try:
            share = float(r["AREA_SHARE"] or 1.0)
            old_year, new_year = int(r["OLD_YEAR"]), int(r["NEW_YEAR"])
        except ValueError:
            raise ValueFormatError("AREA_SHARE/OLD_YEAR/NEW_YEAR must be numbers", path=path, row=row) from None
        if not 0 < share <= 1:
            raise ValueFormatError(f"AREA_SHARE {share} is not in (0, 1]", path=path, row=row, field="AREA_SHARE")
        out.append({"old_year": old_year, "old_key_code": normalise_key(r["OLD_KEY_CODE"]),
                    "new_year": new_year, "new_key_code": normalise_key(r["NEW_KEY_CODE"]),
                    "relation": r["RELATION"], "area_share": share, "row": row})
    table = pd.DataFrame(out)
    sums = table.groupby("old_key_code")["area_share"].sum()
    for key, total in sums.items():
        if abs(total - 1) > 0.01 and (table.loc[table.old_key_code == key, "relation"] != "merge").any():
            report.add(f"shares of {key} sum to {total:.3f}, not 1", field="AREA_SHARE")
    return TableData(table, report)


def harmonise_to_new_codes(figures: pd.DataFrame, correspondence: pd.DataFrame) -> pd.DataFrame:
    """Re-key an old vintage's tidy figures (key_code, variable, value, …) to the new vintage's
    KEY_CODEs: renamed areas move over, split areas are shared out by AREA_SHARE (an areal
    assumption: people spread evenly), merged areas add up. Status ``suppressed``/``unknown``
    spreads to every new area the old one feeds."""
    mapping = correspondence[["old_key_code", "new_key_code", "area_share"]]
    moved = figures.merge(mapping, left_on="key_code", right_on="old_key_code", how="left")
    unchanged = moved["new_key_code"].isna()
    moved.loc[unchanged, "new_key_code"] = moved.loc[unchanged, "key_code"]
    moved.loc[unchanged, "area_share"] = 1.0
    moved["value"] = moved["value"] * moved["area_share"]
    moved["key_code"] = moved["new_key_code"]

    # The least certain status wins: a sum containing a suppressed cell is not a plain number.
    severity = {"zero": 0, "ok": 1, "unknown": 2, "suppressed": 3, "merged": 4}
    moved["severity"] = moved["status"].map(severity).fillna(1).astype(int)
    groups = moved.groupby(["key_code", "variable"])
    grouped = pd.DataFrame({"value": groups["value"].sum(min_count=1), "severity": groups["severity"].max()})
    grouped["status"] = grouped["severity"].map({v: k for k, v in severity.items()})
    grouped = grouped.drop(columns="severity").reset_index()
    return grouped
