"""The indicator catalogue (``INDICATORS``) and the maths of the census-derived indicators.

Every indicator the system stores is registered here with its Japanese and English label, unit,
kind (``rate``/``count``/``index``), direction (``higher_is`` worse/better/neutral) and a Japanese
description; the front end, print and export read labels and units from this registry.

Ratio indicators are always computed from counts (numerator and denominator summed over the area
first), never by averaging rates, so the same functions serve districts, wards and the city. Inputs
are DataFrames with one row per area and one column per census variable (tidy names from
``docs/architecture.md``); outputs are DataFrames on the same index. Units: persons, households,
percent (%), percentage points (pt).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

KIND_RATE = "rate"
KIND_COUNT = "count"
KIND_INDEX = "index"


@dataclass(frozen=True)
class IndicatorSpec:
    """One indicator: labels, unit, kind, direction; for ratios, which counts make it up.

    ``numerator``/``denominator`` list census variables summed before dividing; ``scale`` turns the
    ratio into the unit (100 for %). ``method_ja`` is the short method text stored with values.
    """

    code: str
    label_ja: str
    label_en: str
    unit: str
    kind: str
    higher_is: str
    description_ja: str
    numerator: tuple[str, ...] = ()
    denominator: tuple[str, ...] = ()
    scale: float = 1.0
    method_ja: str = ""


BANDS: tuple[str, ...] = tuple(f"{lo}_{lo + 4}" for lo in range(0, 100, 5)) + ("100_plus",)
BAND_LABELS_JA: dict[str, str] = {
    band: ("100歳以上" if band == "100_plus" else f"{band.split('_')[0]}〜{band.split('_')[1]}歳") for band in BANDS
}
# Open top bands of tables that stop before 100+ (e-Stat's small-area age table ends at 75+).
OPEN_BANDS: tuple[str, ...] = tuple(f"{lo}_plus" for lo in range(75, 100, 5))
BAND_LABELS_JA.update({band: f"{band.split('_')[0]}歳以上" for band in OPEN_BANDS})
AGE_KNOWN = ("pop_0_14", "pop_15_64", "pop_65_plus")

# Resource kinds, mirrored from karte.models.ResourceKind (spatial/ stays free of Django).
RESOURCE_KINDS: dict[str, str] = {
    "civic_hall": "市民館", "library": "図書館", "school": "学校", "nursery": "保育所",
    "children_culture_centre": "こども文化センター", "elderly_welfare_centre": "老人福祉センター",
    "ikoi_no_ie": "いこいの家", "childcare_support_centre": "地域子育て支援センター",
    "welfare_facility": "福祉施設", "public_facility": "公共施設", "park": "公園",
    "community_hall": "町内会館", "vacant_house": "空き家", "vacant_shop": "空き店舗", "cafe": "カフェ",
    "public_open_space": "公開空地", "shrine_temple": "神社仏閣", "farmland": "農地",
    "green_space": "緑地", "other": "その他",
}


def _count(code: str, label_ja: str, label_en: str, unit: str, description_ja: str) -> IndicatorSpec:
    return IndicatorSpec(code, label_ja, label_en, unit, KIND_COUNT, "neutral", description_ja,
                         method_ja="国勢調査 小地域集計の値")


def _census_counts() -> list[IndicatorSpec]:
    specs = [
        _count("pop_total", "総人口", "Total population", "人", "国勢調査の総人口(年齢不詳を含む)"),
        _count("pop_male", "男性人口", "Male population", "人", "国勢調査の男性人口"),
        _count("pop_female", "女性人口", "Female population", "人", "国勢調査の女性人口"),
        _count("pop_0_14", "年少人口(0〜14歳)", "Population aged 0-14", "人", "0〜14歳人口"),
        _count("pop_15_64", "生産年齢人口(15〜64歳)", "Population aged 15-64", "人", "15〜64歳人口"),
        _count("pop_65_plus", "高齢者人口(65歳以上)", "Population aged 65+", "人", "65歳以上人口"),
        _count("pop_75_plus", "後期高齢者人口(75歳以上)", "Population aged 75+", "人", "75歳以上人口"),
        _count("households_total", "一般世帯数", "General households", "世帯", "一般世帯数"),
        _count("households_with_elderly", "65歳以上世帯員のいる世帯", "Households with a member aged 65+",
               "世帯", "65歳以上の世帯員のいる一般世帯数"),
        _count("households_elderly_alone", "高齢単身世帯", "Elderly living alone", "世帯", "65歳以上の単独世帯数"),
        _count("households_elderly_couple", "高齢夫婦のみ世帯", "Elderly-couple households", "世帯",
               "夫65歳以上・妻60歳以上の夫婦のみの世帯数"),
        _count("dwelling_households_total", "住宅に住む一般世帯", "Households in dwellings", "世帯",
               "住宅に住む一般世帯数"),
        _count("dwelling_households_apartment", "共同住宅に住む世帯", "Households in apartment buildings", "世帯",
               "共同住宅に住む一般世帯数"),
        _count("movers_5y", "5年前の常住地が他の人", "Moved in the last 5 years", "人",
               "5年前の常住地が現住所以外の人口"),
        _count("pop_5y_base", "5年前常住地の基数", "Base population for 5-year mobility", "人",
               "5年前の常住地を調べた人口(基数)"),
    ]
    for sex, sex_ja, sex_en in (("t", "", ""), ("m", "男性 ", "male "), ("f", "女性 ", "female ")):
        for band in BANDS + OPEN_BANDS:
            label = BAND_LABELS_JA[band]
            specs.append(_count(f"pop_{sex}_{band}", f"{sex_ja}{label}人口", f"{sex_en}population {band.replace('_', '-')}",
                                "人", f"{sex_ja}{label}の人口(5歳階級)"))
    return specs


RATE_SPECS: tuple[IndicatorSpec, ...] = (
    IndicatorSpec("ageing_rate", "高齢化率", "Ageing rate", "%", KIND_RATE, "worse",
                  "65歳以上人口 ÷ 年齢が判明している人口 × 100", ("pop_65_plus",), AGE_KNOWN, 100.0,
                  "65歳以上 ÷ 年齢判明人口(数を合算してから割る)"),
    IndicatorSpec("old_old_share", "後期高齢者割合", "Share aged 75+", "%", KIND_RATE, "worse",
                  "75歳以上人口 ÷ 年齢が判明している人口 × 100", ("pop_75_plus",), AGE_KNOWN, 100.0,
                  "75歳以上 ÷ 年齢判明人口"),
    IndicatorSpec("child_share", "年少人口割合", "Share aged 0-14", "%", KIND_RATE, "better",
                  "0〜14歳人口 ÷ 年齢が判明している人口 × 100", ("pop_0_14",), AGE_KNOWN, 100.0,
                  "0〜14歳 ÷ 年齢判明人口"),
    IndicatorSpec("dependency_ratio", "従属人口指数", "Dependency ratio", "%", KIND_RATE, "worse",
                  "(0〜14歳 + 65歳以上) ÷ 15〜64歳 × 100", ("pop_0_14", "pop_65_plus"), ("pop_15_64",), 100.0,
                  "(年少 + 老年) ÷ 生産年齢"),
    IndicatorSpec("elderly_alone_share", "高齢単身世帯割合", "Elderly living alone share", "%", KIND_RATE, "worse",
                  "65歳以上の単独世帯 ÷ 65歳以上の世帯員のいる一般世帯 × 100",
                  ("households_elderly_alone",), ("households_with_elderly",), 100.0,
                  "高齢単身世帯 ÷ 65歳以上世帯員のいる世帯"),
    IndicatorSpec("apartment_share", "共同住宅居住割合", "Apartment share", "%", KIND_RATE, "neutral",
                  "共同住宅に住む一般世帯 ÷ 住宅に住む一般世帯 × 100",
                  ("dwelling_households_apartment",), ("dwelling_households_total",), 100.0,
                  "共同住宅世帯 ÷ 住宅に住む世帯"),
    IndicatorSpec("mobility_rate", "5年間の転入率", "5-year residential mobility", "%", KIND_RATE, "neutral",
                  "5年前の常住地が現住所以外の人口 ÷ 基数 × 100", ("movers_5y",), ("pop_5y_base",), 100.0,
                  "5年前常住地が他 ÷ 基数"),
)
RATE_CODES: tuple[str, ...] = tuple(spec.code for spec in RATE_SPECS)


def _other_specs() -> list[IndicatorSpec]:
    specs = [
        IndicatorSpec("isolation_index", "孤立リスク指数", "Isolation risk index", "z", KIND_INDEX, "worse",
                      "高齢単身世帯割合・共同住宅割合・高齢化率・転入率のzスコアの加重平均(spatial/isolation.py)",
                      method_ja="zスコアの加重合成"),
        IndicatorSpec("walk_coverage", "徒歩圏カバー率", "Walk coverage", "%", KIND_RATE, "better",
                      "集いの場から徒歩圏内に住む高齢者の割合", method_ja="徒歩距離圏内の65歳以上人口 ÷ 65歳以上人口"),
        IndicatorSpec("walk_coverage_alone", "徒歩圏カバー率(単身高齢者)", "Walk coverage (living alone)", "%",
                      KIND_RATE, "better", "集いの場から徒歩圏内に住む高齢単身世帯の割合",
                      method_ja="徒歩距離圏内の高齢単身世帯 ÷ 高齢単身世帯"),
        IndicatorSpec("resources_per_1000_elderly", "高齢者千人当たり資源数", "Resources per 1,000 elderly",
                      "件/千人", KIND_RATE, "better", "地域内の資源(全種別)の数 ÷ 65歳以上人口 × 1000",
                      ("resources_total",), ("pop_65_plus",), 1000.0, "資源数 ÷ 65歳以上人口 × 1000"),
        IndicatorSpec("resources_total", "資源数(合計)", "Resources (all kinds)", "件", KIND_COUNT, "better",
                      "地域内にある資源(全種別)の数", method_ja="地点が地域内にある資源の数"),
        IndicatorSpec("park_area_per_capita", "1人当たり公園面積", "Park area per capita", "m²/人", KIND_RATE,
                      "better", "地域内の公園面積の合計 ÷ 総人口", ("park_area_m2",), ("pop_total",), 1.0,
                      "公園面積(m²) ÷ 総人口"),
        IndicatorSpec("park_area_m2", "公園面積", "Park area", "m²", KIND_COUNT, "better",
                      "地点が地域内にある公園の面積の合計", method_ja="公園の面積(m²)の合計"),
        IndicatorSpec("vacant_houses", "空き家数", "Vacant houses", "件", KIND_COUNT, "neutral",
                      "地域内で把握された空き家の数", method_ja="空き家の地点数"),
        IndicatorSpec("vacant_house_density", "空き家密度", "Vacant house density", "件/km²", KIND_RATE, "neutral",
                      "把握された空き家の数 ÷ 地域の面積(km²)", ("vacant_houses",), ("area_km2",), 1.0,
                      "空き家数 ÷ 面積(km²)"),
        IndicatorSpec("vacant_houses_per_100_households", "100世帯当たり空き家数", "Vacant houses per 100 households",
                      "件/100世帯", KIND_RATE, "neutral", "把握された空き家の数 ÷ 一般世帯数 × 100",
                      ("vacant_houses",), ("households_total",), 100.0, "空き家数 ÷ 一般世帯数 × 100"),
        IndicatorSpec("hazard_area_share", "浸水想定区域の面積割合", "Share of area in the hazard zone", "%",
                      KIND_RATE, "worse", "浸水深が閾値以上のセルが覆う面積 ÷ 地域の面積 × 100",
                      ("hazard_area_m2",), ("area_m2",), 100.0, "閾値以上のセル面積 ÷ 地域面積"),
        IndicatorSpec("area_km2", "面積", "Area", "km²", KIND_COUNT, "neutral", "地域の面積(平面直角座標で計測)",
                      method_ja="平面直角座標系(m)で計測した面積"),
        IndicatorSpec("ageing_rate_2028", "高齢化率(2028年推計)", "Ageing rate, 2028 projection", "%", KIND_RATE,
                      "worse", "2015→2020年のコーホート変化率法(Hamilton–Perry)による2028年の推計(2025年と2030年の線形補間)",
                      method_ja="コーホート変化率法(Hamilton–Perry)"),
        IndicatorSpec("ageing_rate_2040", "高齢化率(2040年推計)", "Ageing rate, 2040 projection", "%", KIND_RATE,
                      "worse", "2015→2020年のコーホート変化率法(Hamilton–Perry)による2040年の推計",
                      method_ja="コーホート変化率法(Hamilton–Perry)"),
    ]
    for kind, label in RESOURCE_KINDS.items():
        specs.append(IndicatorSpec(f"resources_{kind}", f"{label}の数", f"Resources: {kind.replace('_', ' ')}", "件",
                                   KIND_COUNT, "neutral", f"地点が地域内にある「{label}」の数",
                                   method_ja="地点が地域内にある資源の数"))
    for spec in RATE_SPECS:
        specs.append(IndicatorSpec(f"{spec.code}_change", f"{spec.label_ja}の変化", f"Change in {spec.label_en.lower()}",
                                   "pt", KIND_RATE, spec.higher_is, f"前回国勢調査からの{spec.label_ja}の変化(ポイント)",
                                   method_ja="今回値 − 前回値(両年とも同じ学校区へ按分)"))
    return specs


INDICATORS: dict[str, IndicatorSpec] = {spec.code: spec for spec in [*_census_counts(), *RATE_SPECS, *_other_specs()]}
CENSUS_COUNT_VARIABLES: tuple[str, ...] = tuple(spec.code for spec in _census_counts())


# An interpolated count below half a person or household is a sliver of a neighbouring area (district
# and small-area boundaries never align exactly), not people: a ratio over it would be noise, e.g. a
# district where nobody is 65 or older showing "27 % of its elderly live alone" from 0.0015
# households. Such ratios are unknown (None), like ratios over nobody.
MIN_DENOMINATOR = 0.5


def ratio(numerator: pd.Series | np.ndarray, denominator: pd.Series | np.ndarray, scale: float = 1.0,
          min_denominator: float = 0.0):
    """``numerator / denominator × scale``; NaN (unknown) where the denominator is unknown, 0, or
    below ``min_denominator``."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(np.isfinite(den) & (den > 0) & (den >= min_denominator), num / den * scale, np.nan)
    if isinstance(numerator, pd.Series):
        return pd.Series(result, index=numerator.index)
    return result


