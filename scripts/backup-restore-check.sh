#!/usr/bin/env bash
# Proves a backup restores: dumps DATABASE_URL's database (scripts/backup.sh), restores the dump into
# a scratch database (scripts/restore.sh drops and creates it: on the same PostGIS server, or a
# temporary SpatiaLite file), and compares the row count of every table. The live database is only
# read. Exits 1 if any count differs. Prints one line per table, then the verdict.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/db-url.sh
work=$(mktemp -d)
scratch_url=
cleanup() {
  if [ "$DB_KIND" = postgis ] && [ -n "$scratch_url" ]; then
    psql "${PG_URL%/*}/postgres" -q -c "drop database if exists \"$scratch_db\" with (force)" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

table_counts() {  # table<TAB>rows for every ordinary table, sorted
  if [ "$DB_KIND" = postgis ]; then
    psql "$1" -At -F $'\t' -c "select format('select %L, count(*) from %I.%I;', table_name, table_schema, table_name)
      from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1" \
      | psql "$1" -At -F $'\t' | sort
  else
    "$PYTHON" -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
names = [n for (n,) in db.execute("select name from sqlite_master where type = \x27table\x27 and name not like \x27sqlite_%\x27 "
                                   "and sql not like \x27CREATE VIRTUAL%\x27 order by name")]
for name in names:
    print(name, db.execute(f"select count(*) from \"{name}\"").fetchone()[0], sep="\t")' "$1" | sort
  fi
}

live=${DATABASE_URL:-spatialite:///${KARTE_VAR_DIR:-var}/karte.sqlite3}
scripts/backup.sh "$work/backup"
if [ "$DB_KIND" = postgis ]; then
  source_target="$PG_URL"
  scratch_db="$(psql "$PG_URL" -Atc 'select current_database()')_restore_check"  # the live one exists
  scratch_url="postgis://${PG_URL#postgresql://}"; scratch_url="${scratch_url%/*}/$scratch_db"
else
  source_target="$SQLITE_PATH"
  scratch_url="spatialite:///$work/restored.sqlite3"
fi
table_counts "$source_target" > "$work/before"
DATABASE_URL="$scratch_url" scripts/restore.sh "$work/backup"
parse_db_url "$scratch_url"
if [ "$DB_KIND" = postgis ]; then table_counts "$PG_URL" > "$work/after"; else table_counts "$SQLITE_PATH" > "$work/after"; fi
parse_db_url "$live"

cat "$work/before"
tables=$(wc -l < "$work/before"); rows=$(awk -F '\t' '{s += $2} END {print s + 0}' "$work/before")
if [ "$tables" -eq 0 ]; then echo "backup-restore-check: no tables found in the database" >&2; exit 1; fi
if ! diff -u "$work/before" "$work/after" > "$work/diff"; then
  cat "$work/diff" >&2
  echo "backup-restore-check: FAILED: the restored copy differs (above: - live, + restored)" >&2
  exit 1
fi
echo "backup-restore-check: $tables tables, $rows rows: the restored copy has the same row count in every table"
