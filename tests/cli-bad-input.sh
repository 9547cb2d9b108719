#!/bin/sh
# Bad input everywhere (no kernel driver needed): every option of every
# subcommand with a wrong value exits 2 with one line naming the problem;
# a wrong input file exits 1 with one line; nothing is created on the way
# (no state, pid file, CDI spec or socket left behind).
set -u
status=0
vtpmctl=$VTPMCTL
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect CODE PATTERN ARGS...: the exit code, a first line on stderr
# naming the problem (PATTERN), nothing on stdout; a failure (1) says one
# line only, a usage error (2) may add the subcommand's usage after it.
expect() {
	want=$1 pattern=$2
	shift 2
	"$vtpmctl" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	got=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$got" != "$want" ]; then
		echo "FAIL: vtpmctl $*: exit $got, want $want: $(cat "$tmp/err")"
		status=1
	elif ! head -n 1 "$tmp/err" | grep -q -- "^vtpmctl: .*$pattern"; then
		echo "FAIL: vtpmctl $*: first line does not match '$pattern': $(cat "$tmp/err")"
		status=1
	elif [ "$want" = 1 ] && [ "$lines" -ne 1 ]; then
		echo "FAIL: vtpmctl $*: want one line, got: $(cat "$tmp/err")"
		status=1
	elif [ -s "$tmp/out" ]; then
		echo "FAIL: vtpmctl $*: output on stdout: $(cat "$tmp/out")"
		status=1
	else
		echo "PASS: vtpmctl $* -> $got: $(cat "$tmp/err")"
	fi
}

sd=$tmp/sd
mkdir "$sd"
pf=$tmp/pidfile

# ---- create: each option with a wrong value
for b in "" bogus swtpm: swtpm:unix:a swtpm:unix:a, swtpm:unix:a,b,c swtpm:udp:a,b "swtpm:tcp:h,1"; do
	expect 2 "--backend" create --backend "$b" --state-dir "$sd"
done
expect 2 "--ctrl needs an address" create --ctrl "" --state-dir "$sd"
# TCP has no authentication: only under the name that says so.
expect 2 "--ctrl tcp:127.0.0.1:2322: TCP has no authentication.*unauthenticated-tcp:127.0.0.1:2322" \
	create --ctrl tcp:127.0.0.1:2322 --state-dir "$sd"
expect 2 "swtpm over TCP has no authentication.*swtpm:unauthenticated-tcp:" \
	create --backend swtpm:tcp:127.0.0.1:2321,2322 --state-dir "$sd"
expect 2 "TCP has no authentication" ctrl tcp:127.0.0.1:2322 info
expect 2 "--pidfile needs a file name" create --pidfile ""
expect 2 "--user: no such user" create --user no-such-user-xyz
expect 2 "--group: no such group" create --group no-such-group-xyz
expect 2 "need the sandbox" create --no-sandbox --user 4242:4242
# Root's ids are never a serving identity, however they are written.
for u in root 0 0:4242 4242:0 4242:root; do
	expect 2 "--user: '$u' is root" create --user "$u"
	expect 2 "--user: '$u' is root" daemon --user "$u"
	expect 2 "--user: '$u' is root" oci-hook --user "$u" poststop
	expect 2 "--user: '$u' is root" lxc-hook --user "$u" c lxc post-stop
done
for u in "" : 4242: :4242; do
	expect 2 "--user: '$u' is not USER\\[:GROUP\\]" daemon --user "$u"
done
expect 2 "--user: no such user or group" daemon --user no-such-user-xyz
expect 2 "daemon: --user needs the sandbox" daemon --no-sandbox --user 4242:4242
expect 2 "--rootfs needs a directory" create --rootfs ""
for p in 0 -1 abc 1x 4294967296 ""; do
	expect 2 "--pid: '$p' is not a process id" create --pid "$p"
done
expect 2 "--pid-rootfs needs an absolute path" create --pid 1 --pid-rootfs rel
expect 2 "--pid-rootfs needs --pid" create --rootfs "$tmp" --pid-rootfs /x
expect 2 "exclude each other" create --rootfs "$tmp" --pid 1
expect 2 "--cgroup needs the absolute path" create --pid 1 --cgroup rel
expect 2 "--cgroup needs --rootfs or --pid" create --cgroup /sys/fs/cgroup
for p in rel /dev/../etc/x ""; do
	expect 2 "--path/--pathrm need an absolute path" create --rootfs "$tmp" --path "$p"
	expect 2 "--path/--pathrm need an absolute path" create --rootfs "$tmp" --pathrm "$p"
