#!/bin/sh
# The manual covers the interfaces: every exported function is named in the
# NAME section of a section-3 page (so 'man FUNCTION' works once the alias
# pages are installed) and no page names a function that does not exist;
# every page in man/ is installed; vtpmctl(1) has a section per subcommand
# that mentions each of its long options.
set -eu
src=$abs_top_srcdir
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

# ---- library functions
sed -n 's/^[ \t]*\(vtpm_[a-z0-9_]*\);.*/\1/p' "$src/lib/libvtpm.sym" | sort -u >"$tmp/exported"
pages3=
for page in $MANPAGES; do
	case $page in *.3) pages3="$pages3 $src/$page" ;; esac
done
# shellcheck disable=SC2086
sh "$src/man/list-names.sh" --all $pages3 | awk '$1 ~ /^vtpm_/ { print $1 }' | sort >"$tmp/named"
sort -u "$tmp/named" | comm -23 "$tmp/exported" - >"$tmp/undocumented"
if [ -s "$tmp/undocumented" ]; then
	echo "FAIL: exported functions in no manual page's NAME section:"
	sed 's/^/  /' "$tmp/undocumented"
	status=1
else
	echo "PASS: all $(wc -l <"$tmp/exported") exported functions are named in a manual page"
fi
sort -u "$tmp/named" | comm -13 "$tmp/exported" - >"$tmp/stale"
if [ -s "$tmp/stale" ]; then
	echo "FAIL: manual pages name functions libvtpm.so does not export:"
	sed 's/^/  /' "$tmp/stale"
	status=1
fi
uniq -d "$tmp/named" >"$tmp/twice"
if [ -s "$tmp/twice" ]; then
	echo "FAIL: functions named by more than one page (their alias would clash):"
	sed 's/^/  /' "$tmp/twice"
	status=1
fi

# ---- every page in the source tree is installed (and so distributed)
for page in "$src"/man/*.[1-8]; do
	case " $MANPAGES " in
	*" man/${page##*/} "*) ;;
	*) echo "FAIL: man/${page##*/} is not in dist_man_MANS"; status=1 ;;
	esac
done

# ---- vtpmctl(1): each subcommand and its long options
man1=$src/man/vtpmctl.1
sed -n 's/^[ \t]*{ "\([a-z0-9-]*\)", \(cmd_[a-z0-9_]*\),.*/\1 \2/p' "$src/cli/vtpmctl.c" >"$tmp/commands"
[ -s "$tmp/commands" ] || { echo "FAIL: no subcommands found in cli/vtpmctl.c"; exit 1; }
# "NAME ENUM" of the shared container options.
sed -n '/^#define CONTAINER_LONG_OPTIONS/,/^$/s/.*{ "\([a-z0-9-]*\)", [a-z_]*, NULL, \(CONTAINER_OPT_[A-Z_]*\).*/\1 \2/p' \
	"$src/cli/vtpmctl.h" >"$tmp/container-opts"
while read -r name fn; do
	file=$(grep -l "^int $fn(" "$src"/cli/*.c | head -n 1)
	[ -n "$file" ] || { echo "FAIL: no file defines $fn"; status=1; continue; }
	# The section: from '.SS "NAME ...' to the next .SS or .SH.
	awk -v name="$name" '
		/^\.S[SH] / { if (on) exit; }
		/^\.SS / { t = $0; sub(/^\.SS "?/, "", t); gsub(/\\-/, "-", t); split(t, w, /[ "]/); on = (w[1] == name); next }
		on { print }' "$man1" >"$tmp/section"
	if [ ! -s "$tmp/section" ]; then
		echo "FAIL: vtpmctl.1 has no section for '$name'"
		status=1
		continue
	fi
	opts=$(sed -n 's/^[ \t]*{ "\([a-z0-9-]*\)", [a-z_]*_argument,.*/\1/p' "$file")
	# Of the shared container options, a subcommand that names some in
	# 'case' labels takes only those; one that names none takes them all.
	if grep -q CONTAINER_LONG_OPTIONS "$file"; then
		while read -r opt enum; do
			if ! grep -q "case CONTAINER_OPT_" "$file" || grep -q "case $enum:" "$file"; then
				opts="$opts $opt"
			fi
		done <"$tmp/container-opts"
	fi
	# The shared manufacture options: all of them wherever the table is used.
	if grep -q MANUFACTURE_LONG_OPTIONS "$file"; then
		opts="$opts $(sed -n '/^#define MANUFACTURE_LONG_OPTIONS/,/^$/s/.*{ "\([a-z0-9-]*\)", .*/\1/p' \
			"$src/cli/vtpmctl.h")"
	fi
	missing=
	for opt in $opts; do
		[ "$opt" = help ] && continue
		o=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
		grep -q -- "\\\\-\\\\-$o\\b" "$tmp/section" || missing="$missing --$opt"
	done
	if [ -n "$missing" ]; then
		echo "FAIL: vtpmctl.1, '$name': options not described:$missing"
		status=1
	else
		echo "PASS: vtpmctl.1 describes '$name' and its options"
	fi
done <"$tmp/commands"
exit $status
