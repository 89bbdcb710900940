"""The census small areas (町丁・字) as a map layer coloured by census indicators, worked out per request.

A small area's ratios are its own census cells (:func:`spatial.indicators.derived_indicators`, the
rule of every tier); the change is against the previous census, whose cells are first carried
over to the current codes by the correspondence table (:func:`.change.earlier_census`, through
``loaders.census.harmonise_to_new_codes`` as the area karte does). Suppressed cells (秘匿) are not
imputed here: a ratio resting on one is ``null`` and named in the feature's ``suppressed`` list, so
the map shows it as suppressed, not as zero. Only the small areas in a bounding box are read (through the spatial index); a box holding
more than :data:`MAX_FEATURES` is a ParameterError (zoom in).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from karte.models import STORAGE_SRID, CensusArea, CensusFigure
from spatial.indicators import AGE_KNOWN, INDICATORS, RATE_SPECS, changes, derived_indicators

from .change import EarlierCensus, earlier_census
from .encoding import base_metadata, feature, feature_collection, geometry_to_geojson, shapely_from_geos
from .errors import ParameterError
from .provenance import sources_for
from .tiles import in_box, small_area_year

MAX_FEATURES = 4000
SMALL_AREA_INDICATORS: tuple[str, ...] = tuple(spec.code for spec in RATE_SPECS)
SMALL_AREA_CHANGES: tuple[str, ...] = tuple(f"{code}_change" for code in SMALL_AREA_INDICATORS)
_VARIABLES = tuple(sorted({"pop_total", *AGE_KNOWN, "pop_75_plus",
                           *(v for spec in RATE_SPECS for v in spec.numerator + spec.denominator)}))


def _wide(year: int, keys: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, suppressed flags): small areas × variables; a suppressed or unknown cell is NaN and True."""
    rows = list(CensusFigure.objects.filter(census_year=year, key_code__in=keys, variable__in=_VARIABLES)
                .values_list("key_code", "variable", "value", "status", "dataset_id"))
    tidy = pd.DataFrame(rows, columns=["key_code", "variable", "value", "status", "dataset_id"])
    values = tidy.pivot_table(index="key_code", columns="variable", values="value", aggfunc="first", dropna=False)
    flags = (tidy.assign(flag=tidy["status"].isin(["suppressed", "unknown", "merged"]))
             .pivot_table(index="key_code", columns="variable", values="flag", aggfunc="max"))
    values.attrs["dataset_ids"] = sorted(int(d) for d in tidy["dataset_id"].dropna().unique())
    return values.reindex(keys).astype(float), flags.reindex(keys).fillna(False).astype(bool)


def _previous(year: int, keys: list[str]) -> tuple[pd.DataFrame, EarlierCensus | None]:
    """The previous census's cells carried over to ``keys`` (codes of ``year``) by the correspondence
    table (:func:`.change.earlier_census`), small areas × variables, a suppressed cell NaN."""
    earlier = earlier_census(keys, year, variables=_VARIABLES)
    if earlier is None or earlier.figures.empty:
        return pd.DataFrame(index=keys), None
    moved = earlier.figures.copy()
    moved.loc[moved["status"].isin(["suppressed", "unknown", "merged"]), "value"] = np.nan
    wide = moved.pivot_table(index="key_code", columns="variable", values="value", aggfunc="first", dropna=False)
    return wide.reindex(keys).astype(float), earlier


def small_areas_collection(bbox: tuple[float, float, float, float], *, year: int | None = None) -> dict:
    """The small areas meeting ``bbox`` (lon/lat) as a FeatureCollection: ``key_code``, ``name_ja``,
    ``city_code``, ``year``, ``lon``/``lat`` (a point inside), ``pop_total``, each census ratio of
    :data:`SMALL_AREA_INDICATORS` and its ``_change`` (percentage points since the previous census),
    and ``suppressed`` (the ratios left unknown because an input cell is suppressed)."""
    if year is None:
        year = small_area_year()  # the latest loaded, as the small_areas tiles
    metadata = base_metadata("small_areas")
    metadata.update({"year": year, "previous_year": None, "bbox": list(bbox),
                     "indicators": list(SMALL_AREA_INDICATORS) + list(SMALL_AREA_CHANGES),
                     "method": "小地域ごとの国勢調査の値(秘匿値は補完せず「秘匿」と表示)。変化は前回調査の値を対応表で今回の小地域に組み替えて計算"})
    metadata.update({"sources": [], "feature_count": 0})
    if year is None:
        return feature_collection([], metadata)
    areas = in_box(CensusArea.objects.filter(census_year=year), bbox)
    count = areas.count()
    if count > MAX_FEATURES:
        raise ParameterError(f"the box holds {count} small areas (at most {MAX_FEATURES}): zoom in", "bbox")
    rows = list(areas.order_by("key_code").values_list("key_code", "name_ja", "city_code", "geom"))
    keys = [row[0] for row in rows]
    values, flags = _wide(year, keys)
    dataset_ids = set(values.attrs.get("dataset_ids", []))
    dataset_ids |= set(areas.exclude(dataset=None).values_list("dataset_id", flat=True).distinct())
    ratios = derived_indicators(values, codes=SMALL_AREA_INDICATORS)
    previous, earlier = _previous(year, keys)
    delta = pd.DataFrame(index=keys)
    if earlier is not None and len(previous.columns):
        delta = changes(ratios, derived_indicators(previous, codes=SMALL_AREA_INDICATORS), SMALL_AREA_INDICATORS)
        metadata["previous_year"] = earlier.earlier_year
        dataset_ids |= set(earlier.dataset_ids)  # the previous census and the correspondence table
    # Per small area: which ratios rest on a suppressed cell (one frame, not a lookup per cell).
    suppressed_by_code = pd.DataFrame({
        spec.code: flags[[v for v in spec.numerator + spec.denominator if v in flags.columns]].any(axis=1)
        for spec in RATE_SPECS}, index=keys)
    suppressed_of = {key: [code for code, hit in row.items() if hit]
                     for key, row in suppressed_by_code.to_dict("index").items()}
    ratio_of = ratios.reindex(columns=list(SMALL_AREA_INDICATORS)).to_dict("index")
    change_of = delta.reindex(index=keys, columns=list(SMALL_AREA_CHANGES)).to_dict("index")
    population = values["pop_total"].to_dict() if "pop_total" in values.columns else {}
    features = []
    for key, name, city_code, geom in rows:
        shape = shapely_from_geos(geom)
        point = shape.representative_point()
        suppressed = suppressed_of.get(key, [])
        properties = {"key_code": key, "name_ja": name, "city_code": city_code, "year": year,
                      "lon": round(point.x, 6), "lat": round(point.y, 6), "pop_total": population.get(key)}
        for code, value in ratio_of.get(key, {}).items():
            properties[code] = None if code in suppressed else value
        for code, value in change_of.get(key, {}).items():
            properties[code] = None if code.removesuffix("_change") in suppressed else value
        properties["suppressed"] = suppressed
        features.append(feature(key, geometry_to_geojson(shape, source_srid=STORAGE_SRID), properties))
    metadata["sources"] = sources_for(dataset_ids)
    metadata["feature_count"] = len(features)
    metadata["units"] = {code: INDICATORS[code].unit for code in SMALL_AREA_INDICATORS + SMALL_AREA_CHANGES}
    return feature_collection(features, metadata)
