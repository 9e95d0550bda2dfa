#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# Builds the libFuzzer harnesses with the Swift toolchain's clang (ASan + UBSan) and runs each for
# FUZZ_SECONDS (default 20) from a seed corpus of real traffic (tests/vectors). Exits non-zero on a
# crash, leaving the reproducer in fuzz/build/.
set -euo pipefail
cd "$(dirname "$0")"
CLANG="${FUZZ_CC:-$(command -v clang || echo /opt/swift/usr/bin/clang)}"
SECONDS_EACH="${FUZZ_SECONDS:-20}"
mkdir -p build
flags=(-g -O1 -std=c11 -Wall -Wextra -Werror -D_DEFAULT_SOURCE -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=all -I../src)
srcs=(../src/bucket.c ../src/cc.c ../src/codec.c ../src/crypto.c ../src/replay.c ../src/signaling.c ../src/handshake.c ../src/frames.c
      ../src/stream.c ../src/transport.c ../src/forward.c ../src/net.c ../src/discovery.c ../src/log.c ../src/identity.c
      ../src/keyfile.c ../src/fallback.c)
# Seeds: every captured datagram, the captured initiation, and a few frames.
mkdir -p build/seed-signaling build/seed-handshake build/seed-transport build/seed-policy build/seed-cert build/seed-keyfile \
    build/seed-servers build/seed-fallback
i=0
grep -v '^#' ../tests/vectors/swift-query.txt | while read -r _ hex; do
    i=$((i + 1)); printf '%s' "$hex" | xxd -r -p >"build/seed-signaling/$i"
done
sed -n 's/^initiation //p' ../tests/vectors/swift-initiation.txt | xxd -r -p >build/seed-handshake/initiation
printf '\x08\x00\x00\x05hello\x02\x03\x00\x00\x01\x1a12345678\x01' >build/seed-transport/frames
printf '\x08\x00\x00\x07\xa1\x00\x00\x00\x50GE' >build/seed-transport/target
printf '198.51.100.0/24:554,8000-8100\n*:80\n[2001:db8::/32]:443\n2001:db8::1\n[::ffff:203.0.113.0/120]:22' >build/seed-policy/rules
# A certificate file as `t2u cert issue` writes it (version 1, 97 bytes), key files, server lists
# (the first two bytes: the default port).
cert="01$(printf 'ab%.0s' $(seq 1 96))"
printf '# t2u vendor certificate\n%s\n' "$cert" >build/seed-cert/issued
printf '%s\r\n\n# trailing\n' "$cert" >build/seed-cert/crlf
printf 'ad3796bc74b295e6c44209fe617d37e1bd6badd7cb16c1ef56d3d545faac993f\n' >build/seed-keyfile/key
printf '  AD3796BC74B295E6C44209FE617D37E1BD6BADD7CB16C1EF56D3D545FAAC993F \r\n' >build/seed-keyfile/svrkey
printf '\x1b\x58127.0.0.1:7000, [::1]:7001,192.0.2.1,2001:db8::1,[::ffff:198.51.100.7]' >build/seed-servers/list
printf '\x1b\x58[2001:db8::1]:65535' >build/seed-servers/v6
# The fallback stream (first byte: the chunk size): the 101 answer and frames, a 404, a long frame.
answer='HTTP/1.1 101 Switching Protocols\r\nUpgrade: t2u\r\nConnection: Upgrade\r\n\r\n'
printf "\\x07$answer\\x00\\x05hello\\x00\\x01\\x20\\x10\\x00" >build/seed-fallback/frames
printf '\x03HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n' >build/seed-fallback/refused
{ printf "\\x3f$answer\\x10\\x00"; head -c 4096 /dev/zero; } >build/seed-fallback/largest
for name in signaling handshake transport policy cert keyfile servers fallback; do
    mkdir -p "build/corpus-$name"
    max_len=1500 # the fallback stream: a head (2048) and frames (4096) longer than a datagram
    [ "$name" = fallback ] && max_len=9000
    "$CLANG" "${flags[@]}" "fuzz_$name.c" "${srcs[@]}" -lsodium -o "build/fuzz_$name" 2>"build/fuzz_$name.build.log" ||
        { cat "build/fuzz_$name.build.log" >&2; exit 1; }
    (cd build && "./fuzz_$name" -max_total_time="$SECONDS_EACH" -max_len="$max_len" -print_final_stats=1 "corpus-$name" "seed-$name" \
        >"fuzz_$name.log" 2>&1) || { tail -40 "build/fuzz_$name.log" >&2; echo "fuzz: $name FAILED" >&2; exit 1; }
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build/fuzz_$name.log")
    echo "RESULT cagent fuzz $name runs=${runs:-?} seconds=$SECONDS_EACH crashes=0"
done
