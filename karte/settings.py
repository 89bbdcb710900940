"""Django settings for Karte, read from the environment (12-factor). docs/deploy.md is the operator's
reference; in short (all optional in development):

- ``KARTE_MODE``: ``development`` (default: loopback only, a built-in key) or ``production``.
- ``DJANGO_DEBUG``: ``1`` shows Django's debug pages. Off unless asked for (``make demo`` asks);
  refused in production.
- ``SECRET_KEY`` or ``SECRET_KEY_FILE`` (a file holding it): required in production.
- ``ALLOWED_HOSTS``: comma-separated host names (required in production).
- ``KARTE_HTTPS``: production only, default ``1``: the site is reached over HTTPS (TLS ends at a reverse
  proxy that tells gunicorn by ``X-Forwarded-Proto``): HTTP is redirected, cookies are secure and HSTS is
  sent for ``SECURE_HSTS_SECONDS`` (default one year). ``KARTE_HSTS_INCLUDE_SUBDOMAINS=1`` and
  ``KARTE_HSTS_PRELOAD=1`` only when the operator asks: both bind every subdomain for a long time.
  ``KARTE_HTTPS=0`` for plain HTTP (``make serve`` on 127.0.0.1): none of the above.
- ``KARTE_PROXY_COUNT``: reverse proxies in front of the app (default 0); login rate limiting then takes
  the client address from ``X-Forwarded-For``.
- ``DATABASE_URL``: ``postgis://user:pass@host:5432/name`` for PostGIS; default is an embedded
  SpatiaLite file at ``var/karte.sqlite3`` (override with ``spatialite:////abs/path.sqlite3``), opened
  in WAL mode with a ``KARTE_SQLITE_TIMEOUT`` (default 30 s) busy timeout. ``CONN_MAX_AGE``: seconds a
  connection is kept (default 0; 60 for PostGIS in production, with a health check before reuse).
- ``KARTE_TASKS_URL``: the task queue: ``sqlite:////abs/path`` (default ``var/tasks.sqlite3``: no server),
  ``redis://host:6379/0`` or ``postgresql://…``; ``immediate`` runs tasks in the caller (tests).
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
from datetime import timedelta
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


def _flag_env(name: str, default: bool) -> bool:
    """An on/off variable: 1/true/yes/on or 0/false/no/off; anything else is refused, not guessed."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be 1 or 0 (true/false, yes/no, on/off), not {value!r}")


