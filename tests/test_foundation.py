"""The foundation: settings from the environment, migrations on both backends, and spatial queries
that give the same metric answers on SpatiaLite and PostGIS."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.contrib.gis.measure import D
from django.core.management import call_command
from django.db import connection
from pyproj import Geod

from karte.models import City, District, Resource, ResourceKind, Ward

from .conftest import ROOT

GEOD = Geod(ellps="GRS80")  # JGD2011's ellipsoid


def _run_manage(*args: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "KARTE_MODE"}}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_mode_refuses_to_start_without_secret_key():
    result = _run_manage("check", env_extra={"KARTE_MODE": "production", "ALLOWED_HOSTS": "karte.example.jp"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_mode_refuses_to_start_without_allowed_hosts():
    result = _run_manage("check", env_extra={"KARTE_MODE": "production", "SECRET_KEY": "x" * 60})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_check_deploy_is_clean():
    key = "k8J#2mZ!qP0vX9rT4wL7yB1nC6sD3fG5hJ8kL0zX2cV4bN6mQ9wE1rT3yU5iO7pA"
    result = _run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        env_extra={"KARTE_MODE": "production", "SECRET_KEY": key, "ALLOWED_HOSTS": "karte.example.jp"},
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_serves_collected_static_files(tmp_path):
    """In production the app serves Leaflet and its own JS/CSS itself (WhiteNoise) from
    ``collectstatic``'s output, under hashed names, so a deployment needs no CDN and no extra server."""
    env = {
        "KARTE_MODE": "production", "SECRET_KEY": "s" * 60, "ALLOWED_HOSTS": "karte.example.jp",
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    collected = _run_manage("collectstatic", "--noinput", env_extra=env)
    assert collected.returncode == 0, collected.stderr
    script = (
        "import django; django.setup()\n"
        "from django.templatetags.static import static\n"
        "from django.test import Client\n"
        "client = Client(HTTP_HOST='karte.example.jp')\n"
        "for path in ['vendor/leaflet-1.9.4/leaflet.js', 'karte/map.js']:\n"
        "    url = static(path)\n"
        "    response = client.get(url, secure=True)\n"
        "    body = b''.join(response.streaming_content) if response.streaming else response.content\n"
        "    print(url, response.status_code, response.headers.get('Cache-Control'), len(body), sep='\\t')\n"
    )
    result = _run_manage("shell", "-c", script, env_extra=env)
    assert result.returncode == 0, result.stderr
    lines = [line.split("\t") for line in result.stdout.splitlines() if line.startswith("/static/")]
    assert len(lines) == 2
    for url, status, cache_control, size in lines:
        assert status == "200", url
        assert int(size) > 1000, url
        # hashed name (leaflet.<hash>.js) and a far-future cache header
        assert url.startswith("/static/") and url.count(".") >= 2, url
        assert "max-age=315360000" in cache_control, url


def test_unknown_mode_is_refused():
    result = _run_manage("check", env_extra={"KARTE_MODE": "staging"})
    assert result.returncode != 0
    assert "KARTE_MODE" in result.stderr


def test_database_is_spatial():
    engine = settings.DATABASES["default"]["ENGINE"]
    assert engine in {"django.contrib.gis.db.backends.spatialite", "django.contrib.gis.db.backends.postgis"}
    if os.environ.get("DATABASE_URL", "").startswith("postgis"):
        assert connection.vendor == "postgresql"
    else:
        assert connection.vendor == "sqlite"


@pytest.mark.django_db
def test_migrations_are_complete_and_applied():
    # Fails when a model change has no migration: the two backends would then diverge.
    call_command("makemigrations", "karte", "--check", "--dry-run", verbosity=0)
    tables = set(connection.introspection.table_names())
    for model in (City, Ward, District, Resource):
        assert model._meta.db_table in tables


def _offset(lon: float, lat: float, azimuth_deg: float, metres: float) -> Point:
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth_deg, metres)
    return Point(lon2, lat2, srid=6668)


@pytest.fixture
def small_city(db):
    city = City.objects.create(code="14130", name_ja="川崎市", name_en="Kawasaki")
    ward = Ward.objects.create(city=city, code="14131", name_ja="川崎区", name_en="Kawasaki-ku")
    # A district of about 1 km × 1 km around 川崎駅.
    square = Polygon.from_bbox((139.695, 35.528, 139.706, 35.537))
    square.srid = 6668
    district = District.objects.create(
        city=city, ward=ward, code="T001", name_ja="テスト小学校区", geom=MultiPolygon(square, srid=6668)
    )
    centre = Point(139.7005, 35.5325, srid=6668)
    places = {
        "inside_near": _offset(centre.x, centre.y, 45, 300),
        "inside_far": _offset(centre.x, centre.y, 90, 480),
        "outside_close": _offset(centre.x, centre.y, 0, 520),  # north of the centre, past 500 m
        "outside_far": Point(139.75, 35.55, srid=6668),
    }
    for key, point in places.items():
        Resource.objects.create(
            source_key=f"test:{key}", kind=ResourceKind.CIVIC_HALL, name=key, geom=point, location=point, city=city
        )
    return district, centre


def test_resources_within_district_same_on_both_backends(small_city):
    district, _ = small_city
    inside = set(Resource.objects.filter(location__within=district.geom).values_list("name", flat=True))
    # outside_close sits 520 m north of the centre, past the district's northern edge (~500 m).
    assert inside == {"inside_near", "inside_far"}


def test_distance_in_metres_same_on_both_backends(small_city):
    _, centre = small_city
    near = set(Resource.objects.filter(location__distance_lte=(centre, D(m=500))).values_list("name", flat=True))
    assert near == {"inside_near", "inside_far"}
    wider = set(Resource.objects.filter(location__distance_lte=(centre, D(m=530))).values_list("name", flat=True))
    assert wider == {"inside_near", "inside_far", "outside_close"}


def test_process_with_spatialite_and_geo_wheels_exits_cleanly(tmp_path):
    """SpatiaLite and the pyproj/pyogrio wheels each bring a PROJ and a SQLite; loaded in the wrong
    order the interpreter aborts at exit (status 134). settings.py fixes the order."""
    script = (
        "import django, os; django.setup()\n"
        "from django.core.management import call_command; call_command('migrate', verbosity=0)\n"
        "from karte.models import District; District.objects.count()\n"
        "import geopandas, pyproj, rasterio; pyproj.Transformer.from_crs(6668, 6677)\n"
        "print('finished')\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "karte.settings",
           "DATABASE_URL": f"spatialite:///{tmp_path / 'exit.sqlite3'}"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "finished" in result.stdout

