#!/bin/sh
# swtpm-ioctl.sh - Debian's swtpm_ioctl (swtpm-tools) drives our control
# endpoint: init, info, save and load of every blob, stop, shutdown; then
# init, info and shutdown over loopback TCP.  The TPM is an in-process
# libtpms one behind tests/ctrl-server; no kernel.
set -eu

server=${abs_top_builddir:-.}/tests/ctrl-server
. "$abs_top_srcdir/tests/skip.sh"
command -v swtpm_ioctl >/dev/null 2>&1 || skip "swtpm_ioctl not installed"
[ -x "$server" ] || { echo "ERROR: $server not built"; exit 99; }

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
	[ $i -lt 600 ] || fail "ctrl-server did not create $sock: $(cat "$tmp/server.log")"
	kill -0 "$pid" 2>/dev/null || fail "ctrl-server exited: $(cat "$tmp/server.log")"
	sleep 0.05
	i=$((i + 1))
done

ioctl() { timeout 30 swtpm_ioctl --unix "$sock" "$@"; }

[ "$(stat -c %a "$sock")" = 600 ] || fail "socket mode is $(stat -c %a "$sock"), expected 600"
pass "control socket is mode 600"

ioctl -i || fail "swtpm_ioctl -i"
pass "-i"

caps=$(ioctl -c) || fail "swtpm_ioctl -c"
case $caps in "ptm capability is 0x"*) ;; *) fail "-c printed '$caps'" ;; esac
pass "-c: $caps"

info=$(ioctl --info 1) || fail "swtpm_ioctl --info 1"
echo "$info" | grep -q '"family":"2.0"' || fail "--info 1 printed '$info'"
pass "--info 1: $info"

ioctl --save permanent "$tmp/perm" || fail "--save permanent"
ioctl --save volatile "$tmp/vol" || fail "--save volatile"
ioctl --save savestate "$tmp/save" || fail "--save savestate"
[ -s "$tmp/perm" ] && [ -s "$tmp/vol" ] || fail "saved blobs are empty"
[ ! -s "$tmp/save" ] || fail "savestate of a TPM without one is not empty"
pass "--save permanent ($(stat -c %s "$tmp/perm") bytes), volatile ($(stat -c %s "$tmp/vol") bytes), savestate (empty)"

ioctl --stop || fail "--stop"
pass "--stop"

# Lose the TPM's state, then load the saved one: the same seeds come back.
rm -f "$tmp/state"/tpm2-00.*
ioctl --load permanent "$tmp/perm" || fail "--load permanent"
ioctl --load volatile "$tmp/vol" || fail "--load volatile"
ioctl --load savestate "$tmp/save" || fail "--load savestate"
ioctl -i || fail "-i after --load"
ioctl --save permanent "$tmp/perm2" || fail "--save permanent after --load"
cmp -s "$tmp/perm" "$tmp/perm2" || fail "the permanent state did not survive --stop/--load/-i"
pass "--load permanent, volatile, savestate; -i; the permanent state is the loaded one"

# Loading while running is refused, as by swtpm.
if ioctl --load permanent "$tmp/perm" 2>/dev/null; then
	fail "--load while running succeeded"
fi
pass "--load while running is refused"

ioctl -s || fail "swtpm_ioctl -s"
rc=0
wait "$pid" || rc=$?
pid=
[ $rc -eq 0 ] || fail "ctrl-server exited with $rc after -s"
[ ! -e "$sock" ] || fail "$sock left behind"
pass "-s ends the server, which removes its socket"

# The same endpoint on loopback TCP (swtpm_ioctl --tcp).
port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])') || fail "no free loopback port"
"$server" "$tmp/state" "unauthenticated-tcp:127.0.0.1:$port" 2>"$tmp/server-tcp.log" &
pid=$!
tioctl() { timeout 30 swtpm_ioctl --tcp "127.0.0.1:$port" "$@"; }
i=0
until tioctl -c >/dev/null 2>&1; do
	[ $i -lt 600 ] || fail "ctrl-server did not listen on 127.0.0.1:$port: $(cat "$tmp/server-tcp.log")"
	kill -0 "$pid" 2>/dev/null || fail "ctrl-server (TCP) exited: $(cat "$tmp/server-tcp.log")"
	sleep 0.05
	i=$((i + 1))
done
tioctl -i || fail "swtpm_ioctl --tcp -i"
tioctl --info 1 | grep -q '"family":"2.0"' || fail "swtpm_ioctl --tcp --info 1"
tioctl --save permanent "$tmp/perm3" || fail "swtpm_ioctl --tcp --save permanent"
cmp -s "$tmp/perm" "$tmp/perm3" || fail "the permanent state over TCP differs"
tioctl -s || fail "swtpm_ioctl --tcp -s"
rc=0
wait "$pid" || rc=$?
pid=
[ $rc -eq 0 ] || fail "ctrl-server (TCP) exited with $rc after -s"
pass "over TCP 127.0.0.1:$port: -c, -i, --info 1, --save permanent (same seeds), -s"
