#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# The admin dashboard (issue 14 item 6) in a real browser: starts t2u-server with --admin, a
# t2usvr device agent and `t2u check` transfers (one relayed, one direct) on loopback, then
#  - screenshots GET /dashboard in headless Chromium (Debian package `chromium`) and prints the
#    PNG's path (kept at $T2U_DASHBOARD_PNG, default ${TMPDIR:-/tmp}/t2u-dashboard.png);
#  - asserts that every figure of the page Chromium rendered (--dump-dom) matches /status,
#    the punch-outcome table row by row, and that the device UUID (with <script> in it) is shown
#    as text, never as markup.
# With PostgreSQL (T2U_TEST_DATABASE_URL, or as root a throwaway cluster of
# scripts/postgres-test-db.sh; T2U_DASHBOARD_DATABASE=off skips it) the server shares the
# database with a second server holding a second device, and the page's server list is checked.
# Starts only its own processes and stops them by PID on every exit path; bounded in time.
# Usage: T2U_BIN=.build/debug Tests/dashboard/run.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${T2U_BIN:?set T2U_BIN to the directory of the built binaries}"
CHROMIUM="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
[ -n "$CHROMIUM" ] || { echo "Tests/dashboard: chromium not found (apt-get install chromium)" >&2; exit 1; }
PNG="${T2U_DASHBOARD_PNG:-${TMPDIR:-/tmp}/t2u-dashboard.png}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/t2u-dashboard.XXXXXX")"
PIDS=()
PG_STARTED=""
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "$PG_STARTED" ]; then "$ROOT/scripts/postgres-test-db.sh" stop || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for log in "$WORK"/*.log; do [ -f "$log" ] && { echo "--- $log" >&2; tail -20 "$log" >&2; }; done
    exit 1
}
pass() { echo "PASS: $*"; }
export T2U_KNOWN_DEVICES="$WORK/known_devices"
# A UUID an attacker would choose: the page must show it as text.
UUID='CAM-<script>alert(1)</script>'

# waitfor FILE SED-EXPRESSION: the first match in FILE, within 20 s.
waitfor() {
    local value=""
    for _ in $(seq 1 200); do
        value="$(sed -n "$2" "$1" 2>/dev/null | head -1)"
        [ -n "$value" ] && { echo "$value"; return 0; }
        sleep 0.1
    done
    return 1
}

DB_URL="${T2U_TEST_DATABASE_URL:-}"
if [ "${T2U_DASHBOARD_DATABASE:-auto}" = off ]; then
    DB_URL=""
elif [ -z "$DB_URL" ] && [ "$(id -u)" -eq 0 ] && ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    PG_STARTED=1
    DB_URL="$("$ROOT/scripts/postgres-test-db.sh" start)" || fail "cannot start PostgreSQL (scripts/postgres-test-db.sh)"
fi
DB_ARGS=()
if [ -n "$DB_URL" ]; then
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$WORK/cluster.key")
    DB_ARGS=(--database "$DB_URL" --cluster-key-file "$WORK/cluster.key")
    echo "sharing PostgreSQL $DB_URL with a second server"
fi

# The server ID carries markup too (an operator's typo must not become HTML either).
"$BIN/t2u-server" --bind 127.0.0.1 --port 0 --admin 127.0.0.1:0 --key-file "$WORK/server.key" --server-id 'dash-<b>1</b>' \
    ${DB_ARGS[@]+"${DB_ARGS[@]}"} >"$WORK/server.log" 2>&1 &
PIDS+=($!)
MAIN="$(waitfor "$WORK/server.log" 's/.* main=[^ ]*:\([0-9]*\) .*/\1/p')" || fail "t2u-server did not start"
ADMIN="$(waitfor "$WORK/server.log" 's/.* admin=[^ ]*:\([0-9]*\) .*/\1/p')" || fail "t2u-server: no admin endpoint"
KEY="$("$BIN/t2u-server" --key-file "$WORK/server.key" --print-public-key)"
URL="http://127.0.0.1:$ADMIN"
echo "t2u-server: main 127.0.0.1:$MAIN, admin $URL"

