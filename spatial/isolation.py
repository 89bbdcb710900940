"""Composite isolation-risk index (孤立リスク指数) of school districts.

Definition
----------
For each component indicator the districts' values are standardised across the city,
``z = (x − mean) / sd`` (population sd, ddof = 0). The index is the weighted mean of the z-scores:

    isolation_index = Σ_c w_c · z_c / Σ_c w_c      (unit: z, 0 = the city's average district)

Default weights (``DEFAULT_WEIGHTS``), chosen because living alone is the most direct sign of
isolation risk, age the next, and housing form / turnover weaker proxies for thin neighbourhood ties:

==========================  ======  ==========================================
component                   weight  why
==========================  ======  ==========================================
``elderly_alone_share``      0.4    高齢単身世帯: the direct risk group
``ageing_rate``              0.3    高齢化率: more elderly, more at risk
``apartment_share``          0.2    共同住宅: fewer street-level contacts
``mobility_rate``            0.1    転入率: newcomers have fewer ties (when the census has it)
==========================  ======  ==========================================

A component missing for the whole city (e.g. no mobility table) is dropped and the remaining
weights renormalised; a component unknown for one district is left out of that district's mean
the same way. A component with zero spread (all districts equal) carries no information and
contributes 0. :func:`sensitivity` shows how the ranking moves under alternative weights.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from spatial.compare import rank_descending

DEFAULT_WEIGHTS: dict[str, float] = {
    "elderly_alone_share": 0.4,
    "ageing_rate": 0.3,
    "apartment_share": 0.2,
    "mobility_rate": 0.1,
}

ALTERNATIVE_WEIGHTS: dict[str, dict[str, float]] = {
    "equal": {"elderly_alone_share": 1, "ageing_rate": 1, "apartment_share": 1, "mobility_rate": 1},
    "alone_only": {"elderly_alone_share": 1.0},
    "demographic": {"elderly_alone_share": 0.5, "ageing_rate": 0.5},
    "housing_heavy": {"elderly_alone_share": 0.3, "ageing_rate": 0.2, "apartment_share": 0.35, "mobility_rate": 0.15},
}


def z_scores(values: pd.DataFrame) -> pd.DataFrame:
    """Column-wise z-scores over the known values (ddof = 0); zero-spread columns become 0."""
    mean = values.mean()
    sd = values.std(ddof=0)
    z = (values - mean) / sd.where(sd > 0)
    flat = sd.index[~(sd > 0)]
    z.loc[:, flat] = 0.0
    return z.where(values.notna())


def isolation_index(indicators: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.Series:
    """The composite index per district (unit: z) from a frame of component indicators (%).

    ``indicators``: one row per district with (some of) the columns in ``weights``.
    """
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    present = [c for c in weights if c in indicators and indicators[c].notna().any()]
    if not present:
        return pd.Series(np.nan, index=indicators.index, name="isolation_index")
    z = z_scores(indicators[present].astype(float))
    w = pd.Series({c: float(weights[c]) for c in present})
    weighted = z.mul(w, axis=1)
    weight_known = z.notna().mul(w, axis=1).sum(axis=1)
    index = weighted.sum(axis=1, min_count=1) / weight_known.where(weight_known > 0)
    return index.rename("isolation_index")


def used_weights(indicators: pd.DataFrame, weights: Mapping[str, float] | None = None) -> dict[str, float]:
    """The weights actually applied (components present in the data, renormalised to sum 1)."""
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    present = {c: float(w) for c, w in weights.items() if c in indicators and indicators[c].notna().any()}
    total = sum(present.values())
    return {c: w / total for c, w in present.items()} if total else {}


def rank(index: pd.Series) -> pd.Series:
    """Rank 1 = most at risk (highest index); unknown values get no rank."""
    return rank_descending(index)


def sensitivity(
    indicators: pd.DataFrame, alternatives: Mapping[str, Mapping[str, float]] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ranks of every district under the default and alternative weights, and a summary.

    Returns ``(ranks, summary)``: ``ranks`` has one column per weighting (``default`` first) and
    ``rank_change_max`` (largest absolute move from the default rank); ``summary`` has per
    alternative the Spearman rank correlation with the default, the mean and maximum absolute rank
    change and how many of the default top-5 stay in the top 5.
    """
    alternatives = dict(ALTERNATIVE_WEIGHTS if alternatives is None else alternatives)
    ranks = pd.DataFrame({"default": rank(isolation_index(indicators))})
    for name, weights in alternatives.items():
        ranks[name] = rank(isolation_index(indicators, weights))
    rows = []
    default = ranks["default"].astype(float)
    top = set(default.nsmallest(5).index)
    for name in alternatives:
        other = ranks[name].astype(float)
        change = (other - default).abs()
        constant = other.nunique() <= 1 or default.nunique() <= 1
        rows.append({
            "weights": name,
            # Spearman's rho is undefined when one ranking is all ties.
            "spearman": float("nan") if constant else float(default.corr(other, method="spearman")),
            "mean_abs_rank_change": float(change.mean()),
            "max_abs_rank_change": float(change.max()),
            "top5_kept": len(top & set(other.nsmallest(5).index)),
        })
    ranks["rank_change_max"] = ranks[list(alternatives)].astype(float).sub(default, axis=0).abs().max(axis=1)
    return ranks, pd.DataFrame(rows).set_index("weights")
