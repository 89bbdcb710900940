"""No bad parameter to any route answers 500, and no Python message reaches the client.

Every route of ``karte.urls`` (pages, PDFs, the API; admin and i18n included) is requested with bad
path values and, one at a time, every query parameter any route reads set to malformed, huge,
negative, non-finite, injected or oversized values. The answer may be 200 (a page ignoring what it
does not read), 3xx, 400 or 404 — never 5xx — and its body carries no traceback or Python message.
"""
from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.test_pages import build_sample_city

BAD_VALUES = (
    "abc", "-1", "99999999999999999999999", "1e309", "nan", "１２", "",
    "<script>alert(1)</script>", "' OR 1=1 --", "1,2,,3", "\x00", "x" * 3000, "139.7,35.5,139.6,35.4",
)
QUERY_NAMES = (
    "indicator", "indicators", "ward", "city", "year", "simplify", "format", "kind", "bbox", "limit", "offset",
    "geometry", "walk_distance", "walk_distance_m", "scheme", "k", "run", "code", "next", "language", "q",
    "codes", "lon", "lat", "radius",
)
BAD_PATH_VALUES = {"str": ("9999999", "<b>x</b>", "x" * 300, "..%2F..%2Fetc"), "int": ("0", "99999999999999999999999"),
                   "uuid": ("00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff")}
PYTHON_MESSAGES = re.compile(
    r"Traceback|invalid literal for int|could not convert string|OverflowError|ValueError|TypeError|KeyError|"
    r"OperationalError|DoesNotExist|Exception Value"
)
# The PDF routes render a whole karte: request their bad paths only (query strings are not read).
PATHS_ONLY = {"district-karte-pdf", "ward-karte-pdf", "city-karte-pdf"}


def _routes(resolver=None, prefix: str = "", namespace: str = "") -> list[tuple[str, str, dict[str, str]]]:
    """(name, route with <converter:name> placeholders, {name: converter}) of every URL pattern."""
    resolver = resolver or get_resolver()
    found = []
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route.startswith("admin"):
                found.append(("admin", "/" + route, {}))  # Django's own views, checked at their root
                continue
            found.extend(_routes(pattern, route, f"{pattern.namespace}:" if pattern.namespace else namespace))
        elif isinstance(pattern, URLPattern):
            converters = {name: converter or "str" for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", route)}
            found.append((namespace + (pattern.name or route), "/" + route, converters))
    return found


ROUTES = _routes()


def _fill(route: str, value_of: dict[str, str]) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: value_of[m.group(1)], route)


def _valid_values(sample) -> dict[str, str]:
    return {"code": sample.districts[0].code, "run_id": str(sample.run.pk),
            # /tiles/: the z11 tile holding the sample city
            "layer": "districts", "z": "11", "x": "1818", "y": "807", "fmt": "pbf",
            # /jobs/: an id no job has (a real one's status is tested in tests/test_tasks.py)
            "public_id": "0b5c2f3e-8a4d-4f6b-9c1e-2d7a6b5e4f30",
            # Participation's ids name nothing in the sample city: their routes answer 404 or ask for a login.
            "workshop_id": "1", "contribution_id": "1", "edition_id": "1"}


def _check(response, url: str) -> None:
    body = b"" if response.streaming else response.content
    assert response.status_code < 500, f"{url}: HTTP {response.status_code}"
    if response.get("Content-Type", "").startswith(("text/", "application/json", "application/geo+json")):
        text = body.decode("utf-8", "replace")
        assert not PYTHON_MESSAGES.search(text), f"{url}: {PYTHON_MESSAGES.search(text).group(0)} in the answer"


def test_every_route_is_covered():
    names = {name for name, _, _ in ROUTES}
    assert {"home", "district", "ward", "siting", "district-karte-pdf", "ward-karte-pdf", "api:districts",
            "api:district", "api:resources", "api:candidates", "api:wards", "api:siting", "api:siting-latest",
            "api:indicators", "api:search", "tile", "tilejson", "admin", "siting-publish", "api:contributions",
            "area", "area-karte-pdf", "api:area",
            "participation:join", "participation:contribute", "participation:moderate", "participation:freeze",
            "login"} <= names


@pytest.mark.parametrize("name,route,converters", ROUTES, ids=[r[0] for r in ROUTES])
def test_bad_input_never_answers_500(client, db, name, route, converters):
    sample = build_sample_city()
    valid = _valid_values(sample)
    for converter_name, converter in converters.items():
        for bad in BAD_PATH_VALUES[converter if converter in BAD_PATH_VALUES else "str"]:
            url = _fill(route, {**valid, converter_name: bad})
            _check(client.get(url), url)
    if name in PATHS_ONLY:
        return
    url = _fill(route, valid)
    for query_name in QUERY_NAMES:
        for bad in BAD_VALUES:
            _check(client.get(url, {query_name: bad}), f"{url}?{query_name}={bad[:30]}")
    _check(client.get(url, {"year": "2020", "year_": "x", "indicators": "ageing_rate"}), url)


@pytest.mark.parametrize("url", ["/area/", "/area/karte.pdf", "/api/area/"])
def test_area_routes_with_bad_areas_answer_400(client, db, url):
    build_sample_city()
    for query in ({"codes": "1401,<b>"}, {"geometry": "1e309,35,139,35,139,36"}, {"lon": "139.7", "lat": "nan", "radius": "500"},
                  {"geometry": "139.0,35.0,139.01,35.0,139.01,35.01"}, {"codes": "x" * 3000}, {"lon": "139.7"},
                  {"geometry": "0,0,0,0,0,0"}, {"geometry": "139.0,35.0,139.01,35.01,139.0,35.01,139.01,35.0"}):
        response = client.get(url, query)
        _check(response, f"{url}?{query}")
        assert response.status_code == 400, (url, query, response.status_code)
    if url == "/api/area/":
        for body in (b"\xff\xfe", b'{"type": "Polygon", "coordinates": [[[1e400, 0]]]}', b'{"codes": 5}',
                     b'{"type": "Point", "coordinates": ["a", 1], "radius": 100}', b'{"type": "Feature", "geometry": null}'):
            response = client.post(url, body, content_type="application/json")
            _check(response, f"POST {url} {body[:40]!r}")
            assert response.status_code == 400, (body, response.content)


def test_bad_siting_posts_are_400_with_a_message(client, db):
    from django.contrib.auth.models import User

    build_sample_city()
    client.force_login(User.objects.create_user("planner", is_staff=True))
    for data in (
        {"kinds": ["vacant_house"], "walk_distance_m": "99999999999999999999999", "k": "3", "solver": "greedy"},
        {"kinds": ["vacant_house"], "walk_distance_m": "-5", "k": "3", "solver": "greedy"},
        {"kinds": ["vacant_house"], "walk_distance_m": "500", "k": "1e309", "solver": "greedy"},
        {"kinds": ["no_such_kind"], "walk_distance_m": "500", "k": "3", "solver": "greedy"},
        {"kinds": ["vacant_house"], "walk_distance_m": "500", "k": "3", "solver": "magic"},
        {"kinds": ["vacant_house"], "walk_distance_m": "500", "k": "3", "solver": "greedy", "ward": "<x>"},
    ):
        response = client.post("/siting/", data)
        assert response.status_code == 400, data
        _check(response, f"POST /siting/ {data}")
        assert 'role="alert"' in response.content.decode()
