# Manufacture side by side, sourced by bench/bench.vm after its creation rows
# (its daemon, creq, swtpm_start and row): what an RSA 2048 and an ECC
# P-256 EK with its certificate cost ("vtpmctl manufacture -v" reports each
# step; swtpm_setup --create-ek-cert makes one EK, RSA or with --ecc ECC,
# and is timed whole), and create -> first command on a new state with EK
# certificates: a daemon instance asked to manufacture, against
# swtpm_setup --create-ek-cert followed by swtpm chardev --vtpm-proxy.
. "$abs_top_srcdir/tests/vm/manufacture-lib.sh"
mw=/tmp/bench-manufacture
mkdir -p "$mw"
swtpm_setup_config "$mw"
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
sw_setup() { # DIR [OPTIONS]: swtpm_setup --create-ek-cert on a new DIR
	d=$1
	shift
	mkdir -p "$d"
	swtpm_setup --tpm2 --tpmstate "$d" --create-ek-cert --config "$mw/swtpm_setup.conf" "$@" \
		--logfile "$d.log" >/dev/null || fail "swtpm_setup $*: $(cat "$d.log")"
}
log_ms() { sed -n "s/.*$1 in \\([0-9]*\\) ms.*/\\1/p" "$VM_OUT/manufacture.err"; }

# Both CAs are made once per host, on first use: not part of the figures.
"$VTPMCTL" manufacture --state-dir "$mw/first" --create-ek-cert --ca-dir "$mw/ca" ||
	fail "vtpmctl manufacture (CA)"
sw_setup "$mw/sw-first"

t0=$(date +%s%N)
"$VTPMCTL" manufacture --state-dir "$mw/ours" --create-ek-cert --ca-dir "$mw/ca" -v \
	2>"$VM_OUT/manufacture.err" || fail "vtpmctl manufacture: $(cat "$VM_OUT/manufacture.err")"
m_ours=$(ms_since "$t0")
t0=$(date +%s%N)
sw_setup "$mw/sw-rsa"
m_sw_rsa=$(ms_since "$t0")
t0=$(date +%s%N)
sw_setup "$mw/sw-ecc" --ecc
m_sw_ecc=$(ms_since "$t0")
m_rsa=$(( $(log_ms "RSA 2048 EK derived") + $(log_ms "RSA 2048 EK certificate.*") ))
m_ecc=$(( $(log_ms "ECC NIST P-256 EK derived") + $(log_ms "P-256 EK certificate.*") ))

# Create -> first command on a new state with EK certificates.
c_mfg=$(creq mfg1 "{\"manufacture\": {\"create_ek_cert\": true, \"ca_dir\": \"$mw/ca\"}}" |
	cut -d' ' -f1)
t0=$(date +%s%N)
sw_setup "$mw/sw-c"
set -- $(swtpm_start "$mw/sw-c")
c_sw_mfg=$(ms_since "$t0")
kill "$4"

row "manufacture: RSA 2048 EK + cert ms" "$m_rsa" "$m_sw_rsa" "-" "$(ratio "$m_rsa" "$m_sw_rsa")"
row "manufacture: ECC P-256 EK + cert ms" "$m_ecc" "$m_sw_ecc" "-" "$(ratio "$m_ecc" "$m_sw_ecc")"
row "manufacture: process, both EKs + certs ms" "$m_ours" "-" "-" ""
row "create->first cmd ms (new state, EK certs)" "$c_mfg" "$c_sw_mfg" "-" "$(ratio "$c_mfg" "$c_sw_mfg")"
