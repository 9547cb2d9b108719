#!/bin/sh
# Build libvtpm, create a TPM 2 vTPM with vtpmctl and talk to it with
# tpm2-tools.  Uses this machine's kernel when it has the vTPM proxy driver,
# otherwise boots Debian's kernel in a VM (tests/vm/vm-run) and runs there.
#
# Usage: scripts/quickstart.sh    (as root on a fresh Debian machine)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh scripts/install-deps.sh

if [ ! -x build/cli/vtpmctl ]; then
	echo "quickstart: building into build/"
	./autogen.sh >/dev/null
	mkdir -p build
	(cd build && ../configure >configure.out && make -j"$(nproc)" >make.out)
fi
VTPMCTL=$top/build/cli/vtpmctl
abs_top_srcdir=$top
abs_top_builddir=$top/build
export VTPMCTL abs_top_srcdir abs_top_builddir

if [ -c /dev/vtpmx ] || modprobe tpm_vtpm_proxy 2>/dev/null; then
	exec sh scripts/demo.sh
fi
echo "quickstart: this kernel has no vTPM proxy driver; running the demo in a VM with Debian's kernel"
exec tests/vm/vm-run "$top/scripts/demo.sh"
