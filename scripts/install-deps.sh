#!/bin/sh
# Install the Debian packages libvtpm needs to build and to run all tests.
# Does nothing when they are all present; needs root otherwise.
set -eu

packages="
autoconf automake libtool pkg-config make gcc
libtpms-dev libcap-ng-dev libjson-c-dev libcmocka-dev libseccomp-dev libssl-dev openssl
valgrind clang groff-base python3 python3-jsonschema jq file abigail-tools
tpm2-tools swtpm swtpm-tools runc crun podman conmon lxc busybox-static
qemu-system-x86 qemu-utils kmod cpio xz-utils zstd
golang-github-opencontainers-specs-dev
golang-github-container-orchestrated-devices-container-device-interface-dev
"

missing=
for p in $packages; do
	status=$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null || :)
	[ "$status" = "install ok installed" ] || missing="$missing $p"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# No recommends: qemu-system-x86 would pull in a whole desktop stack.
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