done
for u in -1 abc 4294967295 ""; do
	expect 2 "is not a numeric id" create --rootfs "$tmp" --uid "$u"
	expect 2 "is not a numeric id" create --rootfs "$tmp" --gid "$u"
done
for m in 8 99999 abc "" -1; do
	expect 2 "--mode: '$m' is not an octal mode" create --rootfs "$tmp" --mode "$m"
done
expect 2 "--timeout" create --timeout 3601
[ -z "$(ls -A "$sd")" ] || { echo "FAIL: create left state behind: $(ls -A "$sd")"; status=1; }
[ ! -e "$pf" ] || { echo "FAIL: create left a pid file"; status=1; }

# ---- rules
expect 2 "missing" rules
expect 2 "--format" rules --format "" /dev/null
expect 2 "--format" rules --format yaml /dev/null
expect 2 "is not an octal mode" rules --mode 9 /dev/null
expect 2 "is not a numeric id" rules --uid x /dev/null
expect 2 "is not a numeric id" rules --gid -2 /dev/null
expect 2 "need an absolute path" rules --path rel /dev/null
expect 2 "one DEVICE only" rules /dev/null /dev/null
expect 1 "" rules /nonexistent/tpm0

# ---- cdi: nothing may appear in --dir
cdi=$tmp/cdi
expect 2 "missing" cdi --dir "$cdi"
expect 2 "is not an octal mode" cdi --dir "$cdi" --mode 9 /dev/null
expect 2 "is not a numeric id" cdi --dir "$cdi" --uid x /dev/null
expect 2 "need an absolute path" cdi --dir "$cdi" --path rel /dev/null
expect 2 "one DEVICE" cdi --dir "$cdi" --name n /dev/null /dev/null
expect 2 "--kind" cdi --dir "$cdi" --kind "" /dev/null
expect 2 "--kind" cdi --dir "$cdi" --kind "no slash" /dev/null
expect 2 "--name" cdi --dir "$cdi" --name "" /dev/null
expect 2 "--name" cdi --dir "$cdi" --name "a/b" /dev/null
expect 2 "--dir" cdi --dir "" /dev/null
expect 1 "" cdi --dir "$cdi" /nonexistent/tpm0
[ ! -e "$cdi" ] || [ -z "$(ls -A "$cdi")" ] || { echo "FAIL: cdi left files: $(ls -A "$cdi")"; status=1; }

# ---- ctrl
expect 2 "" ctrl
expect 2 "" ctrl unix:$tmp/none
expect 2 "--timeout" ctrl --timeout 0 unix:$tmp/none info
expect 2 "--timeout" ctrl --timeout abc unix:$tmp/none info
expect 2 "" ctrl unix:$tmp/none no-such-command
expect 1 "" ctrl unix:$tmp/none info
expect 2 "" ctrl unix:$tmp/none info extra

# ---- state
echo garbage >"$tmp/garbage"
expect 2 "" state
expect 2 "" state frobnicate
expect 2 "" state export
expect 2 "--timeout" state export --timeout 0 unix:$tmp/none "$tmp/f"
expect 2 "" state export --state-dir "$sd" "$tmp/f" extra
expect 1 "" state export unix:$tmp/none "$tmp/f"
expect 1 "" state import unix:$tmp/none "$tmp/garbage"
expect 1 "" state import --state-dir "$sd" "$tmp/garbage"
expect 1 "" state import --state-dir "$sd" /nonexistent/file
expect 1 "" state export --state-dir "$sd" "$tmp/f"
[ ! -e "$tmp/f" ] || { echo "FAIL: a failed export left $tmp/f"; status=1; }
[ -z "$(ls -A "$sd" | grep -v '^\.lock$')" ] || { echo "FAIL: a failed import wrote: $(ls -A "$sd")"; status=1; }

# ---- hooks: options
expect 2 "" oci-hook --run-dir "" createRuntime
expect 2 "" oci-hook --state-base rel createRuntime
expect 2 "" lxc-hook --uid x c lxc post-stop
expect 2 "" lxc-hook --path rel c lxc post-stop
exit $status
