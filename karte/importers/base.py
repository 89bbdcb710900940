"""The shared importer: read with a pure loader, then persist in ONE transaction with a Dataset
provenance record (SHA-256 of the file), upserting by natural key so that loading the same file
twice changes nothing. ``dry_run`` runs everything and rolls the transaction back."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import shapely
from django.contrib.gis.db.models import Extent as BoundingBox
from django.contrib.gis.geos import GEOSGeometry
from django.db import transaction

from karte.layers.encoding import shapely_from_geos as from_geos
from karte.models import STORAGE_SRID, CensusArea, City, Dataset, Ward, bump_data_version
from loaders.boundaries import in_city
from loaders.common import Extent, require_file, sha256_of
from loaders.errors import LoaderError

from . import progress


class PersistError(LoaderError):
    """A problem found while persisting (e.g. the city is not loaded yet)."""


@dataclass
class ImportSummary:
    source: str
    path: Path
    dry_run: bool
    dataset_id: int | None = None
    dataset_reused: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    counts: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # model → (created, updated, unchanged)
    messages: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    replace: bool = False
    stale: dict[str, int] = field(default_factory=dict)  # model → rows loaded before from this file, gone from it

    def add(self, label: str, counts: tuple[int, int, int], stale: int = 0) -> None:
        self.counts[label] = counts
        self.created += counts[0]
        self.updated += counts[1]
        self.unchanged += counts[2]
        if stale:
            self.stale[label] = stale

    def lines(self) -> list[str]:
        verb = ("would create", "would update", "would remove") if self.dry_run else ("created", "updated", "removed")
        parts = ", ".join(
            f"{label}: {verb[0]} {c}, {verb[1]} {u}, unchanged {n}"
            + (f", {verb[2]} {self.stale.get(label, 0)}" if self.replace else "")
            for label, (c, u, n) in self.counts.items())
        head = f"load {self.source} {self.path.name}{' (dry run: nothing written)' if self.dry_run else ''}: {parts}"
        if self.dataset_id and not self.dry_run:
            head += f" [dataset {self.dataset_id}{', same file as before' if self.dataset_reused else ''}]"
        kept = [] if self.replace else [
            f"  {label}: {n} row(s) loaded before from {self.path.name} are no longer in it: kept "
            "(load with --replace to remove them)" for label, n in self.stale.items()]
        return [head, *kept, *(f"  {m}" for m in self.messages)]


def optional_float(value) -> float | None:
    """A figure for a FloatField: ``None`` for a missing or NaN value (suppressed cells stay unknown)."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def to_geos(geom, srid: int = STORAGE_SRID) -> GEOSGeometry:
    return GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=srid)


def _differs(old: Any, new: Any) -> bool:
    if isinstance(new, GEOSGeometry) or isinstance(old, GEOSGeometry):
        if old is None or new is None:
            return old is not new
        return not old.equals_exact(new, 1e-9)
    if isinstance(new, float) or isinstance(old, float):
        if old is None or new is None:
            return not (old is None and new is None)
        if math.isnan(float(new)) and math.isnan(float(old)):
            return False
        return abs(float(old) - float(new)) > 1e-9 * max(1.0, abs(float(new)))
    return old != new


