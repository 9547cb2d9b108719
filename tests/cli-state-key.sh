#!/bin/sh
# cli-state-key.sh - 'vtpmctl state export/import --key' on a state
# directory that swtpm_setup encrypted (tests/data; no kernel): the file is
# written encrypted, a missing or wrong key is refused with one line and
# changes nothing, and an import writes the directory encrypted.
set -eu

vtpmctl=${VTPMCTL:-${abs_top_builddir:-.}/cli/vtpmctl}
data=${abs_top_srcdir:-.}/tests/data
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "PASS: $*"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/a" "$tmp/b"
cp "$data/swtpm-aes256-pbkdf2.permall" "$tmp/a/tpm2-00.permall"
printf 'correct horse battery staple\n' >"$tmp/pw"
key="pwdfile=$tmp/pw,mode=aes-256-cbc"
sum=$(cksum <"$tmp/a/tpm2-00.permall")

# refused CASE WANT COMMAND...: fails with one line that says WANT.
refused() {
	what=$1 want=$2
	shift 2
	"$@" >/dev/null 2>"$tmp/err" && fail "$what: succeeded"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$what: not one line: $(cat "$tmp/err")"
	grep -q "$want" "$tmp/err" || fail "$what: '$(cat "$tmp/err")' does not say '$want'"
	pass "$what: $(cat "$tmp/err")"
}

refused "export without a key" "is encrypted: give its key" \
	"$vtpmctl" state export --state-dir "$tmp/a" "$tmp/f"
refused "export with the other KDF" "key does not open" \
	"$vtpmctl" state export --state-dir "$tmp/a" --key "$key,kdf=sha512" "$tmp/f"
[ ! -e "$tmp/f" ] || fail "a refused export left $tmp/f"
[ "$(cksum <"$tmp/a/tpm2-00.permall")" = "$sum" ] || fail "a refused export changed the state"

"$vtpmctl" state export --state-dir "$tmp/a" --key "$key" "$tmp/f" || fail "export with the key"
[ "$(od -An -tu1 -j23 -N1 "$tmp/f" | tr -d ' ')" = 1 ] || fail "the exported file is not marked encrypted"
pass "exported swtpm's encrypted state into an encrypted state file"

refused "import without a key" "is encrypted: give its key" \
	"$vtpmctl" state import --state-dir "$tmp/b" "$tmp/f"
refused "import with a wrong key" "key does not open" \
	"$vtpmctl" state import --state-dir "$tmp/b" --key "pwdfile=$tmp/pw" "$tmp/f"
[ ! -e "$tmp/b/tpm2-00.permall" ] || fail "a refused import wrote state"

"$vtpmctl" state import --state-dir "$tmp/b" --key "$key" "$tmp/f" || fail "import with the key"
flags=$(od -An -tu1 -j5 -N1 "$tmp/b/tpm2-00.permall" | tr -d ' ')
[ $((flags & 1)) -eq 1 ] || fail "the imported state directory is not encrypted"
pass "imported into a state directory, encrypted (blob header flags $flags)"

# Plain state with a key, and a key file that holds no key.
"$vtpmctl" state export --state-dir "$tmp/b" --key "$key" "$tmp/g" || fail "export of the import"
printf 'not hex' >"$tmp/badkey"
refused "a key file without a key" "does not hold a key" \
	"$vtpmctl" state export --state-dir "$tmp/b" --key "file=$tmp/badkey" "$tmp/h"
pass "a state directory round trip with --key"
