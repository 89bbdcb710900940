"""Score every candidate resource of a city as a future まちのひろば and store CandidateSite rows.

Each candidate is scored on its own (:func:`spatial.siting.score_candidates`): the elderly within
walking distance (straight line, metres in the city's projected CRS) who are not yet within walking
distance of an existing gathering place, with elderly living alone weighted extra. Idempotent: one row
per (resource, walk distance), updated in place; rows of that distance for resources of the city that
are no longer candidates (kind changed, resource removed) are deleted.
"""
from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q

from karte.layers import frames
from karte.models import CandidateSite, City, bump_data_version
from karte.layers.lookups import resolve_city
from karte.siting import Inputs, load_inputs, validate_kinds
from spatial.siting import ALONE_WEIGHT, score_candidates


def score_all_candidates(city: City | str, walk_distance_m: float = 500, kinds: Iterable[str] | None = None,
                         year: int | None = None, alone_weight: float = ALONE_WEIGHT,
                         inputs: Inputs | None = None) -> int:
    """Fill CandidateSite rows for every resource of ``kinds`` in ``city``; returns the number of rows.
    ``inputs``: demand and gathering places already loaded for this city and year (else loaded)."""
    city = resolve_city(city, default_first=True)
    kinds = validate_kinds(kinds)
    if inputs is None:
        inputs = load_inputs(city, year)
    candidates = frames.resources_frame(city, kinds)
    scores = score_candidates(inputs.demand, candidates, inputs.existing, walk_distance_m,
                              alone_weight=alone_weight, crs_metric=city.projected_srid)
    distance = int(round(walk_distance_m))
    # Shown on the district page and the printed karte, so in Japanese like the rest of the karte.
    method = (f"{distance}m以内(直線, EPSG:{city.projected_srid})に住み、まだ集いの場から{distance}m以内にいない"
              f"65歳以上人口({inputs.year}年国勢調査); 評価点 = 65歳以上 + {alone_weight:g} × 高齢単身; "
              f"需要点: {inputs.placement}; 65歳以上が秘匿の小地域 {inputs.unknown_areas} (重み0)")[:300]
    rows = [
        CandidateSite(
            resource_id=int(resource_id), walk_distance_m=distance, score=float(row.score),
            elderly_reached=float(row.elderly_reached), elderly_alone_reached=float(row.elderly_alone_reached),
            uncovered_elderly_reached=float(row.uncovered_elderly_reached), method=method,
        )
        for resource_id, row in zip(candidates["id"], scores.itertuples())
    ]
    with transaction.atomic():
        # frames.resources_frame also lists resources loaded without a city link, so those are ours too.
        CandidateSite.objects.filter(Q(resource__city=city) | Q(resource__city__isnull=True),
                                     walk_distance_m=distance).exclude(
            resource_id__in=[r.resource_id for r in rows]).delete()
        CandidateSite.objects.bulk_create(
            rows, batch_size=500, update_conflicts=True, unique_fields=["resource", "walk_distance_m"],
            update_fields=["score", "elderly_reached", "elderly_alone_reached", "uncovered_elderly_reached",
                           "method", "computed_at"],
        )
        bump_data_version()
    return len(rows)
