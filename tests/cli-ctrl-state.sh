#!/bin/sh
# cli-ctrl-state.sh - 'vtpmctl ctrl' and 'vtpmctl state export/import'
# against tests/ctrl-server (an in-process libtpms TPM; no kernel).
set -eu

server=${abs_top_builddir:-.}/tests/ctrl-server
vtpmctl=${VTPMCTL:-${abs_top_builddir:-.}/cli/vtpmctl}
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "PASS: $*"; }

tmp=$(mktemp -d)
pid=
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || :
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/state"
sock=$tmp/ctrl.sock
"$server" "$tmp/state" "$sock" 2>"$tmp/server.log" &
pid=$!
i=0
while [ ! -S "$sock" ]; do
	[ $i -lt 200 ] || fail "ctrl-server did not start: $(cat "$tmp/server.log")"
	sleep 0.05
	i=$((i + 1))
done

"$vtpmctl" ctrl "$sock" info | grep -q '"family":"2.0"' || fail "ctrl info"
"$vtpmctl" ctrl "unix:$sock" locality 3 || fail "ctrl locality 3"
rc=0; "$vtpmctl" ctrl "$sock" locality 7 2>/dev/null || rc=$?
[ $rc -eq 2 ] || fail "ctrl locality 7 exited $rc, expected 2"
rc=0; "$vtpmctl" ctrl "$sock" frobnicate 2>/dev/null || rc=$?
[ $rc -eq 2 ] || fail "unknown ctrl command exited $rc, expected 2"
"$vtpmctl" ctrl "$sock" stop || fail "ctrl stop"
"$vtpmctl" ctrl "$sock" init || fail "ctrl init"
"$vtpmctl" ctrl "$sock" reset || fail "ctrl reset"
pass "ctrl info, locality, stop, init, reset; usage errors exit 2"

"$vtpmctl" state export "$sock" "$tmp/a.state" || fail "state export"
[ "$(stat -c %a "$tmp/a.state")" = 600 ] || fail "state file mode is not 600"
"$vtpmctl" state import "$sock" "$tmp/a.state" || fail "state import"
"$vtpmctl" state export "$sock" "$tmp/b.state" || fail "second state export"
pass "state export, import, export"

# Damaged and truncated files are refused with a clear error.
head -c 100 "$tmp/a.state" >"$tmp/trunc.state"
rc=0; "$vtpmctl" state import "$sock" "$tmp/trunc.state" 2>"$tmp/err" || rc=$?
[ $rc -eq 1 ] || fail "import of a truncated file exited $rc"
grep -q "damaged or truncated" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"
cp "$tmp/a.state" "$tmp/flip.state"
printf '\377' | dd of="$tmp/flip.state" bs=1 seek=200 conv=notrunc 2>/dev/null
rc=0; "$vtpmctl" state import "$sock" "$tmp/flip.state" 2>"$tmp/err" || rc=$?
[ $rc -eq 1 ] || fail "import of a damaged file exited $rc"
pass "damaged and truncated files refused: $(cat "$tmp/err")"

"$vtpmctl" ctrl "$sock" shutdown || fail "ctrl shutdown"
rc=0; wait "$pid" || rc=$?
pid=
[ $rc -eq 0 ] || fail "server exited $rc after shutdown"

# Offline: export from and import into a state directory.
"$vtpmctl" state export --state-dir "$tmp/state" "$tmp/c.state" || fail "export --state-dir"
mkdir "$tmp/state2"
"$vtpmctl" state import --state-dir "$tmp/state2" "$tmp/c.state" || fail "import --state-dir"
cmp -s "$tmp/state/tpm2-00.permall" "$tmp/state2/tpm2-00.permall" || fail "permall differs after offline import"
pass "state export/import --state-dir"
