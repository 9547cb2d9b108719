#!/bin/sh
# Each public header compiles on its own as strict C99 (and as C++ when a
# C++ compiler is around), so users can include any of them first.
set -eu
cc=${CC:-cc}
cxx=${CXX:-c++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for header in "$abs_top_srcdir"/include/vtpm/*.h; do
	name=vtpm/${header##*/}
	printf '#include <%s>\n#include <%s>\nint vtpm_header_test_dummy;\n' "$name" "$name" >"$tmp/t.c"
	if out=$($cc -std=c99 -pedantic -Werror -Wall -Wextra -Wstrict-prototypes \
			-I"$abs_top_srcdir/include" -c "$tmp/t.c" -o "$tmp/t.o" 2>&1); then
		echo "PASS: $name (C99)"
	else
		echo "FAIL: $name does not compile alone as C99:"
		echo "$out"
		status=1
	fi
	command -v "$cxx" >/dev/null 2>&1 || continue
	cp "$tmp/t.c" "$tmp/t.cc"
	if out=$($cxx -std=c++11 -pedantic -Werror -Wall -Wextra \
			-I"$abs_top_srcdir/include" -c "$tmp/t.cc" -o "$tmp/t.o" 2>&1); then
		echo "PASS: $name (C++11)"
	else
		echo "FAIL: $name does not compile alone as C++11:"
		echo "$out"
		status=1
	fi
done
exit $status
