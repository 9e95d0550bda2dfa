#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# Builds the Debian packages with dpkg-deb into OUTDIR (default .build/packages):
#   t2u-server         the server, its hardened systemd unit and /etc/t2u/t2u-server.conf
#   t2u-agent          t2usvr, its hardened systemd unit, /etc/default/t2usvr, the OpenWrt procd script
#   t2u                the t2u command
#   libt2u             libt2u.so (the C ABI of the Libt2u manual)
#   libt2u-dev         t2u.h and the pkg-config file
#   t2u-swift-runtime  the Swift runtime libraries the four above load, in /usr/lib/<multiarch>/t2u
# each with man pages and bash/zsh/fish completions generated from swift-argument-parser
# (--experimental-dump-help, --generate-completion-script), and the licence.
# The packages hold the binaries of ONE ordinary release build (the one scripts/test.sh makes):
# a static Swift runtime would need a second build of everything (SwiftPM compiles every module
# again for --static-swift-stdlib, 9+ minutes here), and libt2u.so cannot take the static
# Foundation at all. So the Swift runtime the toolchain built them against ships once, privately,
# in t2u-swift-runtime, and each ELF file finds it through its RUNPATH (patchelf): programs
# $ORIGIN/../lib/<multiarch>/t2u, libt2u.so $ORIGIN/t2u. Only Debian's libc6, libstdc++6 and
# libgcc-s1 come from outside. Version: scripts/version.sh (Debian form: 1.2.0-3-gHASH -> 1.2.0+3.gHASH).
# The binaries: T2U_BIN=DIR (t2u-server, t2usvr, t2u, libT2U.so linked with scripts/libt2u.map)
# when given, else `swift build -c release $T2U_SWIFT_BUILD_FLAGS` and scripts/build-libt2u.sh
# (scripts/test.sh passes its own flags, so nothing is compiled again).
# Usage: scripts/package.sh [OUTDIR]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="${1:-.build/packages}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
for tool in dpkg-deb:dpkg patchelf:patchelf readelf:binutils strip:binutils; do
    command -v "${tool%%:*}" >/dev/null || { echo "package.sh: ${tool%%:*} is missing (apt-get install ${tool#*:})" >&2; exit 1; }
done

VERSION="$(scripts/version.sh)"
# Debian: the first '-' would start a revision; '+' keeps 1.2.0+3.gHASH after 1.2.0.
DEBVERSION="$(printf '%s' "$VERSION" | sed -e 's/-/+/' -e 's/-/./g')"
ARCH="$(dpkg --print-architecture)"
MULTIARCH="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || echo "$(uname -m)-linux-gnu")"
PRIVATE="usr/lib/$MULTIARCH/t2u"

if [ -n "${T2U_BIN:-}" ]; then
    BIN="$(cd "$T2U_BIN" && pwd)"
else
    # shellcheck disable=SC2086
    FLAGS=(-c release ${T2U_SWIFT_BUILD_FLAGS:-})
    for product in t2u-server t2usvr t2u; do swift build "${FLAGS[@]}" --product "$product"; done
    scripts/build-libt2u.sh "$OUT/.libt2u" >/dev/null
    BIN="$(swift build "${FLAGS[@]}" --show-bin-path)"
fi
for file in t2u-server t2usvr t2u libT2U.so; do
    [ -f "$BIN/$file" ] || { echo "package.sh: $BIN/$file is missing (build it, or point T2U_BIN at the release binaries)" >&2; exit 1; }
done
# t2u_* only: a libT2U.so linked without scripts/libt2u.map would export every Swift symbol.
if [ "$(nm -D --defined-only "$BIN/libT2U.so" | awk '$2 ~ /^[TWDBRVGSiu]$/ && $3 !~ /^t2u_/ {n++} END {print n+0}')" -ne 0 ]; then
    echo "package.sh: $BIN/libT2U.so exports more than t2u_* (link it with scripts/build-libt2u.sh)" >&2; exit 1
fi
rm -rf "$OUT/.libt2u"
# The binaries say the version the packages will carry (else they are stale, or the tree changed since).
for file in t2u-server t2usvr t2u; do
    built="$("$BIN/$file" --version)"
    [ "$built" = "$VERSION" ] || { echo "package.sh: $BIN/$file is version $built, the tree $VERSION (rebuild, or set T2U_VERSION)" >&2; exit 1; }
done