"$BIN/t2u" check --echo >"$WORK/echo.log" 2>&1 &
PIDS+=($!)
ECHO="$(waitfor "$WORK/echo.log" 's/^echo listening \([0-9]*\)$/\1/p')" || fail "echo service did not start"
"$BIN/t2usvr" --extra 'model=<img src=x onerror=alert(2)>' --no-discovery "$UUID" 127.0.0.1 "$MAIN" "$KEY" >"$WORK/agent.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
    grep -q '"devices_online":1' <<<"$(curl -fsS --max-time 5 "$URL/status")" && break
    sleep 0.2
done
grep -q '"devices_online":1' <<<"$(curl -fsS --max-time 5 "$URL/status")" || fail "the device did not register"
if [ -n "$DB_URL" ]; then
    "$BIN/t2u-server" --bind 127.0.0.1 --port 0 --key-file "$WORK/server2.key" --server-id dash-2 "${DB_ARGS[@]}" \
        >"$WORK/server2.log" 2>&1 &
    PIDS+=($!)
    MAIN2="$(waitfor "$WORK/server2.log" 's/.* main=[^ ]*:\([0-9]*\) .*/\1/p')" || fail "the second t2u-server did not start"
    "$BIN/t2usvr" --no-discovery CAM-ON-2 127.0.0.1 "$MAIN2" "$("$BIN/t2u-server" --key-file "$WORK/server2.key" --print-public-key)" \
        >"$WORK/agent2.log" 2>&1 &
    PIDS+=($!)
fi

# Traffic: one transfer forced through the relay, one direct (LAN on loopback).
check() {
    timeout 90 "$BIN/t2u" check "$UUID" "$ECHO" --server 127.0.0.1 --port "$MAIN" --key "$KEY" --timeout 60 "$@" \
        >>"$WORK/check.log" 2>&1 || fail "t2u check $*"
}
check --bytes 2M --relay-only
check --bytes 1M
grep -q "ok=1 path=relay" "$WORK/check.log" || fail "the relayed check did not go through the relay"
pass "transfers: $(grep -c '^CHECK ok=1' "$WORK/check.log") verified ($(grep -o 'path=[a-z]*' "$WORK/check.log" | tr '\n' ' '))"

# The page as Chromium renders it, and /status just before and after: figures that moved in
# between (keepalives, an expiring session) are retried, at most 5 times.
# Loopback only: no background services, and anything not for 127.0.0.1 goes to a dead proxy.
chrome() {
    timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
        --no-default-browser-check --disable-background-networking --disable-component-update --disable-sync \
        --disable-default-apps --disable-extensions --disable-breakpad --dns-prefetch-disable \
        --proxy-server=http://127.0.0.1:9 --proxy-bypass-list=127.0.0.1 \
        --user-data-dir="$WORK/chromium" --hide-scrollbars "$@" 2>>"$WORK/chromium.log"
}
compared=""
for attempt in 1 2 3 4 5; do
    curl -fsS --max-time 5 "$URL/status" >"$WORK/status-before.json"
    chrome --dump-dom "$URL/dashboard" >"$WORK/dom.html" || fail "chromium --dump-dom"
    curl -fsS --max-time 5 "$URL/status" >"$WORK/status-after.json"
    if python3 - "$WORK/dom.html" "$WORK/status-before.json" "$WORK/status-after.json" "$UUID" "${DB_URL:+shared}" <<'EOF'
import json, sys
from html.parser import HTMLParser

dom, before, after, uuid = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3])), sys.argv[4]
shared = sys.argv[5] == "shared"

