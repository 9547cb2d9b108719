# What a user of the installed library sees, for the tests that build
# against it (sourced; needs abs_top_builddir): 'make install' into a
# staging directory, and pkg-config pointed at it.
#
# stage_install DEST: install into DEST, then set $staged_pc and $staged_so
# (the installed libvtpm.pc and libvtpm.so.*) and export PKG_CONFIG_PATH and
# PKG_CONFIG_SYSROOT_DIR so that 'pkg-config --cflags --libs libvtpm' points
# into DEST.  Fails (exit 1) with the install log if that does not work.
stage_install() {
	# The outer make's job server is not ours to use.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ${MAKE:-make} -C "$abs_top_builddir" install \
		DESTDIR="$1" >"$1.install.log" 2>&1 ||
		{ cat "$1.install.log"; echo "FAIL: make install"; exit 1; }
	staged_pc=$(find "$1" -name libvtpm.pc | head -n 1)
	staged_so=$(find "$1" -name 'libvtpm.so.*' -type f | head -n 1)
	[ -n "$staged_pc" ] && [ -n "$staged_so" ] ||
		{ echo "FAIL: libvtpm.pc or libvtpm.so not installed"; exit 1; }
	# The staged .pc still names the configured prefix; the sysroot variable
	# makes pkg-config prefix its -I and -L paths with the staging directory.
	# Requires.private packages come from the normal search path.
	PKG_CONFIG_PATH=${staged_pc%/*}${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
	PKG_CONFIG_SYSROOT_DIR=$1
	export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
}
