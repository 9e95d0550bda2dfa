#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# The public API of the Swift libraries from outside the package (issue 15: `package` access for
# what is internal): App.swift, an app embedding server, device agent and client, typechecks
# against the built modules without `package` access; Internals.swift, reaching the server's
# registry and the signaling codec, must not. Needs a release build (scripts/test.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${T2U_BIN:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)}"
[ -d "$bin/Modules" ] || { echo "Tests/publicapi: no modules in $bin: build first (swift build -c release)" >&2; exit 1; }
flags=(-typecheck -swift-version 6 -I "$bin/Modules")
while IFS= read -r map; do flags+=(-Xcc "-fmodule-map-file=$map"); done < <(find "$bin" -maxdepth 2 -name module.modulemap)
while IFS= read -r inc; do flags+=(-Xcc "-I$inc"); done < <(find .build/checkouts Sources -type d -name include)

if ! swiftc "${flags[@]}" Tests/publicapi/App.swift; then
    echo "Tests/publicapi: App.swift no longer typechecks outside the package: a declaration it uses" \
        "became package or internal. Make it public again (or change the app if the API changed on purpose)." >&2
    exit 1
fi
echo "ok: an app outside the package builds against the public API"

out="$(swiftc "${flags[@]}" Tests/publicapi/Internals.swift 2>&1 || true)"
for name in Registry SignalingMessage; do
    if ! grep -q "cannot find '$name' in scope" <<<"$out"; then
        echo "Tests/publicapi: '$name' is visible outside the package; it should be package access" >&2
        echo "$out" >&2
        exit 1
    fi
done
echo "ok: the server's registry and the signaling codec stay inside the package"
