#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# Builds libt2u (the C ABI of t2u.h) and installs it for C programs:
#   OUTDIR/lib/libt2u.so  OUTDIR/include/t2u.h  OUTDIR/lib/pkgconfig/t2u.pc
# Usage: scripts/build-libt2u.sh [OUTDIR]   (default .build/libt2u)
# Extra `swift build` arguments may come from T2U_SWIFT_BUILD_FLAGS (scripts/test.sh passes its
# own so that both builds share one set of compiled modules).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUTDIR="${1:-.build/libt2u}"
mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"

# shellcheck disable=SC2086
FLAGS=(-c release ${T2U_SWIFT_BUILD_FLAGS:-})
# Export only t2u_* (the Swift modules linked into the library stay private).
swift build "${FLAGS[@]}" --product T2U -Xlinker "--version-script=$ROOT/scripts/libt2u.map"
BINDIR="$(swift build "${FLAGS[@]}" --show-bin-path)"

mkdir -p "$OUTDIR/lib/pkgconfig" "$OUTDIR/include"
install -m 0755 "$BINDIR/libT2U.so" "$OUTDIR/lib/libt2u.so"
install -m 0644 Sources/CT2U/include/t2u.h "$OUTDIR/include/t2u.h"

SONAME="$(readelf -d "$OUTDIR/lib/libt2u.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
if [ "$SONAME" != "libt2u.so" ]; then
    echo "build-libt2u: unexpected soname '$SONAME' (want libt2u.so)" >&2
    exit 1
fi

# The library needs the Swift runtime (libswiftCore.so, libdispatch.so, ...). swiftc records the
# toolchain's runtime directory as RUNPATH; say so in the .pc too for programs that link it.
SWIFT_RUNTIME="$(dirname "$(dirname "$(command -v swift)")")/lib/swift/linux"
if [ ! -e "$SWIFT_RUNTIME/libswiftCore.so" ]; then
    SWIFT_RUNTIME="$(readelf -d "$OUTDIR/lib/libt2u.so" | sed -n 's/.*R\(UN\)\{0,1\}PATH.*\[\(.*\)\]/\2/p' | tr ':' '\n' | grep -m1 swift || true)"
fi

cat > "$OUTDIR/lib/pkgconfig/t2u.pc" <<PC
prefix=$OUTDIR
libdir=\${prefix}/lib
includedir=\${prefix}/include
swiftruntime=$SWIFT_RUNTIME

Name: t2u
Description: libt2u, TCP through NAT peer to peer (C API of the Libt2u manual)
Version: $("$ROOT/scripts/version.sh")
Cflags: -I\${includedir}
Libs: -L\${libdir} -lt2u -Wl,-rpath,\${libdir} -Wl,-rpath,\${swiftruntime}
PC

echo "libt2u installed in $OUTDIR (lib/libt2u.so, include/t2u.h, lib/pkgconfig/t2u.pc)"
