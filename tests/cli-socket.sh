#!/bin/sh
# cli-socket.sh - 'vtpmctl create --socket' without a VM (no kernel driver
# needed): it detaches with --daemon and --pidfile, offers what QEMU's
# tpm-emulator requires, answers swtpm_ioctl and vtpmctl ctrl, keeps its
# state, and ends on CMD_SHUTDOWN.  QEMU itself: tests/qemu-emulator.py.
set -eu

vtpmctl=${VTPMCTL:-${abs_top_builddir:-.}/cli/vtpmctl}
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "PASS: $*"; }

if ! command -v swtpm_ioctl >/dev/null 2>&1; then
	[ "${CI-}" != true ] || fail "swtpm_ioctl not found (CI=true: no skipping)"
	echo "SKIP: swtpm_ioctl not found"
	exit 77
fi

tmp=$(mktemp -d)
cleanup() {
	if [ -f "$tmp/pid" ]; then kill "$(cat "$tmp/pid")" 2>/dev/null || :; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/state"
sock=$tmp/tpm.sock

rc=0; "$vtpmctl" create --socket "$sock" --ctrl "unix:$tmp/c" 2>/dev/null || rc=$?
[ $rc -eq 2 ] || fail "--socket with --ctrl exited $rc, expected 2"
pass "--socket excludes --ctrl (usage error)"

"$vtpmctl" create --tpm2 --socket "$sock" --state-dir "$tmp/state" --daemon \
	--pidfile "$tmp/pid" --json >"$tmp/out.json" || fail "create --socket --daemon"
[ -S "$sock" ] || fail "no socket at $sock"
grep -q "\"socket\": *\"$sock\"" "$tmp/out.json" || fail "JSON lacks the socket: $(cat "$tmp/out.json")"
pid=$(cat "$tmp/pid")
kill -0 "$pid" || fail "the serving process $pid is not running"
[ "$(stat -c %a "$sock")" = 600 ] || fail "socket mode $(stat -c %a "$sock"), expected 600"
pass "create --socket --daemon --pidfile --json; socket mode 0600"

# PTM_CAP_SET_DATAFD (1 << 12) and the rest QEMU checks for a TPM 2:
# INIT, SHUTDOWN, GET_TPMESTABLISHED, SET_LOCALITY, RESET_TPMESTABLISHED,
# STOP, SET_BUFFERSIZE (tpm_emulator.c, tpm_emulator_check_caps()).
caps=$(swtpm_ioctl --unix "$sock" -c | sed -n 's/.*capability is 0x\([0-9a-fA-F]*\).*/\1/p')
[ -n "$caps" ] || fail "no capabilities from swtpm_ioctl -c"
want=$(( (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 7) | (1 << 10) | (1 << 12) | (1 << 13) ))
[ $(( 0x$caps & want )) -eq $want ] || fail "capabilities 0x$caps lack some of $(printf %x $want)"
pass "capabilities 0x$caps include SET_DATAFD and QEMU's minimum"

swtpm_ioctl --unix "$sock" -i || fail "swtpm_ioctl -i (CMD_INIT)"
swtpm_ioctl --unix "$sock" -l 0 || fail "swtpm_ioctl -l 0 (1-byte SET_LOCALITY)"
"$vtpmctl" ctrl "$sock" locality 3 || fail "vtpmctl ctrl locality 3 (4-byte SET_LOCALITY)"
swtpm_ioctl --unix "$sock" -e | grep -q "tpmEstablished is" || fail "swtpm_ioctl -e after SET_LOCALITY"
"$vtpmctl" ctrl "$sock" info | grep -q '"family":"2.0"' || fail "ctrl info"
pass "INIT, SET_LOCALITY in both sizes, GET_TPMESTABLISHED, GET_INFO"

swtpm_ioctl --unix "$sock" -s || fail "swtpm_ioctl -s (CMD_SHUTDOWN)"
i=0
while kill -0 "$pid" 2>/dev/null; do
	[ $i -lt 600 ] || fail "the server did not end on CMD_SHUTDOWN"
	sleep 0.05
	i=$((i + 1))
done
# A confined server (vtpm_sandbox_confine(3)) cannot remove names outside
# its state directory: the socket and pid file names may stay, but nothing
# answers there.
"$vtpmctl" ctrl "$sock" info >/dev/null 2>&1 && fail "the socket still answers"
ls "$tmp/state" | grep -q '^tpm2-00.permall$' || fail "no state written: $(ls "$tmp/state")"
pass "CMD_SHUTDOWN ends it; the socket is closed, state kept"

# 'vtpmctl stop PIDFILE': SIGTERM to the lock's holder, wait, remove the
# file the confined server could not.  A file no one holds is removed
# without a signal, even when its number is a live process's (this shell's).
"$vtpmctl" create --tpm2 --socket "$sock" --state-dir "$tmp/state" --daemon \
	--pidfile "$tmp/pid" >/dev/null || fail "create --socket --daemon, again"
pid=$(cat "$tmp/pid")
"$vtpmctl" stop --timeout 60 "$tmp/pid" || fail "vtpmctl stop"
# Exited: gone, or a zombie until its parent (init, after --daemon) reaps it.
state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null || :)
[ -z "$state" ] || [ "$state" = Z ] || fail "the server $pid still runs after vtpmctl stop ($state)"
[ ! -e "$tmp/pid" ] || fail "vtpmctl stop left the pid file"
echo $$ >"$tmp/stale"
"$vtpmctl" stop "$tmp/stale" || fail "vtpmctl stop on a stale file"
[ ! -e "$tmp/stale" ] || fail "vtpmctl stop left the stale file"
"$vtpmctl" stop "$tmp/stale" || fail "vtpmctl stop without a file"
rc=0; "$vtpmctl" stop 2>/dev/null || rc=$?
[ $rc -eq 2 ] || fail "stop without PIDFILE exited $rc, expected 2"
pass "vtpmctl stop: the server ends, its pid file goes; stale and missing files are fine"
