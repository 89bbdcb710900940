"""The printed map's basemap: tiles fetched from a tile server on 127.0.0.1 (never the internet),
cached on disk, shown on the PDF page with their credit, and a clean map when the server is down.

The test server paints every tile one colour that nothing else on a karte page uses, so the
rendered page (pdftoppm) shows whether the basemap is there.
"""
from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from django.conf import settings as django_settings
from PIL import Image

from karte.models import District
from karte.printing import basemap
from karte.printing.maps import district_map_figure
from karte.printing.pdf import render_karte_pdf

from .test_pages import build_sample_city

BASEMAP_RGB = (200, 0, 255)
needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils missing (make test installs it)")


class TileServer:
    """XYZ PNG tiles of one colour on 127.0.0.1; records what it was asked for."""

    def __init__(self):
        buffer = io.BytesIO()
        Image.new("RGB", (256, 256), BASEMAP_RGB).save(buffer, format="PNG")
        self.png = buffer.getvalue()
        self.requests: list[str] = []
        self.not_found = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server API)
                server.requests.append(self.path)
                if server.not_found:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(server.png)))
                self.end_headers()
                self.wfile.write(server.png)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/pale/{{z}}/{{x}}/{{y}}.png"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def tile_server(settings, tmp_path):
    server = TileServer()
    settings.KARTE_PRINT_TILES = server.url
    settings.KARTE_PRINT_TILE_CACHE = tmp_path / "tile-cache"
    basemap.forget_failures()
    yield server
    server.stop()
    basemap.forget_failures()


@pytest.fixture
def district(db) -> District:
    build_sample_city()
    return District.objects.select_related("city", "ward").get(code="1413101")


def _basemap_share(png: Path) -> float:
    """Share of the page's pixels in the tiles' colour."""
    pixels = np.asarray(Image.open(png).convert("RGB")).astype(int)
    close = np.all(np.abs(pixels - np.array(BASEMAP_RGB)) <= 12, axis=-1)
    return float(close.mean())


def _page_one(pdf: bytes, directory: Path, name: str) -> Path:
    path = directory / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(path), str(directory / name)],
                   check=True)
    return directory / f"{name}.png"


def test_tests_print_without_internet_tiles_by_default():
    assert django_settings.KARTE_PRINT_TILES == "none"
    assert os.environ["KARTE_PRINT_TILES"] == "none"
    assert basemap.tile_source() is None


def test_gsi_pale_is_the_default_source_with_its_credit(settings):
    settings.KARTE_PRINT_TILES = "gsi-pale"
    source = basemap.tile_source()
    assert source.url == "https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png"
    assert source.attribution == "出典：地理院タイル"


def test_a_setting_that_is_no_tile_source_prints_without_a_basemap(settings, caplog):
    settings.KARTE_PRINT_TILES = "ftp://example.invalid/tiles"
    with caplog.at_level(logging.ERROR, logger="karte.printing.basemap"):
        assert basemap.tile_source() is None
    assert "KARTE_PRINT_TILES" in caplog.text


@needs_poppler
def test_print_fetches_caches_and_shows_the_basemap_then_reuses_the_cache(district, tile_server, tmp_path,
                                                                           artifacts_dir):
    pdf = render_karte_pdf([district])
    assert tile_server.requests, "the print asked the tile server"
    assert len(tile_server.requests) <= basemap.MAX_TILES_PER_MAP
    source = basemap.tile_source()
    for request in tile_server.requests:
        z, x, y = request.removeprefix("/pale/").removesuffix(".png").split("/")
        cached = basemap.cache_root() / source.name / z / x / f"{y}.png"
        assert cached.read_bytes() == tile_server.png
    page = _page_one(pdf, tmp_path, "with_basemap")
    shutil.copy(page, artifacts_dir / "karte_page_with_basemap.png")
    assert _basemap_share(page) > 0.01, "the map on page 1 shows the basemap (around the tinted district)"

    asked = len(tile_server.requests)
    render_karte_pdf([district])
    assert len(tile_server.requests) == asked, "the second print is served from the cache"


