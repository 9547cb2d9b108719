#!/bin/sh
# The bash completion: source it, run _vtpmctl on a few command lines and
# compare COMPREPLY.  Also checks that it offers every subcommand vtpmctl
# knows and every long option of 'vtpmctl create --help'.
set -eu
. "$abs_top_srcdir/tests/skip.sh"
command -v bash >/dev/null || skip "bash not installed"
exec bash -s "$abs_top_srcdir/contrib/completion/vtpmctl" "$VTPMCTL" <<'BASH'
set -u
source "$1"
vtpmctl=$2
status=0

# complete_line "WORD WORD ... CUR": COMPREPLY, sorted, on one line.
complete_line() {
	read -r -a COMP_WORDS <<<"$1"
	[[ $1 == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=$1
	COMP_POINT=${#1}
	COMPREPLY=()
	_vtpmctl vtpmctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

expect() {
	local got
	got=$(complete_line "$1")
	if [[ $got == "$2" ]]; then
		echo "PASS: '$1' -> $got"
	else
		echo "FAIL: '$1' -> '$got', want '$2'"
		status=1
	fi
}

expect "vtpmctl cr" "create"
expect "vtpmctl --" "--help --version"
expect "vtpmctl create --tpm" "--tpm12 --tpm2"
expect "vtpmctl create --no-" "--no-revoke --no-sandbox"
expect "vtpmctl rules --format " "cdi cgroup1 lxc oci"
expect "vtpmctl rules --format c" "cdi cgroup1"
expect "vtpmctl oci-hook " "createRuntime poststop prestart"
expect "vtpmctl oci-hook --run-dir /nonexistent-dir-xyz " "createRuntime poststop prestart"
expect "vtpmctl state " "export import"
expect "vtpmctl ctrl /run/x.sock " "info init locality reset shutdown stop"
expect "vtpmctl ctrl /run/x.sock locality " "0 1 2 3 4"
expect "vtpmctl lxc-hook --st" "--state-base"
expect "vtpmctl cdi --re" "--remove"
expect "vtpmctl daemon --no-" "--no-sandbox --no-spares"
expect "vtpmctl create --create-ek" "--create-ek --create-ek-cert"
expect "vtpmctl create --pcr-banks sha1,sha3" "sha1,sha384"
expect "vtpmctl ek-cert --key-type " "ecc rsa"
run=$(mktemp -d)
mkdir "$run/web" "$run/db" "$run/half"
touch "$run/web/instance.json" "$run/db/instance.json"
expect "vtpmctl status --run-dir $run " "db web"
expect "vtpmctl destroy --run-dir $run w" "web"
rm -rf "$run"

# Every subcommand of 'vtpmctl --help' is offered.
offered=" $(complete_line "vtpmctl ") "
for cmd in $("$vtpmctl" --help | sed -n 's/^  \([a-z][a-z0-9-]*\) .*/\1/p'); do
	[[ $offered == *" $cmd "* ]] || { echo "FAIL: subcommand '$cmd' is not completed"; status=1; }
done
# Every long option of each subcommand's --help is offered.
for cmd in create ctrl state rules cdi oci-hook lxc-hook daemon list status destroy restart; do
	offered=" $(complete_line "vtpmctl $cmd --") "
	# Option lines: "  -v, --verbose   text", "  --uid U, --gid G  text".
	for opt in $("$vtpmctl" "$cmd" --help | sed -n 's/^ *\(-.*\)/\1/p' | sed 's/  .*//' |
			grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
		[[ $offered == *" $opt "* ]] ||
			{ echo "FAIL: 'vtpmctl $cmd $opt' is not completed"; status=1; }
	done
done
[[ $status == 0 ]] && echo "PASS: every subcommand and long option is completed"
exit $status
BASH
