# Sourced by the backup scripts: reads DATABASE_URL (default: the embedded SpatiaLite file, as in
# karte/settings.py) into DB_KIND (postgis|spatialite) and PG_URL (libpq's postgresql://…) or SQLITE_PATH.
# KARTE_ENV_FILE, if set, is read first (the operator's env file, docs/deploy.md).
if [ -n "${KARTE_ENV_FILE:-}" ]; then set -a; . "$KARTE_ENV_FILE"; set +a; fi
parse_db_url() {
  local url=$1
  case "$url" in
    postgis://*|postgres://*|postgresql://*) DB_KIND=postgis; PG_URL="postgresql://${url#*://}" ;;
    spatialite://*) DB_KIND=spatialite; SQLITE_PATH="${url#spatialite://}"; SQLITE_PATH="${SQLITE_PATH#/}" ;;
    *) echo "DATABASE_URL must be postgis:// or spatialite://, not ${url%%://*}://…" >&2; return 2 ;;
  esac
}
parse_db_url "${DATABASE_URL:-spatialite:///${KARTE_VAR_DIR:-var}/karte.sqlite3}"
PYTHON=${PYTHON:-python3}
# SQLite's online backup API: a consistent copy even while the app writes (WAL included).
sqlite_copy() { "$PYTHON" -c 'import sqlite3, sys
src, dst = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
src.backup(dst); dst.close(); src.close()' "$1" "$2"; }
