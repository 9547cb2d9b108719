#!/bin/sh
# The container configuration examples stay valid: examples/oci-hooks.json
# is JSON whose hooks run 'vtpmctl oci-hook STAGE' for the stage they are
# registered under, with annotations vtpmctl knows; examples/lxc-vtpm.conf
# holds "key = value" lines with LXC's hook keys running 'vtpmctl
# lxc-hook'.  Each hook command is then run (with private directories) as
# the runtime would run it for a container without a vTPM: stop hooks
# succeed, start hooks fail cleanly instead of reporting a usage error.
set -eu
src=$abs_top_srcdir/examples
vtpmctl=$VTPMCTL
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
fail() { echo "FAIL: $*"; status=1; }
dirs="--run-dir $tmp/run --state-base $tmp/state"

# ---- OCI
if command -v jq >/dev/null; then
	oci=$src/oci-hooks.json
	jq -e 'type == "object" and (.hooks | type == "object")' "$oci" >/dev/null ||
		fail "oci-hooks.json is not a JSON object with hooks"
	# STAGE PATH ARG... per hook, one per line.
	jq -r '.hooks | to_entries[] | .key as $stage | .value[] |
		[$stage, .path] + .args | @tsv' "$oci" >"$tmp/hooks"
	for stage in createRuntime poststop; do
		grep -q "^$stage	" "$tmp/hooks" || fail "oci-hooks.json has no $stage hook"
	done
	while IFS='	' read -r stage path arg0 sub rest; do
		[ "${path##*/}" = vtpmctl ] && [ "${path#/}" != "$path" ] ||
			fail "$stage hook: path '$path' is not an absolute path to vtpmctl"
		[ "$arg0" = vtpmctl ] || fail "$stage hook: args[0] is '$arg0', want vtpmctl"
		[ "$sub" = oci-hook ] || fail "$stage hook: runs '$sub', want oci-hook"
		# shellcheck disable=SC2086
		set -- $rest
		eval "last=\${$#}"
		# shellcheck disable=SC2154
		[ "$last" = "$stage" ] || fail "$stage hook: stage argument is '$last'"
		case $stage in
		poststop) input='{"ociVersion":"1.0.2","id":"example","status":"stopped"}' want=0 ;;
		*) input='{"ociVersion":"1.0.2","id":"example","status":"creating","pid":2147483646}' want=1 ;;
		esac
		rc=0
		# shellcheck disable=SC2086
		printf '%s' "$input" | "$vtpmctl" oci-hook $dirs "$@" >/dev/null 2>"$tmp/err" || rc=$?
		[ $rc -eq $want ] && echo "PASS: OCI $stage hook runs: exit $rc $(cat "$tmp/err")" ||
			fail "OCI $stage hook: exit $rc (want $want): $(cat "$tmp/err")"
	done <"$tmp/hooks"
	known=$("$vtpmctl" oci-hook --help | sed -n '/^Annotations:/,$p' | grep -o 'libvtpm\.org/[a-z-]*')
	for key in $(jq -r '.annotations // {} | keys[]' "$oci"); do
		case " $(echo $known) " in
		*" $key "*) echo "PASS: annotation $key" ;;
		*) fail "oci-hooks.json: unknown annotation $key" ;;
		esac
	done
else
	# Only a part of this script: the rest still runs outside CI.
	case ${CI-} in
	'' | false | 0) echo "SKIP: jq not installed: examples/oci-hooks.json not checked" ;;
	*) fail "jq not installed: examples/oci-hooks.json must be checked under CI" ;;
	esac
fi

# ---- LXC
lxc=$src/lxc-vtpm.conf
n=0
version=
while IFS= read -r line; do
	case $line in '' | '#'*) continue ;; esac
	key=$(printf '%s' "$line" | sed -n 's/^\(lxc\.[a-z0-9_.-]*\) = \(.*\)$/\1/p')
	value=$(printf '%s' "$line" | sed -n 's/^\(lxc\.[a-z0-9_.-]*\) = \(.*\)$/\2/p')
	[ -n "$key" ] && [ -n "$value" ] || { fail "lxc-vtpm.conf: not a 'key = value' line: $line"; continue; }
	case $key in
	lxc.hook.version)
		version=$value ;;
	lxc.hook.start-host | lxc.hook.post-stop)
		type=${key#lxc.hook.}
		# shellcheck disable=SC2086
		set -- $value
		[ "${1##*/}" = vtpmctl ] && [ "${2-}" = lxc-hook ] ||
			{ fail "$key does not run 'vtpmctl lxc-hook': $value"; continue; }
		shift 2
		n=$((n + 1))
		case $type in post-stop) want=0 ;; *) want=1 ;; esac
		rc=0
		# shellcheck disable=SC2086
		env LXC_NAME=example LXC_HOOK_TYPE="$type" LXC_PID=2147483646 \
			"$vtpmctl" lxc-hook $dirs "$@" </dev/null >/dev/null 2>"$tmp/err" || rc=$?
		[ $rc -eq $want ] && echo "PASS: LXC $type hook runs: exit $rc $(cat "$tmp/err")" ||
			fail "LXC $type hook: exit $rc (want $want): $(cat "$tmp/err")"
		;;
	*)
		fail "lxc-vtpm.conf: unexpected key $key" ;;
	esac
done <"$lxc"
[ "$version" = 1 ] || fail "lxc-vtpm.conf: lxc.hook.version must be 1 (the hook reads LXC_HOOK_TYPE)"
[ $n -eq 2 ] || fail "lxc-vtpm.conf: want a start-host and a post-stop hook, found $n hooks"
[ ! -e "$tmp/state/example" ] || fail "a failed start hook left state behind"
exit $status
