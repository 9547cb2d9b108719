#!/bin/sh
# The five-minute tour, run by quickstart.sh: a TPM 2 vTPM from vtpmctl,
# used through the kernel's /dev/tpmrmN by tpm2-tools, then stopped.
set -eu
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
vtpmctl=${VTPMCTL:-vtpmctl}
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || :
	rm -rf "$tmp"
}
trap cleanup EXIT

run() {
	echo "\$ $*"
	"$@"
}

# The state directory holds nothing but the TPM's state: create makes it
# and hands it to the serving user.
state=$tmp/state
echo "\$ vtpmctl create --tpm2 --daemon --pidfile $tmp/pid --state-dir $state"
"$vtpmctl" create --tpm2 --daemon --pidfile "$tmp/pid" --state-dir "$state" | tee "$tmp/create.out"
pid=$(cat "$tmp/pid")
rm_dev=$(sed -n 's|^  \(/dev/tpmrm[0-9]*\) .*|\1|p' "$tmp/create.out")

run tpm2_getrandom -T "device:$rm_dev" 16 --hex
echo
run tpm2_pcrextend -T "device:$rm_dev" 16:sha256=b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c
run tpm2_pcrread -T "device:$rm_dev" sha256:16
run tpm2_createprimary -T "device:$rm_dev" -C o -G ecc -c "$tmp/primary.ctx" >/dev/null
echo "created an ECC primary key under the owner hierarchy"
echo "\$ vtpmctl stop $tmp/pid"
"$vtpmctl" stop "$tmp/pid"
pid=
if [ -e "$tmp/pid" ]; then
	echo "demo: vtpmctl stop left $tmp/pid" >&2
	exit 1
fi
echo "vTPM stopped; its state was saved in $state:"
ls "$state"
echo "demo: OK"