def _secret_key() -> str:
    """SECRET_KEY from the environment, or from the file SECRET_KEY_FILE names (systemd credentials,
    container secrets, ``make serve``'s generated key)."""
    key = os.environ.get("SECRET_KEY", "").strip()
    key_file = os.environ.get("SECRET_KEY_FILE", "").strip()
    if key or not key_file:
        return key
    try:
        return Path(key_file).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ImproperlyConfigured(f"SECRET_KEY_FILE {key_file}: cannot read it ({error.strerror})") from None


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1", "testserver")
SECRET_KEY = _secret_key()
if PRODUCTION:
    # Hashed, compressed file names after ``manage.py collectstatic`` (far-future caching).
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    if not SECRET_KEY:
        raise ImproperlyConfigured(
            "KARTE_MODE=production needs SECRET_KEY (or SECRET_KEY_FILE) in the environment "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    ALLOWED_HOSTS = _csv_env("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("KARTE_MODE=production needs ALLOWED_HOSTS (comma-separated host names).")
    if _flag_env("DJANGO_DEBUG", False):
        raise ImproperlyConfigured("DJANGO_DEBUG=1 is refused in production: debug pages show settings and code.")
    DEBUG = False
else:
    ALLOWED_HOSTS = _csv_env("ALLOWED_HOSTS", ",".join(LOOPBACK_HOSTS))
    if not SECRET_KEY:
        # The built-in key is public, so a development server using it answers loopback names only.
        exposed = sorted(set(ALLOWED_HOSTS) - set(LOOPBACK_HOSTS))
        if exposed:
            raise ImproperlyConfigured(
                f"ALLOWED_HOSTS {exposed} in development mode needs a SECRET_KEY of your own; "
                "to serve other hosts use KARTE_MODE=production (docs/deploy.md)."
            )
        SECRET_KEY = "karte-development-only-key-not-for-production-use-0123456789"
    # Debug pages only when asked for (make demo asks); tests run with DEBUG off, as Django's do.
    DEBUG = _flag_env("DJANGO_DEBUG", False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "axes",
    "karte",
    # Workshops and residents' contributions: an app of its own that reads karte, never the reverse.
    "participation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
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
    # Last, as django-axes asks: it answers a locked-out login attempt.
    "axes.middleware.AxesMiddleware",
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
    # In production a PostgreSQL connection is kept by each server thread for a minute (checked
    # before reuse), not opened per request: a cached answer is then one short query away.
    persistent = PRODUCTION and url.startswith("postgis://")
    config = dj_database_url.parse(url, conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60" if persistent else "0")),
                                   conn_health_checks=persistent)
    engine = config["ENGINE"]
    if engine not in {
        "django.contrib.gis.db.backends.spatialite",
        "django.contrib.gis.db.backends.postgis",
    }:
        raise ImproperlyConfigured(f"DATABASE_URL must be spatialite:// or postgis://, got engine {engine}")
    if engine.endswith("spatialite"):
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        config["OPTIONS"] = sqlite_options()
    return config


def sqlite_options() -> dict:
    """SQLite's options for many readers and a few writers at once (docs/deploy.md, "limits").

    WAL lets readers go on while a writer writes (the default rollback journal makes a writer wait for
    every reader to let go before it can commit); ``synchronous=NORMAL`` is safe in WAL mode (a power
    cut may lose the last commits, never corrupt). Writers take the write lock when their transaction
    begins (IMMEDIATE), so two writers queue on the busy timeout instead of one failing at once when
    a read turns into a write; the longer timeout lets a load or compute wait for another to finish.
    Django's SpatiaLite backend runs these on every new connection before loading mod_spatialite.
    """
    return {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        "transaction_mode": "IMMEDIATE",
        "timeout": float(os.environ.get("KARTE_SQLITE_TIMEOUT", "30")),
    }


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
# django-axes counts failed logins through Django's authenticate(), so every login form (the admin's,
# facilitators' later) is rate limited: KARTE_LOGIN_FAILURE_LIMIT failures of one user name from one
# address lock that pair out for KARTE_LOGIN_COOLOFF_MINUTES. By pair, not by address alone: a ward
# office's staff share one address behind its NAT, and one mistyping colleague must not lock out all.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("KARTE_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("KARTE_LOGIN_COOLOFF_MINUTES", "60")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "karte/locked_out.html"
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("KARTE_PROXY_COUNT", "0")) or None
if AXES_IPWARE_PROXY_COUNT:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")

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
# Where people reach this site: printed links and QR codes (a workshop's join code) carry it.
KARTE_PUBLIC_URL = os.environ.get("KARTE_PUBLIC_URL", "http://127.0.0.1:8000")
KARTE_FIXTURES_DIR = BASE_DIR / "fixtures"
KARTE_RASTER_DIR = VAR_DIR / "rasters"
KARTE_JOB_FILES_DIR = Path(os.environ.get("KARTE_JOB_FILES_DIR", VAR_DIR / "jobs"))  # PDFs of ward batch jobs
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
    # The task worker says which jobs it starts and finishes (huey's own lines only when they matter).
    "loggers": {"huey": {"level": os.environ.get("KARTE_TASKS_LOG_LEVEL", "WARNING")},
                "karte.tasks": {"level": os.environ.get("KARTE_TASKS_LOG_LEVEL", "INFO")}},
}

# Background tasks (karte.tasks): a huey queue. The embedded default keeps it in an SQLite file of its
# own (no server; ``manage.py run_worker`` executes the jobs); production may use Redis or PostgreSQL.
KARTE_TASKS_URL = os.environ.get("KARTE_TASKS_URL", f"sqlite:///{VAR_DIR / 'tasks.sqlite3'}")
KARTE_TASKS_QUEUE = os.environ.get("KARTE_TASKS_QUEUE", "karte")
KARTE_TASK_WORKERS = int(os.environ.get("KARTE_TASK_WORKERS", "1"))
# A job interrupted by a worker that died (killed, machine restarted) is run again from the start when
# a worker starts, until it has been started this many times; then it is marked failed.
KARTE_TASK_MAX_ATTEMPTS = int(os.environ.get("KARTE_TASK_MAX_ATTEMPTS", "2"))
# Time caps per job kind in seconds, e.g. KARTE_TASK_TIME_LIMITS="siting=600,print_ward=1800";
# a kind not named keeps the cap it registered with (karte.tasks.job_kind).
KARTE_TASK_TIME_LIMITS = {
    kind.strip(): float(seconds)
    for kind, _, seconds in (item.partition("=") for item in _csv_env("KARTE_TASK_TIME_LIMITS"))
}

# Security headers, in every mode (development shows what production will refuse).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts and styles from this site only, no inline code. The
# pages carry their data in <script type="application/json"> blocks (json_script), which are data and
# never run. Map tiles come from the basemap host KARTE_TILES names (its URLs: karte.views.context.TILE_LAYERS).
TILE_ORIGINS = {"gsi": "https://cyberjapandata.gsi.go.jp", "osm": "https://tile.openstreetmap.org"}
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *([TILE_ORIGINS[KARTE_TILES]] if KARTE_TILES in TILE_ORIGINS else [])],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