STAGE="$OUT/.stage"
rm -rf "$STAGE"
trap 'rm -rf "$STAGE"' EXIT

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
    private_runpath "$root/usr/bin/$name" "\$ORIGIN/../lib/$MULTIARCH/t2u"
    install -d "$root/usr/share/man/man1"
    python3 packaging/manpage.py "$BIN/$name" "$VERSION" | gzip -9n >"$root/usr/share/man/man1/$name.1.gz"
    install -d "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" "$root/usr/share/fish/vendor_completions.d"
    "$BIN/$name" --generate-completion-script bash >"$root/usr/share/bash-completion/completions/$name"
    "$BIN/$name" --generate-completion-script zsh >"$root/usr/share/zsh/vendor-completions/_$name"
    "$BIN/$name" --generate-completion-script fish >"$root/usr/share/fish/vendor_completions.d/$name.fish"
}

# private_runpath ELF RUNPATH: stripped, and loading the Swift runtime from t2u-swift-runtime only
# (the toolchain's directory that swiftc recorded does not exist on the target).
private_runpath() {
    strip --strip-unneeded "$1"
    patchelf --set-rpath "$2" "$1"
    [ "$(patchelf --print-rpath "$1")" = "$2" ] || { echo "package.sh: cannot set RUNPATH of $1" >&2; exit 1; }
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

# The Swift runtime: every library of the toolchain's runtime directory that one of the ELF files
# loads (ldd: transitively), found where the toolchain put it.
SWIFT_RUNTIME="$(readlink -f "$(dirname "$(dirname "$(command -v swift)")")/lib/swift/linux")"
RUNTIME_LIBS="$(for file in t2u-server t2usvr t2u libT2U.so; do ldd "$BIN/$file"; done | awk '$2 == "=>" {print $3}' \
    | while read -r lib; do if [ "$(dirname "$(readlink -f "$lib")")" = "$SWIFT_RUNTIME" ]; then echo "$lib"; fi; done | sort -u)"
[ -n "$RUNTIME_LIBS" ] || { echo "package.sh: the binaries load nothing from $SWIFT_RUNTIME (built with another toolchain?)" >&2; exit 1; }
root="$(stage t2u-swift-runtime)"
install -d "$root/$PRIVATE"
# Not t2u's code: the Swift project's licence (Apache-2.0 with the Runtime Library Exception).
SWIFT_LICENSE="$(dirname "$(dirname "$SWIFT_RUNTIME")")/../share/swift/LICENSE.txt"
[ -f "$SWIFT_LICENSE" ] || { echo "package.sh: the toolchain's licence $SWIFT_LICENSE is missing" >&2; exit 1; }
{ echo "The Swift runtime libraries of $(swift --version 2>/dev/null | head -n1 || echo "the toolchain t2u was built with"),"
  echo "copyright Apple Inc. and the Swift project authors, under this licence (ICU, in lib_FoundationICU.so, under the Unicode licence):"
  echo; cat "$SWIFT_LICENSE"; } >"$root/usr/share/doc/t2u-swift-runtime/copyright"
for lib in $RUNTIME_LIBS; do install -m 0644 "$lib" "$root/$PRIVATE/"; done
control "$root" t2u-swift-runtime "libc6, libstdc++6, libgcc-s1" "Swift runtime for the t2u programs and libt2u (private)
 The Swift standard library, Dispatch and Foundation libraries that t2u-server, t2usvr, t2u and
 libt2u.so were built against, in a private directory that only they load (RUNPATH)."

RUNTIME_DEPENDS="t2u-swift-runtime (= $DEBVERSION), libc6, libstdc++6, libgcc-s1"

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
 status, netcheck (what this network allows), query, search, forward (map a device port to a local port),
 check and demo."

root="$(stage libt2u)"
install -D -m 0644 "$BIN/libT2U.so" "$root/usr/lib/$MULTIARCH/libt2u.so"
private_runpath "$root/usr/lib/$MULTIARCH/libt2u.so" "\$ORIGIN/t2u"
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

for package in t2u-swift-runtime t2u-server t2u-agent t2u libt2u libt2u-dev; do
    dpkg-deb --root-owner-group -Zgzip -z6 --build "$STAGE/$package" "$OUT/${package}_${DEBVERSION}_${ARCH}.deb" >/dev/null
    echo "$OUT/${package}_${DEBVERSION}_${ARCH}.deb"
done
