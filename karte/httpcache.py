"""Cached reads: what the pages and the API answer is built once per data version, kept compressed,
and revalidated by browsers with ETag / Last-Modified (a repeat visit is a 304).

The figures change only when a load, ``compute_indicators`` or an edit runs, and each of those bumps
:class:`karte.models.DataVersion` in the same transaction as its change. An answer is therefore cached
under ``(path, query, language, date, data version)`` and never invalidated: a new version makes new
keys. Consistency without long read transactions: the version is read before and after building an
answer; if a writer committed in between (the version moved), the answer may mix old and new figures,
so it is built again (once) and only an answer read within one version is cached or served with an
ETag. Readers thus see the old figures or the new ones, never a mix.

Pages are cached only for visitors without a session (anonymous readers): a signed-in facilitator or
a workshop participant may see what others do not. An answer that sets a cookie is never cached.
The cache is Django's default cache (``settings.CACHES``): a file cache under ``var/`` on the embedded
default (shared by the server's worker processes), Redis in production (``KARTE_CACHE_URL``).
"""
from __future__ import annotations

import gzip
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, wraps
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date, parse_http_date_safe
from django.utils.translation import get_language

from karte.models import DataVersion

try:  # brotli is smaller than gzip for JSON; optional
    import brotli
except ImportError:  # pragma: no cover - brotli is a dependency, this is for a trimmed install
    brotli = None

KEY_PREFIX = "karte:read:v1:"
COMPRESSIBLE = ("application/json", "application/geo+json", "text/", "image/svg+xml")
MIN_COMPRESS_BYTES = 1024
KEPT_HEADERS = ("Content-Type", "Content-Disposition", "Content-Language")
READ_ATTEMPTS = 3
BUILD_LOCK_SECONDS = 60  # longer than any answer takes to build (a ward's PDF)
WAIT_STEP_SECONDS = 0.05


@dataclass(frozen=True)
class Version:
    token: str
    number: int
    changed_at: datetime

    @property
    def tag(self) -> str:
        return f"{self.token[:12]}.{self.number}"


def current_version() -> Version | None:
    """The data version (None before anything was loaded)."""
    row = DataVersion.objects.filter(pk=1).values_list("token", "version", "changed_at").first()
    return Version(*row) if row else None


def _personal(request: HttpRequest) -> bool:
    """The request belongs to someone (signed in, or carrying a session): not served from a shared cache."""
    user = getattr(request, "user", None)
    return bool((user is not None and user.is_authenticated) or settings.SESSION_COOKIE_NAME in request.COOKIES)


@lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """What a deployment changes besides data: the templates, scripts, styles and catalogues served
    (an upgrade must not serve pages cached by the previous release)."""
    digest = hashlib.sha256()
    for folder in ("templates", "static", "locale"):
        for path in sorted(Path(settings.BASE_DIR).glob(f"*/{folder}/**/*")):
            if path.is_file():
                stat = path.stat()
                digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _base_key(request: HttpRequest) -> str:
    """The answer's key but for the data version: path, query, language, the day (printed dates),
    the release and the settings that shape a page."""
    query = "&".join(sorted(f"{k}={v}" for k in request.GET for v in request.GET.getlist(k)))
    raw = "\n".join([request.path, query, get_language() or "", timezone.localdate().isoformat(),
                     _code_fingerprint(), str(getattr(settings, "KARTE_TILES", "")), settings.STATIC_URL])
    return KEY_PREFIX + hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _key(base: str, version: Version) -> str:
    return f"{base}:{version.tag}"


def _etag(key: str) -> str:
    return f'"{hashlib.sha256(key.encode()).hexdigest()[:32]}"'


def _wait_for(key: str) -> dict | None:
    """The entry another request is building, once it is there (None if it does not come in time)."""
    deadline = time.monotonic() + BUILD_LOCK_SECONDS
    while time.monotonic() < deadline:
        time.sleep(WAIT_STEP_SECONDS)
        entry = cache.get(key)
        if entry is not None or cache.get(key + ":building") is None:
            return entry
    return None


