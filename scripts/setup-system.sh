#!/usr/bin/env bash
# System packages the platform needs on Debian: PostGIS for PostgreSQL (the project then
# starts its own cluster with it), Python's venv, Chromium (page tests), wrk (load
# benchmark) and GDAL's command-line tools (ogrinfo/ogr2ogr read the OGC API and downloads in
# the tests). Installs only what is missing.
set -euo pipefail

pg_major=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1)
pg_major=${pg_major:-15}
missing=()

if [ -n "${DATABASE_URL:-}" ]; then
    echo "DATABASE_URL is set: using that server (it must have PostGIS); no local PostGIS needed."
elif ! dpkg -s "postgresql-${pg_major}-postgis-3" >/dev/null 2>&1; then
    missing+=("postgresql-${pg_major}-postgis-3")
fi
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    missing+=("python3-venv")
fi
# Chromium for the browser tests of the web pages; wrk for the API load benchmark.
if [ ! -x /usr/bin/chromium ]; then
    missing+=("chromium")
fi
if ! command -v wrk >/dev/null 2>&1; then
    missing+=("wrk")
fi
# GDAL's ogrinfo and ogr2ogr: a real GIS client for the OGC API and GeoPackage tests.
if ! command -v ogrinfo >/dev/null 2>&1 || ! command -v ogr2ogr >/dev/null 2>&1; then
    missing+=("gdal-bin")
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo)
else
    echo "Cannot install ${missing[*]} without root. Run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    echo "or set DATABASE_URL to a PostgreSQL server that has PostGIS." >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
