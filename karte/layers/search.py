"""Place search over what is loaded: 町丁 (census small areas), school districts (name, school,
romaji), wards and resources (facilities, parks, stations where a kind holds them…), by name —
no online geocoder.

:func:`search_places` answers ``/api/search/`` and the search box of the map pages. Names are
compared through the pure keys of :mod:`.placenames` (width, kana, 丁目 numerals, romaji readings);
the keys of every place are worked out once per data version (:func:`.tiles.data_version`, bumped by
every load, compute and edit) and kept in the process, so a keystroke costs one primary-key lookup
and a scan of the kept keys. Results are ranked exact > prefix > contains, then areas before
facilities, then shorter names first; each says what it is (``kind``, ``group``), where it is
(``bbox`` of an area or ``point`` of a facility, degrees, EPSG:6668 ≈ WGS84) and which karte shows
it (``url``: the district page, the ward page, the small-area karte ``/area/?codes=``).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from django.contrib.gis.db.models.functions import Envelope
from django.db import connection
from django.db.models import Max
from django.urls import NoReverseMatch, reverse

from karte.models import CensusArea, City, District, Resource, ResourceKind, Ward
from spatial.demand import WATER_HCODE

from .errors import ParameterError
from .lookups import resolve_city
from .placenames import MATCH_NAMES, best_rank, name_key, query_keys, romaji_key
from .tiles import data_version

MAX_QUERY_LENGTH = 100
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
# Areas before facilities at the same match quality; a district (a karte) before the 町丁 in it.
KIND_ORDER = {"district": 0, "ward": 1, "small_area": 2, "resource": 3}
GROUPS = {"district": "area", "ward": "area", "small_area": "area", "resource": "facility"}


@dataclass(frozen=True)
class Place:
    """One searchable place and its keys (see :mod:`.placenames`)."""

    kind: str
    code: str
    name: str
    detail: str
    city_code: str
    names: tuple[str, ...]
    romaji: tuple[str, ...]
    bbox: tuple[float, float, float, float] | None
    point: tuple[float, float] | None
    url: str | None
    name_romaji: str = ""
    resource_kind: str = ""

    def as_result(self, rank: int) -> dict:
        return {
            "kind": self.kind, "group": GROUPS[self.kind], "code": self.code, "name": self.name,
            "name_romaji": self.name_romaji, "detail": self.detail, "city_code": self.city_code,
            "resource_kind": self.resource_kind or None, "match": MATCH_NAMES[rank],
            "bbox": list(self.bbox) if self.bbox else None, "point": list(self.point) if self.point else None,
            "url": self.url,
        }


def _box(geometry) -> tuple[float, float, float, float] | None:
    if geometry is None or geometry.empty:
        return None
    return tuple(round(value, 6) for value in geometry.extent)


def _keys(*names: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(key for key in (name_key(n) for n in names) if key))


def small_area_url(key_code: str) -> str:
    """The karte of one small area (the area page, ``/area/?codes=<KEY_CODE>``)."""
    try:
        base = reverse("area")
    except NoReverseMatch:  # the area page is its own app's route; its address is the contract
        base = "/area/"
    return f"{base}?codes={key_code}"


def _places() -> list[Place]:
    cities = {c.code: c for c in City.objects.all()}
    wards = list(Ward.objects.annotate(box=Envelope("geom")))
    city_of = {w.code: w.city_id for w in wards}
    city_code_of_pk = {c.pk: c.code for c in cities.values()}
    ward_name = {w.code: w.name_ja for w in wards}
    places: list[Place] = []
    for ward in wards:
        city = city_code_of_pk.get(ward.city_id, "")
        places.append(Place(
            kind="ward", code=ward.code, name=ward.name_ja, detail=cities[city].name_ja if city in cities else "",
            city_code=city, names=_keys(ward.name_ja), romaji=tuple(k for k in (romaji_key(ward.name_en),) if k),
            bbox=_box(ward.box), point=None, url=reverse("ward", args=[ward.code]), name_romaji=ward.name_en,
        ))
    for district in District.objects.select_related("ward", "city").annotate(box=Envelope("geom")):
        detail = " ".join(part for part in (district.ward.name_ja if district.ward else "", district.city.name_ja) if part)
        places.append(Place(
            kind="district", code=district.code, name=district.name_ja, detail=detail, city_code=district.city.code,
            names=_keys(district.name_ja, district.school_name),
            romaji=tuple(k for k in (romaji_key(district.name_romaji),) if k),
            bbox=_box(district.box), point=None, url=reverse("district", args=[district.code]),
            name_romaji=district.name_romaji,
        ))
    # The small areas of the latest census of each 市区町村 (older vintages name the same streets).
    latest = dict(CensusArea.objects.values("city_code").annotate(year=Max("census_year")).values_list("city_code", "year"))
    areas = (CensusArea.objects.exclude(name_ja="").exclude(hcode=WATER_HCODE).annotate(box=Envelope("geom"))
             .only("key_code", "census_year", "name_ja", "city_code"))
    for area in areas:
        if latest.get(area.city_code) != area.census_year:
            continue
        city = area.city_code if area.city_code in cities else city_code_of_pk.get(city_of.get(area.city_code), "")
        detail = " ".join(p for p in (ward_name.get(area.city_code, ""), cities[city].name_ja if city in cities else "") if p)
        places.append(Place(
            kind="small_area", code=area.key_code, name=area.name_ja, detail=detail, city_code=city,
            names=_keys(area.name_ja), romaji=(), bbox=_box(area.box), point=None, url=small_area_url(area.key_code),
        ))
    labels = dict(ResourceKind.choices)
    for resource in (Resource.objects.exclude(name="").select_related("district")
                     .only("pk", "kind", "name", "location", "city_id", "district__code")):
        location = resource.location
        places.append(Place(
            kind="resource", code=str(resource.pk), name=resource.name, detail=str(labels.get(resource.kind, resource.kind)),
            city_code=city_code_of_pk.get(resource.city_id, ""), names=_keys(resource.name), romaji=(),
            bbox=None, point=(round(location.x, 6), round(location.y, 6)) if location else None,
            url=reverse("district", args=[resource.district.code]) if resource.district_id else None,
            resource_kind=resource.kind,
        ))
    return places


_index: dict[str, tuple[tuple, list[Place]]] = {}
_index_lock = threading.Lock()


def place_index() -> list[Place]:
    """Every searchable place with its keys, worked out once per data version and database."""
    version = data_version()
    if len(version) < 3:  # no version row yet (nothing loaded through the loaders): nothing to key on
        return _places()
    with _index_lock:
        kept = _index.get(connection.alias)
    if kept is not None and kept[0] == version:
        return kept[1]
    places = _places()
    with _index_lock:
        _index[connection.alias] = (version, places)
    return places


def forget() -> None:
    """Drop the kept index (the next search builds it again)."""
    with _index_lock:
        _index.clear()


def search_places(q: str | None, city: City | str | None = None, limit: int | None = DEFAULT_LIMIT) -> list[dict]:
    """Places whose names match ``q``, best first (see the module docstring), at most ``limit``
    (1–50), of ``city`` (a City or JIS code) when given.

    Raises :class:`ParameterError` for a missing, over-long or control-character ``q``, a
    ``limit`` out of range, or an unknown city. A query with nothing comparable left (only spaces or
    punctuation) finds nothing.
    """
    if q is None or not str(q).strip():
        raise ParameterError("q is required: a place name, e.g. q=上麻生三丁目", "q")
    q = str(q).strip()
    if len(q) > MAX_QUERY_LENGTH:
        raise ParameterError(f"q is at most {MAX_QUERY_LENGTH} characters long, not {len(q)}", "q")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in q):
        raise ParameterError("q must not contain control characters", "q")
    if limit is None:
        limit = DEFAULT_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ParameterError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}", "limit")
    city = resolve_city(city)
    keys = query_keys(q)
    if not keys:
        return []
    found = []
    for place in place_index():
        if city is not None and place.city_code != city.code:
            continue
        rank = best_rank(keys, place.names, place.romaji)
        if rank is not None:
            found.append((rank, KIND_ORDER[place.kind], len(place.name), place.name, place.code, place))
    found.sort(key=lambda entry: entry[:5])
    return [entry[-1].as_result(entry[0]) for entry in found[:limit]]
