"""Declarative mapping of e-Stat census tables to Karte's tidy variable names, found by LABEL.

One ``CensusTable`` per published table and vintage. ``columns`` lists the table's columns in the
published order (code → variable name, a tuple of names when one column feeds several variables,
or ``None`` for a column Karte does not load) and ``labels`` the Japanese label e-Stat prints in
row 2 for each. The reader does not trust the numbering: it finds each variable's column by its
row-2 label wherever it stands in the file (labels compared after :func:`normalise_label`), ignores
columns it does not know, and refuses a file only when a variable in ``required`` (what the
indicators need) has no column — with a report listing the labels found and the variables missing.
Optional variables that are missing are reported and simply not loaded.

``verified``: the column numbering of T001082 (2020) and T000849 (2015) follows the published
files (60 columns: for 総数/男/女 the total incl. 年齢不詳, 0～4 … 70～74歳, 15歳未満, 15～64歳,
65歳以上, 75歳以上). The household, dwelling, mobility and mesh tables follow the published
*labels*; their numbering was reconstructed without the 定義書 at hand and only serves to write the
demo fixtures — a real file numbered otherwise loads the same, since columns are found by label.

Variable names are the contract in docs/architecture.md.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import MappingError

BAND_NAMES = ["0_4", "5_9", "10_14", "15_19", "20_24", "25_29", "30_34", "35_39", "40_44", "45_49",
              "50_54", "55_59", "60_64", "65_69", "70_74"]
_ZEN = str.maketrans("0123456789", "０１２３４５６７８９")


def normalise_label(text: str) -> str:
    """A row-2 label in a form that survives the publishers' variations: NFKC (full-width digits,
    letters and spaces become half-width), ～/〜 → ``~``, and spaces, 、，,（）()「」 removed.
    ``総数、年齢「不詳」含む`` and ``総数（年齢不詳含む）`` compare equal."""
    text = unicodedata.normalize("NFKC", text or "")
    text = text.replace("〜", "~").replace("～", "~").replace("−", "-")
    return re.sub(r"[\s、，,（）()「」『』・]", "", text)


def _band_label(band: str) -> str:
    lo, hi = band.split("_")
    return f"{lo.translate(_ZEN)}～{hi.translate(_ZEN)}歳"


@dataclass(frozen=True)
class CensusTable:
    table_id: str
    year: int
    title: str
    topic: str  # population | households | dwellings | mobility | mesh
    columns: dict[str, str | tuple[str, ...] | None]
    labels: dict[str, str]
    required: frozenset[str] = frozenset()
    verified: bool = False
    notes: str = ""

    def variables_of(self, code: str) -> tuple[str, ...]:
        value = self.columns.get(code)
        if value is None:
            return ()
        return value if isinstance(value, tuple) else (value,)

    @property
    def variables(self) -> list[str]:
        return [v for code in self.columns for v in self.variables_of(code)]

    @property
    def optional(self) -> list[str]:
        return [v for v in self.variables if v not in self.required]

    def label_of(self, variable: str) -> str:
        return next(self.labels[code] for code in self.columns if variable in self.variables_of(code))

    def variables_by_label(self) -> dict[str, tuple[str, ...]]:
        """Normalised row-2 label → the variables its column feeds (() for a column not loaded)."""
        return {normalise_label(self.labels[code]): self.variables_of(code) for code in self.columns}


def _population_table(table_id: str, year: int) -> CensusTable:
    """年齢（5歳階級、4区分）別、男女別人口: 3 blocks of 20 columns (総数, 男, 女)."""
    columns: dict[str, str | tuple[str, ...] | None] = {}
    labels: dict[str, str] = {}
    n = 0

    def add(variable, label):
        nonlocal n
        n += 1
        code = f"{table_id}{n:03d}"
        columns[code] = variable
        labels[code] = label

    for sex, prefix, total_var, total_label in (
        ("t", "総数", "pop_total", "総数、年齢「不詳」含む"),
        ("m", "男", "pop_male", "男の総数、年齢「不詳」含む"),
        ("f", "女", "pop_female", "女の総数、年齢「不詳」含む"),
    ):
        add(total_var, total_label)
        for band in BAND_NAMES:
            add(f"pop_{sex}_{band}", prefix + _band_label(band))
        if sex == "t":
            add("pop_0_14", "総数１５歳未満")
            add("pop_15_64", "総数１５～６４歳")
            add("pop_65_plus", "総数６５歳以上")
            add(("pop_75_plus", "pop_t_75_plus"), "総数７５歳以上")
        else:
            # The sex-specific 4区分 repeat the bands; loading them would double count in a pyramid.
            add(None, f"{prefix}１５歳未満")
            add(None, f"{prefix}１５～６４歳")
            add(None, f"{prefix}６５歳以上")
            add(f"pop_{sex}_75_plus", f"{prefix}７５歳以上")
    return CensusTable(table_id, year, "年齢（5歳階級、4区分）別、男女別人口", "population", columns, labels,
                       required=POPULATION_REQUIRED, verified=True)


def _simple_table(table_id: str, year: int, title: str, topic: str,
                  spec: list[tuple[str | tuple[str, ...] | None, str]], required: set[str],
                  notes: str = "") -> CensusTable:
    columns = {f"{table_id}{i:03d}": variable for i, (variable, _) in enumerate(spec, start=1)}
    labels = {f"{table_id}{i:03d}": label for i, (_, label) in enumerate(spec, start=1)}
    return CensusTable(table_id, year, title, topic, columns, labels, required=frozenset(required), verified=False,
                       notes=notes)


# What the indicators need (spatial/indicators.py: the rates' numerators and denominators, the
# isolation index, walk coverage). Everything else a table maps is optional: the 5-year bands feed
# the pyramid and the cohort projection, which are left out (with a warning) when a file lacks them.
POPULATION_REQUIRED = frozenset({"pop_total", "pop_0_14", "pop_15_64", "pop_65_plus", "pop_75_plus"})
HOUSEHOLDS_REQUIRED = {"households_with_elderly", "households_elderly_alone"}
DWELLINGS_REQUIRED = {"dwelling_households_total", "dwelling_households_apartment"}
MOBILITY_REQUIRED = {"pop_5y_base", "movers_5y"}
MESH_REQUIRED = {"pop_total"}


_HOUSEHOLDS = [
    ("households_total", "一般世帯数"),
    (None, "一般世帯人員"),
    ("households_with_elderly", "65歳以上世帯員のいる一般世帯数"),
    ("households_elderly_alone", "65歳以上世帯員のいる一般世帯数（単独世帯）"),
    ("households_elderly_couple", "65歳以上世帯員のいる一般世帯数（夫65歳以上、妻60歳以上の夫婦のみの世帯）"),
]
_DWELLINGS = [
    ("dwelling_households_total", "住宅に住む一般世帯数"),
    (None, "住宅に住む一般世帯数（一戸建）"),
    ("dwelling_households_apartment", "住宅に住む一般世帯数（共同住宅）"),
]
_MOBILITY = [
    ("pop_5y_base", "総数（5年前の常住地）"),
    (None, "現住所"),
    ("movers_5y", "現住所以外"),
]

CENSUS_TABLES: dict[str, CensusTable] = {
    t.table_id: t for t in (
        _population_table("T001082", 2020),
        _population_table("T000849", 2015),
        _simple_table("T001087", 2020, "世帯の家族類型別一般世帯数（高齢者のいる世帯）", "households", _HOUSEHOLDS,
                      HOUSEHOLDS_REQUIRED),
        _simple_table("T000858", 2015, "世帯の家族類型別一般世帯数（高齢者のいる世帯）", "households", _HOUSEHOLDS,
                      HOUSEHOLDS_REQUIRED),
        _simple_table("T001093", 2020, "住宅の建て方別住宅に住む一般世帯数", "dwellings", _DWELLINGS, DWELLINGS_REQUIRED),
        _simple_table("T000866", 2015, "住宅の建て方別住宅に住む一般世帯数", "dwellings", _DWELLINGS, DWELLINGS_REQUIRED),
        # 5年前の常住地 is asked in the large-scale censuses (2010, 2020), not in 2015.
        _simple_table("T001107", 2020, "5年前の常住地別人口", "mobility", _MOBILITY, MOBILITY_REQUIRED),
    )
}

# 地域メッシュ統計 (keyed by JIS X 0410 mesh code instead of KEY_CODE; no CITYNAME/NAME columns).
MESH_TABLES: dict[str, CensusTable] = {
    "T001141": _simple_table("T001141", 2020, "男女別人口総数及び世帯総数（4次メッシュ）", "mesh", [
        ("pop_total", "人口（総数）"), ("pop_male", "人口（総数）　男"), ("pop_female", "人口（総数）　女"),
        ("households_total", "世帯総数"),
    ], MESH_REQUIRED),
}


@dataclass
class ColumnMatch:
    """Which column of one file feeds which variables, found by the row-2 labels."""

    table: CensusTable
    variables_of: dict[str, tuple[str, ...]]  # the file's column code → variables
    missing_optional: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)  # codes whose label no mapping names

    @property
    def value_codes(self) -> list[str]:
        return [code for code, variables in self.variables_of.items() if variables]


def match_columns(table: CensusTable, codes: list[str], labels: list[str], *, path: Path | str,
                  head: Iterable[str] = ()) -> ColumnMatch:
    """Find each variable of ``table`` by its label among a file's columns (row 1 ``codes``, row 2
    ``labels``; the ``head`` columns KEY_CODE, HYOSYO … are not looked at).

    Unknown columns are ignored; a label found twice for a variable is refused (which column would
    be the right one cannot be told); a required variable without a column is refused with the list
    of the labels found, so that the mapping can be corrected from the message alone."""
    wanted = table.variables_by_label()
    columns = [(code, label) for code, label in zip(codes, labels) if code not in set(head)]
    found: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    unknown = []
    for code, label in columns:
        key = normalise_label(label)
        if key not in wanted:
            unknown.append(code)
            continue
        if key in seen:
            raise MappingError(f"label {label!r} stands over two columns ({seen[key]} and {code}): "
                               "which one holds the figures cannot be told", path=path, row=2, field=code)
        seen[key] = code
        found[code] = wanted[key]
    present = {v for variables in found.values() for v in variables}
    missing = [v for v in table.variables if v not in present]
    missing_required = [v for v in missing if v in table.required]
    if missing_required:
        listed = "; ".join(f"{code} {label}" for code, label in columns) or "none"
        needed = ", ".join(f"{v} (「{table.label_of(v)}」)" for v in missing_required)
        raise MappingError(
            f"table {table.table_id} ({table.year}): no column for the required variable(s) {needed}. "
            f"Labels found in row 2: {listed}. Correct the label in loaders/census_tables.py if e-Stat "
            "renamed it", path=path, row=2)
    return ColumnMatch(table, found, [v for v in missing if v not in table.required], unknown)


def table_for_columns(codes: list[str]) -> CensusTable:
    """The table whose id prefixes the file's value columns (``T001082001`` → ``T001082``)."""
    prefixes = {code[:7] for code in codes if len(code) == 10 and code[0] == "T"}
    known = [CENSUS_TABLES.get(p) or MESH_TABLES.get(p) for p in prefixes]
    known = [t for t in known if t is not None]
    if len(known) != 1:
        raise KeyError(", ".join(sorted(prefixes)) or "no T-coded columns")
    return known[0]
