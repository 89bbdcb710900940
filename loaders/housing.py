"""住宅・土地統計調査 area-level tables (by municipality/ward) → tidy area statistics."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .census import parse_cell
from .common import TableData, read_japanese_csv
from .errors import FileFormatError, Report, ValueFormatError

# Column label → (variable, unit). Declarative: add the labels of another table layout here.
VACANCY_COLUMNS = {
    "総数（住宅数）": ("dwellings_total", "戸"),
    "住宅数": ("dwellings_total", "戸"),
    "空き家": ("vacant_dwellings", "戸"),
    "空き家数": ("vacant_dwellings", "戸"),
    "空き家率（％）": ("vacancy_rate", "%"),
    "空き家率": ("vacancy_rate", "%"),
    "うち賃貸用の住宅": ("vacant_for_rent", "戸"),
    "うちその他の住宅": ("vacant_other", "戸"),
}
CODE_COLUMNS = ("地域コード", "area_code", "コード")
NAME_COLUMNS = ("地域", "地域名", "area_name")


def read_area_table(path: Path | str, *, columns: dict[str, tuple[str, str]] | None = None,
                    encoding: str | None = None) -> TableData:
    """One row per area (5-digit JIS code), one column per figure → area_code, area_name,
    variable, value, unit, status, row. Unknown columns are reported and ignored."""
    path = Path(path)
    frame, _, used = read_japanese_csv(path, encoding, header_rows=1)
    mapping = columns or VACANCY_COLUMNS
    code_col = next((c for c in CODE_COLUMNS if c in frame.columns), None)
    if code_col is None:
        raise FileFormatError(f"no area code column ({' / '.join(CODE_COLUMNS)})", path=path, row=1)
    name_col = next((c for c in NAME_COLUMNS if c in frame.columns), None)
    report = Report(path)
    value_cols = [c for c in frame.columns if c in mapping]
    if not value_cols:
        raise FileFormatError(f"no known figure column ({', '.join(mapping)})", path=path, row=1)
    for c in frame.columns:
        if c not in mapping and c not in (code_col, name_col):
            report.add(f"column {c!r} has no mapping: ignored", row=1, field=c)
    records = []
    for row, r in frame.iterrows():
        code = r[code_col]
        if not (code.isdigit() and len(code) == 5):
            raise ValueFormatError(f"{code!r} is not a 5-digit JIS code", path=path, row=row, field=code_col)
        for c in value_cols:
            variable, unit = mapping[c]
            value, status = parse_cell(r[c], path=path, row=row, field=c)
            records.append({"area_code": code, "area_name": r[name_col] if name_col else "", "variable": variable,
                            "value": value, "unit": unit, "status": status, "row": row})
    report.facts.update(areas=len(frame), encoding=used)
    return TableData(pd.DataFrame.from_records(records), report)
