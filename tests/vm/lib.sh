# Shared helpers for the VM scenarios (tests/vm/*.vm), sourced by each.
# Scenarios run as root inside the guest, see vm-run.

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; exit 1; }
error() { echo "ERROR: $*"; exit 99; }
# Under CI every scenario is required: what would skip fails instead.
skip() {
	case ${CI-} in
	'' | false | 0) echo "SKIP: $*"; exit 77 ;;
	esac
	echo "FAIL: $* (a required scenario cannot be skipped under CI=$CI)"
	exit 1
}
info() { echo "info: $*"; }

# Debian's tools first: the scenarios test against the distribution's
# python3, tpm2-tools and swtpm, not whatever else is on PATH.
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

[ -n "${VM_OUT-}" ] || error "run this through tests/vm/vm-run"
[ -c /dev/vtpmx ] || error "/dev/vtpmx missing: tpm_vtpm_proxy not loaded"
[ -n "${VTPMCTL-}" ] && [ -x "$VTPMCTL" ] || error "VTPMCTL does not name the built vtpmctl"

need() {
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
	done
}

now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# PIDs of the vtpmctl instances this scenario started, stopped at exit.
started_pids=
stop_all() {
	for p in $started_pids; do
		kill "$p" 2>/dev/null || :
	done
}
trap stop_all EXIT

# start_vtpm NAME [create options...]: a daemonized vTPM.  Sets
# NAME_pid, NAME_tpm, NAME_tpmrm and leaves its JSON in $VM_OUT/NAME.json.
start_vtpm() {
	name=$1
	shift
	"$VTPMCTL" create --daemon --json --pidfile "$VM_OUT/$name.pid" "$@" \
		>"$VM_OUT/$name.json" 2>"$VM_OUT/$name.err" ||
		fail "vtpmctl create $*: $(cat "$VM_OUT/$name.err")"
	pid=$(cat "$VM_OUT/$name.pid")
	started_pids="$started_pids $pid"
	eval "${name}_pid=$pid"
	eval "${name}_tpm=$(json_get "$VM_OUT/$name.json" tpm.path)"
	eval "${name}_tpmrm=$(json_get "$VM_OUT/$name.json" tpmrm.path)"
}

# wait_exit PID: until the process is gone, at most 10 s.
wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		[ $i -lt 200 ] || fail "vtpmctl $1 still running 10s after SIGTERM"
		sleep 0.05
		i=$((i + 1))
	done
}

# stop_vtpm PID: SIGTERM, then wait until it is gone (it saves state first).
stop_vtpm() {
	kill "$1" || fail "vtpmctl $1 is not running"
	wait_exit "$1"
}

# wait_gone PATH...: until the nodes are gone, at most 5 s.
wait_gone() {
	for p in "$@"; do
		i=0
		while [ -e "$p" ]; do
			[ $i -lt 100 ] || fail "$p still present 5s later"
			sleep 0.05
			i=$((i + 1))
		done
	done
}

# json_get FILE a.b.c: a scalar from a JSON document ("null" if absent).
json_get() {
	python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("null" if v is None else v)' "$1" "$2"
}
