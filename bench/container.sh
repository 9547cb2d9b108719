# What a container user feels, sourced by bench.vm while its daemon runs:
# the start latency a vTPM adds to a real runc container (create + start
# until a TPM2_GetRandom inside it answered, minus the same container
# without a TPM, whose probe runs the same processes on /dev/zero), and
# the host memory each idle container's TPM costs (Private_Dirty of every
# process serving it; the manager process, shared by all instances, is
# reported above).  Four bundles on one rootfs, run interleaved
# BENCH_CONTAINER_N times each:
#   none     no hook, the probe on /dev/zero
#   daemon   vtpmctl oci-hook, the daemon answering (a spare for new state)
#   alone    vtpmctl oci-hook, VTPMCTL_MANAGER_RUN_DIR=none: its own server
#   swtpm    a hook script as users write it: swtpm_setup, then
#            swtpm chardev --vtpm-proxy, a node made in the container and
#            the tpmrm major allowed in its config
# Needs: $run (the daemon's run dir), $states (its state root), row, ratio,
# swtpm_start, vtpmctl_start.
CN=${BENCH_CONTAINER_N:-5}
. "$abs_top_srcdir/tests/vm/container-lib.sh"
need runc jq nsenter swtpm_setup
cb=/tmp/cbench
rm -rf "$cb"
mkdir -p "$cb/run" "$cb/sw"
make_bundle "$cb/base"
# The tpmrm nodes' major, from one that exists (the daemon's "warm").
tpmrm_major=$(cat /sys/class/tpmrm/tpmrm*/dev 2>/dev/null | head -n 1 | cut -d: -f1)
[ -n "$tpmrm_major" ] || fail "no tpmrm device in /sys/class/tpmrm"

cat >"$cb/swtpm-hook" <<'HOOK'
#!/bin/sh
# createRuntime|poststop: the swtpm way, as a user scripts it.
set -eu
st=$(cat)
id=$(echo "$st" | jq -r .id)
d=/tmp/cbench/sw/$id
case $1 in
createRuntime)
	pid=$(echo "$st" | jq -r .pid)
	rootfs=$(jq -r .root.path "$(echo "$st" | jq -r .bundle)/config.json")
	mkdir -p "$d"
	swtpm_setup --tpm2 --tpmstate "$d" --createek >"$d/setup.log" 2>&1 ||
		{ cat "$d/setup.log" >&2; exit 1; }
	swtpm chardev --vtpm-proxy --tpm2 --tpmstate dir="$d" --flags startup-clear \
		--daemon --pid file="$d/pid" >"$d/out" 2>&1
	n=$(sed -n 's|.*New TPM device: /dev/tpm\([0-9]*\).*|\1|p' "$d/out")
	i=0
	while [ ! -e "/sys/class/tpmrm/tpmrm$n/dev" ]; do
		if [ $i -ge 3000 ]; then
			echo "tpm$n did not register: $(cat "$d/out")" >&2
			exit 1
		fi
		sleep 0.01
		i=$((i + 1))
	done
	IFS=: read -r maj min <"/sys/class/tpmrm/tpmrm$n/dev"
	nsenter -t "$pid" -m mknod -m 0666 "$rootfs/dev/tpmrm0" c "$maj" "$min"
	;;
poststop)
	[ -s "$d/pid" ] && kill "$(cat "$d/pid")" || :
	;;
esac
HOOK
chmod 755 "$cb/swtpm-hook"

# bundle NAME HOOK-JQ: a bundle on the shared rootfs; its marker dir /out.
bundle() {
	mkdir -p "$cb/$1/out"
	jq --arg root "$cb/base/rootfs" --arg out "$cb/$1/out" --arg v "$VTPMCTL" \
		--arg ld "${LD_LIBRARY_PATH-}" \
		--arg r "$cb/run" --arg s "$states/oci" --arg m "$run" --arg sw "$cb/swtpm-hook" \
		--argjson maj "$tpmrm_major" --arg what "$1" '
		.root.path = $root
		| .mounts += [{"destination": "/out", "type": "bind", "source": $out,
			      "options": ["rbind", "rw"]}]
		| .process.args = ["/bin/sh", "-c",
			(if $what == "none" then "/probe.sh baseline /dev/zero"
			 else "/probe.sh tpm /dev/tpmrm0" end) + " >/out/result 2>&1"
			+ "; echo >/out/done; exec sleep 600"]
		| '"$2" "$cb/base/config.json" >"$cb/$1/config.json" || fail "jq $1"
}
# The hooks get the library path of the vtpmctl measured (bench/run).
oci_hooks='.hooks = {
	"createRuntime": [{"path": $v,
			   "env": ["VTPMCTL_MANAGER_RUN_DIR=" + $m, "LD_LIBRARY_PATH=" + $ld],
			   "args": ["vtpmctl", "oci-hook", "--run-dir", $r, "--state-base", $s,
				    "createRuntime"]}],
	"poststop": [{"path": $v,
		      "env": ["VTPMCTL_MANAGER_RUN_DIR=" + $m, "LD_LIBRARY_PATH=" + $ld],
		      "args": ["vtpmctl", "oci-hook", "--run-dir", $r, "--state-base", $s,
			       "poststop"]}]}'
