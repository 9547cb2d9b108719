# What the manufacture scenarios check with real clients; sourced after lib.sh.

# active_banks DEVICE: the banks for which tpm2_pcrread shows PCRs, e.g.
# "sha1,sha384" (it names a deactivated bank without values).
active_banks() {
	tpm2_pcrread -T "device:$1" |
		awk '/^ *sha[0-9]*:/ { bank = $1; sub(/:.*/, "", bank); next }
		     /^ *[0-9]+ *:/ && bank != "" { if (!(bank in seen)) { seen[bank] = 1; out = out sep bank; sep = "," } }
		     END { print out }'
}

# check_cert DER CAFILE [UNTRUSTED]: openssl accepts it as an EK certificate.
check_cert() {
	openssl x509 -inform der -in "$1" -out "$1.pem" || fail "$1 is no DER certificate"
	if [ $# -gt 2 ]; then
		openssl verify -CAfile "$2" -untrusted "$3" "$1.pem" >/dev/null || fail "openssl verify $1"
	else
		openssl verify -CAfile "$2" "$1.pem" >/dev/null || fail "openssl verify $1"
	fi
	openssl x509 -in "$1.pem" -noout -ext extendedKeyUsage | grep -q 2.23.133.8.1 ||
		fail "$1 lacks the EK certificate EKU"
}

# swtpm_setup_config DIR: DIR/swtpm_setup.conf for "swtpm_setup --config", its
# certificates made by swtpm_localca with a CA in DIR/swtpm-localca (made on
# first use), PCR banks as swtpm_setup's default.
swtpm_setup_config() {
	mkdir -p "$1/swtpm-localca"
	cat >"$1/swtpm-localca.conf" <<EOF
statedir = $1/swtpm-localca
signingkey = $1/swtpm-localca/signkey.pem
issuercert = $1/swtpm-localca/issuercert.pem
certserial = $1/swtpm-localca/certserial
EOF
	printf -- '--platform-manufacturer libvtpm\n--platform-version 2.1\n--platform-model test\n' \
		>"$1/swtpm-localca.options"
	cat >"$1/swtpm_setup.conf" <<EOF
create_certs_tool = $(command -v swtpm_localca)
create_certs_tool_config = $1/swtpm-localca.conf
create_certs_tool_options = $1/swtpm-localca.options
active_pcr_banks = sha256
EOF
}
