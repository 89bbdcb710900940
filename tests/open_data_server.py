"""A stand-in for e-Stat, 国土数値情報 and Overpass on 127.0.0.1: serves the demo fixtures in the
official archive layouts (shapefiles and GeoJSON in zips, CP932 tables as ``tbl….txt`` in zips) at
the paths and query strings of the catalogue, answers HTTP Range requests, and can misbehave on
purpose (404, a slow answer, a transfer cut short, an HTML page). No test touches the internet."""
from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.features import shapes

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def a31_geojson_from_raster(raster: Path) -> bytes:
    """The demo flood-depth raster as A31a publishes depth: polygons of 浸水深ランク (A31a_205)."""
    with rasterio.open(raster) as src:
        depth = src.read(1)
        ranks = np.digitize(depth, [0.01, 0.5, 3.0, 5.0, 10.0, 20.0]).astype("int32")
        ranks[depth == src.nodata] = 0
        polygons = [(shapely.geometry.shape(geom), int(value))
                    for geom, value in shapes(ranks, mask=ranks > 0, transform=src.transform)]
        crs = src.crs
    frame = gpd.GeoDataFrame({"A31a_201": "8303040001", "A31a_202": "多摩川", "A31a_203": "14", "A31a_204": "神奈川県",
                              "A31a_205": [rank for _, rank in polygons]},
                             geometry=[geom for geom, _ in polygons], crs=crs).to_crs(6668)
    return frame.to_json(drop_id=True, ensure_ascii=False).encode("utf-8")


def kawasaki_site() -> dict[str, bytes]:
    """Path (with query) → body, for every catalogue entry of 14130 / 2020."""
    census = FIXTURES / "census" / "2020"
    boundary = {f"r2ka14130{suffix}": (census / f"r20ka14130{suffix}").read_bytes()
                for suffix in (".shp", ".shx", ".dbf", ".prj")}
    site = {
        "/ksj/gml/data/N03/N03-2024/N03-20240101_14_GML.zip": zipped({
            "N03-20240101_14_GML/N03-20240101_14.geojson": (FIXTURES / "n03" / "N03-20240101_14_kawasaki.geojson").read_bytes()}),
        "/gis/statmap-search/data?dlserveyId=A002005212020&code=14130&coordSys=1&format=shape&downloadType=5&datum=2011":
            zipped(boundary),
        "/ksj/gml/data/A27/A27-21/A27-21_14_GML.zip": zipped({
            "A27-21_14_GML/A27-21_14.geojson": (FIXTURES / "a27" / "A27-21_14_kawasaki.geojson").read_bytes()}),
        "/gis/statmap-search/data?statsId=T001141&code=5339&downloadType=2": zipped({
            "tblT001141H5339.txt": (FIXTURES / "mesh" / "tblT001141H5339.csv").read_bytes()}),
        "/ksj/gml/data/A31a/A31a-24/A31a-24_14_20_GEOJSON.zip": zipped({
            "A31a-24_14_20_GEOJSON/8303040001/A31a-24_14_20_8303040001.geojson":
                a31_geojson_from_raster(FIXTURES / "hazard" / "flood_depth_tama_l2_6677.tif")}),
    }
    for table in ("T001082", "T001087", "T001093", "T001107"):
        site[f"/gis/statmap-search/data?statsId={table}&code=14130&downloadType=2"] = zipped({
            f"tbl{table}C14130.txt": (census / f"tbl{table}C14130.csv").read_bytes()})
    for product, version, fixture in (("P29", "21", "P29-21"), ("P02", "06", "P02-06"), ("P13", "11", "P13-11"),
                                      ("P14", "15", "P14-15")):
        site[f"/ksj/gml/data/{product}/{product}-{version}/{product}-{version}_14_GML.zip"] = zipped({
            f"{product}-{version}_14_GML/{product}-{version}_14.geojson":
                (FIXTURES / "ksj" / f"{fixture}_14_kawasaki.geojson").read_bytes()})
    site["/api/interpreter"] = overpass_answer(FIXTURES / "osm" / "kawasaki_overpass_export.geojson")
    return site


def overpass_answer(export: Path) -> bytes:
    """The demo OSM export as the Overpass API answers ``out center tags``: nodes with lat/lon, ways
    with their centre."""
    doc = json.loads(export.read_text(encoding="utf-8"))
    elements = []
    for feature in doc["features"]:
        kind, number = feature["id"].split("/")
        point = shapely.geometry.shape(feature["geometry"]).representative_point()
        tags = {k: v for k, v in feature["properties"].items() if k != "@id"}
        where = {"lat": point.y, "lon": point.x} if kind == "node" else {"center": {"lat": point.y, "lon": point.x}}
        elements.append({"type": kind, "id": int(number), **where, "tags": tags})
    return json.dumps({"version": 0.6, "osm3s": {"copyright": "© OpenStreetMap contributors, ODbL"},
                       "elements": elements}).encode("utf-8")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that gave up (the timeout test) leaves the slow answer a broken pipe: expected.
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class OpenDataServer:
    """``with OpenDataServer(site) as server:`` serves ``site`` on ``server.url``. ``faults`` maps a
    path to ``404``, ``slow`` (answers after ``slow_s``), ``cut`` (announces the whole length, sends
    half, closes) or ``html`` (a 200 HTML page); ``requests`` lists (method, path, Range header)."""

    def __init__(self, site: dict[str, bytes], slow_s: float = 3.0):
        self.site = dict(site)
        self.faults: dict[str, str] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.slow_s = slow_s
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def _answer(self):
                server.requests.append((self.command, self.path, self.headers.get("Range")))
                if self.command == "POST":
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fault = server.faults.get(self.path)
                body = server.site.get(self.path)
                if fault == "slow":
                    time.sleep(server.slow_s)
                if body is None or fault == "404":
                    self.send_error(404, "Not Found")
                    return
                if fault == "html":
                    page = ("<!DOCTYPE html><html><head><title>メンテナンス中 | e-Stat</title></head>"
                            "<body>ただいまメンテナンス中です</body></html>").encode("utf-8")
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                start = 0
                wanted = self.headers.get("Range")
                if wanted and wanted.startswith("bytes=") and fault != "cut":
                    start = int(wanted[6:].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Type", "application/zip" if body[:2] == b"PK" else "application/json")
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if fault == "cut":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body[start:])

            do_GET = do_POST = _answer

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> OpenDataServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
