#!/bin/sh
# The ABI of libvtpm.so (its symbols and the types they use, as libabigail
# sees them) matches the baseline committed in abi/libvtpm.abi.  Any
# difference fails, additions too: a baseline that lags behind the library
# would let a later removal of an unrecorded symbol pass unnoticed.
#
# Intentional changes: 'make update-abi' (this script with --update)
# rewrites the baseline; review the diff and commit it with the change.
# Added symbols go to a new node in lib/libvtpm.sym once LIBVTPM_1 is
# released.
set -eu
. "$abs_top_srcdir/tests/skip.sh"
so=$abs_top_builddir/lib/.libs/libvtpm.so
baseline=$abs_top_srcdir/abi/libvtpm.abi
headers=$abs_top_srcdir/include/vtpm

command -v abidw >/dev/null && command -v abidiff >/dev/null ||
	skip "abidw/abidiff not installed (Debian: abigail-tools)"
[ -f "$so" ] || { echo "FAIL: $so not built"; exit 1; }

# Only types reachable from the public headers, no build paths, so the
# file depends on the ABI and not on where or by whom it was built.
dump() {
	abidw --headers-dir "$headers" --drop-private-types --no-corpus-path \
		--no-comp-dir-path --no-show-locs "$so" |
		sed -E "s#path='[^']*/(lib|shared)/#path='\1/#"
}

if [ "${1-}" = --update ]; then
	readelf -S "$so" | grep -q '\.debug_info' ||
		{ echo "update-abi: $so has no debug information: build with -g" >&2; exit 1; }
	dump >"$baseline.tmp"
	mv "$baseline.tmp" "$baseline"
	echo "update-abi: wrote $baseline; review 'git diff abi/' before committing"
	exit 0
fi

[ -f "$baseline" ] || { echo "FAIL: no baseline $baseline: run 'make update-abi'"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dump >"$tmp/current.abi"

if ! readelf -S "$so" | grep -q '\.debug_info'; then
	# Without DWARF libabigail sees only symbols: compare those.
	sed -n "s/.*<elf-symbol name='\([^']*\)' version='\([^']*\)'.*/\1@\2/p" "$baseline" |
		sort >"$tmp/base.sym"
	sed -n "s/.*<elf-symbol name='\([^']*\)' version='\([^']*\)'.*/\1@\2/p" "$tmp/current.abi" |
		sort >"$tmp/cur.sym"
	if diff -u "$tmp/base.sym" "$tmp/cur.sym"; then
		echo "PASS: symbols match abi/libvtpm.abi (no debug information: types not compared)"
		exit 0
	fi
	echo "FAIL: the exported symbols differ from abi/libvtpm.abi (see above)"
	exit 1
fi

rc=0
abidiff "$baseline" "$tmp/current.abi" >"$tmp/report" 2>&1 || rc=$?
if [ $rc -eq 0 ]; then
	echo "PASS: libvtpm.so matches abi/libvtpm.abi"
	exit 0
fi
cat "$tmp/report"
if [ $((rc & 8)) -ne 0 ]; then
	echo "FAIL: incompatible ABI change against abi/libvtpm.abi (see above)"
elif [ $((rc & 4)) -ne 0 ]; then
	echo "FAIL: the ABI changed compatibly (e.g. new symbols); if intended,"
	echo "      run 'make update-abi' and commit abi/libvtpm.abi with the change"
else
	echo "FAIL: abidiff failed (exit $rc)"
fi
exit 1
