"""国土数値情報 洪水浸水想定区域 (A31a) → a flood-depth GeoTIFF of one city, which the ``raster``
loader registers as the hazard layer (Karte's hazard indicators read rasters).

A31a publishes, per prefecture and scenario, one GeoJSON per river of polygons carrying a depth
*rank* (浸水深ランク 1–6: 0–0.5 m, 0.5–3 m, 3–5 m, 5–10 m, 10–20 m, 20 m+). The raster holds the
lower bound of each rank in metres (0 where dry or shallower than 0.5 m), the deepest where rivers
overlap, in the city's plane rectangular zone; cells outside the city's bounding box are not
written. With the hazard threshold 0.5 m, "in the zone" means rank 2 or deeper.
"""
from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from rasterio.features import rasterize
from rasterio.transform import from_origin

from .common import read_vector
from .errors import FileFormatError, Report

# The rank field of 想定最大規模 comes first; older files name it otherwise.
RANK_FIELDS = ("A31a_205", "A31a_105", "A31a_305", "A31_205", "A31_105")
RANK_LOWER_BOUND_M = {1: 0.0, 2: 0.5, 3: 3.0, 4: 5.0, 5: 10.0, 6: 20.0}
NODATA = -9999.0


def a31_depth_raster(paths: list[Path], extent, crs_metric: int, target: Path, resolution_m: float = 50.0) -> Report:
    """Rasterise the depth ranks of ``paths`` (A31a GeoJSON/shapefiles) over ``extent`` (a shapely
    geometry in EPSG:6668, the city) at ``resolution_m`` metres in ``crs_metric``; write ``target``.
    Returns a report of what was read (rivers, polygons kept)."""
    report = Report(Path(target))
    area = gpd.GeoSeries([extent], crs=6668).to_crs(crs_metric).iloc[0]
    minx, miny, maxx, maxy = area.buffer(resolution_m).bounds
    frames = []
    for path in paths:
        gdf, _ = read_vector(path)
        field = next((f for f in RANK_FIELDS if f in gdf.columns), None)
        if field is None:
            raise FileFormatError(f"no depth-rank field ({' / '.join(RANK_FIELDS)}) among {', '.join(map(str, gdf.columns))}",
                                  path=path)
        rank = pd.to_numeric(gdf[field], errors="coerce")
        gdf = gdf.assign(depth=rank.map(RANK_LOWER_BOUND_M)).dropna(subset=["depth"]).to_crs(crs_metric)
        frames.append(gdf.loc[gdf.intersects(area), ["depth", "geometry"]])
    polygons = pd.concat(frames, ignore_index=True) if frames else gpd.GeoDataFrame(columns=["depth", "geometry"])
    width, height = int(math.ceil((maxx - minx) / resolution_m)), int(math.ceil((maxy - miny) / resolution_m))
    transform = from_origin(minx, maxy, resolution_m, resolution_m)
    depth = np.zeros((height, width), dtype="float32")
    if len(polygons):
        # Shallow first: where rivers overlap, the deepest rank is drawn last and stays.
        ordered = polygons.sort_values("depth")
        depth = rasterize(zip(ordered.geometry, ordered.depth), out_shape=(height, width), transform=transform,
                          fill=0.0, dtype="float32")
    inside = rasterize([(area, 1)], out_shape=(height, width), transform=transform, fill=0, dtype="uint8")
    depth = np.where(inside == 1, depth, NODATA).astype("float32")
    target.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(target, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
                       crs=f"EPSG:{crs_metric}", transform=transform, nodata=NODATA, compress="deflate") as out:
        out.write(depth, 1)
        out.update_tags(1, UNIT="m", DESCRIPTION="浸水深ランクの下限 (A31a)")
    report.facts.update(files=len(paths), polygons=len(polygons), wet_cells=int((depth >= 0.5).sum()))
    return report
