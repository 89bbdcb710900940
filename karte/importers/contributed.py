"""Resources that people name rather than files hold: a room, a shop, a temple hall that a workshop's
facilitator has verified as able to host a まちのひろば. Saved as ordinary :class:`Resource` rows
(``is_public=False``) so that candidate scoring (``karte.candidates``), siting runs, the resource
layer and exports include them like any loaded resource; their :class:`Dataset` (kind
``contributed``) records where they came from and under which licence.

The one write path for such rows: callers (another app) pass plain values, never models of theirs.
Saving the same resource again updates it in place (natural key ``source_key``); withdrawing it
deletes only the derived row (its candidate scores go with it) — the caller keeps its own record.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib.gis.geos import Point
from django.db import transaction

from karte.models import City, Dataset, District, Resource, ResourceKind


@dataclass(frozen=True)
class ContributedSource:
    """Where contributed resources come from: ``key`` is unique per source (e.g. one workshop)."""

    key: str
    source_name: str
    licence: str
    attribution: str = ""
    url: str = ""
    vintage: int | None = None


def contributed_dataset(source: ContributedSource) -> Dataset:
    """The Dataset of a source of contributed resources, created or brought up to date."""
    dataset, _ = Dataset.objects.update_or_create(
        kind=Dataset.Kind.CONTRIBUTED, checksum=source.key[:64],
        defaults={"source_name": source.source_name[:200], "licence": source.licence[:200],
                  "attribution": source.attribution, "url": source.url[:500], "vintage": source.vintage,
                  "file_name": ""},
    )
    return dataset


@transaction.atomic
def save_contributed_resource(
    source: ContributedSource, *, source_key: str, kind: str, name: str, location: Point,
    address: str = "", attributes: dict | None = None,
) -> Resource:
    """Create or update the Resource ``source_key`` at ``location`` (EPSG:6668), in the city and
    district that contain it; its Dataset is ``source``'s."""
    ResourceKind(kind)  # a kind outside the vocabulary is a programming error: fail loudly
    if location.srid != 6668:
        location = location.transform(6668, clone=True)
    dataset = contributed_dataset(source)
    city = City.objects.filter(geom__intersects=location).first()
    district = District.objects.filter(geom__intersects=location).first()
    resource, _ = Resource.objects.update_or_create(
        source_key=source_key[:200],
        defaults={"kind": kind, "name": name[:200], "address": address[:300], "is_public": False,
                  "geom": location, "location": location, "area_m2": None, "city": city, "district": district,
                  "attributes": attributes or {}, "dataset": dataset},
    )
    dataset.row_count = Resource.objects.filter(dataset=dataset).count()
    dataset.save(update_fields=["row_count", "loaded_at"])
    return resource


@transaction.atomic
def withdraw_contributed_resource(source_key: str) -> bool:
    """Remove the Resource ``source_key`` saved by :func:`save_contributed_resource` (and its
    candidate scores); True if there was one. Loaded resources are never touched."""
    deleted, _ = Resource.objects.filter(source_key=source_key, dataset__kind=Dataset.Kind.CONTRIBUTED).delete()
    return bool(deleted)


__all__ = ["ContributedSource", "contributed_dataset", "save_contributed_resource", "withdraw_contributed_resource"]
