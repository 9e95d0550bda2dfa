#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# Checks that every source file of ours names its licence: the line
#   SPDX-License-Identifier: Apache-2.0
# within its first 5 lines (LICENSE holds the text). Files: Swift (Package.swift after its
# swift-tools-version line), C and headers, shell and Python scripts and any other file starting
# with #!. Not checked: build folders (.build*), generated files, third-party code.
# Git's file list (tracked and new, not ignored) where there is one, else every file below.
#
#   scripts/check-headers.sh        # exit 1 and one line per file without the line
set -euo pipefail
cd "$(dirname "$0")/.."
spdx="SPDX-License-Identifier: Apache-2.0"

list_files() {
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -z --cached --others --exclude-standard
    else
        find . \( -name '.build*' -o -name .git -o -name .swiftpm \) -prune -o -type f -print0 | sed -z 's|^\./||'
    fi
}

# 0 if FILE is one of ours that must carry the line.
wanted() {
    case "$1" in
        .build*/* | */.build*/* | .swiftpm/* | .git/*) return 1 ;;             # build output, tools
        */generated/* | */Generated*.swift | */GeneratedVersion.swift) return 1 ;;  # generated
        */third_party/* | */ThirdParty/* | */vendor/* | */Vendor/*) return 1 ;;   # not ours
        *.swift | *.c | *.h | *.sh | *.py) return 0 ;;
    esac
    [ "$(head -c 2 "$1" 2>/dev/null)" = "#!" ]
}

missing=0
checked=0
while IFS= read -r -d '' file; do
    [ -f "$file" ] && [ ! -L "$file" ] || continue  # deleted in the work tree; a link (its target is checked)
    wanted "$file" || continue
    checked=$((checked + 1))
    if ! head -n 5 "$file" | grep -F "$spdx" >/dev/null; then
        echo "$file: no '$spdx' line in its first 5 lines"
        missing=$((missing + 1))
    fi
done < <(list_files)

if [ "$missing" -gt 0 ]; then
    cat >&2 <<EOF
check-headers: $missing of $checked files lack the licence header. Put these two lines first
(after a #! line, or after Package.swift's swift-tools-version line), in the file's comment form:
  // $spdx        (Swift; /* ... */ in C and headers; # in scripts)
  // Copyright 2026 the t2u authors
EOF
    exit 1
fi
echo "check-headers: all $checked source files carry '$spdx'"
