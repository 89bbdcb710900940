"""No request from a client that is not logged in changes any stored row.

Every URL pattern of the project (as ``tests/test_routes.py`` lists them: pages, PDFs, the API,
participation, accounts, admin, i18n) is sent POST, PUT, PATCH and DELETE by an anonymous client,
without a CSRF token and with one obtained from a page, with a body that would change something if
it were accepted (siting parameters, a moderation action, a contribution, a workshop). Before and
after each route, every table of the project is counted and checksummed; nothing may differ.

Joining a workshop with its valid code is how a resident logs in (the code is the credential, like
a password at ``/accounts/login/``), so the body carries a wrong code, as it carries a wrong password.
"""
from __future__ import annotations

import hashlib
import re

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client

from participation import services
from participation.models import Edition

from .test_participation import INSIDE, _point, build_cast
from .test_routes import ROUTES

METHODS = ("post", "put", "patch", "delete")


# django-axes records failed logins (by user name and address) to lock out password guessing: that
# record is written for anonymous clients on purpose and holds nothing Karte shows.
LOGIN_GUARD_TABLES = {model._meta.db_table for model in apps.get_app_config("axes").get_models()} \
    if apps.is_installed("axes") else set()


def table_fingerprints() -> dict[str, tuple[int, str]]:
    """(row count, SHA-256 of the sorted rows) of every table Django manages, sessions included
    (not the failed-login record, :data:`LOGIN_GUARD_TABLES`)."""
    fingerprints = {}
    with connection.cursor() as cursor:
        tables = set(connection.introspection.django_table_names(only_existing=True)) - LOGIN_GUARD_TABLES
        for table in sorted(tables):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows = sorted(repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row))
                          for row in cursor.fetchall())
            fingerprints[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return fingerprints


def _fill(route: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route)


@pytest.fixture
def world(db):
    """The sample city, two workshops, a contribution of each type and status, an edition."""
    cast = build_cast()
    participant = services.join(cast.workshop, "住民", True)
    pending = services.submit(participant, {"type": "voice", "voice_category": "idea", "text": "保留中",
                                            "location": _point()})
    approved = services.submit(participant, {"type": "resource", "resource_kind": "room", "name": "集会室",
                                             "could_host": True, "location": _point()})
    services.approve(approved, cast.facilitator)
    services.verify_host(approved, cast.facilitator)
    edition = services.freeze_edition(cast.workshop, cast.facilitator)
    return cast, pending, edition


def test_the_fingerprint_sees_a_change(world):
    cast, pending, _ = world
    before = table_fingerprints()
    services.approve(pending, cast.facilitator)
    after = table_fingerprints()
    changed = {table for table in before if before[table] != after[table]}
    assert {"participation_contribution", "participation_auditentry"} <= changed


def test_no_anonymous_request_to_any_route_changes_any_row(world):
    cast, pending, edition = world
    assert isinstance(edition, Edition)
    district = cast.city.districts[0]
    values = {"code": district.code, "run_id": str(cast.city.run.pk), "workshop_id": str(cast.workshop.pk),
              "contribution_id": str(pending.pk), "edition_id": str(edition.pk),
              # /tiles/: the z11 tile holding the sample city
              "layer": "districts", "z": "11", "x": "1818", "y": "807", "fmt": "pbf",
              "public_id": "00000000-0000-0000-0000-000000000000"}
    body = {
        # siting
        "kinds": ["vacant_house"], "walk_distance_m": "500", "k": "2", "solver": "greedy", "ward": "",
        # moderation, workshops, contributions
        "action": "approve", "reason": "r", "district": district.code, "title": "t", "held_on": "2030-01-01",
        "licence": "CC BY 4.0", "type": "voice", "voice_category": "idea", "text": "書き込み",
        "lon": str(INSIDE[0]), "lat": str(INSIDE[1]),
        # join and log in with wrong credentials
        "code": "ABCDE-FGHJK", "nickname": "x", "username": cast.facilitator.username, "password": "wrong",
        "language": "en", "next": "/",
    }
    token_client = Client(enforce_csrf_checks=True)
    token_client.get("/participation/join/")
    token = token_client.cookies["csrftoken"].value
    checked = 0
    for name, route, _converters in ROUTES:
        url_values = {**values, "code": cast.workshop.join_code} if name == "participation:join-code" else values
        if "/wards/" in route:
            url_values = {**url_values, "code": cast.city.wards[0].code}
        url = _fill(route, url_values)
        before = table_fingerprints()
        for method in METHODS:
            for client, extra in ((Client(enforce_csrf_checks=True), {}),
                                  (token_client, {"HTTP_X_CSRFTOKEN": token})):
                if method == "post":
                    data = {**body, "csrfmiddlewaretoken": token} if extra else body
                    response = client.post(url, data, **extra)
                else:
                    response = getattr(client, method)(url, data="", content_type="application/json", **extra)
                assert response.status_code < 500, f"{method.upper()} {url}: {response.status_code}"
                checked += 1
        after = table_fingerprints()
        changed = sorted(table for table in before if before[table] != after[table])
        assert changed == [], f"anonymous POST/PUT/PATCH/DELETE to {url} changed {changed}"
    assert token_client.session.get("_auth_user_id") is None
    assert checked == len(ROUTES) * len(METHODS) * 2
