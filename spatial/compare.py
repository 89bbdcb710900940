"""Three-tier comparison (地域 district / 区域 ward / 市域 city), district ranks and class breaks.

Ward and city values are aggregated from **counts** (summed numerators and denominators), then the
ratios are recomputed — never averaged over districts, which would weigh a small district like a
large one. Ranks order districts from the highest value (1) down; class breaks come from
mapclassify (quantiles, natural breaks = Fisher–Jenks, equal interval).
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import mapclassify
import numpy as np
import pandas as pd

from spatial.indicators import derived_indicators

SCHEMES = {
    "quantiles": "Quantiles",
    "natural_breaks": "FisherJenks",
    "equal_interval": "EqualInterval",
}


def aggregate_counts(counts: pd.DataFrame, groups: pd.Series | Sequence, *, skipna: bool = False) -> pd.DataFrame:
    """Sum count columns per group (e.g. small areas → wards, or everything → the city).

    ``groups``: the group key of every row. With ``skipna=False`` (default) an unknown count
    makes the group's sum unknown, so suppression is never hidden as 0.
    """
    keys = pd.Series(np.asarray(groups), index=counts.index, name="group")
    if skipna:
        return counts.groupby(keys).sum(min_count=1)
    return counts.groupby(keys).agg(lambda column: column.sum(skipna=False))


def aggregate_uncertain(uncertain: pd.DataFrame, counts: pd.DataFrame, groups: pd.Series | Sequence) -> pd.DataFrame:
    """Uncertain share of summed counts: Σ(share × count) / Σ count per group and variable (0–1)."""
    keys = pd.Series(np.asarray(groups), index=counts.index, name="group")
    columns = [c for c in uncertain.columns if c in counts.columns]
    weighted = (uncertain[columns] * counts[columns]).groupby(keys).sum()
    total = counts[columns].groupby(keys).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return (weighted / total.where(total > 0)).fillna(0.0)


def tier_table(counts: pd.DataFrame) -> pd.DataFrame:
    """Counts plus every ratio indicator derivable from them, for areas of any one tier."""
    return pd.concat([counts, derived_indicators(counts)], axis=1)


def three_tiers(
    district_counts: pd.DataFrame,
    ward_of_district: pd.Series,
    *,
    ward_counts: pd.DataFrame | None = None,
    city_code: str = "city",
) -> dict[str, pd.DataFrame]:
    """District, ward and city tables of counts and ratios.

    ``ward_counts``: the wards' own counts when known exactly (census small areas nest in wards;
    school districts do not). Without them, ward counts are summed from the districts assigned to
    each ward (``ward_of_district``). The city row sums the districts.
    """
    wards = ward_counts if ward_counts is not None else aggregate_counts(district_counts, ward_of_district)
    city = aggregate_counts(district_counts, [city_code] * len(district_counts))
    return {"district": tier_table(district_counts), "ward": tier_table(wards), "city": tier_table(city)}


def rank_descending(values: pd.Series) -> pd.Series:
    """Rank 1 = highest value; ties share the best rank; unknown (NaN) values get no rank (<NA>)."""
    return values.rank(ascending=False, method="min", na_option="keep").astype("Int64")


def class_breaks(values: Sequence[float] | pd.Series, scheme: str = "quantiles", k: int = 5) -> dict:
    """Class breaks of the known values with mapclassify.

    ``scheme``: ``quantiles``, ``natural_breaks`` (Fisher–Jenks) or ``equal_interval``. Returns
    ``{"scheme", "k", "bins" (upper bounds, ascending; the last is the maximum), "counts",
    "lower" (the minimum)}``; k shrinks to the number of distinct values when there are fewer.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {sorted(SCHEMES)}, not {scheme!r}")
    array = np.asarray(values, dtype=float)
    array = array[np.isfinite(array)]
    if array.size == 0:
        return {"scheme": scheme, "k": 0, "bins": [], "counts": [], "lower": None}
    k = max(1, min(int(k), len(np.unique(array))))
    if k == 1:
        return {"scheme": scheme, "k": 1, "bins": [float(array.max())], "counts": [int(array.size)],
                "lower": float(array.min())}
    with warnings.catch_warnings():
        # mapclassify warns that numba is absent (the pure-Python Fisher–Jenks is fast enough here)
        # and when ties leave fewer classes than asked: the result's "k" and "bins" report that.
        warnings.simplefilter("ignore")
        classifier = getattr(mapclassify, SCHEMES[scheme])(array, k=k)
    return {
        "scheme": scheme, "k": int(classifier.k), "bins": [float(b) for b in classifier.bins],
        "counts": [int(c) for c in classifier.counts], "lower": float(array.min()),
    }
