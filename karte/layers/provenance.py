"""Where a figure came from: the datasets (source, vintage, licence) behind stored values.

Every stored ``IndicatorValue`` names its inputs (``inputs.datasets``: dataset ids, years, method
parameters) and every boundary or resource row its ``Dataset``. This module turns those ids into the
records the collections carry in ``karte:metadata.sources`` and the pages number as their sources.
"""
from __future__ import annotations

from collections.abc import Iterable

from karte.models import Dataset


def dataset_record(dataset: Dataset) -> dict:
    """A dataset as JSON: id, kind, source name, URL, licence, attribution, vintage, file name."""
    return {
        "id": dataset.pk,
        "kind": dataset.kind,
        "source_name": dataset.source_name,
        "url": dataset.url or None,
        "licence": dataset.licence or None,
        "attribution": dataset.attribution or None,
        "vintage": dataset.vintage,
        "file_name": dataset.file_name or None,
    }


def dataset_ids_from_inputs(inputs) -> set[int]:
    """Dataset ids named in an IndicatorValue's ``inputs`` (a list, or a dict with ``datasets``)."""
    if isinstance(inputs, dict):
        inputs = inputs.get("datasets", inputs.get("dataset_ids", []))
    ids: set[int] = set()
    for item in inputs or []:
        if isinstance(item, int):
            ids.add(item)
        elif isinstance(item, dict) and isinstance(item.get("id"), int):
            ids.add(item["id"])
    return ids


def datasets(dataset_ids: Iterable[int | None]) -> list[Dataset]:
    """The datasets of ``dataset_ids`` (None skipped), in the order a list of sources is read:
    by kind, source name and vintage."""
    ids = {i for i in dataset_ids if i is not None}
    return list(Dataset.objects.filter(pk__in=ids).order_by("kind", "source_name", "vintage"))


def sources_for(dataset_ids: Iterable[int | None]) -> list[dict]:
    """:func:`dataset_record` of each dataset of ``dataset_ids``, by id."""
    ids = sorted({i for i in dataset_ids if i is not None})
    return [dataset_record(d) for d in Dataset.objects.filter(pk__in=ids).order_by("pk")]