def upsert(model, rows: list[dict], key_fields: tuple[str, ...], existing_qs, dataset: Dataset | None,
           *, report_path: Path | None = None) -> tuple[int, int, int]:
    """Create missing rows, update changed ones, leave identical ones alone (idempotence)."""
    if not rows:
        return 0, 0, 0
    value_fields = [f for f in rows[0] if f not in key_fields]
    has_dataset = dataset is not None and any(f.name == "dataset" for f in model._meta.fields)
    seen: set = set()
    for row in rows:
        key = tuple(row[k] for k in key_fields)
        if key in seen:
            raise PersistError(f"duplicate {model.__name__} key {key}", path=report_path)
        seen.add(key)
    existing = {tuple(r[k] for k in key_fields): r for r in existing_qs.values("id", *key_fields, *value_fields)}
    to_create, to_update = [], []
    for row in rows:
        old = existing.get(tuple(row[k] for k in key_fields))
        extra = {"dataset_id": dataset.id} if has_dataset else {}
        if old is None:
            to_create.append(model(**row, **extra))
        elif any(_differs(old[f], row[f]) for f in value_fields):
            to_update.append(model(id=old["id"], **row, **extra))
    update_fields = value_fields + (["dataset"] if has_dataset else [])
    geometric = any(isinstance(v, GEOSGeometry) for v in rows[0].values())
    batch = 500
    with progress.bar(len(to_create) + len(to_update), model.__name__) as shown:
        for start in range(0, len(to_create), batch):
            chunk = to_create[start:start + batch]
            model.objects.bulk_create(chunk)
            shown.update(len(chunk))
        if geometric:
            for obj in to_update:  # bulk_update's CASE expressions are unreliable for geometry on SpatiaLite
                obj.save(update_fields=update_fields)
                shown.update(1)
        else:
            for start in range(0, len(to_update), batch):
                chunk = to_update[start:start + batch]
                model.objects.bulk_update(chunk, update_fields)
                shown.update(len(chunk))
    return len(to_create), len(to_update), len(rows) - len(to_create) - len(to_update)


