#!/bin/sh
# vtpmctl's contract with scripts, without a kernel driver: exit code 2 and
# a one-line message for every kind of bad usage, 0 for help and version,
# 1 with advice when the driver is missing.
set -u
status=0
vtpmctl=$VTPMCTL

# expect CODE PATTERN ARGS...: exit code and a pattern on stdout+stderr.
expect() {
	want=$1 pattern=$2
	shift 2
	out=$("$vtpmctl" "$@" 2>&1)
	got=$?
	if [ "$got" != "$want" ]; then
		echo "FAIL: vtpmctl $*: exit $got, want $want: $out"
		status=1
	elif ! printf '%s\n' "$out" | grep -q -- "$pattern"; then
		echo "FAIL: vtpmctl $*: output lacks '$pattern': $out"
		status=1
	else
		echo "PASS: vtpmctl $* -> $got"
	fi
}

expect 0 "Usage: vtpmctl" --help
expect 0 "^vtpmctl [0-9]" --version
expect 2 "missing command"
expect 2 "unknown command 'frobnicate'" frobnicate
expect 2 "unrecognized option" --bogus
expect 0 "Usage: vtpmctl create" create --help
expect 2 "unrecognized option '--bogus'" create --bogus
expect 2 "exclude each other" create --tpm2 --tpm12
expect 2 "not a number of seconds" create --timeout 0
expect 2 "not a number of seconds" create --timeout -5
expect 2 "not a number of seconds" create --timeout 12abc
expect 2 "not a number of seconds" create --timeout 99999999999999999999
expect 2 "needs a directory" create --state-dir ""
expect 2 "needs --state-dir" create --resume
expect 2 "unexpected argument 'extra'" create extra
expect 2 "requires an argument" create --state-dir
# A missing state directory is created, but not its parents.
expect 1 "cannot create state directory /nonexistent/state: No such file" \
	create --state-dir /nonexistent/state

# No driver here (or redirected away): advice, not a bare errno.  Use a
# state dir so that nothing is left behind.
tmp=$(mktemp -d)
if [ ! -e /dev/vtpmx ]; then
	expect 1 "load the module with 'modprobe tpm_vtpm_proxy'" create --state-dir "$tmp"
	ls -A "$tmp" | grep -qv '^\.lock$' && { echo "FAIL: state left behind: $(ls -A "$tmp")"; status=1; }
	# One it created for a TPM that did not start goes again.
	expect 1 "load the module" create --state-dir "$tmp/new"
	[ ! -e "$tmp/new" ] || { echo "FAIL: a created state directory stayed"; status=1; }
fi
rm -rf "$tmp"
exit $status
