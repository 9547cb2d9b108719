# Helpers for the container scenarios (tests/vm/container-*.vm), sourced
# after lib.sh: a busybox root (a bundle for runc) and a TPM probe for
# inside it.

# make_rootfs DIR: a static busybox with every applet in DIR/bin, the
# usual mount points, and DIR/probe.sh (see below).
make_rootfs() {
	r=$1
	bb=$(command -v busybox) || skip "busybox not installed"
	file -L "$bb" 2>/dev/null | grep -q 'statically linked' || skip "$bb is not static (install busybox-static)"
	mkdir -p "$r/bin" "$r/dev" "$r/proc" "$r/sys" "$r/tmp"
	cp "$bb" "$r/bin/busybox"
	for a in $("$bb" --list); do
		[ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
	done
	write_probe "$r/probe.sh"
}

# make_bundle DIR [RUNTIME]: DIR/rootfs from make_rootfs and DIR/config.json
# from 'RUNTIME spec' (default runc; read-write root, no terminal).
make_bundle() {
	b=$1
	make_rootfs "$b/rootfs"
	(cd "$b" && "${2:-runc}" spec) || fail "${2:-runc} spec"
	jq '.process.terminal = false | .root.readonly = false' "$b/config.json" >"$b/config.tmp" &&
		mv "$b/config.tmp" "$b/config.json"
}

# config_edit DIR JQ-FILTER [jq args...]: rewrite DIR/config.json.
config_edit() {
	b=$1
	f=$2
	shift 2
	jq "$@" "$f" "$b/config.json" >"$b/config.tmp" || fail "jq $f"
	mv "$b/config.tmp" "$b/config.json"
}

# The probe runs inside the container (busybox sh).  "probe.sh tpm DEV"
# sends TPM2_GetRandom(16) through DEV and checks the response header;
# "probe.sh denied DEV" checks that opening DEV fails with EPERM;
# "probe.sh baseline /dev/zero" runs the processes of "tpm" without a TPM.
# Each check prints "CPASS: ..." or "CFAIL: ..." and exits 0 or 1.
write_probe() {
	cat >"$1" <<'PROBE'
#!/bin/sh
what=$1
dev=$2
case $what in
tpm | baseline)
	# "baseline" (bench/container.sh) runs the same processes on DEV
	# (/dev/zero) without a TPM, and checks no TPM header.
	bs=4096 label=TPM2_GetRandom
	[ "$what" = tpm ] || { bs=28 label=baseline; }
	[ -c "$dev" ] || { echo "CFAIL: $dev is not a character device"; exit 1; }
	exec 3<>"$dev" || { echo "CFAIL: cannot open $dev"; exit 1; }
	# TPM2_GetRandom(16): tag 0x8001 (TPM_ST_NO_SESSIONS), size 12,
	# command code 0x17b (TPM2_CC_GetRandom), bytesRequested 16.
	# TPM 2.0 Part 3, 16.1.  In octal for busybox printf.
	printf '\200\001\000\000\000\014\000\000\001\173\000\020' >&3
	resp=$(dd bs=$bs count=1 <&3 2>/dev/null | od -An -v -tx1)
	exec 3>&-
	set -- $resp
	[ $# -eq 28 ] || { echo "CFAIL: $dev answered $# bytes: $resp"; exit 1; }
	if [ "$what" = tpm ]; then
		[ "$1$2" = 8001 ] || { echo "CFAIL: $dev: bad tag $1$2"; exit 1; }
		[ "$7$8$9${10}" = 00000000 ] ||
			{ echo "CFAIL: $dev: response code $7$8$9${10}"; exit 1; }
	fi
	echo "CPASS: $label through $dev: $(echo $resp | tr -d ' ' | cut -c25-)"
	;;
denied)
	if (: <"$dev") 2>/tmp/err; then
		echo "CFAIL: opening $dev worked, the cgroup should deny it"
		exit 1
	fi
	grep -q 'not permitted' /tmp/err || { echo "CFAIL: $dev: $(cat /tmp/err)"; exit 1; }
	echo "CPASS: opening $dev: Operation not permitted"
	;;
absent)
	[ ! -e "$dev" ] || { echo "CFAIL: $dev still exists"; exit 1; }
	echo "CPASS: $dev is gone"
	;;
*)
	echo "CFAIL: probe.sh: unknown check $what"
	exit 1
	;;
esac
PROBE
	chmod 755 "$1"
}

# check_probe_output FILE: every CPASS becomes a PASS; any CFAIL fails.
check_probe_output() {
	grep '^CPASS: ' "$1" | sed 's/^CPASS: /PASS: container: /' || :
	if grep -q '^CFAIL: ' "$1"; then
		fail "in the container: $(grep '^CFAIL: ' "$1" | head -1)"
	fi
}
