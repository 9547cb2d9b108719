#!/bin/sh
# The shared library exports exactly what lib/libvtpm.sym lists: only
# vtpm_* names, each one defined, each one declared in a public header,
# and nothing defined with default visibility that the script leaves out.
set -eu
. "$abs_top_srcdir/tests/skip.sh"
command -v nm >/dev/null || skip "nm not installed"
so=$abs_top_builddir/lib/.libs/libvtpm.so
sym=$abs_top_srcdir/lib/libvtpm.sym
[ -f "$so" ] || { echo "FAIL: $so not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

# Names in the version script's global: sections (comments stripped).
sed -e 's,/\*.*\*/,,' -e '/\/\*/,/\*\//d' "$sym" |
	awk '/global:/ { g = 1; next } /local:/ || /^[ \t]*}/ { g = 0 }
	     g { n = split($0, f, ";"); for (i = 1; i <= n; i++) { gsub(/[ \t{}]/, "", f[i]); if (f[i] ~ /^[A-Za-z_]/) print f[i] } }' |
	sort >"$tmp/script"
# Dynamic symbols the library defines, minus the version nodes (absolute
# symbols named after the nodes), without their @@NODE suffix.
nm -D --defined-only "$so" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort >"$tmp/exported"
# Version nodes: every exported symbol is bound to a LIBVTPM_N node.
nm -D --defined-only "$so" | awk '$2 != "A" && $3 !~ /@@LIBVTPM_[0-9]+$/ { print }' >"$tmp/unversioned"

if [ ! -s "$tmp/script" ]; then
	echo "FAIL: no symbols found in $sym"
	exit 1
fi
if grep -v '^vtpm_' "$tmp/exported" >"$tmp/foreign"; then
	echo "FAIL: symbols outside the vtpm_ namespace leak from libvtpm.so:"
	sed 's/^/  /' "$tmp/foreign"
	status=1
fi
if [ -s "$tmp/unversioned" ]; then
	echo "FAIL: exported symbols without a LIBVTPM_N version node:"
	sed 's/^/  /' "$tmp/unversioned"
	status=1
fi
comm -23 "$tmp/script" "$tmp/exported" >"$tmp/undefined"
if [ -s "$tmp/undefined" ]; then
	echo "FAIL: listed in libvtpm.sym but not defined (or not VTPM_EXPORT):"
	sed 's/^/  /' "$tmp/undefined"
	status=1
fi
comm -13 "$tmp/script" "$tmp/exported" >"$tmp/unlisted"
if [ -s "$tmp/unlisted" ]; then
	echo "FAIL: exported but missing from libvtpm.sym:"
	sed 's/^/  /' "$tmp/unlisted"
	status=1
fi
# Every listed symbol is declared in a public header.
while read -r name; do
	grep -q "[ *]$name(" "$abs_top_srcdir"/include/vtpm/*.h ||
		{ echo "FAIL: $name is exported but no header in include/vtpm/ declares it"; status=1; }
done <"$tmp/script"

[ $status -eq 0 ] && echo "PASS: libvtpm.so exports exactly the $(wc -l <"$tmp/script") symbols of libvtpm.sym"
exit $status
