"""The basemap under the printed karte's map: XYZ raster tiles fetched at print time, kept on disk.

``settings.KARTE_PRINT_TILES`` chooses the tiles:

- ``gsi-pale`` (default): 地理院タイル 淡色地図 — streets, railways, stations and place names in
  pale colours that the districts' outlines and markers stay legible over — credited
  「出典：地理院タイル」 on the map;
- ``none``: no basemap;
- an ``http(s)://…/{z}/{x}/{y}.png`` template, credited ``settings.KARTE_PRINT_TILES_ATTRIBUTION``
  (default 「背景地図：<host>」).

Tiles are kept under ``settings.KARTE_PRINT_TILE_CACHE`` as ``<source>/<z>/<x>/<y>.png``
(``<source>`` is ``gsi-pale`` or ``url-<hash>`` of the template; a 404 is kept as an empty file: no
tile there, e.g. open sea). A tile older than ``MAX_AGE_S`` is fetched again, the stale copy
serving if that fails; when the cache grows past ``MAX_CACHE_BYTES`` the least recently written
tiles go first.

Offline the print never waits long or fails: each tile gets ``FETCH_TIMEOUT_S``, and if any tile
of a map cannot be had the map is drawn without a basemap (a partial basemap would look like
missing streets) and one warning goes to the log; the source is then not asked again for
``RETRY_AFTER_S``, so a ward's batch of pages does not wait once per page.

The mosaic is warped (rasterio) from Web Mercator to the map's own projected CRS, so streets sit
exactly under the district boundaries. Used by ``karte.printing.maps``.
"""
from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from django.conf import settings

log = logging.getLogger(__name__)

GSI_PALE_URL = "https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png"
GSI_ATTRIBUTION = "出典：地理院タイル"
TILE_PIXELS = 256
EARTH_RADIUS_M = 6378137.0
FETCH_TIMEOUT_S = 4.0
FETCH_WORKERS = 4
RETRY_AFTER_S = 120.0
MAX_AGE_S = 30 * 24 * 3600
MAX_CACHE_BYTES = 300 * 2**20
MAX_TILES_PER_MAP = 48
# How large one tile pixel is on paper: 0.2 mm (127 dpi) keeps the tiles' labels readable (~2.5 mm).
PAPER_MM_PER_TILE_PIXEL = 0.2
USER_AGENT = "Karte district karte (printing; tiles cached on disk)"


@dataclass(frozen=True)
class TileSource:
    name: str  # folder of the cache
    url: str  # template with {z}, {x}, {y}
    attribution: str
    min_zoom: int = 5
    max_zoom: int = 18


@dataclass(frozen=True)
class Basemap:
    """An RGB image covering ``extent`` = (minx, maxx, miny, maxy) in the map's projected CRS."""

    image: np.ndarray
    extent: tuple[float, float, float, float]
    attribution: str


def tile_source() -> TileSource | None:
    """The tiles ``settings.KARTE_PRINT_TILES`` asks for; None for ``none`` (or a setting that is
    not understood, which is logged: a print never fails for its basemap)."""
    choice = str(getattr(settings, "KARTE_PRINT_TILES", "none") or "none").strip()
    if choice.lower() in {"none", "off", "0", "false"}:
        return None
    if choice.lower() == "gsi-pale":
        return TileSource("gsi-pale", GSI_PALE_URL, GSI_ATTRIBUTION)
    parts = urlsplit(choice)
    if parts.scheme in {"http", "https"} and all(key in choice for key in ("{z}", "{x}", "{y}")):
        attribution = getattr(settings, "KARTE_PRINT_TILES_ATTRIBUTION", "") or f"背景地図：{parts.netloc}"
        digest = hashlib.sha256(choice.encode()).hexdigest()[:12]
        return TileSource(f"url-{digest}", choice, attribution, min_zoom=0, max_zoom=19)
    log.error("KARTE_PRINT_TILES=%r is not gsi-pale, none or an http(s) URL template with {z}, {x} and {y}; "
              "printing without a basemap", choice)
    return None


def cache_root() -> Path:
    return Path(getattr(settings, "KARTE_PRINT_TILE_CACHE", Path(settings.VAR_DIR) / "tile-cache"))


# ---------------------------------------------------------------------------------------------
# Tile arithmetic (XYZ, Web Mercator)
# ---------------------------------------------------------------------------------------------

