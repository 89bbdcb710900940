"""Declarative mapping of e-Stat census table column codes to Karte's tidy variable names.

One ``CensusTable`` per published table and vintage. ``columns`` lists EVERY column code of the
table in file order; the value is the variable name (or a tuple of names when one column feeds
several variables), or ``None`` for a column Karte does not load. ``labels`` holds the Japanese
label e-Stat prints in row 2, which the reader compares with the file so that a mapping applied
to the wrong table or the wrong vintage fails loudly instead of loading wrong numbers.

``verified``: the column numbering of T001082 (2020) and T000849 (2015) follows the published
files (60 columns: for 総数/男/女 the total incl. 年齢不詳, 0～4 … 70～74歳, 15歳未満, 15～64歳,
65歳以上, 75歳以上). The household, dwelling and mobility tables follow the published *layout*
but their numbering was reconstructed without the 定義書 at hand; the row-2 label check is what
protects a real load — adjust ``columns``/``labels`` here if e-Stat's file differs.

Variable names are the contract in docs/architecture.md.
"""
from __future__ import annotations

from dataclasses import dataclass

BAND_NAMES = ["0_4", "5_9", "10_14", "15_19", "20_24", "25_29", "30_34", "35_39", "40_44", "45_49",
              "50_54", "55_59", "60_64", "65_69", "70_74"]
_ZEN = str.maketrans("0123456789", "０１２３４５６７８９")


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
                       verified=True)


def _simple_table(table_id: str, year: int, title: str, topic: str,
                  spec: list[tuple[str | tuple[str, ...] | None, str]], notes: str = "") -> CensusTable:
    columns = {f"{table_id}{i:03d}": variable for i, (variable, _) in enumerate(spec, start=1)}
    labels = {f"{table_id}{i:03d}": label for i, (_, label) in enumerate(spec, start=1)}
    return CensusTable(table_id, year, title, topic, columns, labels, verified=False, notes=notes)


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
        _simple_table("T001087", 2020, "世帯の家族類型別一般世帯数（高齢者のいる世帯）", "households", _HOUSEHOLDS),
        _simple_table("T000858", 2015, "世帯の家族類型別一般世帯数（高齢者のいる世帯）", "households", _HOUSEHOLDS),
        _simple_table("T001093", 2020, "住宅の建て方別住宅に住む一般世帯数", "dwellings", _DWELLINGS),
        _simple_table("T000866", 2015, "住宅の建て方別住宅に住む一般世帯数", "dwellings", _DWELLINGS),
        # 5年前の常住地 is asked in the large-scale censuses (2010, 2020), not in 2015.
        _simple_table("T001107", 2020, "5年前の常住地別人口", "mobility", _MOBILITY),
    )
}

# 地域メッシュ統計 (keyed by JIS X 0410 mesh code instead of KEY_CODE; no CITYNAME/NAME columns).
MESH_TABLES: dict[str, CensusTable] = {
    "T001141": _simple_table("T001141", 2020, "男女別人口総数及び世帯総数（4次メッシュ）", "mesh", [
        ("pop_total", "人口（総数）"), ("pop_male", "人口（総数）　男"), ("pop_female", "人口（総数）　女"),
        ("households_total", "世帯総数"),
    ]),
}


def table_for_columns(codes: list[str]) -> CensusTable:
    """The table whose id prefixes the file's value columns (``T001082001`` → ``T001082``)."""
    prefixes = {code[:7] for code in codes if len(code) == 10 and code[0] == "T"}
    known = [CENSUS_TABLES.get(p) or MESH_TABLES.get(p) for p in prefixes]
    known = [t for t in known if t is not None]
    if len(known) != 1:
        raise KeyError(", ".join(sorted(prefixes)) or "no T-coded columns")
    return known[0]