bundle none '.'
bundle daemon "$oci_hooks"
bundle alone "$(echo "$oci_hooks" | sed 's/"VTPMCTL_MANAGER_RUN_DIR=" + $m/"VTPMCTL_MANAGER_RUN_DIR=none"/g')"
bundle swtpm '.hooks = {
	"createRuntime": [{"path": $sw, "args": ["swtpm-hook", "createRuntime"],
			   "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp/cbench"]}],
	"poststop": [{"path": $sw, "args": ["swtpm-hook", "poststop"],
		      "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp/cbench"]}]}
	| .linux.resources.devices += [{"allow": true, "type": "c", "major": $maj,
					"access": "rwm"}]'

# pd_sum PID...: Private_Dirty kB of the processes together.
pd_sum() {
	t=0
	for p in "$@"; do
		t=$((t + $(pdirty "$p")))
	done
	echo $t
}
# tpm_pids WHAT ID: the processes that serve container ID's TPM.
tpm_pids() {
	case $1 in
	daemon) "$VTPMCTL" list --run-dir "$run" --json |
		jq -r --arg n "oci-$2" '.[] | select(.name == $n) | .pid' ;;
	alone) cat "$cb/run/$2.pid" ;;
	swtpm) cat "$cb/sw/$2/pid" ;;
	esac
}

# start_one WHAT I: ms from runc create until the container wrote its marker.
# A failed start of the swtpm way is counted and retried (the kernel gives
# up on a TPM whose start-up self test is slow on a loaded host).
start_one() {
	id=$1-$2
	rm -f "$cb/$1/out/done" "$cb/$1/out/result"
	t0=$(date +%s%N)
	if ! timeout 120 runc create -b "$cb/$1" "$id" </dev/null >/dev/null \
			2>"$VM_OUT/c-$id.err"; then
		[ "$1" = swtpm ] || fail "runc create $id: $(cat "$VM_OUT/c-$id.err")"
		info "runc create $id failed: $(cat "$VM_OUT/c-$id.err")"
		echo "$id" >>"$cb/swtpm.failed"
		runc delete -f "$id" 2>/dev/null || :
		return 1
	fi
	runc start "$id" || fail "runc start $id"
	k=0
	while [ ! -e "$cb/$1/out/done" ]; do
		[ $k -lt 24000 ] || fail "$id: no marker after 120 s"
		sleep 0.005
		k=$((k + 1))
	done
	t1=$(date +%s%N)
	grep -q '^CPASS' "$cb/$1/out/result" || fail "$id: $(cat "$cb/$1/out/result")"
	# Idle: a libvtpm TPM gives its scratch pages back after 1 s without
	# a command (swtpm's memory does not change with the wait).
	if [ "$1" != none ]; then
		sleep 2
		echo "$(pd_sum $(tpm_pids "$1" "$id"))" >>"$cb/$1.mem"
	fi
	echo $(( (t1 - t0) / 1000000 )) >>"$cb/$1.ms"
	runc kill "$id" KILL 2>/dev/null || :
	k=0
	while runc state "$id" 2>/dev/null | jq -e '.status != "stopped"' >/dev/null; do
		[ $k -lt 400 ] || fail "$id did not stop"
		sleep 0.05
		k=$((k + 1))
	done
	runc delete "$id" || fail "runc delete $id (poststop)"
}

# stats FILE: "median min max" of the numbers in FILE.
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%g %g %g\n", m, v[1], v[NR] }'
}

