"""Downloading a city's open data into a cache: the catalogue, HTTP with resume, checksums, and the
checks that a download is what the catalogue promised. No Django: ``karte.open_data`` loads what
this module brings, in order, with the importers ``manage.py load`` uses.

The catalogue (``loaders/open_data.toml``, one declaration per file) says where each file is;
:func:`plan` fills its placeholders for one city and census year. :class:`Downloader` fetches a
planned file into the cache folder:

* resume: an interrupted download stays as ``<file>.part`` and the next run asks for the rest with
  an HTTP ``Range`` header (a server that answers 200 instead of 206 sends it whole again);
* checksums: every finished file's SHA-256 is kept in ``checksums.json`` beside it; a cached file
  whose checksum still matches is not downloaded again; a catalogue ``sha256`` is enforced;
* checks, each a :class:`FetchError` naming the URL, the page to download from by hand and the
  ``manage.py load`` command to run then: no connection (offline), an HTTP error (404 …), a timeout,
  an HTML page where a zip was expected, a zip cut short or damaged, a zip without the member the
  catalogue names. A bad answer is never kept in the cache.

Base URLs (``{estat}``, ``{ksj}``, ``{overpass}``) can all be replaced by one ``base_url`` (the
command's ``--base-url``, ``KARTE_OPEN_DATA_BASE_URL``): tests point it at a server on 127.0.0.1.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import tomllib
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import requests
from tqdm import tqdm

from .common import sha256_of
from .errors import LoaderError

CATALOGUE_PATH = Path(__file__).with_name("open_data.toml")
CHECKSUMS = "checksums.json"
USER_AGENT = "Karte open-data fetcher (district karte; +https://www.e-stat.go.jp/terms-of-use)"
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_KEYS = {"name", "load", "years", "url", "file", "member", "page", "per", "optional", "convert", "options",
         "source_name", "licence", "sha256"}


class FetchError(LoaderError):
    """A download that did not bring the file the catalogue promised. Nothing is loaded."""


@dataclass(frozen=True)
class SourceSpec:
    """One declaration of the catalogue (see the header of ``open_data.toml``)."""

    name: str
    load: str
    url: str
    file: str
    page: str
    member: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    per: str = ""
    optional: bool = False
    convert: str = ""
    options: dict = field(default_factory=dict)
    source_name: str = ""
    licence: str = ""
    sha256: str = ""


@dataclass(frozen=True)
class Catalogue:
    base: dict[str, str]
    sources: tuple[SourceSpec, ...]
    path: Path

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(s.name for s in self.sources))


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    """Read and check the catalogue: unknown keys and missing required ones are refused by name."""
    path = Path(path or CATALOGUE_PATH)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise LoaderError(f"cannot read the open-data catalogue: {error}", path=path) from None
    sources = []
    for number, entry in enumerate(doc.get("source", []), start=1):
        unknown = sorted(set(entry) - _KEYS)
        missing = [k for k in ("name", "load", "url", "file", "page") if k not in entry]
        if unknown or missing:
            raise LoaderError(f"[[source]] number {number}: " + "; ".join(
                ([f"unknown key(s) {', '.join(unknown)}"] if unknown else [])
                + ([f"missing {', '.join(missing)}"] if missing else [])), path=path)
        member = entry.get("member", ())
        sources.append(SourceSpec(**{**entry, "member": (member,) if isinstance(member, str) else tuple(member),
                                     "years": tuple(entry.get("years", ()))}))
    return Catalogue(dict(doc.get("base", {})), tuple(sources), path)


@dataclass(frozen=True)
class Planned:
    """A catalogue entry made concrete for one city: its URL, its file in the cache, the member
    patterns to look for, and what to tell a person who must download it by hand."""

    spec: SourceSpec
    url: str
    file: str
    member: tuple[str, ...]
    values: dict

    @property
    def label(self) -> str:
        return f"{self.spec.name} ({self.file})"

    def by_hand(self) -> str:
        return (f"download it by hand from {self.spec.page} (the file {self.url}), then run: "
                f"python manage.py load {self.spec.load} FILE --city {self.values['city']}"
                + (f" --year {self.values['year']}" if self.spec.load in {"census_boundary", "census_table", "mesh"} else ""))


def plan(catalogue: Catalogue, *, city: str, year: int, base_url: str | None = None, estat_app_id: str = "",
         mesh1: Iterable[str] = (), only: Iterable[str] | None = None, optional: Iterable[str] = (),
         skip: Iterable[str] = ()) -> list[Planned]:
    """The downloads for ``city`` and census ``year``, in load order. ``per = "mesh1"`` entries give
    one download per code of ``mesh1`` (none before the city's outline is known). ``only`` keeps
    those names; optional entries come only when named in ``only`` or ``optional``; ``skip`` drops
    names (a user-given file replaces them)."""
    if not re.fullmatch(r"\d{5}", str(city)):
        raise LoaderError(f"--city must be a 5-digit JIS code, got {city!r}")
    only = set(only) if only else None
    unknown = sorted((only or set()) - set(catalogue.names))
    if unknown:
        raise LoaderError(f"--only {', '.join(unknown)}: not in the catalogue; known: {', '.join(catalogue.names)}",
                          path=catalogue.path)
    years = sorted({y for s in catalogue.sources for y in s.years})
    if years and int(year) not in years:
        raise LoaderError(f"--year {year}: the catalogue has census years {', '.join(map(str, years))}",
                          path=catalogue.path)
    bases = {key: (base_url.rstrip("/") if base_url else value) for key, value in catalogue.base.items()}
    values = {"city": str(city), "pref": str(city)[:2], "year": int(year), "estat_app_id": estat_app_id or "", **bases}
    planned = []
    for spec in catalogue.sources:
        if spec.years and int(year) not in spec.years:
            continue
        if only is not None and spec.name not in only:
            continue
        if spec.optional and spec.name not in (only or set()) | set(optional):
            continue
        if spec.name in set(skip):
            continue
        if "{estat_app_id}" in spec.url and not estat_app_id:
            raise LoaderError(f"{spec.name}: the catalogue URL needs an e-Stat application id (--estat-app-id)",
                              path=catalogue.path)
        for extra in ([{"mesh1": code} for code in mesh1] if spec.per == "mesh1" else [{}]):
            here = {**values, **extra}
            planned.append(Planned(spec, spec.url.format(**here), spec.file.format(**here),
                                   tuple(m.format(**here) for m in spec.member), here))
    return planned


# ------------------------------------------------------------------------------------------------
# Downloading
# ------------------------------------------------------------------------------------------------

class Downloader:
    """Fetches planned files into ``cache_dir`` (see the module docstring)."""

    # Blocks are written as they come: a transfer cut short keeps all but its last block for resuming.
    def __init__(self, cache_dir: Path | str, *, timeout: float = 60.0, show_progress: bool = False,
                 chunk: int = 1 << 14):
        self.cache = Path(cache_dir)
        self.cache.mkdir(parents=True, exist_ok=True)
        self.timeout = timeout
        self.show_progress = show_progress
        self.chunk = chunk
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    # --- the checksum index
    def _index(self) -> dict:
        path = self.cache / CHECKSUMS
        if not path.exists():
            return {}
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return {}  # a damaged index only costs downloading again

    def _remember(self, target: Path, url: str) -> str:
        index = self._index()
        digest = sha256_of(target)
        index[target.name] = {"url": url, "sha256": digest, "bytes": target.stat().st_size,
                              "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        (self.cache / CHECKSUMS).write_text(json.dumps(index, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return digest

    def cached(self, planned: Planned) -> Path | None:
        """The cached file when its checksum is the one recorded (and the catalogue's, if given)."""
        target = self.cache / planned.file
        entry = self._index().get(planned.file)
        if not target.exists() or not entry:
            return None
        digest = sha256_of(target)
        if digest != entry.get("sha256") or (planned.spec.sha256 and digest != planned.spec.sha256):
            return None
        return target

    def fetch(self, planned: Planned, *, data: dict | None = None) -> tuple[Path, bool]:
        """The file of ``planned`` in the cache, downloaded (or resumed) if needed, checked against
        what the catalogue promises. Returns (path, whether it came from the cache)."""
        hit = self.cached(planned)
        if hit is not None:
            return hit, True
        target = self.cache / planned.file
        target.unlink(missing_ok=True)
        self._download(planned, target, data)
        try:
            check_download(target, planned)
        except FetchError:
            target.unlink(missing_ok=True)  # never keep a bad answer
            raise
        digest = self._remember(target, planned.url)
        if planned.spec.sha256 and digest != planned.spec.sha256:
            target.unlink(missing_ok=True)
            raise FetchError(f"checksum {digest} differs from the catalogue's {planned.spec.sha256}: the portal "
                             f"published another file; check it and correct sha256 in the catalogue, or "
                             f"{planned.by_hand()}", path=planned.url)
        return target, False

    def _download(self, planned: Planned, target: Path, data: dict | None) -> None:
        part = target.with_name(target.name + ".part")
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have and data is None else {}
        host = urlsplit(planned.url).netloc
        try:
            method = self.session.post if data is not None else self.session.get
            response = method(planned.url, headers=headers, data=data, stream=True, timeout=self.timeout)
        except requests.exceptions.Timeout:
            raise FetchError(f"{host} did not answer within {self.timeout:g} s; try again later, or "
                             f"{planned.by_hand()}", path=planned.url) from None
        except requests.exceptions.ConnectionError:
            raise FetchError(f"cannot reach {host} (offline, or the address is wrong): {planned.by_hand()}",
                             path=planned.url) from None
        with response:
            if response.status_code == 416 and have:
                part.unlink()  # the part is longer than the file now: start again
                return self._download(planned, target, data)
            if response.status_code >= 400:
                raise FetchError(f"HTTP {response.status_code} {response.reason or ''}".rstrip()
                                 + f" from {host}: the portal may have moved the file — correct its url in "
                                 f"{CATALOGUE_PATH.name}, or {planned.by_hand()}", path=planned.url)
            resumed = response.status_code == 206 and have > 0
            if not resumed:
                have = 0
            length = response.headers.get("Content-Length")
            total = have + int(length) if length and length.isdigit() else None
            bar = tqdm(total=total, initial=have, unit="B", unit_scale=True, unit_divisor=1024, leave=False,
                       desc=planned.file, disable=not self.show_progress, mininterval=0.3, dynamic_ncols=True)
            try:
                with open(part, "ab" if resumed else "wb") as out, bar:
                    for block in response.iter_content(self.chunk):
                        out.write(block)
                        bar.update(len(block))
            except requests.exceptions.Timeout:
                raise FetchError(f"{host} stopped sending within {self.timeout:g} s after {part.stat().st_size} "
                                 "bytes; run again to resume the download", path=planned.url) from None
            except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError):
                raise FetchError(f"the download was cut short after {part.stat().st_size} bytes"
                                 + (f" of {total}" if total else "") + "; run again to resume it", path=planned.url) from None
        if total is not None and part.stat().st_size < total:
            raise FetchError(f"the download was cut short after {part.stat().st_size} of {total} bytes; run again to "
                             "resume it", path=planned.url)
        part.replace(target)


# ------------------------------------------------------------------------------------------------
# What a download must be
# ------------------------------------------------------------------------------------------------

def _html_title(head: bytes) -> str | None:
    text = head.decode("utf-8", "ignore").lstrip().lower()
    if not (text.startswith("<!doctype html") or text.startswith("<html") or "<html" in text[:512]):
        return None
    match = re.search(r"<title[^>]*>(.*?)</title>", head.decode("utf-8", "ignore"), re.S | re.I)
    return (match.group(1).strip() if match else "no title")[:120]


def check_download(path: Path, planned: Planned) -> None:
    """A zip where a zip is expected (whole, with the member the catalogue names), JSON where JSON
    is; an HTML page (a portal's error or login page answered with 200) is named as such."""
    head = path.read_bytes()[:4096]
    title = _html_title(head)
    if title is not None:
        raise FetchError(f"the server answered with an HTML page («{title}») instead of the file: the portal "
                         f"may have changed; {planned.by_hand()}", path=planned.url)
    if planned.file.lower().endswith(".zip"):
        if not zipfile.is_zipfile(path):
            raise FetchError(f"the download is not a zip archive ({path.stat().st_size} bytes; cut short or "
                             f"damaged); run again, or {planned.by_hand()}", path=planned.url)
        try:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
                names = archive.namelist()
        except (zipfile.BadZipFile, EOFError, OSError) as error:
            raise FetchError(f"the zip archive is damaged ({error}); run again, or {planned.by_hand()}",
                             path=planned.url) from None
        if bad is not None:
            raise FetchError(f"the zip archive is damaged (member {bad} fails its CRC check); run again, or "
                             f"{planned.by_hand()}", path=planned.url)
        if planned.member and find_member(names, planned.member) is None:
            raise FetchError(f"the zip holds {', '.join(names[:8]) or 'nothing'}{' …' if len(names) > 8 else ''} but "
                             f"no member matching {' or '.join(planned.member)}: the portal may have renamed it — "
                             f"correct member in {CATALOGUE_PATH.name}, or {planned.by_hand()}", path=planned.url)
    elif planned.file.lower().endswith(".json"):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise FetchError(f"the answer is not JSON ({error}); {planned.by_hand()}", path=planned.url) from None


def find_member(names: list[str], patterns: Iterable[str]) -> str | None:
    """The first member matching the first pattern that matches any (case-insensitive globs)."""
    for pattern in patterns:
        for name in names:
            if not name.endswith("/") and fnmatch.fnmatch(name.lower(), pattern.lower()):
                return name
    return None


def extract(archive_path: Path, planned: Planned, into: Path) -> list[Path]:
    """The member(s) to load, extracted flat into ``into``: the member the patterns find (with its
    shapefile siblings), or every member matching the first pattern with ``*`` in it when the
    source is converted from many files (A31's one GeoJSON per river)."""
    into.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive_path) as archive:
        names = archive.namelist()
        if planned.spec.convert:
            chosen = [n for n in names if any(fnmatch.fnmatch(n.lower(), p.lower()) for p in planned.member)]
        else:
            first = find_member(names, planned.member)
            chosen = [first]
            if first.lower().endswith(".shp"):
                stem = first[:-4].lower()
                chosen = [n for n in names if n.lower()[:-4] == stem and n.lower().endswith(SHAPEFILE_PARTS)]
        out = []
        for name in chosen:
            target = into / PurePosixPath(name).name
            target.write_bytes(archive.read(name))
            out.append(target)
    shp = [p for p in out if p.suffix.lower() == ".shp"]
    return shp if shp and not planned.spec.convert else out


