#!/usr/bin/env bash
# Builds the Debian packages with dpkg-deb into OUTDIR (default .build/packages):
#   t2u-server  the server, its hardened systemd unit and /etc/t2u/t2u-server.conf
#   t2u-agent   t2usvr, its hardened systemd unit, /etc/default/t2usvr, the OpenWrt procd script
#   t2u         the t2u command
#   libt2u      libt2u.so (the C ABI of the Libt2u manual)
#   libt2u-dev  t2u.h and the pkg-config file
# each with man pages and bash/zsh/fish completions generated from swift-argument-parser
# (--experimental-dump-help, --generate-completion-script), and the licence. The programs link the
# Swift runtime statically (--static-swift-stdlib), so they need only Debian's libc, libstdc++
# and libgcc; libt2u.so cannot (the static Foundation does not link into a shared library), so
# the libt2u package carries the Swift runtime libraries it uses in /usr/lib/<multiarch>/t2u/,
# found through RUNPATH $ORIGIN/t2u. Version: scripts/version.sh (Debian form: 1.2.0-3-gHASH -> 1.2.0+3.gHASH).
# Extra `swift build` arguments from T2U_SWIFT_BUILD_FLAGS (scripts/test.sh passes its own so the
# modules it built are reused).
# Usage: scripts/package.sh [OUTDIR]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="${1:-.build/packages}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
command -v dpkg-deb >/dev/null || { echo "package.sh: dpkg-deb is missing (apt-get install dpkg)" >&2; exit 1; }

VERSION="$(scripts/version.sh)"
# Debian: the first '-' would start a revision; '+' keeps 1.2.0+3.gHASH after 1.2.0.
DEBVERSION="$(printf '%s' "$VERSION" | sed -e 's/-/+/' -e 's/-/./g')"
ARCH="$(dpkg --print-architecture)"
MULTIARCH="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || echo "$(uname -m)-linux-gnu")"

# The static programs in their own build directory: modules compiled for a static runtime do not
# link into libt2u.so, and one directory would rebuild everything at each switch.
# shellcheck disable=SC2086
FLAGS=(-c release --static-swift-stdlib --scratch-path "$ROOT/.build/static" ${T2U_SWIFT_BUILD_FLAGS:-})
for product in t2u-server t2usvr t2u; do swift build "${FLAGS[@]}" --product "$product"; done
# shellcheck disable=SC2016
T2U_SWIFT_BUILD_FLAGS="${T2U_SWIFT_BUILD_FLAGS:-} -Xlinker -rpath=\$ORIGIN/t2u" scripts/build-libt2u.sh "$OUT/.libt2u" >/dev/null
BIN="$(swift build "${FLAGS[@]}" --show-bin-path)"
for file in "$BIN/t2u-server" "$BIN/t2usvr" "$BIN/t2u"; do
    if ldd "$file" | grep -q 'libswift\|libdispatch\|libFoundation'; then
        echo "package.sh: $file still needs the Swift runtime:" >&2; ldd "$file" >&2; exit 1
    fi
done

STAGE="$OUT/.stage"
rm -rf "$STAGE"
trap 'rm -rf "$STAGE" "$OUT/.libt2u"' EXIT

# stage PACKAGE: an empty tree with the licence.
stage() {
    local root="$STAGE/$1"
    install -d "$root/DEBIAN" "$root/usr/share/doc/$1"
    install -m 0644 LICENSE "$root/usr/share/doc/$1/copyright"
    echo "$root"
}

# binary ROOT NAME: the executable, its man page and completions.
binary() {
    local root="$1" name="$2"
    install -D -m 0755 "$BIN/$name" "$root/usr/bin/$name"
    strip --strip-unneeded "$root/usr/bin/$name" 2>/dev/null || true
    install -d "$root/usr/share/man/man1"
    python3 packaging/manpage.py "$BIN/$name" "$VERSION" | gzip -9n >"$root/usr/share/man/man1/$name.1.gz"
    install -d "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" "$root/usr/share/fish/vendor_completions.d"
    "$BIN/$name" --generate-completion-script bash >"$root/usr/share/bash-completion/completions/$name"
    "$BIN/$name" --generate-completion-script zsh >"$root/usr/share/zsh/vendor-completions/_$name"
    "$BIN/$name" --generate-completion-script fish >"$root/usr/share/fish/vendor_completions.d/$name.fish"
}

