#!/bin/sh
# contrib/systemd/vtpmd.service: systemd-analyze verify accepts it (when
# systemd-analyze is there), and its ExecStart command line parses: the
# same arguments, given to the built vtpmctl with --help, are accepted.
set -eu
unit=${abs_top_srcdir:-.}/contrib/systemd/vtpmd.service
vtpmctl=${VTPMCTL:-./cli/vtpmctl}
[ -f "$unit" ] || { echo "FAIL: $unit missing"; exit 1; }

exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ -n "$exec_start" ] || { echo "FAIL: no ExecStart"; exit 1; }
[ "$(sed -n 's/^ExecStart=//p' "$unit" | wc -l)" -eq 1 ] || { echo "FAIL: several ExecStart"; exit 1; }
set -- $exec_start
case $1 in /usr/bin/vtpmctl) ;; *) echo "FAIL: ExecStart runs $1, not /usr/bin/vtpmctl"; exit 1 ;; esac
shift
[ "$1" = daemon ] || { echo "FAIL: ExecStart does not run 'vtpmctl daemon'"; exit 1; }
# --help after the unit's own options: getopt parses them all first.
if ! "$vtpmctl" "$@" --help >/dev/null; then
	echo "FAIL: vtpmctl rejects the ExecStart arguments: $*"
	exit 1
fi
echo "PASS: ExecStart parses: vtpmctl $*"

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze not installed (ExecStart checked)"
	exit 0
fi
# verify wants the ExecStart binary to exist: point it at the built one in
# a copy of the unit.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
real=$(cd "$(dirname "$vtpmctl")" && pwd)/$(basename "$vtpmctl")
sed "s|^ExecStart=/usr/bin/vtpmctl|ExecStart=$real|; s|^ExecStartPre=-/sbin/modprobe|ExecStartPre=-$(command -v true)|" \
	"$unit" >"$tmp/vtpmd.service"
if ! systemd-analyze verify --man=no "$tmp/vtpmd.service" >"$tmp/out" 2>&1; then
	# Without a running systemd (containers, chroots) verify cannot work.
	if grep -qiE 'Failed to (connect|initialize)|System has not been booted|not been booted with systemd|Cannot determine cgroup' "$tmp/out"; then
		cat "$tmp/out"
		echo "SKIP: systemd-analyze verify cannot run here (ExecStart checked)"
		exit 0
	fi
	cat "$tmp/out"
	echo "FAIL: systemd-analyze verify"
	exit 1
fi
cat "$tmp/out"
echo "PASS: systemd-analyze verify"
