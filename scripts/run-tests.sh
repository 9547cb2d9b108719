#!/bin/sh
# Build libvtpm and run every test: unit tests, the real-kernel VM
# scenarios, the unit tests under valgrind and under ASan+UBSan.
#
# Usage: scripts/run-tests.sh    (as root on a fresh Debian machine)
# Environment: VTPM_SKIP_VM=1 skips the VM scenarios (never in CI),
#              JOBS=N parallel jobs (default: number of CPUs).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=${JOBS:-$(nproc)}

if [ -n "${CI-}" ] && [ "${VTPM_SKIP_VM-}" = 1 ]; then
	echo "run-tests: VTPM_SKIP_VM=1 is not allowed in CI" >&2
	exit 1
fi

sh scripts/install-deps.sh
./autogen.sh >/dev/null

summary() {
	# Add up automake's per-suite counts into one closing line.
	awk '/^# PASS:/ { p += $3 } /^# SKIP:/ { s += $3 }
	     /^# (FAIL|ERROR|XPASS):/ { f += $3 }
	     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$@"
}

status=0
rm -rf build build-sanitizers
mkdir -p build build-sanitizers

echo "== build and check (unit tests + real-kernel VM scenarios)"
(cd build && ../configure --enable-vm-tests >configure.out &&
	make -j"$jobs" >make.out && make -j"$jobs" check) || status=1

echo "== unit tests under valgrind"
(cd build && make check-valgrind) || status=1

echo "== unit tests with ASan + UBSan"
(cd build-sanitizers && ../configure --enable-sanitizers --disable-vm-tests >configure.out &&
	make -j"$jobs" >make.out && make -j"$jobs" check) || status=1

echo "== fuzz targets, a short run each (make fuzz FUZZ_SECONDS=N for longer)"
(cd build-sanitizers && make fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-15}") || status=1

echo "== distcheck: the tarball builds and passes 'make check' out of tree (VM tests off)"
(cd build && make -j"$jobs" distcheck >distcheck.out 2>&1 && tail -n 4 distcheck.out) ||
	{ tail -n 60 build/distcheck.out; status=1; }

for log in build/test-suite.log build-sanitizers/test-suite.log; do
	[ -f "$log" ] || continue
	if grep -q '^# \(FAIL\|ERROR\): *[1-9]' "$log"; then
		echo "== failures in $log"
		cat "$log"
	fi
done
echo "== summary"
summary build/test-suite.log build-sanitizers/test-suite.log 2>/dev/null || :
[ $status -eq 0 ] && echo "run-tests: all passed" || echo "run-tests: FAILED"
exit $status
