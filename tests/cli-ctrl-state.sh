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

# restate IN OUT family|cut|perm: IN rewritten with the TPM family field set
# to 1 (TPM 1.2), or with the permanent blob cut in half; either way with a
# valid checksum, so only the content is wrong (format in vtpm/state.h).
# perm: only the permanent blob's bytes.
restate() {
	python3 - "$@" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()[:-4]
magic, fmt, family, n, _ = struct.unpack(">8sIIII", data[:24])
table = [struct.unpack(">II", data[24 + 8 * i:32 + 8 * i]) for i in range(n)]
off, blobs = 24 + 8 * n, []
for t, length in table:
    blobs.append((t, data[off:off + length]))
    off += length
if sys.argv[3] == "perm":
    open(sys.argv[2], "wb").write(dict(blobs)[1])
    sys.exit(0)
if sys.argv[3] == "family":
    family = 1
else:
    blobs = [(t, b[:len(b) // 2] if t == 1 else b) for t, b in blobs]
out = struct.pack(">8sIIII", magic, fmt, family, len(blobs), 0)
out += b"".join(struct.pack(">II", t, len(b)) for t, b in blobs)
out += b"".join(b for _, b in blobs)
crc = 0xFFFFFFFF
for byte in out:
    crc ^= byte
    for _ in range(8):
        crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
open(sys.argv[2], "wb").write(out + struct.pack(">I", crc ^ 0xFFFFFFFF))
PY
}
# bad_import WHAT ARGS...: the import fails with one line, exit 1.
bad_import() {
	what=$1
	shift
	rc=0; "$vtpmctl" state import "$@" 2>"$tmp/err" || rc=$?
	[ $rc -eq 1 ] || fail "import of $what exited $rc"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "import of $what: not one line: $(cat "$tmp/err")"
	grep -q "cannot import" "$tmp/err" || fail "import of $what: $(cat "$tmp/err")"
}
mkdir "$tmp/state"
sock=$tmp/ctrl.sock
"$server" "$tmp/state" "$sock" 2>"$tmp/server.log" &
pid=$!
i=0
while [ ! -S "$sock" ]; do
	[ $i -lt 600 ] || fail "ctrl-server did not start: $(cat "$tmp/server.log")"
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

# The TPM's identity survives imports it cannot take: a TPM 1.2 state, and
# a file with a valid checksum around a damaged permanent blob.
command -v python3 >/dev/null || { [ -z "${CI-}" ] || fail "python3 missing"; python3=; }
if command -v python3 >/dev/null; then
	restate "$tmp/a.state" "$tmp/tpm12.state" family
	restate "$tmp/a.state" "$tmp/cut.state" cut
	"$vtpmctl" state export "$sock" "$tmp/before.state" || fail "export before imports"
	bad_import "a TPM 1.2 state over the control channel" "$sock" "$tmp/tpm12.state"
	grep -q "other TPM family" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"
	bad_import "a damaged state over the control channel" "$sock" "$tmp/cut.state"
	"$vtpmctl" state export "$sock" "$tmp/after.state" || fail "export after refused imports"
	restate "$tmp/before.state" "$tmp/before.perm" perm
	restate "$tmp/after.state" "$tmp/after.perm" perm
	cmp -s "$tmp/before.perm" "$tmp/after.perm" || fail "the permanent state changed"
	pass "refused over the control channel, TPM unchanged: $(cat "$tmp/err")"
fi

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

if command -v python3 >/dev/null; then
	cp "$tmp/state2/tpm2-00.permall" "$tmp/permall.before"
	bad_import "a TPM 1.2 state with --state-dir" --state-dir "$tmp/state2" "$tmp/tpm12.state"
	grep -q "other TPM family" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"
	bad_import "a damaged state with --state-dir" --state-dir "$tmp/state2" "$tmp/cut.state"
	cmp -s "$tmp/permall.before" "$tmp/state2/tpm2-00.permall" || fail "permall changed"
	"$vtpmctl" state export --state-dir "$tmp/state2" "$tmp/d.state" || fail "state2 lost"
	pass "refused with --state-dir, state kept: $(cat "$tmp/err")"
fi
