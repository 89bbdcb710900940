"""Persisting loaded sources: one importer class per source, registered by its ``load`` name.

``run_load(source, path, year=None, city=None, dry_run=False, crs=None, options=None,
provenance=None) -> ImportSummary`` is what ``python manage.py load`` and ``karte.demo`` call.
"""
from __future__ import annotations

from pathlib import Path

from .base import BaseImporter, ImportSummary
from .boundaries import CensusBoundaryImporter, DistrictNamesImporter, SchoolDistrictImporter, WardsImporter
from .census import CensusTableImporter, CorrespondenceImporter
from .rasters import MeshImporter, RasterImporter
from .resources import (HousingVacancyImporter, OsmImporter, P02Importer, P13Importer, P14Importer, P29Importer,
                        ResourceCsvImporter, VacantHouseImporter)

IMPORTERS: dict[str, type[BaseImporter]] = {
    cls.source: cls for cls in (
        WardsImporter, CensusBoundaryImporter, CensusTableImporter, CorrespondenceImporter, SchoolDistrictImporter,
        DistrictNamesImporter, P02Importer, P13Importer, P14Importer, P29Importer, ResourceCsvImporter, OsmImporter,
        VacantHouseImporter, HousingVacancyImporter, RasterImporter, MeshImporter,
    )
}


def run_load(source: str, path: Path | str, *, year: int | None = None, city: str | None = None,
             dry_run: bool = False, crs=None, options: dict | None = None,
             provenance: dict | None = None, show_progress: bool = False, replace: bool = False) -> ImportSummary:
    try:
        importer_class = IMPORTERS[source]
    except KeyError:
        raise ValueError(f"unknown source {source!r}; known: {', '.join(sorted(IMPORTERS))}") from None
    importer = importer_class(path, year=year, city=city, crs=crs, dry_run=dry_run, options=options,
                              provenance=provenance, show_progress=show_progress, replace=replace)
    return importer.run()


__all__ = ["IMPORTERS", "ImportSummary", "run_load"]
