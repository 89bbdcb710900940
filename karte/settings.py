"""Django settings for Karte, read from the environment (12-factor).

Environment variables (all optional in development):

- ``KARTE_MODE``: ``development`` (default) or ``production``.
- ``SECRET_KEY``: required in production; Karte refuses to start without it.
- ``ALLOWED_HOSTS``: comma-separated host names (required in production).
- ``DATABASE_URL``: ``postgis://user:pass@host:5432/name`` for PostGIS; default is an embedded
  SpatiaLite file at ``var/karte.sqlite3`` (override with ``spatialite:////abs/path.sqlite3``).
- ``KARTE_TILES``: basemap for the map pages: ``gsi`` (地理院タイル, default), ``osm`` or ``none``.
- ``KARTE_PRINT_TILES``: basemap of the printed karte's map, fetched at print time and cached under
  ``var/tile-cache`` (``KARTE_PRINT_TILE_CACHE``): ``gsi-pale`` (地理院タイル 淡色地図, default),
  ``none``, or an ``http(s)://…/{z}/{x}/{y}.png`` template (credit: ``KARTE_PRINT_TILES_ATTRIBUTION``).
- ``KARTE_MAP_TILES_ABOVE``: the map draws districts from vector tiles above this many (3000).
- ``SPATIALITE_LIBRARY_PATH``: where to find mod_spatialite (default ``mod_spatialite``).
- ``KARTE_CACHE_URL``: the cache of read answers (``karte.httpcache``): ``redis://host:6379/1`` in
  production, ``locmem://`` (one process), or ``file:///abs/dir``; default a file cache in
  ``var/cache`` shared by the server's worker processes.
- ``KARTE_OPEN_DATA_CACHE``: download cache of ``fetch_open_data`` (default ``var/open_data``);
  ``KARTE_OPEN_DATA_BASE_URL``: one base URL replacing the portals' (a mirror, a test server).
"""
from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

# pyproj and pyogrio wheels bundle their own PROJ, SQLite and GDAL. When SpatiaLite (linked to
# Debian's PROJ and SQLite) is loaded into the process first, the bundled copies loaded later
# corrupt the heap and the interpreter aborts at exit (exit status 134). Loading the wheels'
# libraries before any database connection makes the order safe; tests/test_foundation.py checks it.
import pyogrio  # noqa: E402,F401  (order matters, see above)
import pyproj  # noqa: E402,F401
# rasterio's wheel brings a third GDAL/PROJ: opening a GeoTIFF after SpatiaLite loaded segfaults.
import rasterio  # noqa: E402,F401
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("KARTE_VAR_DIR", BASE_DIR / "var"))

MODE = os.environ.get("KARTE_MODE", "development").strip().lower()
if MODE not in {"development", "production"}:
    raise ImproperlyConfigured(f"KARTE_MODE must be 'development' or 'production', not {MODE!r}")
PRODUCTION = MODE == "production"


def _csv_env(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


if PRODUCTION:
    # Hashed, compressed file names after ``manage.py collectstatic`` (far-future caching).
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    if not SECRET_KEY:
        raise ImproperlyConfigured(
            "KARTE_MODE=production needs SECRET_KEY in the environment "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    ALLOWED_HOSTS = _csv_env("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("KARTE_MODE=production needs ALLOWED_HOSTS (comma-separated host names).")
    DEBUG = False
else:
    # A fixed development key is fine: development mode never serves beyond the loopback.
    SECRET_KEY = os.environ.get("SECRET_KEY", "karte-development-only-key-not-for-production-use-0123456789")
    ALLOWED_HOSTS = _csv_env("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
    DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "karte",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (Leaflet, the pages' JS/CSS) are served by the app itself in every mode, so a
    # deployment needs no separate web server for them and the pages stay offline-capable.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "karte.urls"
WSGI_APPLICATION = "karte.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database_config() -> dict:
    default_url = f"spatialite:///{VAR_DIR / 'karte.sqlite3'}"
    url = os.environ.get("DATABASE_URL", default_url)
    if url.startswith("postgres://") or url.startswith("postgresql://"):
        # A plain Postgres URL would silently drop the spatial backend.
        url = "postgis://" + url.split("://", 1)[1]
    config = dj_database_url.parse(url, conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")))
    engine = config["ENGINE"]
    if engine not in {
        "django.contrib.gis.db.backends.spatialite",
        "django.contrib.gis.db.backends.postgis",
    }:
        raise ImproperlyConfigured(f"DATABASE_URL must be spatialite:// or postgis://, got engine {engine}")
    if engine.endswith("spatialite"):
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    return config


DATABASES = {"default": _database_config()}


def _cache_config() -> dict:
    url = os.environ.get("KARTE_CACHE_URL", "").strip()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if url == "locmem://":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 2000}}
    if url and not url.startswith("file://"):
        raise ImproperlyConfigured(f"KARTE_CACHE_URL must be redis://, locmem:// or file://, got {url!r}")
    location = url.removeprefix("file://") or str(VAR_DIR / "cache")
    # Answers are keyed by data version and never invalidated: culling keeps the folder bounded.
    return {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": location,
            "OPTIONS": {"MAX_ENTRIES": 5000, "CULL_FREQUENCY": 4}}


CACHES = {"default": _cache_config()}
SPATIALITE_LIBRARY_PATH = os.environ.get("SPATIALITE_LIBRARY_PATH", "mod_spatialite")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "karte" / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_ROOT = VAR_DIR / "media"
# Outside production WhiteNoise serves straight from the apps' static/ folders (no collectstatic).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION  # and no collected STATIC_ROOT is expected there

# Karte's own settings.
KARTE_TILES = os.environ.get("KARTE_TILES", "gsi")
KARTE_PRINT_TILES = os.environ.get("KARTE_PRINT_TILES", "gsi-pale")
KARTE_PRINT_TILES_ATTRIBUTION = os.environ.get("KARTE_PRINT_TILES_ATTRIBUTION", "")
KARTE_PRINT_TILE_CACHE = Path(os.environ.get("KARTE_PRINT_TILE_CACHE", VAR_DIR / "tile-cache"))
KARTE_MAP_TILES_ABOVE = int(os.environ.get("KARTE_MAP_TILES_ABOVE", "3000"))
KARTE_FIXTURES_DIR = BASE_DIR / "fixtures"
KARTE_RASTER_DIR = VAR_DIR / "rasters"
# fetch_open_data: where downloads are cached, and one base URL replacing every portal's (e-Stat,
# 国土数値情報, Overpass) — for a mirror, or a test server on 127.0.0.1.
KARTE_OPEN_DATA_CACHE = Path(os.environ.get("KARTE_OPEN_DATA_CACHE", VAR_DIR / "open_data"))
KARTE_OPEN_DATA_BASE_URL = os.environ.get("KARTE_OPEN_DATA_BASE_URL", "")
KARTE_DEFAULT_PROJECTED_SRID = 6677  # JGD2011 / Japan Plane Rectangular CS IX (Kanagawa, Tokyo)
KARTE_STORAGE_SRID = 6668  # JGD2011 geographic

# gis.W001: Debian 12 ships GDAL 3.6, which cannot block network access when parsing spatial
# references. Karte never builds spatial references from request input (views take codes, not SRS
# strings), and loaders read CRS through pyogrio/pyproj, so the warning does not apply here.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = os.environ.get("SECURE_SSL_REDIRECT", "1") == "1"
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = [f"https://{host.lstrip('.')}" for host in ALLOWED_HOSTS if host != "*"]