class BaseImporter:
    """Subclasses set ``source``, ``dataset_kind``, ``default_source_name`` and implement
    ``read()`` (pure loader call, may raise LoaderError; no DB writes) and ``persist(dataset, data,
    summary)``."""

    source: ClassVar[str]
    dataset_kind: ClassVar[str]
    default_source_name: ClassVar[str]
    needs_year: ClassVar[bool] = False

    def __init__(self, path: Path | str, *, year: int | None = None, city: str | None = None, crs=None,
                 dry_run: bool = False, options: dict | None = None, provenance: dict | None = None,
                 show_progress: bool = False, replace: bool = False):
        self.show_progress = show_progress
        self.replace = replace
        self.path = Path(path)
        self.year = int(year) if year else None
        self.city_code = str(city) if city else None
        self.crs = crs
        self.dry_run = dry_run
        self.options = dict(options or {})
        self.provenance = dict(provenance or {})

    # --- to implement
    def read(self) -> Any:
        """The loader's result for this file: any object with ``.report`` (what the loader noticed)."""
        raise NotImplementedError

    def persist(self, dataset: Dataset, data: Any, summary: ImportSummary) -> None:
        raise NotImplementedError

    def vintage(self, data: Any) -> int | None:
        return self.year

    # --- shared
    def upsert(self, model, rows: list[dict], key_fields: tuple[str, ...], existing_qs, dataset: Dataset, *,
               scope=None) -> tuple[tuple[int, int, int], int]:
        """:func:`upsert`, then the rows this file wrote on an earlier load that it no longer holds.

        ``scope``: the rows this load answers for (its year, its city…). Of those, rows last written
        from a file of the same name and kind whose key is not in ``rows`` are *stale* (e.g. a
        corrected 小地域 table without a merged area, a closed facility, 統廃合 of school districts).
        They are kept and reported, or deleted with ``replace``. Returns ``(counts, stale)``."""
        counts = upsert(model, rows, key_fields, existing_qs, dataset, report_path=self.path)
        if scope is None:
            return counts, 0
        series = Dataset.objects.filter(kind=self.dataset_kind, file_name=self.path.name)
        keys = {tuple(row[k] for k in key_fields) for row in rows}
        stale = [pk for pk, *key in scope.filter(dataset__in=series).values_list("pk", *key_fields)
                 if tuple(key) not in keys]
        if stale and self.replace:
            for start in range(0, len(stale), 500):  # SQLite limits the variables of one statement
                model.objects.filter(pk__in=stale[start:start + 500]).delete()
        return counts, len(stale)

    def city(self, required: bool = True) -> City | None:
        if self.city_code:
            city = City.objects.filter(code=self.city_code).first()
            if city is None and required:
                raise PersistError(f"city {self.city_code} is not in the database: load its wards (n03) first",
                                   path=self.path)
            return city
        cities = list(City.objects.all()[:2])
        if len(cities) == 1:
            return cities[0]
        if required:
            raise PersistError("give --city CODE (" + ("no city loaded yet: load n03 first" if not cities
                                                      else "several cities are loaded") + ")", path=self.path)
        return None

    def reference_extent(self, *, named_city_only: bool = False) -> Extent | None:
        """Where this file's features must lie: the city's N03 polygon when it is loaded, else the
        small areas already loaded for it (the first boundary), else None (the readers then check
        against Japan). ``named_city_only``: only a city given with --city counts (an N03 file may
        bring a city other than the one loaded)."""
        city = City.objects.filter(code=self.city_code).first() if self.city_code else (
            None if named_city_only else self.city(required=False))
        if city is not None and city.geom is not None:
            return Extent(from_geos(city.geom), f"{city.name_ja} ({city.code}, N03)")
        code = city.code if city is not None else self.city_code
        if not code:
            return None
        codes = [c for c in CensusArea.objects.values_list("city_code", flat=True).distinct() if in_city(c, code)]
        box = CensusArea.objects.filter(city_code__in=codes).aggregate(box=BoundingBox("geom"))["box"]
        if box is None:
            return None
        return Extent(shapely.box(*box), f"the small areas of {code} already loaded")

    def ward_codes_of(self, city_code: str) -> set[str]:
        codes = set(Ward.objects.filter(city__code=city_code).values_list("code", flat=True))
        return codes | {city_code}

    def run(self) -> ImportSummary:
        require_file(self.path)
        if self.needs_year and not self.year:
            raise LoaderError("this source needs --year (the file does not say which year it describes)",
                              path=self.path)
        checksum = sha256_of(self.path)
        data = self.read()  # every format problem surfaces here, before any write
        summary = ImportSummary(self.source, self.path, self.dry_run, replace=self.replace)
        summary.messages += [str(issue) for issue in data.report.issues]
        summary.facts.update(data.report.facts)
        with transaction.atomic():
            vintage = self.vintage(data)
            source_name = self.provenance.get("source_name") or self.default_source_name
            dataset = Dataset.objects.filter(kind=self.dataset_kind, source_name=source_name, checksum=checksum).first()
            summary.dataset_reused = dataset is not None
            if dataset is None:
                dataset = Dataset.objects.create(
                    kind=self.dataset_kind, source_name=source_name, url=self.provenance.get("url", ""),
                    licence=self.provenance.get("licence", ""), attribution=self.provenance.get("attribution", ""),
                    vintage=vintage, file_name=self.path.name, checksum=checksum)
            with progress.showing(f"{self.source} {self.path.name}", self.show_progress):
                self.persist(dataset, data, summary)
            if not summary.created + summary.updated + summary.unchanged:
                why = f" ({summary.messages[0]}{' …' if len(summary.messages) > 1 else ''})" if summary.messages else ""
                raise LoaderError(f"nothing to load: no row of this file was kept{why}", path=self.path)
            if not summary.dataset_reused:
                dataset.row_count = summary.created + summary.updated + summary.unchanged
                dataset.rows_created, dataset.rows_updated = summary.created, summary.updated
                dataset.notes = {"issues": summary.messages[:200], "facts": _jsonable(summary.facts),
                                 "options": _jsonable(self.options), "crs_given": str(self.crs or "")}
                dataset.save()
            summary.dataset_id = dataset.id
            bump_data_version()  # readers' caches follow the load, committed with it
            if self.dry_run:
                transaction.set_rollback(True)
        return summary


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "item"):
        return value.item()
    return str(value)
