#!/usr/bin/env bash
# Serve Karte with its task worker beside it, until Ctrl-C (make serve / make demo).
#   scripts/serve.sh production    gunicorn, DEBUG off: a migration check, collectstatic, then gunicorn
#                                  (gunicorn.conf.py: KARTE_BIND, default 127.0.0.1:8000)
#   scripts/serve.sh development   Django's runserver with DEBUG on (the demo path), on 127.0.0.1:$PORT
# Settings come from the environment, or from the file KARTE_ENV_FILE names (docs/deploy.md).
# KARTE_SERVE_WORKER=0 starts no worker (run one elsewhere: make worker).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-production}
BIN=${BIN:-.venv/bin}

if [ -n "${KARTE_ENV_FILE:-}" ]; then
  set -a; . "$KARTE_ENV_FILE"; set +a
fi
manage() { "$BIN/python" manage.py "$@"; }

worker_pid=
stop_worker() { if [ -n "$worker_pid" ]; then kill -TERM "$worker_pid" 2>/dev/null || true; wait "$worker_pid" 2>/dev/null || true; fi; }
start_worker() {
  if [ "${KARTE_SERVE_WORKER:-1}" = 1 ]; then
    "$BIN/python" manage.py run_worker &  # not through manage(): $! must be the worker itself
    worker_pid=$!
    trap stop_worker EXIT
  fi
}

case "$mode" in
  development)
    export KARTE_MODE=development DJANGO_DEBUG=${DJANGO_DEBUG:-1}
    start_worker
    echo "Karte is serving on http://127.0.0.1:${PORT:-8000}/ (development, DEBUG on; Ctrl-C to stop)"
    "$BIN/python" manage.py runserver "127.0.0.1:${PORT:-8000}" &
    server_pid=$!
    ;;
  production)
    export KARTE_MODE=production
    export ALLOWED_HOSTS=${ALLOWED_HOSTS:-127.0.0.1,localhost}
    # Plain HTTP unless told that TLS ends in front of it (KARTE_HTTPS=1 behind a reverse proxy).
    export KARTE_HTTPS=${KARTE_HTTPS:-0}
    export KARTE_BIND=${KARTE_BIND:-127.0.0.1:${PORT:-8000}}
    if [ -z "${SECRET_KEY:-}" ] && [ -z "${SECRET_KEY_FILE:-}" ]; then
      export SECRET_KEY_FILE=var/secret-key
      if [ ! -s "$SECRET_KEY_FILE" ]; then
        mkdir -p var
        (umask 077; "$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(50))' > "$SECRET_KEY_FILE")
        echo "serve: generated a secret key in $SECRET_KEY_FILE (keep it; sessions depend on it)"
      fi
    fi
    if ! manage migrate --check >/dev/null 2>&1; then
      echo "serve: the database is not reachable or has migrations not applied: run 'make migrate'" \
           "(manage.py migrate) first; 'manage.py migrate --check' tells which" >&2
      exit 1
    fi
    manage collectstatic --noinput -v 0
    start_worker
    echo "Karte is serving on http://${KARTE_BIND:-127.0.0.1:8000}/ (production mode, gunicorn; Ctrl-C to stop)"
    "$BIN/gunicorn" -c gunicorn.conf.py karte.wsgi &
    server_pid=$!
    ;;
  *) echo "usage: $0 production|development" >&2; exit 2 ;;
esac

# The server runs in the background so that a TERM or HUP sent to this script (a supervisor, a closed
# terminal) reaches it at once — bash would hold a trap until a foreground child ends — and the
# worker is stopped when the server is (the EXIT trap), never left running on its own.
trap 'kill -TERM "$server_pid" 2>/dev/null || true' TERM INT HUP
set +e
wait "$server_pid"
status=$?
wait "$server_pid" 2>/dev/null  # a trapped signal ends the first wait early: let the server finish
exit "$status"