if PRODUCTION:
    # TLS ends at a reverse proxy; gunicorn trusts its X-Forwarded-Proto only from FORWARDED_ALLOW_IPS
    # (gunicorn.conf.py), so Django needs no SECURE_PROXY_SSL_HEADER of its own (a client could forge it).
    HTTPS = _flag_env("KARTE_HTTPS", True)
    SECURE_SSL_REDIRECT = HTTPS and _flag_env("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # health checks come over plain HTTP from the machine itself
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000")) if HTTPS else 0
    SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS and _flag_env("KARTE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = HTTPS and _flag_env("KARTE_HSTS_PRELOAD", False)
    if SECURE_HSTS_PRELOAD and not SECURE_HSTS_INCLUDE_SUBDOMAINS:
        raise ImproperlyConfigured("KARTE_HSTS_PRELOAD=1 needs KARTE_HSTS_INCLUDE_SUBDOMAINS=1 (the preload list requires it).")
    # includeSubDomains and preload bind every subdomain of the site's domain (often a city's whole
    # domain) to HTTPS for a long time: the operator's decision, so their absence is not a warning.
    SILENCED_SYSTEM_CHECKS += ["security.W005", "security.W021"]
    SESSION_COOKIE_SECURE = HTTPS
    CSRF_COOKIE_SECURE = HTTPS
    CSRF_TRUSTED_ORIGINS = _csv_env("CSRF_TRUSTED_ORIGINS") or [
        # ".example.jp" in ALLOWED_HOSTS means the domain and its subdomains: "*.example.jp" here.
        f"{'https' if HTTPS else 'http'}://{'*' if host.startswith('.') else ''}{host}"
        for host in ALLOWED_HOSTS if host != "*"
    ]

# Staff and facilitators log in (no self-registration); residents join a workshop with a code.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "participation:dashboard"
LOGOUT_REDIRECT_URL = "home"
# Participation: contributions a participant may send per window, photo size (docs/participation.md).
PARTICIPATION_SUBMISSIONS_PER_WINDOW = int(os.environ.get("PARTICIPATION_SUBMISSIONS_PER_WINDOW", "20"))
PARTICIPATION_SUBMISSION_WINDOW_S = 600
PARTICIPATION_JOIN_FAILURES_PER_WINDOW = 10
PARTICIPATION_PHOTO_MAX_BYTES = 8 * 1024 * 1024