class Page(HTMLParser):
    """Collects data-figure values, punch-table cells, text of td.uuid cells and every tag seen."""
    def __init__(self):
        super().__init__()
        self.figures, self.punch, self.uuids, self.tags, self.servers = {}, {}, [], set(), {}
        self.row, self.in_uuid, self.server, self.cell = None, False, None, None
        self.rejected = {}
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if "data-figure" in a:
            self.figures[a["data-figure"]] = a["data-value"]
        if tag == "tr" and "data-client-nat" in a:
            self.row = (a["data-client-nat"], a["data-device-nat"])
        if "data-reject" in a:
            self.rejected[a["data-reject"]] = int(a["data-count"])
        if tag == "td" and self.row and "data-path" in a:
            self.punch[self.row + (a["data-path"],)] = int(a["data-count"])
        if tag == "tr" and "data-server-id" in a:
            self.server = a["data-server-id"]
            self.servers[self.server] = []
        if tag == "td" and self.server:
            self.cell = ""
        self.in_uuid = tag == "td" and a.get("class") == "uuid"
    def handle_endtag(self, tag):
        if tag == "td" and self.server and self.cell is not None:
            self.servers[self.server].append(self.cell.strip())
            self.cell = None
        if tag == "tr":
            self.row = self.server = None
        if tag == "td":
            self.in_uuid = False
    def handle_data(self, data):
        if self.in_uuid:
            self.uuids.append(data)
        if self.cell is not None:
            self.cell += data

page = Page()
page.feed(open(dom).read())
errors = []
def figure(name, value):
    got = page.figures.get(name)
    want = "null" if value is None else str(value)
    if got != want:
        errors.append(f"{name}: page {got!r}, /status {want!r}")

for name in ["devices_online", "clients_online", "sessions", "relay_sessions"]:
    if before[name] != after[name]:
        errors.append(f"{name} moved during the fetch ({before[name]} -> {after[name]})")
    figure(name, after[name])
for name in ["relay_bytes", "relay_packets", "relay_resumes"]:
    figure(name, after["counters"][name])
figure("rejected_total", sum(after["rejected"].values()))
want_rejected = {k: v for k, v in after["rejected"].items() if v}
if page.rejected != want_rejected:
    errors.append(f"rejected by reason: page {page.rejected}, /status {want_rejected}")
want_punch = {(o["client_nat"], o["device_nat"], o["path"]): o["count"] for o in after["punch_outcomes"]}
got_punch = {k: v for k, v in page.punch.items() if v}
if got_punch != want_punch:
    errors.append(f"punch outcomes: page {got_punch}, /status {want_punch}")
if uuid not in page.uuids:
    errors.append(f"the device UUID is not shown as text (td.uuid cells: {page.uuids})")
if "script" in page.tags or "img" in page.tags or "b" in page.tags:
    errors.append(f"markup from an agent or the server ID was rendered: tags {sorted(page.tags)}")
if after["devices_online"] != 1 or after["counters"]["relay_bytes"] == 0 or not want_punch:
    errors.append(f"figures are not the traffic's: {after}")
if shared:
    # Columns: server ID (+ "this server"), advertised address, devices, clients.
    mine, other = page.servers.get(after["server_id"]), page.servers.get("dash-2")
    if not mine or not mine[0].endswith("this server") or mine[2] != "1":
        errors.append(f"server list: this server's row {mine} (all: {page.servers})")
    if not other or other[2] != "1" or "CAM-ON-2" not in page.uuids:
        errors.append(f"server list: dash-2 should hold one device, CAM-ON-2: {other}, devices {page.uuids}")
if errors:
    print("\n".join(errors))
    sys.exit(1)
print(f"devices {after['devices_online']}, clients {after['clients_online']}, sessions {after['sessions']}, "
      f"relayed sessions {after['relay_sessions']}, relayed {after['counters']['relay_bytes']} bytes, "
      f"punch outcomes {want_punch}" + (f", servers {page.servers}" if shared else ""))
EOF
    then compared=1; break; fi
    sleep 1
done
[ -n "$compared" ] || fail "the page's figures do not match /status (above)"
pass "the figures Chromium rendered match /status"

mkdir -p "$(dirname "$PNG")"
rm -f "$PNG"
chrome --screenshot="$PNG" --window-size=1280,1200 "$URL/dashboard" >/dev/null || fail "chromium --screenshot"
[ -s "$PNG" ] && [ "$(head -c 8 "$PNG" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "no PNG at $PNG"
pass "screenshot of the dashboard: $PNG ($(wc -c <"$PNG") bytes)"
