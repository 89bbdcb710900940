"""Warm the read cache after a load or compute: request what readers will ask for first — the map
and the exact layer requests it makes, every district's page and printed karte, every ward's page —
so the first visitors after a change do not each wait for a build (``karte.httpcache``).

The requests go through the whole stack (middleware, language, cache) with Django's test client, as
an anonymous Japanese-language reader; run by ``manage.py warm_cache`` or after a background compute.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.test import Client
from django.urls import reverse

from karte import layers

CONFIG_SCRIPT = re.compile(r'<script id="karte-map-config" type="application/json">(.*?)</script>', re.S)


@dataclass
class WarmResult:
    requests: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _client() -> Client:
    host = next((h.lstrip(".") for h in settings.ALLOWED_HOSTS if h not in ("*", "")), "localhost")
    return Client(HTTP_HOST=host, HTTP_ACCEPT_LANGUAGE=settings.LANGUAGE_CODE)


def map_page_urls() -> list[str]:
    """The map of every city loaded, and of each one when there are several (``?city=``)."""
    codes = list(layers.lookups.cities().values_list("code", flat=True))
    return [reverse("home")] + ([f"{reverse('home')}?city={code}" for code in codes] if len(codes) > 1 else [])


def page_urls(*, pdfs: bool = True) -> list[str]:
    """The pages of every district and ward (and their printed karte)."""
    urls = []
    for district in layers.lookups.districts():
        urls.append(reverse("district", args=[district.code]))
        if pdfs:
            urls.append(reverse("district-karte-pdf", args=[district.code]))
    urls += [reverse("ward", args=[ward.code]) for ward in layers.lookups.wards()]
    urls += [reverse("city", args=[city.code]) for city in layers.lookups.cities()]
    return urls


def warm_read_cache(*, pdfs: bool = True, progress: Callable[[str], None] | None = None) -> WarmResult:
    """GET the map page, its layers (following resource pages) and :func:`page_urls`; returns how many
    requests were made and which did not answer 200."""
    started = time.perf_counter()
    client = _client()
    secure = settings.SECURE_SSL_REDIRECT
    result = WarmResult()

    def get(url: str):
        response = client.get(url, secure=secure)
        result.requests += 1
        if response.status_code != 200:
            result.failed.append(f"{url}: HTTP {response.status_code}")
        if progress:
            progress(url)
        return response

    for map_url in map_page_urls():
        home = get(map_url)
        match = CONFIG_SCRIPT.search(home.content.decode("utf-8")) if home.status_code == 200 else None
        if not match:
            continue
        config = json.loads(match.group(1))
        for name, url in config.get("layer_urls", {}).items():
            for one in (url.values() if isinstance(url, dict) else [url]):
                if one is None or (name == "siting" and not config.get("has_siting_run")):
                    continue
                response = get(one)
                while response.status_code == 200 and name == "resources":
                    following = response.json()["karte:metadata"]["page"]["next"]
                    if not following:
                        break
                    response = get(following)
    for url in page_urls(pdfs=pdfs):
        get(url)
    result.seconds = round(time.perf_counter() - started, 2)
    return result
