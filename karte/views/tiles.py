"""Vector tiles over HTTP: ``/tiles/<layer>/<z>/<x>/<y>.pbf`` and ``/tiles/<layer>.json`` (TileJSON).

A machine interface like ``/api/``: GET/HEAD only, JSON errors ``{"error", "parameter"}`` with the
status the read side's error carries (400 for a z/x/y that is no whole number, 404 for a layer,
zoom or tile that does not exist), never a 500. The tile is ``application/vnd.mapbox-vector-tile``,
or 204 where no feature reaches it. Built by ``karte.layers.tiles``, which keeps the tiles of low
zooms per data version; they are not put through ``karte.httpcache`` (a national map asks for
thousands of tiles, which would crowd the pages and PDFs out of the read cache, and revalidating
each tile would cost a request per tile per view): browsers and proxies may keep them
``TILE_MAX_AGE`` seconds instead.
"""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from karte.api.params import QueryParams, api_endpoint, json_response
from karte.layers import tiles

TILE_MAX_AGE = 300


def _cached(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = f"public, max-age={TILE_MAX_AGE}"
    return response


@api_endpoint(set(), cached=False)
def vector_tile(request: HttpRequest, params: QueryParams, layer: str, z: str, x: str, y: str, fmt: str) -> HttpResponse:
    address = tiles.tile_address(layer, z, x, y, fmt)
    data = tiles.vector_tile(address.layer, address.z, address.x, address.y)
    if not data:
        return _cached(HttpResponse(status=204))
    return _cached(HttpResponse(data, content_type=tiles.MVT_CONTENT_TYPE))


def tile_url_template(request: HttpRequest, layer: str) -> str:
    """The absolute ``…/{z}/{x}/{y}.pbf`` URL template of a layer's tiles."""
    path = reverse("tile", kwargs={"layer": layer, "z": "0", "x": "0", "y": "0", "fmt": "pbf"})
    return request.build_absolute_uri(path.removesuffix("0/0/0.pbf")) + "{z}/{x}/{y}.pbf"


@api_endpoint(set(), cached=False)  # cheap (kept per data version), and it carries a setting
def tilejson(request: HttpRequest, params: QueryParams, layer: str) -> HttpResponse:
    """TileJSON of a layer: tile URL, zooms, bounds, fields, indicator years and feature count, and
    above how many features the map draws this layer from tiles instead of GeoJSON."""
    payload = tiles.tilejson(layer, tile_url_template(request, layer))
    payload["karte:map_tiles_above"] = int(getattr(settings, "KARTE_MAP_TILES_ABOVE", 3000))
    payload["karte:class_breaks_url"] = reverse("api:indicators")
    return _cached(json_response(payload))
