"""The previous census for any set of today's small areas: its figures carried over to today's
KEY_CODEs, and the indicators of the areas taken together — what a karte of a drawn or picked area
needs to put 2015 beside 2020 (:meth:`karte.layers.report.IndicatorRow.set_earlier` does the rest).

Small-area codes change between censuses (町名変更, 分割, 統合); the correspondence table
(``CensusAreaCorrespondence``, loaded from e-Stat's 新旧対応表) says how. Figures move through
:func:`loaders.census.harmonise_to_new_codes` — renames move over, splits are shared out by area
share, merges add up, a suppressed cell makes its sums unknown — the one implementation of that
rule. A school district needs none of this: ``karte.compute`` interpolates each census's own small
areas to the district, so the district's 2015 figures are stored like its 2020 ones.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd
from django.db.models import Max

from karte.models import CensusAreaCorrespondence, CensusFigure
from loaders.census import harmonise_to_new_codes
from spatial.indicators import derived_indicators

from .encoding import clean_number


@dataclass
class EarlierCensus:
    """The previous census of a set of small areas of ``year``: ``figures`` (tidy ``key_code`` (the
    new code), ``variable``, ``value``, ``status``), and the sources (figures and correspondence)."""

    year: int
    earlier_year: int
    figures: pd.DataFrame
    dataset_ids: list[int] = field(default_factory=list)

    def totals(self) -> pd.Series:
        """Each variable summed over the areas (persons, households); unknown if any area's is."""
        if self.figures.empty:
            return pd.Series(dtype=float)
        # One row per (area, variable) after harmonising: pivot, not pivot_table (whose sum would
        # turn a suppressed cell's NaN into 0).
        wide = self.figures.pivot(index="key_code", columns="variable", values="value")
        return wide.sum(axis=0, skipna=False)

    def indicators(self) -> dict[str, float | None]:
        """Counts and ratio indicators of the areas taken together (``spatial.indicators``: ratios
        from summed counts), by indicator code, as a karte row's earlier value."""
        totals = self.totals()
        if totals.empty:
            return {}
        counts = totals.to_frame().T
        ratios = derived_indicators(counts)
        values = {code: clean_number(value) for code, value in totals.items()}
        values.update({code: clean_number(ratios[code].iloc[0]) for code in ratios.columns})
        return values


def earlier_census(key_codes: Sequence[str], year: int, variables: Iterable[str] | None = None) -> EarlierCensus | None:
    """The census before ``year`` for the small areas ``key_codes`` (KEY_CODEs of ``year``), its
    figures carried over to those codes through the correspondence table; None when no earlier
    census is loaded."""
    codes = list(dict.fromkeys(key_codes))
    earlier_year = CensusFigure.objects.filter(census_year__lt=year).aggregate(year=Max("census_year"))["year"]
    if earlier_year is None or not codes:
        return None
    feeding = CensusAreaCorrespondence.objects.filter(old_year=earlier_year, new_year=year, new_key_code__in=codes)
    old_codes = set(codes) | set(feeding.values_list("old_key_code", flat=True))
    # Every move of those old areas (a split feeds areas outside the set too: its shares must add up).
    moves = list(CensusAreaCorrespondence.objects.filter(old_year=earlier_year, new_year=year, old_key_code__in=old_codes)
                 .values("old_key_code", "new_key_code", "area_share", "dataset_id"))
    correspondence = pd.DataFrame(moves, columns=["old_key_code", "new_key_code", "area_share", "dataset_id"])
    rows = CensusFigure.objects.filter(census_year=earlier_year, key_code__in=old_codes)
    if variables is not None:
        rows = rows.filter(variable__in=list(variables))
    columns = ["key_code", "variable", "value", "status", "dataset_id"]
    figures = pd.DataFrame(list(rows.values_list(*columns)), columns=columns)
    figures["value"] = pd.to_numeric(figures["value"], errors="coerce").astype(float)
    dataset_ids = {int(d) for d in figures["dataset_id"].dropna().unique()}
    dataset_ids |= {int(d) for d in correspondence["dataset_id"].dropna().unique()}
    carried = harmonise_to_new_codes(figures.drop(columns="dataset_id"), correspondence)
    carried = carried[carried["key_code"].isin(codes)].reset_index(drop=True)
    return EarlierCensus(year=year, earlier_year=earlier_year, figures=carried, dataset_ids=sorted(dataset_ids))
