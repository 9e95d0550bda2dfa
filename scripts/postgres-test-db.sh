#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# A throwaway PostgreSQL cluster for the multi-server tests: loopback only, its own port and
# data directory, trust authentication (nothing but this machine can reach it).
#   scripts/postgres-test-db.sh start    initdb + start; prints the URL for T2U_TEST_DATABASE_URL
#   scripts/postgres-test-db.sh stop     stop and delete the cluster
#   scripts/postgres-test-db.sh pause    stop, keeping the data (tests of a database restart)
#   scripts/postgres-test-db.sh resume   start again after pause
# Environment: T2U_PG_PORT (default: 54329 + a hash of this checkout's path mod 500, so
# checkouts on one machine do not share a cluster), T2U_PG_DIR (default /tmp/t2u-pg-PORT).
# As root it installs Debian's postgresql if missing and runs the server as the postgres user.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
port="${T2U_PG_PORT:-$((54329 + $(printf '%s' "$repo" | cksum | cut -d' ' -f1) % 500))}"
dir="${T2U_PG_DIR:-/tmp/t2u-pg-$port}"
data="$dir/data"
log="$dir/server.log"

bindir() {
    local d
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
    if [ -z "$d" ] && command -v pg_ctl >/dev/null 2>&1; then d="$(dirname "$(command -v pg_ctl)")"; fi
    echo "$d"
}

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_installed() {
    if [ -n "$(bindir)" ]; then return; fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "postgres-test-db: PostgreSQL is not installed (apt-get install postgresql)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
}

ctl_start() {
    as_owner "$(bindir)/pg_ctl" -D "$data" -l "$log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c fsync=off" start >/dev/null
}

case "${1:-}" in
start)
    ensure_installed
    if [ -f "$data/postmaster.pid" ]; then as_owner "$(bindir)/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
    as_owner "$(bindir)/initdb" -D "$data" -U postgres -A trust --no-sync >/dev/null
    ctl_start
    echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
    ;;
stop)
    if [ -d "$data" ]; then as_owner "$(bindir)/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
pause)
    as_owner "$(bindir)/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    ;;
resume)
    ctl_start
    ;;
*)
    echo "usage: $0 start|stop|pause|resume" >&2
    exit 2
    ;;
esac
