"""Cached reads (karte.httpcache): one build per data version, 304 on revalidation, compressed
answers, pages cached only for visitors without a session, and never an answer that mixes versions."""
from __future__ import annotations

import gzip
import json

import brotli
import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from karte import httpcache
from karte.models import DataVersion, IndicatorValue, Resource, bump_data_version
from tests.test_pages import build_sample_city


@pytest.fixture
def sample(db, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    return build_sample_city()


def _queries(client, *args, **kwargs) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(*args, **kwargs)
    return response, len(captured)


def test_every_write_bumps_the_data_version(sample):
    before = DataVersion.objects.get(pk=1).version
    resource = Resource.objects.first()
    resource.name = "改名"
    resource.save()
    assert DataVersion.objects.get(pk=1).version == before + 1
    bump_data_version()
    assert DataVersion.objects.get(pk=1).version == before + 2


def test_an_api_answer_is_built_once_per_data_version(client, sample):
    first, built = _queries(client, "/api/districts/", {"indicators": "ageing_rate"})
    again, served = _queries(client, "/api/districts/", {"indicators": "ageing_rate"})
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert built > 3 and served == 1  # the cached answer costs one query: the data version
    # A change of the data makes a new answer.
    IndicatorValue.objects.filter(area_code="1413101", indicator="ageing_rate", tier="district").update(value=99.5)
    bump_data_version()
    changed = client.get("/api/districts/", {"indicators": "ageing_rate"}).json()
    value = {f["id"]: f["properties"]["ageing_rate"] for f in changed["features"]}["1413101"]
    assert value == 99.5


def test_revalidation_is_a_304_until_the_data_changes(client, sample):
    response = client.get("/api/resources/")
    etag, modified = response["ETag"], response["Last-Modified"]
    assert response["Cache-Control"] == "public, no-cache" and "Accept-Encoding" in response["Vary"]
    not_modified, queries = _queries(client, "/api/resources/", HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304 and not_modified.content == b"" and queries == 1
    assert client.get("/api/resources/", HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    assert client.get("/api/resources/", {"kind": "park"}, HTTP_IF_NONE_MATCH=etag).status_code == 200
    Resource.objects.filter(kind="park").first().save()  # an edit bumps the version
    fresh = client.get("/api/resources/", HTTP_IF_NONE_MATCH=etag)
    assert fresh.status_code == 200 and fresh["ETag"] != etag


@pytest.mark.parametrize("coding,decode", [("gzip", gzip.decompress), ("br", brotli.decompress)])
def test_answers_are_sent_compressed_when_the_client_accepts_it(client, sample, coding, decode):
    plain = client.get("/api/districts/").content
    packed = client.get("/api/districts/", HTTP_ACCEPT_ENCODING=f"{coding}, deflate")
    assert packed["Content-Encoding"] == coding
    assert decode(packed.content) == plain and len(packed.content) < len(plain) / 2
    assert json.loads(plain)["type"] == "FeatureCollection"


def test_pages_are_cached_for_anonymous_readers_only(client, sample):
    _, built = _queries(client, "/districts/1413202/")
    page, served = _queries(client, "/districts/1413202/")
    assert page.status_code == 200 and served == 1 < built
    user = User.objects.create_user("facilitator", password="a-long-passphrase-9")
    client.force_login(user)
    _, personal = _queries(client, "/districts/1413202/")
    assert personal > 3  # built for this user, not served from the shared cache
    assert "ETag" not in client.get("/districts/1413202/")


def test_an_answer_read_while_a_writer_committed_is_read_again(client, sample, monkeypatch):
    from karte.api import views as api_views

    calls = []
    real = api_views.layers.wards_collection

    def wards_with_a_commit_in_the_middle(*args, **kwargs):
        calls.append(1)
        result = real(*args, **kwargs)
        if len(calls) == 1:
            bump_data_version()  # a load committed while the first answer was being read
        return result

    monkeypatch.setattr(api_views.layers, "wards_collection", wards_with_a_commit_in_the_middle)
    version = DataVersion.objects.get(pk=1).version
    response = client.get("/api/wards/")
    assert response.status_code == 200 and len(calls) == 2
    assert DataVersion.objects.get(pk=1).version == version + 1
    # Cached under the version it was read in: the next request is served without reading again.
    client.get("/api/wards/")
    assert len(calls) == 2


def test_the_first_request_after_a_load_gets_the_previous_answer_while_another_builds(client, sample):
    old = client.get("/api/wards/")
    bump_data_version()
    request_key = None
    for key in list(cache._cache):  # noqa: SLF001 - LocMemCache's keys, to find the answer's base key
        if key.endswith(":latest"):
            request_key = key
    assert request_key is not None
    base = request_key.split(":", 2)[2].removesuffix(":latest")
    version = httpcache.current_version()
    cache.add(httpcache._key(base, version) + ":building", 1, timeout=30)  # another worker builds
    stale = client.get("/api/wards/")
    assert stale.status_code == 200 and stale.content == old.content and stale["ETag"] == old["ETag"]


def test_nothing_is_cached_before_data_is_loaded(client, db, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    response = client.get("/api/districts/")
    assert response.status_code == 200 and "ETag" not in response


def test_warming_builds_what_the_map_and_the_pages_ask_for(client, sample):
    from karte.views.warm import warm_read_cache

    result = warm_read_cache(pdfs=False)
    assert result.failed == [] and result.requests >= 1 + 5 + 4 + 2  # map, its layers, districts, wards
    home = client.get("/")
    config = json.loads(home.content.decode().split('id="karte-map-config" type="application/json">')[1]
                        .split("</script>")[0])
    for url in [config["layer_urls"]["districts"], config["layer_urls"]["wards"], "/districts/1413101/",
                "/wards/14131/"]:
        response, queries = _queries(client, url)
        assert response.status_code == 200 and queries == 1, url  # served from the warmed cache