# control ROOT PACKAGE DEPENDS DESCRIPTION [CONFFILE...]
control() {
    local root="$1" package="$2" depends="$3" description="$4"
    shift 4
    local size
    size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
    cat >"$root/DEBIAN/control" <<CONTROL
Package: $package
Version: $DEBVERSION
Architecture: $ARCH
Maintainer: t2u developers <t2u@example.org>
Installed-Size: $size
Depends: $depends
Section: net
Priority: optional
Homepage: https://example.org/t2u
Description: $description
CONTROL
    if [ $# -gt 0 ]; then printf '%s\n' "$@" >"$root/DEBIAN/conffiles"; fi
}

# service ROOT UNIT: the unit, enabled and started on install (when systemd runs), stopped on removal.
service() {
    local root="$1" unit="$2"
    install -D -m 0644 "packaging/systemd/$unit.service" "$root/lib/systemd/system/$unit.service"
    cat >"$root/DEBIAN/postinst" <<SCRIPT
#!/bin/sh
set -e
if [ "\$1" = configure ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null || true
    systemctl enable $unit.service >/dev/null || true
    $( [ "$unit" = t2u-server ] && echo "systemctl restart $unit.service >/dev/null || true" || echo ": # t2usvr starts once /etc/default/t2usvr names its UUID and server" )
fi
SCRIPT
    cat >"$root/DEBIAN/prerm" <<SCRIPT
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl stop $unit.service >/dev/null 2>&1 || true; fi
if [ "\$1" = remove ] && [ -d /run/systemd/system ]; then systemctl disable $unit.service >/dev/null 2>&1 || true; fi
SCRIPT
    cat >"$root/DEBIAN/postrm" <<SCRIPT
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null || true; fi
SCRIPT
    chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
}

RUNTIME_DEPENDS="libc6, libstdc++6, libgcc-s1"

root="$(stage t2u-server)"
binary "$root" t2u-server
install -D -m 0644 packaging/debian/t2u-server.conf "$root/etc/t2u/t2u-server.conf"
service "$root" t2u-server
control "$root" t2u-server "$RUNTIME_DEPENDS" "t2u server cloud: registration, introductions and relay
 Devices (t2usvr) and clients (libt2u, t2u) register with it over UDP; it introduces them for
 peer-to-peer links through NAT and relays end-to-end encrypted packets when no direct path works." \
    /etc/t2u/t2u-server.conf

root="$(stage t2u-agent)"
binary "$root" t2usvr
install -D -m 0644 packaging/debian/t2usvr.default "$root/etc/default/t2usvr"
install -D -m 0755 packaging/openwrt/t2usvr.init "$root/usr/share/t2u-agent/openwrt/t2usvr.init"
service "$root" t2usvr
control "$root" t2u-agent "$RUNTIME_DEPENDS" "t2u device agent (t2usvr)
 Registers this device with a t2u server under its UUID and serves TCP tunnels to its services
 (and to LAN hosts it allows) for t2u clients, peer to peer through NAT." \
    /etc/default/t2usvr

root="$(stage t2u)"
binary "$root" t2u
control "$root" t2u "$RUNTIME_DEPENDS" "t2u command: reach TCP services of devices behind NAT
 status, query, search, forward (map a device port to a local port), check and demo."

root="$(stage libt2u)"
install -D -m 0644 "$OUT/.libt2u/lib/libt2u.so" "$root/usr/lib/$MULTIARCH/libt2u.so"
strip --strip-unneeded "$root/usr/lib/$MULTIARCH/libt2u.so" 2>/dev/null || true
# The Swift runtime libraries libt2u.so loads (all of them, transitively, from the toolchain).
SWIFT_RUNTIME="$(dirname "$(dirname "$(command -v swift)")")/lib/swift/linux"
install -d "$root/usr/lib/$MULTIARCH/t2u"
ldd "$OUT/.libt2u/lib/libt2u.so" | awk '{print $3}' | grep "^$(readlink -f "$SWIFT_RUNTIME")/\|^$SWIFT_RUNTIME/" | while read -r runtime; do
    install -m 0644 "$runtime" "$root/usr/lib/$MULTIARCH/t2u/"
done
[ -n "$(ls "$root/usr/lib/$MULTIARCH/t2u")" ] || { echo "package.sh: found no Swift runtime for libt2u.so in $SWIFT_RUNTIME" >&2; exit 1; }
readelf -d "$root/usr/lib/$MULTIARCH/libt2u.so" | grep -q 'ORIGIN/t2u' || { echo "package.sh: libt2u.so lacks RUNPATH \$ORIGIN/t2u" >&2; exit 1; }
printf 'activate-noawait ldconfig\n' >"$root/DEBIAN/triggers"
control "$root" libt2u "$RUNTIME_DEPENDS" "t2u client library (C ABI of the Libt2u manual)
 libt2u.so: t2u_init, t2u_add_port, ... to map TCP ports of devices behind NAT to local ports."

root="$(stage libt2u-dev)"
install -D -m 0644 Sources/CT2U/include/t2u.h "$root/usr/include/t2u.h"
install -d "$root/usr/lib/$MULTIARCH/pkgconfig"
cat >"$root/usr/lib/$MULTIARCH/pkgconfig/t2u.pc" <<PC
prefix=/usr
libdir=\${prefix}/lib/$MULTIARCH
includedir=\${prefix}/include

Name: t2u
Description: libt2u, TCP through NAT peer to peer (C API of the Libt2u manual)
Version: $VERSION
Cflags: -I\${includedir}
Libs: -L\${libdir} -lt2u
PC
control "$root" libt2u-dev "libt2u (= $DEBVERSION)" "t2u client library: header and pkg-config file
 t2u.h and t2u.pc for building C programs against libt2u."

for package in t2u-server t2u-agent t2u libt2u libt2u-dev; do
    dpkg-deb --root-owner-group -Zgzip --build "$STAGE/$package" "$OUT/${package}_${DEBVERSION}_${ARCH}.deb" >/dev/null
    echo "$OUT/${package}_${DEBVERSION}_${ARCH}.deb"
done
