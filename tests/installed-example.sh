#!/bin/sh
# What a user of the installed library sees: 'make install' into a staging
# directory, then examples/create-vtpm.c and examples/oci-hook.c built with
# nothing but 'pkg-config --cflags --libs libvtpm' and run against the
# installed .so.
# It must fail cleanly without /dev/vtpmx.  Also checks that the manual
# pages (with a page for every function name) and the bash completion are
# installed, and that 'make uninstall' leaves no file behind.
set -eu
make=${MAKE:-make}
pkg_config=${PKG_CONFIG:-pkg-config}
cc=${CC:-cc}
. "$abs_top_srcdir/tests/skip.sh"
command -v "$pkg_config" >/dev/null || skip "pkg-config not installed"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
status=0

. "$abs_top_srcdir/tests/stage-install.sh"
stage_install "$dest"
pc=$staged_pc
so=$staged_so
echo "PASS: installed ${so#"$dest"} and ${pc#"$dest"}"

flags=$($pkg_config --cflags --libs libvtpm) || { echo "FAIL: pkg-config libvtpm"; exit 1; }
case $flags in
*"-I$dest"*) ;;
*) echo "FAIL: pkg-config --cflags does not point into the installed tree: $flags"; exit 1 ;;
esac
# A sanitized libvtpm needs its runtime in the program too.
# shellcheck disable=SC2086
if ! $cc -std=c99 -Wall -Wextra -Werror ${SANITIZER_CFLAGS-} -o "$tmp/create-vtpm" \
		"$abs_top_srcdir/examples/create-vtpm.c" $flags 2>"$tmp/cc.log"; then
	cat "$tmp/cc.log"
	echo "FAIL: examples/create-vtpm.c does not build against the installed library"
	exit 1
fi
echo "PASS: examples/create-vtpm.c builds with: pkg-config --cflags --libs libvtpm"

export LD_LIBRARY_PATH="${so%/*}"
ldd "$tmp/create-vtpm" | grep -q "$dest" ||
	{ echo "FAIL: the example does not load the installed libvtpm.so"; status=1; }
mkdir "$tmp/state"
rc=0
"$tmp/create-vtpm" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ $rc -eq 2 ] || { echo "FAIL: create-vtpm without arguments: exit $rc, want 2"; status=1; }
rc=0
VTPMX=$tmp/no-vtpmx "$tmp/create-vtpm" "$tmp/state" >"$tmp/out" 2>"$tmp/err" || rc=$?
if [ $rc -eq 1 ] && grep -q "no-vtpmx not found: load the module with 'modprobe tpm_vtpm_proxy'" "$tmp/err"; then
	echo "PASS: without /dev/vtpmx: $(tail -n 1 "$tmp/err")"
else
	echo "FAIL: without /dev/vtpmx: exit $rc (want 1), stderr: $(cat "$tmp/err")"
	status=1
fi

# examples/oci-hook.c the same way; its real run is tests/vm/oci-hook-example.vm.
# shellcheck disable=SC2086
if $cc -std=c99 -Wall -Wextra -Werror ${SANITIZER_CFLAGS-} -o "$tmp/oci-hook" \
		"$abs_top_srcdir/examples/oci-hook.c" $flags 2>"$tmp/cc.log"; then
	echo "PASS: examples/oci-hook.c builds with: pkg-config --cflags --libs libvtpm"
	rc=0
	"$tmp/oci-hook" "$tmp" bogus </dev/null 2>"$tmp/err" || rc=$?
	[ $rc -eq 2 ] || { echo "FAIL: oci-hook with a bad stage: exit $rc, want 2"; status=1; }
	rc=0
	echo '{"ociVersion":"1.0.2"' | "$tmp/oci-hook" "$tmp" createRuntime 2>"$tmp/err" || rc=$?
	if [ $rc -eq 1 ] && grep -q '^oci-hook: reading the container state' "$tmp/err"; then
		echo "PASS: oci-hook with a malformed state: $(tail -n 1 "$tmp/err")"
	else
		echo "FAIL: oci-hook with a malformed state: exit $rc (want 1): $(cat "$tmp/err")"
		status=1
	fi
else
	cat "$tmp/cc.log"
	echo "FAIL: examples/oci-hook.c does not build against the installed library"
	status=1
fi

# Manual pages: vtpmctl(1), libvtpm(3) and one page (or alias) per function.
mandir=$(find "$dest" -type d -name man3 | head -n 1)
[ -n "$mandir" ] && [ -f "${mandir%/man3}/man1/vtpmctl.1" ] && [ -f "$mandir/libvtpm.3" ] ||
	{ echo "FAIL: vtpmctl.1 or libvtpm.3 not installed"; status=1; }
if [ -n "$mandir" ]; then
	missing=
	for name in $(sed -n 's/^[ \t]*\(vtpm_[a-z0-9_]*\);.*/\1/p' "$abs_top_srcdir/lib/libvtpm.sym"); do
		[ -f "$mandir/$name.3" ] || missing="$missing $name"
	done
	[ -z "$missing" ] && echo "PASS: every exported function has an installed manual page" ||
		{ echo "FAIL: no installed manual page for:$missing"; status=1; }
	# An alias page must resolve with man's own .so lookup: man3/PAGE.3.
	for alias in "$mandir"/*.3; do
		target=$(sed -n 's/^\.so \(man3\/.*\)$/\1/p' "$alias")
		[ -z "$target" ] || [ -f "${mandir%/man3}/$target" ] ||
			{ echo "FAIL: ${alias##*/} points to missing $target"; status=1; }
	done
fi
completion=$(find "$dest" -path '*bash-completion/completions/vtpmctl' | head -n 1)
[ -n "$completion" ] && echo "PASS: bash completion installed as ${completion#"$dest"}" ||
	{ echo "FAIL: bash completion not installed"; status=1; }

env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $make -C "$abs_top_builddir" uninstall \
	DESTDIR="$dest" >"$tmp/uninstall.log" 2>&1 ||
	{ cat "$tmp/uninstall.log"; echo "FAIL: make uninstall"; exit 1; }
left=$(find "$dest" ! -type d)
[ -z "$left" ] && echo "PASS: make uninstall removes every installed file" ||
	{ echo "FAIL: left after make uninstall:"; echo "$left"; status=1; }
exit $status