def with_age_groups(counts: pd.DataFrame) -> pd.DataFrame:
    """Fill ``pop_0_14``, ``pop_15_64``, ``pop_65_plus``, ``pop_75_plus`` from 5-year bands
    (``pop_t_*``, else male + female) where the census table did not give them."""
    result = counts.copy()
    bands = pd.DataFrame(index=counts.index)
    for band in BANDS:
        if f"pop_t_{band}" in counts:
            bands[band] = counts[f"pop_t_{band}"]
        elif f"pop_m_{band}" in counts and f"pop_f_{band}" in counts:
            bands[band] = counts[f"pop_m_{band}"] + counts[f"pop_f_{band}"]
    if len(bands.columns) != len(BANDS):
        return result
    groups = {
        "pop_0_14": BANDS[:3], "pop_15_64": BANDS[3:13], "pop_65_plus": BANDS[13:], "pop_75_plus": BANDS[15:],
    }
    for name, members in groups.items():
        if name not in result:
            result[name] = bands[list(members)].sum(axis=1, min_count=len(members))
    return result


def derived_indicators(counts: pd.DataFrame, codes: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Ratio indicators from counts, one row per area: every registered ratio whose inputs are present.

    ``counts``: persons/households/m²/km² per area (any tier). Sums over the numerator and
    denominator variables are taken per area before dividing; an unknown input, or a denominator
    below :data:`MIN_DENOMINATOR` (nobody: a district where no one is 65 or older has no elderly
    living-alone share), makes the result unknown (NaN). Returns percent / per-1,000 / m² per person
    as the registry's unit says.
    """
    counts = with_age_groups(counts)
    result = pd.DataFrame(index=counts.index)
    for spec in INDICATORS.values():
        if not spec.numerator or (codes is not None and spec.code not in codes):
            continue
        if not all(c in counts for c in spec.numerator + spec.denominator):
            continue
        numerator = counts[list(spec.numerator)].sum(axis=1, min_count=len(spec.numerator), skipna=False)
        denominator = counts[list(spec.denominator)].sum(axis=1, min_count=len(spec.denominator), skipna=False)
        result[spec.code] = ratio(numerator, denominator, spec.scale, MIN_DENOMINATOR)
    return result


def derived_uncertainty(uncertain: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    """Uncertain share of each ratio indicator: the share of its input counts (numerator plus
    denominator, by size) resting on suppressed or imputed cells, 0–1.

    ``uncertain``: per area and count variable, the share of that count resting on such input.
    """
    result = pd.DataFrame(index=counts.index)
    for spec in INDICATORS.values():
        members = spec.numerator + spec.denominator
        if not members or not all(c in counts and c in uncertain for c in members):
            continue
        size = counts[list(members)].abs()
        weighted = (size * uncertain[list(members)]).sum(axis=1)
        total = size.sum(axis=1)
        result[spec.code] = ratio(weighted, total).fillna(0.0)
    return result


def changes(current: pd.DataFrame, previous: pd.DataFrame, codes: tuple[str, ...] = RATE_CODES) -> pd.DataFrame:
    """``<code>_change``: current minus previous value in percentage points, for areas in both."""
    result = pd.DataFrame(index=current.index)
    for code in codes:
        if code in current and code in previous:
            result[f"{code}_change"] = current[code] - previous[code].reindex(current.index)
    return result


CHANGE_CODES: frozenset[str] = frozenset(CENSUS_COUNT_VARIABLES) | frozenset(RATE_CODES)


def has_change(code: str) -> bool:
    """True for the indicators whose change between two censuses means something: the census counts
    and the census ratios (both years come from the same kind of table, allotted to the same
    districts). Resource counts are today's (no 2015 list), projections and the isolation index
    (z-scores within one year) have no earlier value to compare with."""
    return code in CHANGE_CODES


@dataclass(frozen=True)
class Change:
    """The change of one figure between an earlier and a later census.

    ``difference``: later − earlier, in the figure's unit, or in percentage points (pt) for a
    percentage; ``relative``: the difference as a percentage of the earlier value (counts only: a
    rate's change is read in points, and a relative change of a rate would be a second, confusing
    number); ``unit``: the unit of ``difference``.
    """

    difference: float | None
    relative: float | None
    unit: str


def change_between(later: float | None, earlier: float | None, unit: str) -> Change:
    """The :class:`Change` from ``earlier`` to ``later`` (both in ``unit``). Unknown (None or NaN)
    on either side gives an unknown change; a relative change of a count that was 0 is unknown."""
    def known(value: float | None) -> bool:
        return value is not None and np.isfinite(value)

    change_unit = "pt" if unit == "%" else unit
    if not (known(later) and known(earlier)):
        return Change(None, None, change_unit)
    difference = float(later) - float(earlier)
    relative = None
    if unit != "%" and unit != "pt" and earlier != 0:
        relative = difference / abs(float(earlier)) * 100.0
    return Change(difference, relative, change_unit)


def population_pyramid(counts: pd.Series) -> pd.DataFrame:
    """Pyramid data for one area: rows = 5-year bands (young first) up to the table's open band
    (``100_plus``, or e.g. ``75_plus`` for e-Stat small-area tables), columns ``male``, ``female``
    (persons) and ``label_ja``. Missing bands are NaN (unknown), not 0."""
    bands = BANDS
    for open_from in range(75, 100, 5):
        if f"pop_m_{open_from}_plus" in counts.index and "pop_m_100_plus" not in counts.index:
            bands = tuple(f"{lo}_{lo + 4}" for lo in range(0, open_from, 5)) + (f"{open_from}_plus",)
            break
    rows = []
    for band in bands:
        rows.append({
            "band": band, "label_ja": BAND_LABELS_JA[band],
            "male": float(counts.get(f"pop_m_{band}", np.nan)),
            "female": float(counts.get(f"pop_f_{band}", np.nan)),
        })
    return pd.DataFrame(rows).set_index("band")
