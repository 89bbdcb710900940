"""GeoTIFF rasters (population mesh, hazard such as flood depth): validated metadata via rasterio."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import rasterio
from pyproj import CRS

from .common import parse_crs
from .errors import CRSConflictError, FileFormatError, MissingCRSError, Report


@dataclass
class RasterInfo:
    path: Path
    crs: str  # "EPSG:6677"
    width: int
    height: int
    bounds: list[float]  # minx, miny, maxx, maxy in the raster's CRS
    nodata: float | None
    unit: str
    dtype: str
    resolution: tuple[float, float]
    crs_from_file: bool
    report: Report


def inspect_raster(path: Path | str, *, crs=None) -> RasterInfo:
    """Open a GeoTIFF and check it is georeferenced. A file without CRS is refused unless ``crs``
    is given; a different ``crs`` than the file's is refused."""
    path = Path(path)
    if not path.exists():
        raise FileFormatError("file not found", path=path)
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as error:
        raise FileFormatError(f"not a raster rasterio can read: {error}", path=path) from None
    with src:
        given = parse_crs(crs)
        declared = CRS.from_user_input(src.crs.to_wkt()) if src.crs else None
        if declared is None and given is None:
            raise MissingCRSError("the raster declares no CRS; give it with --crs EPSG", path=path)
        if declared is not None and given is not None and not declared.equals(given):
            raise CRSConflictError(f"--crs {given.to_string()} differs from the raster's {declared.to_string()}",
                                   path=path)
        if src.transform.is_identity:
            raise FileFormatError("the raster has no geotransform (not georeferenced)", path=path)
        final = declared or given
        epsg = final.to_epsg()
        tags = src.tags(1)
        report = Report(path)
        if declared is None:
            report.add(f"the raster declares no CRS: {final.to_string()} given with --crs is used")
        return RasterInfo(path=path, crs=f"EPSG:{epsg}" if epsg else final.to_wkt(), width=src.width,
                          height=src.height, bounds=[float(b) for b in src.bounds], nodata=src.nodata,
                          unit=tags.get("UNIT", src.units[0] if src.units and src.units[0] else ""),
                          dtype=src.dtypes[0], resolution=tuple(float(r) for r in src.res),
                          crs_from_file=declared is not None, report=report)
