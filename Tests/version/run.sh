#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# The version rule of scripts/version.sh in every situation a tree can be built in (tagged,
# after a tag, tagless clone, dirty, no git at all), and, given T2U_BIN, that every binary's
# --version prints the string of this tree and that every binary takes --log-format text|json.
# No network; temporary repositories only.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
work="$(mktemp -d "${TMPDIR:-/tmp}/t2u-version.XXXXXX")"
trap 'rm -rf "$work"' EXIT
fail() { echo "Tests/version: $*" >&2; exit 1; }
expect() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; echo "ok: $1: $2"; }
like() { case "$2" in $3) echo "ok: $1: $2" ;; *) fail "$1: got '$2', want $3" ;; esac; }

# A source tree without git (an archive): 0.0.0-unknown, or T2U_VERSION when a packager sets it.
mkdir -p "$work/archive/scripts"
cp scripts/version.sh "$work/archive/scripts/"
expect "no git" "$(env -u T2U_VERSION "$work/archive/scripts/version.sh")" "0.0.0-unknown"
expect "no git, T2U_VERSION" "$(T2U_VERSION=1.2.3 "$work/archive/scripts/version.sh")" "1.2.3"
if T2U_VERSION='1.0"; evil' "$work/archive/scripts/version.sh" >/dev/null 2>&1; then fail "a version with quotes was accepted"; fi
echo "ok: a version with quotes is refused"

# A repository: tagless, tagged, after the tag, dirty.
repo="$work/repo"
mkdir -p "$repo/scripts"
cp scripts/version.sh "$repo/scripts/"
git -C "$repo" init -q
git -C "$repo" -c user.name=t -c user.email=t@example.com add -A
git -C "$repo" -c user.name=t -c user.email=t@example.com commit -qm one
hash="$(git -C "$repo" rev-parse --short=9 HEAD)"
v() { env -u T2U_VERSION "$repo/scripts/version.sh" "$@"; }
expect "tagless clone" "$(v)" "0.0.0-g$hash"
git -C "$repo" tag v1.4.0
expect "on tag v1.4.0" "$(v)" "1.4.0"
echo x >"$repo/scripts/extra"
git -C "$repo" -c user.name=t -c user.email=t@example.com add -A
git -C "$repo" -c user.name=t -c user.email=t@example.com commit -qm two
like "after the tag" "$(v)" "1.4.0-1-g*"
echo y >>"$repo/scripts/extra"
like "uncommitted change" "$(v)" "1.4.0-1-g*-dirty"

# The Swift source the build plugin compiles: rewritten only when the string changes.
v --swift "$work/Generated.swift"
grep -q 'let generatedVersion: StaticString = "1.4.0-1-g.*-dirty"' "$work/Generated.swift" || fail "generated source: $(cat "$work/Generated.swift")"
touch -d '2000-01-01' "$work/Generated.swift"
v --swift "$work/Generated.swift"
[ "$(date -r "$work/Generated.swift" +%Y)" = 2000 ] || fail "an unchanged version rewrote the generated source"
echo "ok: generated source written once, untouched while the version is unchanged"

# Every binary reports this tree's version.
if [ -n "${T2U_BIN:-}" ]; then
    want="$(scripts/version.sh)"
    for binary in t2u t2u-server t2usvr t2u-bench t2u-impair t2u-delayline; do
        expect "$binary --version" "$("$T2U_BIN/$binary" --version)" "$want"
    done

    # --log-format text|json on every binary and on the subcommands that run something: listed in
    # --help, and a bad value refused with the option's own message before anything starts. Each
    # line: the command, then the arguments it needs besides --log-format (bounded: a command that
    # accepted "bogus" would start running; nothing here leaves loopback).
    log_format_commands=(
        "t2u status|--server 127.0.0.1"
        "t2u cert keygen|--out $work/never.key"
        "t2u cert issue|--ca-key $work/never.key --uuid d1 --device-key 00"
        "t2u-server|"
        "t2usvr|d1 127.0.0.1 7000"
        "t2u-impair|--listen 127.0.0.1:9 --upstream 127.0.0.1:9"
        "t2u-delayline|--tap-a x --tap-b y --check"
        "t2u-bench transport|"
        "t2u-bench server|"
        "t2u-bench setup|--server 127.0.0.1 --device d1 --remote-port 9 --tcp 127.0.0.1:9"
        "t2u-bench relay|"
    )
    for entry in "${log_format_commands[@]}"; do
        read -ra command <<<"${entry%%|*}"
        read -ra needed <<<"${entry#*|}"
        command[0]="$T2U_BIN/${command[0]}"
        name="${entry%%|*}"
        help="$(timeout 20 "${command[@]}" --log-format json --help 2>&1)" || fail "$name --log-format json --help failed: $help"
        case "$help" in *--log-format*) ;; *) fail "$name --help does not list --log-format" ;; esac
        status=0
        refused="$(timeout 20 "${command[@]}" "${needed[@]}" --log-format bogus 2>&1 >/dev/null)" || status=$?
        [ "$status" -ne 0 ] || fail "$name --log-format bogus was accepted"
        [ "$status" -ne 124 ] || fail "$name --log-format bogus was accepted (it ran until the 20 s timeout)"
        case "$refused" in
            *"unknown --log-format 'bogus': use text or json"*) echo "ok: $name refuses --log-format bogus (exit $status)" ;;
            *) fail "$name --log-format bogus: exit $status without naming the option: $refused" ;;
        esac
    done
    [ ! -e "$work/never.key" ] || fail "t2u cert keygen created its key despite --log-format bogus"
fi
echo "Tests/version: all checks passed"