for n in $(seq "$CN"); do
	for what in none daemon alone swtpm; do
		try=0
		until start_one "$what" "$n$try"; do
			try=$((try + 1))
			[ $try -lt 3 ] || fail "the swtpm way failed 3 times in a row"
		done
		# Let the daemon make its spare again, as between real starts.
		[ "$what" = daemon ] && sleep "${BENCH_SPARE_WAIT:-10}"
	done
done
set -- $(stats "$cb/none.ms"); none_med=$1; none_min=$2; none_max=$3
for what in daemon alone swtpm; do
	set -- $(stats "$cb/$what.ms")
	eval ${what}_add=$(awk -v a="$1" -v b="$none_med" 'BEGIN { print a - b }') \
		${what}_spread="$2..$3"
	set -- $(stats "$cb/$what.mem")
	eval ${what}_mem=$1
done
row "container start ms, no TPM (median, N=$CN)" "$none_med" "" "" "$none_min..$none_max"
row "container +start ms, daemon running" "$daemon_add" "$swtpm_add" "-" \
	"$(ratio "$daemon_add" "$swtpm_add")"
row "container +start ms, no daemon" "$alone_add" "$swtpm_add" "-" \
	"$(ratio "$alone_add" "$swtpm_add")"
row "  with-TPM start ms min..max (d/alone/sw)" "$daemon_spread" "$swtpm_spread" "$alone_spread" ""
row "idle container TPM Private_Dirty kB, daemon" "$daemon_mem" "$swtpm_mem" "-" \
	"$(ratio "$daemon_mem" "$swtpm_mem")"
row "idle container TPM Private_Dirty kB, no daemon" "$alone_mem" "$swtpm_mem" "-" \
	"$(ratio "$alone_mem" "$swtpm_mem")"
row "swtpm way: failed container starts" "" "$(cat "$cb/swtpm.failed" 2>/dev/null | wc -l)" "" ""

# A standalone start next to swtpm's (median of BENCH_CONTAINER_N), each
# from a new and from an existing state directory until a TPM2_GetRandom
# on the tpmrm node answers: 'vtpmctl create --standalone --daemon'
# (returns once the kernel registered the device) and swtpm_start (swtpm
# chardev --vtpm-proxy --daemon, which returns before, and the wait for its
# node).  Besides: the process start alone ('create --help': exec, dynamic
# linking of libvtpm, libtpms, OpenSSL), and swtpm_setup --createek, the
# step the swtpm way above adds before its swtpm chardev.
for f in help new old sw-new sw-old setup; do : >"$cb/b-$f"; done
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
for rep in $(seq "$CN"); do
	t0=$(date +%s%N); "$VTPMCTL" create --help >/dev/null; ms_since "$t0" >>"$cb/b-help"
	for kind in new old; do
		vtpmctl_start "$cb/b.json" create --standalone --daemon --pidfile "$cb/b.pid" \
			--state-dir "$cb/b-state-$rep" >>"$cb/b-$kind"
		# The confined server cannot remove its pid file: stop does.
		"$VTPMCTL" stop --timeout 60 "$cb/b.pid" || fail "the standalone server did not stop"
		set -- $(swtpm_start "$cb/b-sw-$rep")
		echo "$1" >>"$cb/b-sw-$kind"
		kill "$4"
		wait_exit "$4"
	done
	mkdir -p "$cb/b-setup-$rep"
	t0=$(date +%s%N)
	swtpm_setup --tpm2 --tpmstate "$cb/b-setup-$rep" --createek >/dev/null 2>&1 || fail "swtpm_setup"
	ms_since "$t0" >>"$cb/b-setup"
done
med() { stats "$1" | cut -d' ' -f1; }
row "standalone: process start ms (create --help)" "$(med "$cb/b-help")" "" "" ""
row "standalone: start ms, new state" "$(med "$cb/b-new")" "$(med "$cb/b-sw-new")" "" \
	"$(ratio "$(med "$cb/b-new")" "$(med "$cb/b-sw-new")")"
row "standalone: start ms, existing state" "$(med "$cb/b-old")" "$(med "$cb/b-sw-old")" "" \
	"$(ratio "$(med "$cb/b-old")" "$(med "$cb/b-sw-old")")"
row "swtpm_setup --createek ms" "" "$(med "$cb/b-setup")" "" ""