def _tile_xy(lon: float, lat: float, z: int) -> tuple[float, float]:
    n = 2**z
    lat = max(min(lat, 85.0511), -85.0511)
    return (lon + 180.0) / 360.0 * n, (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n


def choose_zoom(lonlat_bounds: tuple[float, float, float, float], width_m: float, width_mm: float,
                source: TileSource) -> int:
    """The zoom whose tile pixels print at about ``PAPER_MM_PER_TILE_PIXEL`` on a map ``width_mm``
    wide showing ``width_m`` of ground, lowered until the map needs at most ``MAX_TILES_PER_MAP``."""
    west, south, east, north = lonlat_bounds
    metres_per_pixel = width_m / (width_mm / PAPER_MM_PER_TILE_PIXEL)
    ground = 2 * math.pi * EARTH_RADIUS_M * math.cos(math.radians((south + north) / 2)) / TILE_PIXELS
    zoom = int(round(math.log2(ground / metres_per_pixel)))
    zoom = max(source.min_zoom, min(source.max_zoom, zoom))
    while zoom > source.min_zoom and len(_tiles_covering(lonlat_bounds, zoom)) > MAX_TILES_PER_MAP:
        zoom -= 1
    return zoom


def _tiles_covering(lonlat_bounds: tuple[float, float, float, float], z: int) -> list[tuple[int, int]]:
    west, south, east, north = lonlat_bounds
    x0, y0 = _tile_xy(west, north, z)
    x1, y1 = _tile_xy(east, south, z)
    return [(x, y) for y in range(int(y0), int(y1) + 1) for x in range(int(x0), int(x1) + 1)]


# ---------------------------------------------------------------------------------------------
# The disk cache and the fetching
# ---------------------------------------------------------------------------------------------

_offline_until: dict[str, float] = {}
_offline_lock = threading.Lock()


class TileUnavailable(Exception):
    pass


def _cache_path(source: TileSource, z: int, x: int, y: int) -> Path:
    return cache_root() / source.name / str(z) / str(x) / f"{y}.png"


def _fetch(source: TileSource, z: int, x: int, y: int) -> bytes:
    """The tile's bytes (b"" when the server has no tile there), or TileUnavailable."""
    from PIL import Image

    url = source.url.format(z=z, x=x, y=y)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:
            data = response.read()
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return b""
        raise TileUnavailable(f"{url}: HTTP {error.code}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        raise TileUnavailable(f"{url}: {getattr(error, 'reason', error)}") from None
    try:
        Image.open(io.BytesIO(data)).verify()
    except Exception:  # noqa: BLE001 - whatever PIL raises, the bytes are no image
        raise TileUnavailable(f"{url}: the answer is not an image") from None
    return data


def _store(path: Path, data: bytes) -> None:
    """Written whole or not at all (another worker may be reading the same tile)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(temporary, path)


def trim_cache(root: Path | None = None, max_bytes: int | None = None) -> int:
    """Deletes the least recently written tiles until the cache holds at most 90 % of
    ``max_bytes``; returns how many were deleted."""
    root = root or cache_root()
    max_bytes = MAX_CACHE_BYTES if max_bytes is None else max_bytes
    files = []
    for path in root.rglob("*.png"):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        files.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in files)
    if total <= max_bytes:
        return 0
    deleted = 0
    for _, size, path in sorted(files):
        if total <= 0.9 * max_bytes:
            break
        path.unlink(missing_ok=True)
        total -= size
        deleted += 1
    return deleted


def _tiles(source: TileSource, z: int, coords: list[tuple[int, int]]) -> dict[tuple[int, int], bytes] | None:
    """Every tile of ``coords`` from the cache or the source, or None when any cannot be had."""
    now = time.time()
    found: dict[tuple[int, int], bytes] = {}
    stale: dict[tuple[int, int], bytes] = {}
    for x, y in coords:
        path = _cache_path(source, z, x, y)
        try:
            age = now - path.stat().st_mtime
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        (found if age <= MAX_AGE_S else stale)[(x, y)] = data
    missing = [xy for xy in coords if xy not in found]
    if not missing:
        return found
    with _offline_lock:
        recently_unavailable = _offline_until.get(source.url, 0.0) > time.monotonic()
    failure = None
    if not recently_unavailable:
        fetched, failure = _fetch_all(source, z, missing)
        for (x, y), data in fetched.items():
            _store(_cache_path(source, z, x, y), data)
        found.update(fetched)
        if fetched:
            trim_cache()
        if failure:
            with _offline_lock:
                _offline_until[source.url] = time.monotonic() + RETRY_AFTER_S
    kept_old = [xy for xy in stale if xy not in found]
    for xy in kept_old:
        found[xy] = stale[xy]  # an old tile is better than none
    if len(found) == len(coords):
        if kept_old:
            log.info("print basemap: %d tile(s) could not be refreshed (%s); printing with the cached ones",
                     len(kept_old), failure or "source unavailable moments ago")
        return found
    if failure:
        log.warning("print basemap: tiles unavailable (%s); printing the map without a basemap, "
                    "not asking again for %.0f s", failure, RETRY_AFTER_S)
    else:
        log.info("print basemap: %s was unavailable moments ago; printing the map without a basemap", source.url)
    return None


def _fetch_all(source: TileSource, z: int, coords: list[tuple[int, int]]) -> tuple[dict[tuple[int, int], bytes],
                                                                                    str | None]:
    """The tiles fetched (in parallel) and the first failure, if any."""
    pool = ThreadPoolExecutor(max_workers=FETCH_WORKERS, thread_name_prefix="print-tiles")
    futures = {pool.submit(_fetch, source, z, x, y): (x, y) for x, y in coords}
    # Name resolution is not bound by the socket timeout: the whole batch gets a deadline, and
    # threads still stuck after it are left behind rather than waited for.
    done, not_done = wait(futures, timeout=FETCH_TIMEOUT_S * (1 + len(coords) / FETCH_WORKERS))
    pool.shutdown(wait=False, cancel_futures=True)
    fetched, failure = {}, None
    for future in done:
        try:
            fetched[futures[future]] = future.result()
        except TileUnavailable as error:
            failure = failure or str(error)
    if not_done and failure is None:
        x, y = futures[next(iter(not_done))]
        failure = f"{source.url.format(z=z, x=x, y=y)}: no answer in time"
    return fetched, failure


def forget_failures() -> None:
    """Forget which sources were unavailable (tests; an operator's shell after the network is back)."""
    with _offline_lock:
        _offline_until.clear()


# ---------------------------------------------------------------------------------------------
# The image under the map
# ---------------------------------------------------------------------------------------------

def basemap_for(bounds: tuple[float, float, float, float], srid: int, width_mm: float) -> Basemap | None:
    """The basemap of a map showing ``bounds`` = (minx, miny, maxx, maxy) in EPSG ``srid`` (metres),
    printed ``width_mm`` wide; None when there is no basemap to draw (switched off or offline)."""
    source = tile_source()
    if source is None:
        return None
    from pyproj import Transformer

    minx, miny, maxx, maxy = bounds
    to_lonlat = Transformer.from_crs(f"EPSG:{srid}", "EPSG:4326", always_xy=True)
    lons, lats = to_lonlat.transform([minx, minx, maxx, maxx], [miny, maxy, miny, maxy])
    lonlat_bounds = (min(lons), min(lats), max(lons), max(lats))
    z = choose_zoom(lonlat_bounds, maxx - minx, width_mm, source)
    coords = _tiles_covering(lonlat_bounds, z)
    tiles = _tiles(source, z, coords)
    if tiles is None:
        return None
    image = _warp(_mosaic(tiles, coords), z, coords, bounds, srid)
    return Basemap(image=image, extent=(minx, maxx, miny, maxy), attribution=source.attribution)


def _mosaic(tiles: dict[tuple[int, int], bytes], coords: list[tuple[int, int]]) -> np.ndarray:
    from PIL import Image

    xs, ys = [x for x, _ in coords], [y for _, y in coords]
    mosaic = np.full(((max(ys) - min(ys) + 1) * TILE_PIXELS, (max(xs) - min(xs) + 1) * TILE_PIXELS, 3), 255, np.uint8)
    for (x, y), data in tiles.items():
        if not data:
            continue  # no tile there (open sea): white
        tile = Image.open(io.BytesIO(data)).convert("RGB")
        if tile.size != (TILE_PIXELS, TILE_PIXELS):
            tile = tile.resize((TILE_PIXELS, TILE_PIXELS))
        row, column = (y - min(ys)) * TILE_PIXELS, (x - min(xs)) * TILE_PIXELS
        mosaic[row:row + TILE_PIXELS, column:column + TILE_PIXELS] = np.asarray(tile)
    return mosaic


def _warp(mosaic: np.ndarray, z: int, coords: list[tuple[int, int]], bounds: tuple[float, float, float, float],
          srid: int) -> np.ndarray:
    """The Web Mercator mosaic resampled onto a grid over ``bounds`` in the map's CRS."""
    from rasterio.crs import CRS
    from rasterio.transform import Affine, from_bounds
    from rasterio.warp import Resampling, reproject

    world = 2 * math.pi * EARTH_RADIUS_M
    pixel = world / 2**z / TILE_PIXELS
    left = -world / 2 + min(x for x, _ in coords) * TILE_PIXELS * pixel
    top = world / 2 - min(y for _, y in coords) * TILE_PIXELS * pixel
    source_transform = Affine(pixel, 0, left, 0, -pixel, top)
    minx, miny, maxx, maxy = bounds
    # About the tiles' own resolution on the ground (Mercator stretches by 1/cos(latitude)).
    centre_y = top - pixel * mosaic.shape[0] / 2
    latitude = 2 * math.atan(math.exp(centre_y / EARTH_RADIUS_M)) - math.pi / 2
    ground_pixel = pixel * math.cos(latitude)
    width = max(1, int(math.ceil((maxx - minx) / ground_pixel)))
    height = max(1, int(math.ceil((maxy - miny) / ground_pixel)))
    destination = np.full((3, height, width), 255, np.uint8)
    reproject(
        source=np.ascontiguousarray(mosaic.transpose(2, 0, 1)), destination=destination,
        src_transform=source_transform, src_crs=CRS.from_epsg(3857),
        dst_transform=from_bounds(minx, miny, maxx, maxy, width, height), dst_crs=CRS.from_epsg(srid),
        resampling=Resampling.bilinear, src_nodata=None, dst_nodata=None,
    )
    return destination.transpose(1, 2, 0)
