#!/usr/bin/env bash
# The lab cleans up after itself: a failed `up` (here: the NAT probe fails), an `up` stopped by
# SIGTERM, and `down` all leave no namespace of that lab behind, and never touch another lab's.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lab="$here/lab.sh"
shim="$(mktemp -d "${TMPDIR:-/tmp}/t2u-labself.XXXXXX")"
other="t2u-$$-other-"
cleanup() {
    T2U_LAB="$other" "$lab" down >/dev/null 2>&1 || true
    T2U_LAB="t2u-$$-a-" "$lab" down >/dev/null 2>&1 || true
    T2U_LAB="t2u-$$-b-" "$lab" down >/dev/null 2>&1 || true
    rm -rf "$shim"
}
trap cleanup EXIT
count() { ip netns list 2>/dev/null | awk '{print $1}' | grep -c "^$1" || true; }
fail() { echo "selftest: FAIL: $*" >&2; exit 1; }

# A bystander namespace under a similar name must survive everything below.
ip netns add "${other}inet"

# 1. The probe fails: up exits non-zero and removes its namespaces.
real_python="$(command -v python3)"
cat >"$shim/python3" <<SHIM
#!/usr/bin/env bash
for a in "\$@"; do [ "\$a" = probe ] && { echo "shim: probe fails on purpose"; exit 1; }; done
exec "$real_python" "\$@"
SHIM
chmod +x "$shim/python3"
if T2U_LAB="t2u-$$-a-" PATH="$shim:$PATH" "$lab" up --client-nat cone --device-nat cone >/dev/null 2>&1; then
    fail "up succeeded although the probe failed"
fi
[ "$(count "t2u-$$-a-")" = 0 ] || fail "failed up left namespaces: $(ip netns list | grep "t2u-$$-a-")"
echo "selftest: failed up removed its namespaces"

# 2. SIGTERM during up.
T2U_LAB="t2u-$$-b-" "$lab" up --client-nat fullcone --device-nat symmetric >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ "$(count "t2u-$$-b-")" -ge 3 ] && break; sleep 0.05; done
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
[ "$(count "t2u-$$-b-")" = 0 ] || fail "interrupted up left namespaces: $(ip netns list | grep "t2u-$$-b-")"
echo "selftest: interrupted up removed its namespaces"

# 3. A good up, then down.
T2U_LAB="t2u-$$-a-" "$lab" up --client-nat none --device-nat cone >/dev/null
[ "$(count "t2u-$$-a-")" = 6 ] || fail "up did not create 6 namespaces"
T2U_LAB="t2u-$$-a-" "$lab" down
[ "$(count "t2u-$$-a-")" = 0 ] || fail "down left namespaces"
[ "$(count "$other")" = 1 ] || fail "a bystander namespace was removed"
echo "selftest: up/down clean, bystander untouched"
