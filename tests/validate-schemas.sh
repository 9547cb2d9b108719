#!/bin/sh
# The OCI and CDI JSON that vtpmctl generates validate against the upstream
# JSON schemas, as Debian ships them (golang-github-opencontainers-specs-dev,
# golang-github-container-orchestrated-devices-container-device-interface-dev;
# OCI_SCHEMAS and CDI_SCHEMAS point elsewhere).  Needs python3-jsonschema.
set -u
. "$abs_top_srcdir/tests/skip.sh"
gocode=/usr/share/gocode/src/github.com
oci_schemas=${OCI_SCHEMAS:-$gocode/opencontainers/runtime-spec/schema}
cdi_schemas=${CDI_SCHEMAS:-$gocode/container-orchestrated-devices/container-device-interface/schema}
for f in "$oci_schemas/config-schema.json" "$cdi_schemas/schema.json"; do
	[ -r "$f" ] || skip "$f missing (see scripts/install-deps.sh)"
done
vtpmctl=$VTPMCTL
python=/usr/bin/python3
[ -x "$python" ] || python=python3
if ! "$python" -c 'import jsonschema' 2>/dev/null; then
	skip "python3 jsonschema not installed (Debian: python3-jsonschema)"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A stand-in TPM node: "tpm7" is a character device (/dev/null) for stat(2).
ln -s /dev/null "$tmp/tpm7"

status=0
validate() { # NAME SCHEMA WRAP FILE
	if "$python" - "$2" "$3" "$4" <<'PY'
import json, os, sys, warnings
import jsonschema

schema_path, wrap, doc_path = sys.argv[1:]
with open(schema_path) as f:
    schema = json.load(f)
with open(doc_path) as f:
    doc = json.load(f)
if wrap == "oci":
    # Our output is the "linux" part of a config.json: complete it minimally.
    doc = dict(ociVersion="1.0.2", root=dict(path="rootfs"), **doc)
base = "file://" + os.path.abspath(os.path.dirname(schema_path)) + "/"
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    resolver = jsonschema.RefResolver(base_uri=base, referrer=schema)
    cls = jsonschema.validators.validator_for(schema)
    errors = sorted(cls(schema, resolver=resolver).iter_errors(doc), key=str)
for e in errors:
    print("  %s: %s" % ("/".join(map(str, e.absolute_path)), e.message))
sys.exit(1 if errors else 0)
PY
	then
		echo "PASS: $1 validates against $(basename "$(dirname "$2")")/$(basename "$2")"
	else
		echo "FAIL: $1 does not validate"
		status=1
	fi
}

for opts in "" "--uid 1000 --gid 59 --mode 0600 --path /dev/vtpm/tpm0"; do
	# shellcheck disable=SC2086
	"$vtpmctl" rules --format oci $opts "$tmp/tpm7" >"$tmp/oci.json" || { echo "FAIL: vtpmctl rules --format oci $opts"; status=1; }
	validate "oci rules $opts" "$oci_schemas/config-schema.json" oci "$tmp/oci.json"
	# shellcheck disable=SC2086
	"$vtpmctl" rules --format cdi $opts "$tmp/tpm7" >"$tmp/cdi.json" || { echo "FAIL: vtpmctl rules --format cdi $opts"; status=1; }
	validate "cdi spec $opts" "$cdi_schemas/schema.json" cdi "$tmp/cdi.json"
done

# vtpmctl cdi: a spec file with two devices, then one removed.
"$vtpmctl" cdi --dir "$tmp/cdi" "$tmp/tpm7" >/dev/null &&
	"$vtpmctl" cdi --dir "$tmp/cdi" --name other "$tmp/tpm7" >/dev/null ||
	{ echo "FAIL: vtpmctl cdi"; status=1; }
spec=$tmp/cdi/libvtpm.org-vtpm.json
validate "vtpmctl cdi spec file" "$cdi_schemas/schema.json" cdi "$spec"
n=$("$python" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["devices"]))' "$spec")
[ "$n" = 2 ] && echo "PASS: vtpmctl cdi: 2 devices" || { echo "FAIL: vtpmctl cdi: $n devices"; status=1; }
"$vtpmctl" cdi --dir "$tmp/cdi" --remove tpm7 other >/dev/null || { echo "FAIL: vtpmctl cdi --remove"; status=1; }
[ ! -e "$spec" ] && echo "PASS: vtpmctl cdi --remove: empty spec deleted" || { echo "FAIL: $spec left"; status=1; }
exit $status
