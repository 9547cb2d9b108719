#!/bin/sh
# The runtime hooks' contract without a kernel driver: malformed or missing
# input gives one line on stderr and exit 1 (2 for usage), and creates
# nothing; a stop hook for a container without a server succeeds.
set -u
status=0
vtpmctl=$VTPMCTL
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dirs="--run-dir $tmp/run --state-base $tmp/state"
prefix=

# expect CODE STDIN ARGS...: exit code, at most one line on stderr.
expect() {
	want=$1 input=$2
	shift 2
	printf '%s' "$input" | $prefix "$vtpmctl" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$got" != "$want" ] || [ "$lines" -gt 1 ]; then
		echo "FAIL: vtpmctl $* <<<'$input': exit $got (want $want), stderr: $(cat "$tmp/err")"
		status=1
	else
		echo "PASS: vtpmctl $* <<<'$input' -> $got $(cat "$tmp/err")"
	fi
}

good='{"ociVersion":"1.0.2","id":"c1","status":"creating","pid":1,"bundle":"/nonexistent"}'
# shellcheck disable=SC2086
{
expect 2 "$good" oci-hook $dirs
expect 2 "$good" oci-hook $dirs poststart
expect 2 "$good" oci-hook $dirs createRuntime extra
expect 2 "$good" oci-hook --run-dir relative createRuntime
expect 1 "" oci-hook $dirs createRuntime
expect 1 "{" oci-hook $dirs createRuntime
expect 1 "[]" oci-hook $dirs createRuntime
expect 1 '{"ociVersion":"1.0.2","id":"c1","status":"creating"}' oci-hook $dirs createRuntime
expect 1 '{"ociVersion":"1.0.2","id":"../c1","status":"creating","pid":1}' oci-hook $dirs createRuntime
expect 1 '{"ociVersion":"1.0.2","id":"c1","status":"creating","pid":1}' oci-hook $dirs createRuntime
expect 1 "$good" oci-hook $dirs createRuntime
expect 0 '{"ociVersion":"1.0.2","id":"c1","status":"stopped"}' oci-hook $dirs poststop
# crun's poststop state carries "pid": 0.
expect 0 '{"ociVersion":"1.0.0","id":"c1","pid":0,"status":"stopped","bundle":"/b"}' oci-hook $dirs poststop
expect 2 "$good" oci-hook $dirs --pcr-banks md5 createRuntime
expect 2 "$good" oci-hook $dirs --ca-key k.pem --create-ek-cert createRuntime
}
# A manufacture annotation that is neither true nor false.
mkdir -p "$tmp/bundle/rootfs"
echo '{"ociVersion":"1.0.2","root":{"path":"rootfs"}}' >"$tmp/bundle/config.json"
# shellcheck disable=SC2086
expect 1 '{"ociVersion":"1.0.2","id":"c1","status":"creating","pid":1,"bundle":"'"$tmp/bundle"'","annotations":{"libvtpm.org/create-ek-cert":"yes"}}' \
	oci-hook $dirs createRuntime
[ ! -e "$tmp/state/c1" ] && [ ! -e "$tmp/state/../c1" ] || { echo "FAIL: a failed hook left state behind"; status=1; }

# A stale pid file whose pid now belongs to another vtpmctl (here one
# waiting for its input; after pid reuse, another container's server):
# poststop must not signal it, and removes the stale file.
mkdir -p "$tmp/run"
mkfifo "$tmp/fifo"
"$vtpmctl" oci-hook $dirs createRuntime <"$tmp/fifo" >/dev/null 2>&1 &
other=$!
exec 3>"$tmp/fifo" # lets it start and block reading
# Until it runs vtpmctl itself, not a wrapper script that will exec it.
i=0
until case $(readlink "/proc/$other/exe") in */vtpmctl) true ;; *) false ;; esac ||
	[ $i -ge 1500 ]; do
	sleep 0.02
	i=$((i + 1))
done
echo "$other" >"$tmp/run/c3.pid"
expect 0 '{"ociVersion":"1.0.2","id":"c3","status":"stopped"}' oci-hook $dirs poststop
if kill -0 "$other" 2>/dev/null; then
	echo "PASS: poststop left the unrelated process $other alone"
else
	echo "FAIL: poststop signalled process $other, which is not its server"
	status=1
fi
[ ! -e "$tmp/run/c3.pid" ] || { echo "FAIL: the stale pid file stayed"; status=1; }
exec 3>&-
wait "$other" 2>/dev/null

# shellcheck disable=SC2086
{
prefix="env -u LXC_NAME LXC_HOOK_TYPE=start-host" expect 1 "" lxc-hook $dirs
prefix="env -u LXC_HOOK_TYPE LXC_NAME=c2" expect 1 "" lxc-hook $dirs
prefix="env LXC_NAME=c2 LXC_HOOK_TYPE=pre-start" expect 2 "" lxc-hook $dirs
prefix="env -u LXC_PID LXC_NAME=c2 LXC_HOOK_TYPE=start-host" expect 1 "" lxc-hook $dirs
prefix="env LXC_PID=x LXC_NAME=c2 LXC_HOOK_TYPE=start-host" expect 1 "" lxc-hook $dirs
prefix="env LXC_PID=1 LXC_NAME=a/b LXC_HOOK_TYPE=start-host" expect 1 "" lxc-hook $dirs
prefix="env LXC_NAME=c2 LXC_HOOK_TYPE=post-stop" expect 2 "" lxc-hook --mode 9999 $dirs
prefix="env LXC_NAME=c2 LXC_HOOK_TYPE=post-stop" expect 2 "" lxc-hook --pcr-banks sha1,md5 $dirs
prefix="env LXC_NAME=c2 LXC_HOOK_TYPE=post-stop" expect 0 "" lxc-hook $dirs
prefix="env -u LXC_HOOK_TYPE LXC_NAME=c2" expect 0 "" lxc-hook $dirs c2 lxc post-stop
# A key that cannot be read: one line, before any device or state.
prefix="env LXC_PID=1 LXC_NAME=c2 LXC_HOOK_TYPE=start-host" expect 1 "" lxc-hook \
	--key "file=$tmp/no-such-key" $dirs
}
prefix=
[ ! -e "$tmp/state/c2" ] || { echo "FAIL: a failed lxc hook left state behind"; status=1; }

expect 2 "" rules
expect 2 "" rules --format yaml /dev/tpm0
expect 1 "" rules /dev/null
expect 1 "" rules 999
expect 2 "" cdi
exit $status
