#!/usr/bin/env bash
# Back up Karte's database into one file: scripts/backup.sh OUT
#   PostGIS (DATABASE_URL=postgis://…): pg_dump in its custom format (compressed; scripts/restore.sh
#   or pg_restore reads it). SpatiaLite: SQLite's online backup, consistent while the app runs.
# Uploaded files are not in the database: back up MEDIA_ROOT (var/media) beside it (docs/deploy.md).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/db-url.sh
out=${1:?usage: scripts/backup.sh OUT}
case "$DB_KIND" in
  postgis) pg_dump --format=custom --no-owner --no-privileges --file "$out" "$PG_URL" ;;
  spatialite)
    [ -f "$SQLITE_PATH" ] || { echo "backup: no database file $SQLITE_PATH" >&2; exit 1; }
    rm -f "$out"; sqlite_copy "$SQLITE_PATH" "$out" ;;
esac
echo "backup: $DB_KIND database written to $out ($(du -h "$out" | cut -f1))"
