#!/usr/bin/env bash
# The packages end to end: scripts/package.sh builds the .deb files; they are unpacked into a
# throwaway root (dpkg -x: no chroot or container needed, nothing touches the host's dpkg
# database or systemd); `systemd-analyze verify` checks the units against that root; then the
# installed t2u-server (with the packaged config), t2usvr and t2u move and verify 1 MB through a
# mapped port on loopback, and a C program built with the packaged header and pkg-config file
# calls the packaged libt2u.so. Kills exactly the processes it started; removes the root.
# Usage: Tests/packaging/run.sh   (T2U_SWIFT_BUILD_FLAGS as for scripts/package.sh)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/t2u-packaging.XXXXXX")"
PIDS=()
cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "$status" -ne 0 ]; then
        for log in "$WORK"/*.log; do [ -e "$log" ] && { echo "--- $log"; tail -n 30 "$log"; }; done
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

scripts/package.sh "$WORK/debs" | tee "$WORK/debs.txt"
[ "$(wc -l <"$WORK/debs.txt")" -eq 5 ] || fail "expected 5 packages"
R="$WORK/root"
mkdir -p "$R"
for deb in "$WORK"/debs/*.deb; do
    dpkg-deb --info "$deb" >/dev/null || fail "$deb: not a valid package"
    dpkg -x "$deb" "$R"
    echo "  $(basename "$deb"): $(dpkg-deb -f "$deb" Package Version Depends | tr '\n' ' ')"
done
pass "5 packages built and unpacked into $R"
for file in usr/bin/t2u-server usr/bin/t2usvr usr/bin/t2u lib/systemd/system/t2u-server.service lib/systemd/system/t2usvr.service \
    etc/t2u/t2u-server.conf etc/default/t2usvr usr/share/t2u-agent/openwrt/t2usvr.init usr/include/t2u.h \
    usr/share/man/man1/t2u.1.gz usr/share/man/man1/t2u-server.1.gz usr/share/man/man1/t2usvr.1.gz \
    usr/share/bash-completion/completions/t2u usr/share/zsh/vendor-completions/_t2usvr usr/share/fish/vendor_completions.d/t2u-server.fish \
    usr/share/doc/libt2u/copyright; do
    [ -s "$R/$file" ] || fail "missing $file"
done
LIB="$(find "$R/usr/lib" -name libt2u.so | head -1)"
PC="$(find "$R/usr/lib" -name t2u.pc | head -1)"
[ -n "$LIB" ] && [ -n "$PC" ] || fail "libt2u.so or t2u.pc missing"
pass "binaries, units, config, OpenWrt script, header, pkg-config, man pages, completions, licence installed"
for binary in t2u-server t2usvr t2u; do
    ! ldd "$R/usr/bin/$binary" | grep -q libswift || fail "$binary needs the Swift runtime"
done
# libt2u.so finds its Swift runtime in the package ($ORIGIN/t2u), whatever the toolchain here.
for needed in $(readelf -d "$LIB" | sed -n 's/.*(NEEDED).*\[\(libswift.*\|libdispatch.*\|libFoundation.*\)\]/\1/p'); do
    [ -f "$(dirname "$LIB")/t2u/$needed" ] || fail "libt2u.so needs $needed, not in the package"
done
[ "$("$R/usr/bin/t2u" --version)" = "$(scripts/version.sh)" ] || fail "installed t2u --version"
pass "no Swift runtime needed; --version $("$R/usr/bin/t2u" --version)"
gzip -dc "$R/usr/share/man/man1/t2usvr.1.gz" | grep -q '^\.SH SYNOPSIS' || fail "t2usvr man page"
bash -n "$R/usr/share/bash-completion/completions/t2u" || fail "bash completion syntax"
sh -n "$R/usr/share/t2u-agent/openwrt/t2usvr.init" || fail "procd script syntax"

# The units: systemd's own checker, the installed units with their paths moved into the unpacked
# root (the throwaway root has no systemd of its own for the default dependencies).
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir -p "$WORK/units"
    for unit in t2u-server t2usvr; do
        sed -e "s|/usr/bin/|$R/usr/bin/|g" -e "s|/etc/|$R/etc/|g" "$R/lib/systemd/system/$unit.service" >"$WORK/units/$unit.service"
        systemd-analyze verify --man=no "$WORK/units/$unit.service" >"$WORK/verify-$unit.log" 2>&1 \
            || { cat "$WORK/verify-$unit.log" >&2; fail "systemd-analyze verify $unit.service"; }
        [ ! -s "$WORK/verify-$unit.log" ] || { cat "$WORK/verify-$unit.log" >&2; fail "systemd-analyze verify $unit.service warned"; }
        systemd-analyze security --offline=yes "$WORK/units/$unit.service" 2>/dev/null | tail -1 | sed "s/^/  $unit: /" || true
    done
    pass "systemd-analyze verify: t2u-server.service, t2usvr.service"
else
    fail "systemd-analyze missing (apt-get install systemd)"
fi

# The demo against the installed files: the packaged server config with this run's state paths.
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); t=socket.socket(); t.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT="$(free_port)"
sed -e "s|^port = .*|port = $PORT|" -e "s|/var/lib/t2u-server|$WORK/state|" "$R/etc/t2u/t2u-server.conf" >"$WORK/t2u-server.conf"
mkdir -m 0700 "$WORK/state"
echo "bind = 127.0.0.1" >>"$WORK/t2u-server.conf"
"$R/usr/bin/t2u-server" --check-config "$WORK/t2u-server.conf" >/dev/null || fail "packaged config does not check"
KEY="$("$R/usr/bin/t2u-server" --config "$WORK/t2u-server.conf" --print-public-key)"
"$R/usr/bin/t2u-server" --config "$WORK/t2u-server.conf" >"$WORK/server.log" 2>&1 &
PIDS+=($!)
"$R/usr/bin/t2u" check --echo --echo-port 0 >"$WORK/echo.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "echo listening" "$WORK/echo.log" && break; sleep 0.1; done
ECHO_PORT="$(sed -n 's/^echo listening //p' "$WORK/echo.log")"
[ -n "$ECHO_PORT" ] || fail "echo service did not start"
DEV="pkg-demo-$$"
T2U_SERVER_KEY="$KEY" "$R/usr/bin/t2usvr" --state "$WORK/state/device.key" --no-discovery "$DEV" 127.0.0.1 "$PORT" >"$WORK/agent.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "registered with the server" "$WORK/agent.log" && break; sleep 0.1; done
export T2U_KNOWN_DEVICES="$WORK/known_devices"
"$R/usr/bin/t2u" status --server "127.0.0.1:$PORT" --key "$KEY" --json | tee "$WORK/status.json"
grep -q '"status":"connected"' "$WORK/status.json" || fail "t2u status against the installed server"
"$R/usr/bin/t2u" check "$DEV" "$ECHO_PORT" --server "127.0.0.1:$PORT" --key "$KEY" --bytes 1M --timeout 30 | tee "$WORK/check.txt"
grep -q "^CHECK ok=1" "$WORK/check.txt" || fail "t2u check through the installed server and agent"
pass "installed t2u-server + t2usvr + t2u: 1 MB verified through a mapped port"

# libt2u-dev + libt2u: a C program built only from the packaged files.
cat >"$WORK/version.c" <<'C'
#include <stdio.h>
#include <t2u.h>
int main(void) { printf("%s\n", t2u_version()); return t2u_status() == -1 ? 0 : 1; }
C
# shellcheck disable=SC2046
cc "$WORK/version.c" $(PKG_CONFIG_SYSROOT_DIR="$R" PKG_CONFIG_LIBDIR="$(dirname "$PC")" pkg-config --cflags --libs t2u) -o "$WORK/version"
[ "$(LD_LIBRARY_PATH="$(dirname "$LIB")" "$WORK/version")" = "$(scripts/version.sh)" ] || fail "packaged libt2u t2u_version()"
pass "C program against the packaged t2u.h, t2u.pc and libt2u.so: t2u_version() = $(scripts/version.sh)"
echo "Tests/packaging: all checks passed"