def _compressible(content_type: str) -> bool:
    return content_type.startswith(COMPRESSIBLE)


def _entry(response: HttpResponse) -> dict:
    body = response.content
    entry = {"status": response.status_code, "body": body,
             "headers": {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}}
    if len(body) >= MIN_COMPRESS_BYTES and _compressible(response.get("Content-Type", "")):
        entry["gzip"] = gzip.compress(body, compresslevel=6, mtime=0)
        if brotli is not None:
            entry["br"] = brotli.compress(body, quality=5)
    return entry


def _accepts(request: HttpRequest, coding: str) -> bool:
    accepted = request.headers.get("Accept-Encoding", "")
    return any(part.split(";")[0].strip() == coding and "q=0" not in part.replace(" ", "")
               for part in accepted.split(","))


def _not_modified(request: HttpRequest, etag: str, changed_at: datetime) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        return etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")] or if_none_match == "*"
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    return since is not None and int(changed_at.timestamp()) <= since


def _validators(response: HttpResponse, etag: str, changed_at: datetime, shared: bool) -> HttpResponse:
    response["ETag"] = etag
    response["Last-Modified"] = http_date(changed_at.timestamp())
    # Revalidate every time (a cheap 304 while the data version stands).
    response["Cache-Control"] = f"{'public' if shared else 'private'}, no-cache"
    patch_vary_headers(response, ("Accept-Encoding", "Accept-Language", "Cookie"))
    return response


def _from_entry(request: HttpRequest, entry: dict) -> HttpResponse:
    if "br" in entry and _accepts(request, "br"):
        body, coding = entry["br"], "br"
    elif "gzip" in entry and _accepts(request, "gzip"):
        body, coding = entry["gzip"], "gzip"
    else:
        body, coding = entry["body"], None
    response = HttpResponse(body, status=entry["status"])
    for name, value in entry["headers"].items():
        response[name] = value
    if coding:
        response["Content-Encoding"] = coding
    return response


def cached_read(*, shared: bool = True) -> Callable:
    """Cache a GET view's 200 answers per data version (see the module docstring).

    ``shared=False``: cache only for visitors without a session (pages that may show a signed-in
    user something of their own); ``True``: the answer is the same for everyone (API, PDFs).
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in ("GET", "HEAD") or (not shared and _personal(request)):
                return view(request, *args, **kwargs)
            before = current_version()
            if before is None:
                return view(request, *args, **kwargs)
            base = _base_key(request)
            key = _key(base, before)
            if _not_modified(request, _etag(key), before.changed_at):
                return _validators(HttpResponseNotModified(), _etag(key), before.changed_at, shared)
            entry = cache.get(key)
            lock = key + ":building"
            if entry is None and not cache.add(lock, 1, timeout=BUILD_LOCK_SECONDS):
                # Another request builds this answer now (the first after a load): give the previous
                # version's answer meanwhile — old figures, whole — or wait for the new one.
                stale = cache.get(base + ":latest")
                if stale is not None:
                    stale_key, changed_at, stale_entry = stale
                    return _validators(_from_entry(request, stale_entry), _etag(stale_key), changed_at, shared)
                entry = _wait_for(key)
                lock = ""  # not ours to release
            if entry is None:
                try:
                    for _ in range(READ_ATTEMPTS):
                        response = view(request, *args, **kwargs)
                        if response.status_code != 200 or response.streaming or response.cookies:
                            return response
                        after = current_version()
                        if after == before:
                            break
                        # A load or compute committed while this answer was read, so it may mix old
                        # and new figures: read it again at the new version.
                        before = after
                        key = _key(base, before)
                    else:
                        return response  # writes keep landing: this answer is served once, uncached
                    entry = _entry(response)
                    cache.set(key, entry, timeout=None)
                    cache.set(base + ":latest", (key, before.changed_at, entry), timeout=None)
                finally:
                    if lock:
                        cache.delete(lock)
            return _validators(_from_entry(request, entry), _etag(key), before.changed_at, shared)

        return wrapper

    return decorator
