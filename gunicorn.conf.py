"""gunicorn's configuration for Karte, read from the environment (docs/deploy.md):

- ``KARTE_BIND`` (default ``127.0.0.1:8000``): where to listen; a reverse proxy (TLS) sits in front.
  ``unix:/run/karte/gunicorn.sock`` for a socket.
- ``KARTE_WEB_WORKERS`` (default: 2 × cores + 1, at most 8): worker processes.
- ``KARTE_WEB_THREADS`` (default 4): threads per worker (gthread), so a slow client or PDF does not
  hold a whole process.
- ``KARTE_WEB_TIMEOUT`` (default 120 s): a request running longer is aborted and its worker restarted
  (long work belongs in background jobs, karte.tasks).
- ``FORWARDED_ALLOW_IPS`` (gunicorn's own, default 127.0.0.1,::1): the proxies whose
  ``X-Forwarded-Proto: https`` is believed. Nobody else can make a plain request look secure.

Run: ``gunicorn -c gunicorn.conf.py karte.wsgi`` (``make serve`` does, after collectstatic and a
migration check).
"""
import multiprocessing
import os

bind = [address.strip() for address in os.environ.get("KARTE_BIND", "127.0.0.1:8000").split(",") if address.strip()]
workers = int(os.environ.get("KARTE_WEB_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8)))
worker_class = "gthread"
threads = int(os.environ.get("KARTE_WEB_THREADS", "4"))
timeout = int(os.environ.get("KARTE_WEB_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak in a library never grows without bound.
max_requests = int(os.environ.get("KARTE_WEB_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# "-" (default) logs requests to stdout; a path to that file; empty turns the access log off.
accesslog = os.environ.get("KARTE_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("KARTE_WEB_LOG_LEVEL", "info")
# The app is imported in each worker, not the master: every worker opens its own database connections
# and loads SpatiaLite / GDAL itself.
preload_app = False
proc_name = "karte"
# No runtime control socket (gunicorn ≥ 25 would create one under $HOME): systemd manages the process.
control_socket_disable = True
