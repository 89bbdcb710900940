#!/usr/bin/env bash
# Restore a backup of scripts/backup.sh into the database DATABASE_URL names, REPLACING it:
#   scripts/restore.sh BACKUP
# Stop the app and the worker first. PostGIS: the database is dropped and created again (with the
# postgis extension) on the same server, then pg_restore fills it; the role in DATABASE_URL needs the
# right to create databases (or restore by hand as docs/deploy.md shows). SpatiaLite: the file is
# replaced through SQLite's backup API.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/db-url.sh
backup=${1:?usage: scripts/restore.sh BACKUP}
[ -f "$backup" ] || { echo "restore: no backup file $backup" >&2; exit 1; }
case "$DB_KIND" in
  postgis)
    database="${PG_URL##*/}"; database="${database%%\?*}"
    maintenance="${PG_URL%/*}/postgres"  # the server's maintenance database, to drop and create this one
    psql "$maintenance" -q -v ON_ERROR_STOP=1 \
      -c "drop database if exists \"$database\" with (force)" -c "create database \"$database\" template template0"
    psql "$PG_URL" -q -v ON_ERROR_STOP=1 -c 'create extension if not exists postgis'
    pg_restore --no-owner --no-privileges --exit-on-error --dbname "$PG_URL" "$backup"
    ;;
  spatialite)
    mkdir -p "$(dirname "$SQLITE_PATH")"
    sqlite_copy "$backup" "$SQLITE_PATH" ;;
esac
echo "restore: $backup restored into the $DB_KIND database"
