#!/usr/bin/env bash
# Installs the Debian packages Karte needs, only those missing. Usage: scripts/system-deps.sh [base|test|postgis]
#   base    GDAL, GEOS, PROJ, SpatiaLite, a Python with venv and sqlite extension loading, Japanese fonts,
#           and WeasyPrint's Pango (for PDFs)
#   test    base + Chromium (browser tests) + poppler-utils (pdftotext/pdffonts/pdftoppm) + gettext (catalogue test)
#   postgis PostgreSQL + PostGIS (CI's second backend)
set -euo pipefail

want=(gdal-bin libgdal-dev libgeos-c1v5 libproj25 proj-data libsqlite3-mod-spatialite
      python3 python3-venv python3-dev fonts-ipaexfont-gothic fonts-ipaexfont-mincho
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b)
case "${1:-base}" in
  base) ;;
  test) want+=(chromium poppler-utils gettext) ;;
  postgis) want=(postgresql postgresql-postgis) ;;
  *) echo "usage: $0 [base|test|postgis]" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: this is not a Debian/Ubuntu system; install the equivalents of: ${want[*]}" >&2
  exit 0
fi

missing=()
for pkg in "${want[@]}"; do
  # A virtual package (postgresql-postgis) is satisfied by any provider.
  if ! dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed'; then
    if [ "$pkg" = postgresql-postgis ] && dpkg-query -W -f='${Package} ${Status}\n' 'postgresql-*-postgis-3' 2>/dev/null | grep -q 'install ok installed'; then
      continue
    fi
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "system-deps: all ${#want[@]} Debian packages present (${1:-base})."
  exit 0
fi

echo "system-deps: installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "system-deps: cannot install as $(whoami) without sudo. Please run as root:" >&2
  echo "    apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
