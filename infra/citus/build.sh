#!/usr/bin/env bash
# Build and install Citus 13.2.2 against Debian's PostgreSQL 15 from the vendored source
# (../shared/vendor beside the repo): Citus is in no reachable package registry.
# Idempotent: does nothing when citus.so is already installed for this PostgreSQL.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
vendor="${EISO_VENDOR_DIR:-$repo_root/../shared/vendor}"
version=13.2.2
pg_bin=/usr/lib/postgresql/15/bin
pg_config="$pg_bin/pg_config"
[ -x "$pg_config" ] || pg_config=/usr/bin/pg_config

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Build packages, installed only when missing.
needed=(postgresql-server-dev-15 libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev
        libssl-dev libselinux1-dev libxslt1-dev libreadline-dev zlib1g-dev libpam0g-dev
        autoconf flex bison make gcc)
missing=()
for pkg in "${needed[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "citus build: installing ${missing[*]}"
    sudo_ apt-get update -qq
    sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
    pg_config="$pg_bin/pg_config"
fi

pkglibdir="$("$pg_config" --pkglibdir)"
if [ -f "$pkglibdir/citus.so" ]; then
    echo "citus build: $pkglibdir/citus.so already installed, skipping"
    exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tar -xzf "$vendor/citus-$version.tar.gz" -C "$work"
src="$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
(cd "$src" && patch -p1 < "$vendor/citus-$version-pg15.20.patch")
start=$(date +%s)
(cd "$src" && ./configure PG_CONFIG="$pg_config" >/dev/null \
    && make -s -j"$(nproc)" >/dev/null && sudo_ make -s install >/dev/null)
echo "citus build: installed $pkglibdir/citus.so in $(( $(date +%s) - start )) s"
