#!/usr/bin/env bash
# Makes sure a PostgreSQL cluster with PostGIS runs locally and prints `export DATABASE_URL=...` for it.
# Starts the Debian cluster if none runs; creates the role-free database `karte` with the postgis extension.
set -euo pipefail
log() { echo "ensure-postgis: $*" >&2; }

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -n -u postgres "$@"; fi
}

if ! pg_lsclusters -h 2>/dev/null | awk '$4 == "online"' | grep -q .; then
  if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    log "creating cluster $version/main"
    pg_createcluster "$version" main >&2
  fi
  read -r version name _ < <(pg_lsclusters -h | head -n 1)
  log "starting cluster $version/$name"
  pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start >&2 || pg_ctlcluster "$version" "$name" start >&2
fi
read -r version name port _ < <(pg_lsclusters -h | awk '$4 == "online"' | head -n 1)

for _ in $(seq 1 30); do as_postgres psql -p "$port" -qAtc 'select 1' >/dev/null 2>&1 && break; sleep 1; done
as_postgres psql -p "$port" -qAtc "select 1 from pg_database where datname = 'karte'" | grep -q 1 \
  || as_postgres createdb -p "$port" karte
as_postgres psql -p "$port" -q -d karte -c 'create extension if not exists postgis' >&2
# The test suite creates test_karte itself and needs a superuser to add the extension there.
pw=${KARTE_PG_PASSWORD:-karte-ci}
as_postgres psql -p "$port" -q -c "do \$\$ begin if not exists (select from pg_roles where rolname = 'karte') then create role karte login superuser password '$pw'; end if; end \$\$" >&2
as_postgres psql -p "$port" -q -c "alter database karte owner to karte" >&2
log "PostGIS $(as_postgres psql -p "$port" -qAt -d karte -c 'select postgis_lib_version()') on port $port"
echo "export DATABASE_URL=postgis://karte:${pw}@127.0.0.1:${port}/karte"