@needs_poppler
def test_offline_prints_a_clean_map_and_says_so_in_the_log(district, tile_server, tmp_path, caplog):
    tile_server.stop()  # nothing listens on the port any more
    with caplog.at_level(logging.WARNING, logger="karte.printing.basemap"):
        pdf = render_karte_pdf([district])
    assert "without a basemap" in caplog.text
    page = _page_one(pdf, tmp_path, "offline")
    assert _basemap_share(page) == 0.0
    assert not list(basemap.cache_root().rglob("*.png"))


def test_the_map_credits_the_tiles(district, tile_server, settings):
    settings.KARTE_PRINT_TILES_ATTRIBUTION = "出典：地理院タイル"
    figure = district_map_figure(district, [], [])
    try:
        texts = [text.get_text() for text in figure.axes[0].texts]
        images = figure.axes[0].get_images()
    finally:
        plt.close(figure)
    assert "出典：地理院タイル" in texts
    assert len(images) == 1
    rgb = np.asarray(images[0].get_array())[..., :3]
    assert np.all(np.abs(rgb[rgb.shape[0] // 2, rgb.shape[1] // 2].astype(int) - BASEMAP_RGB) <= 2)


def test_no_basemap_no_credit(district, settings):
    settings.KARTE_PRINT_TILES = "none"
    figure = district_map_figure(district, [], [])
    try:
        assert not figure.axes[0].get_images()
        assert not [t for t in figure.axes[0].texts if "出典" in t.get_text()]
    finally:
        plt.close(figure)


def test_stale_tiles_serve_when_the_server_is_down(district, tile_server, caplog):
    bounds = (-27000.0, -52000.0, -24000.0, -49000.0)  # ~3 km around the sample city, EPSG:6677 metres
    assert basemap.basemap_for(bounds, 6677, 135) is not None
    old = time.time() - basemap.MAX_AGE_S - 3600
    for path in basemap.cache_root().rglob("*.png"):
        os.utime(path, (old, old))
    tile_server.stop()
    with caplog.at_level(logging.INFO, logger="karte.printing.basemap"):
        drawn = basemap.basemap_for(bounds, 6677, 135)
    assert drawn is not None, "old tiles are better than none"
    assert np.all(np.abs(drawn.image[drawn.image.shape[0] // 2, drawn.image.shape[1] // 2].astype(int) - BASEMAP_RGB) <= 2)
    assert "could not be refreshed" in caplog.text


def test_fresh_tiles_are_not_asked_again_and_old_ones_are(district, tile_server):
    bounds = (-27000.0, -52000.0, -24000.0, -49000.0)
    basemap.basemap_for(bounds, 6677, 135)
    first = len(tile_server.requests)
    basemap.basemap_for(bounds, 6677, 135)
    assert len(tile_server.requests) == first
    old = time.time() - basemap.MAX_AGE_S - 3600
    for path in basemap.cache_root().rglob("*.png"):
        os.utime(path, (old, old))
    basemap.basemap_for(bounds, 6677, 135)
    assert len(tile_server.requests) == 2 * first


def test_a_tile_the_server_does_not_have_is_blank_and_remembered(district, tile_server):
    tile_server.not_found = True  # e.g. open sea: 地理院タイル answers 404
    bounds = (-27000.0, -52000.0, -24000.0, -49000.0)
    drawn = basemap.basemap_for(bounds, 6677, 135)
    assert drawn is not None and int(drawn.image.min()) == 255  # white where there is no tile
    asked = len(tile_server.requests)
    basemap.basemap_for(bounds, 6677, 135)
    assert len(tile_server.requests) == asked


def test_the_cache_is_trimmed_oldest_first(tmp_path):
    now = time.time()
    for age, name in enumerate(["newest", "middle", "oldest"]):
        path = tmp_path / "src" / "15" / "1" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 1000)
        os.utime(path, (now - age * 100, now - age * 100))
    assert basemap.trim_cache(tmp_path, max_bytes=2500) == 1
    assert sorted(p.stem for p in tmp_path.rglob("*.png")) == ["middle", "newest"]
    assert basemap.trim_cache(tmp_path, max_bytes=2500) == 0
