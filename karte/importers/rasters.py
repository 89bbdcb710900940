"""Importers of rasters (GeoTIFF → KARTE_RASTER_DIR + RasterLayer) and of e-Stat mesh statistics
(→ AreaStatistic keyed by mesh code; polygons come from ``loaders.mesh.mesh_polygons``)."""
from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

import geopandas as gpd
import shapely
from django.conf import settings
from django.db import transaction

from karte.models import AreaStatistic, Dataset, RasterLayer
from loaders.errors import ExtentError, LoaderError
from loaders.mesh import read_mesh_table
from loaders.raster import inspect_raster

from .base import BaseImporter, ImportSummary, optional_float, upsert


class RasterImporter(BaseImporter):
    """options: name (unique layer name; default the file stem), kind (population|hazard|land_use|
    other), unit, threshold (hazard: cells at or above it are in the zone)."""

    source = "raster"
    dataset_kind = Dataset.Kind.RASTER
    default_source_name = "GeoTIFF"

    def read(self):
        info = inspect_raster(self.path, crs=self.crs)
        extent = self.reference_extent()
        if extent is not None:
            # A raster covering a whole river basin may reach far beyond the city; it must at least
            # cover part of it.
            covered = gpd.GeoSeries([shapely.box(*info.bounds)], crs=info.crs).to_crs(6668).iloc[0]
            if not covered.intersects(extent.geometry):
                raise ExtentError(f"the raster (bounds {info.bounds} in {info.crs}) does not cover any part of "
                                  f"{extent.name}: wrong CRS or another place", path=self.path)
        kind = self.options.get("kind", "other")
        if kind not in RasterLayer.Kind.values:
            raise LoaderError(f"raster kind {kind!r} is not one of {', '.join(RasterLayer.Kind.values)}", path=self.path)
        return info

    def persist(self, dataset, info, summary: ImportSummary) -> None:
        name = self.options.get("name", self.path.stem)
        relative = f"{name}{self.path.suffix.lower()}"
        threshold = self.options.get("threshold")
        row = {"name": name, "kind": self.options.get("kind", "other"), "path": relative, "crs": info.crs,
               "unit": self.options.get("unit", info.unit or ""), "nodata": info.nodata, "bounds": info.bounds,
               "threshold": float(threshold) if threshold not in (None, "") else None}
        summary.add("RasterLayer", upsert(RasterLayer, [row], ("name",), RasterLayer.objects.filter(name=name), dataset,
                                          report_path=self.path))
        summary.facts.update(width=info.width, height=info.height, crs=info.crs, resolution=info.resolution)
        if not self.dry_run:
            target = Path(settings.KARTE_RASTER_DIR) / relative
            source = self.path

            def copy():
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.exists() or not filecmp.cmp(source, target, shallow=False):
                    shutil.copyfile(source, target)

            transaction.on_commit(copy)
            summary.messages.append(f"raster copied to {target}")


class MeshImporter(BaseImporter):
    source = "mesh"
    dataset_kind = Dataset.Kind.MESH
    default_source_name = "国勢調査 地域メッシュ統計"

    def read(self):
        return read_mesh_table(self.path, year=self.year, encoding=self.options.get("encoding"))

    def vintage(self, data) -> int:
        return data.table.year

    def persist(self, dataset, data, summary: ImportSummary) -> None:
        frame, year = data.frame, data.table.year
        label = summary.facts.get("level", "mesh")
        rows = [{"area_code": r.mesh_code, "year": year, "variable": r.variable, "area_name": f"メッシュ {label}",
                 "value": optional_float(r.value),
                 "unit": "人" if r.variable.startswith("pop") else "世帯", "status": r.status}
                for r in frame.itertuples()]
        existing = AreaStatistic.objects.filter(year=year, area_code__in=list(frame.mesh_code.unique()))
        summary.add(f"AreaStatistic mesh {year}", *self.upsert(
            AreaStatistic, rows, ("area_code", "year", "variable"), existing, dataset,
            scope=AreaStatistic.objects.filter(year=year)))