# ------------------------------------------------------------------------------------------------
# OpenStreetMap through Overpass
# ------------------------------------------------------------------------------------------------

def overpass_query(bbox: tuple[float, float, float, float], rules: Iterable[tuple[str, str, str]]) -> str:
    """An Overpass QL query for the nodes and ways carrying any tag of ``rules`` (the OSM kind
    rules of ``loaders.resources``) inside ``bbox`` (min lon, min lat, max lon, max lat)."""
    minx, miny, maxx, maxy = bbox
    box = f"({miny:.5f},{minx:.5f},{maxy:.5f},{maxx:.5f})"
    parts = [f'{kind}["{tag}"="{value}"]{box};' for tag, value, _ in rules for kind in ("node", "way")]
    return "[out:json][timeout:120];(" + "".join(parts) + ");out center tags;"


def overpass_to_geojson(doc: dict) -> dict:
    """Overpass JSON (nodes with lat/lon, ways with a ``center``) → the GeoJSON an overpass-turbo
    export gives (properties = tags + ``@id``), which ``loaders.resources.read_osm_export`` reads."""
    features = []
    for element in doc.get("elements", []):
        point = element.get("center") or ({"lat": element["lat"], "lon": element["lon"]} if "lat" in element else None)
        if point is None or not element.get("tags"):
            continue
        osm_id = f"{element['type']}/{element['id']}"
        features.append({"type": "Feature", "id": osm_id, "properties": {**element["tags"], "@id": osm_id},
                         "geometry": {"type": "Point", "coordinates": [point["lon"], point["lat"]]}})
    return {"type": "FeatureCollection", "generator": "overpass-api (via Karte)",
            "copyright": doc.get("osm3s", {}).get("copyright", "© OpenStreetMap contributors, ODbL"),
            "features": features}
