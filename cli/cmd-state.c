/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vtpmctl state: export a TPM's state to a file, import it from one. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vtpmctl.h"

static void state_usage(FILE *f)
{
	fprintf(f,
		"Usage: vtpmctl state export [OPTIONS] SOCKET FILE\n"
		"       vtpmctl state import [OPTIONS] SOCKET FILE\n"
		"       vtpmctl state export|import [OPTIONS] --state-dir DIR FILE\n\n"
		"Copy a TPM's state (permanent, volatile and savestate blobs) into one\n"
		"checksummed file, or back.  SOCKET is the control channel of a running vTPM\n"
		"('vtpmctl create --ctrl') or of swtpm: export leaves it running; import\n"
		"stops it, loads the state and starts it again on that state.  With\n"
		"--state-dir the state directory of a stopped TPM is used directly.  An\n"
		"import first checks that the state is of the TPM's family and that a TPM\n"
		"starts on it, and keeps the previous state if the TPM does not.\n\n"
		"Options:\n"
		"  --state-dir DIR  a state directory (swtpm's layout) instead of SOCKET\n"
		"  --tpm12          the TPM is a TPM 1.2 (export with --state-dir; default\n"
		"                   TPM 2; an import takes the family from FILE)\n"
		"  --key OPTIONS    the FILE is (to be) encrypted with this key, and so is the\n"
		"                   state in --state-dir: swtpm's --key options, see vtpmctl(1)\n"
		"  --timeout SEC    wait at most SEC seconds per control command (default 10)\n"
		"  -h, --help       show this help\n");
}

/* A libtpms backend on @dir, its state checked with @key (NULL: plain). */
static int open_dir(struct vtpm_ctx *ctx, const char *dir, enum vtpm_version version,
		    struct vtpm_state_key *key, struct vtpm_backend **backend)
{
	const struct vtpm_libtpms_options o = {
		.size = sizeof(o), .version = version, .state_dir = dir, .key = key,
	};
	int r = vtpm_backend_new_libtpms_opts(ctx, &o, backend);

	if (r < 0)
		explain_state_error(r, dir);
	return r;
}

static int export_state(struct vtpm_ctx *ctx, const char *sock, const char *dir,
			enum vtpm_version version, int timeout_ms, struct vtpm_state_key *key,
			const char *file)
{
	struct vtpm_ctrl_client *client = NULL;
	struct vtpm_backend *backend = NULL;
	struct vtpm_state *state = NULL;
	int r;

	if (dir) {
		r = open_dir(ctx, dir, version, key, &backend);
		if (r < 0)
			return r;
		r = vtpm_state_from_backend(backend, &state);
	} else {
		r = vtpm_ctrl_client_new(ctx, sock, timeout_ms, &client);
		if (r < 0) {
			explain_address_error("control socket", sock, r);
			return r;
		}
		r = vtpm_state_from_ctrl_client(client, 0, &state);
	}
	if (r == 0)
		r = vtpm_state_write_file_with_key(state, file, key);
	if (r < 0)
		log_error("exporting the state from %s failed: %s", dir ? dir : sock, strerror(-r));
	vtpm_state_unref(state);
	vtpm_backend_unref(backend);
	vtpm_ctrl_client_unref(client);
	return r;
}

/* One line that says why an import was refused, and that nothing is lost. */
static void explain_import_error(int r, const char *file, const char *into, uint32_t tpm_rc)
{
	switch (r) {
	case -EINVAL:
		log_error("cannot import %s into %s: the state is of the other TPM family; "
			  "nothing was changed", file, into);
		break;
	case -EIO:
		log_error("cannot import %s into %s: the TPM refuses the state in it (damaged "
			  "or incompatible); the TPM keeps its previous state", file, into);
		break;
	case -EPROTO:
		log_error("cannot import %s into %s: the TPM fails its start-up on it (TPM "
			  "return code 0x%x); the TPM keeps its previous state", file, into, tpm_rc);
		break;
	case -EBUSY:
		log_error("cannot import %s into %s: the TPM is running; stop it first or use "
			  "its control channel", file, into);
		break;
	case -ENOKEY:
	case -EKEYREJECTED:
	case -EMEDIUMTYPE:
	case -ENOTSUP:
		explain_state_error(r, into);
		break;
	default:
		log_error("importing %s into %s failed: %s", file, into, strerror(-r));
	}
}

static int import_state(struct vtpm_ctx *ctx, const char *sock, const char *dir,
			int timeout_ms, struct vtpm_state_key *key, const char *file)
{
	struct vtpm_ctrl_client *client = NULL;
	struct vtpm_state *state = NULL;
	uint32_t tpm_rc = 0;
	int r;

	r = vtpm_state_read_file_with_key(ctx, file, key, &state);
	if (r < 0) {
		log_error("cannot import %s: %s", file,
			  r == -EBADMSG ? "not a state file, or damaged or truncated" :
			  r == -EPROTONOSUPPORT ? "written in a newer format" :
			  r == -ENOKEY ? "it is encrypted: give its key with --key" :
			  r == -EKEYREJECTED ? "the key does not open it (a wrong key, or tampering)" :
			  strerror(-r));
		return r;
	}
	/* The family, whether the state loads, and a roll-back: the library's. */
	if (dir) {
		r = vtpm_state_import_dir(state, dir, key, &tpm_rc);
	} else {
		r = vtpm_ctrl_client_new(ctx, sock, timeout_ms, &client);
		if (r < 0) {
			explain_address_error("control socket", sock, r);
			vtpm_state_unref(state);
			return r;
		}
		r = vtpm_state_import_ctrl(state, client, &tpm_rc);
	}
	if (r < 0)
		explain_import_error(r, file, dir ? dir : sock, tpm_rc);
	vtpm_state_unref(state);
	vtpm_ctrl_client_unref(client);
	return r;
}

int cmd_state(int argc, char *argv[])
{
	enum { OPT_STATE_DIR = 256, OPT_TPM12, OPT_TIMEOUT, OPT_KEY };
	static const struct option options[] = {
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "tpm12", no_argument, NULL, OPT_TPM12 },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	enum vtpm_version version = VTPM_VERSION_2;
	unsigned long timeout_s = 10;
	const char *dir = NULL, *sock = NULL, *file, *action, *key_opts = NULL;
	struct vtpm_state_key *key = NULL;
	struct vtpm_ctx *ctx = NULL;
	int c, r, want;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		state_usage(stdout);
		return EXIT_OK;
	}
	if (argc < 2 || (strcmp(argv[1], "export") && strcmp(argv[1], "import"))) {
		log_error("state: need 'export' or 'import'");
		state_usage(stderr);
		return EXIT_USAGE;
	}
	action = argv[1];
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_STATE_DIR:
			dir = optarg;
			break;
		case OPT_TPM12:
			version = VTPM_VERSION_1_2;
			break;
		case OPT_KEY:
			key_opts = optarg;
			break;
		case OPT_TIMEOUT:
			if (!parse_uint(optarg, 1, 3600, &timeout_s)) {
				log_error("--timeout: '%s' is not a number of seconds from 1 to 3600", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			state_usage(stdout);
			return EXIT_OK;
		default:
			state_usage(stderr);
			return EXIT_USAGE;
		}
	}
	want = dir ? 1 : 2;
	if (argc - optind != want) {
		log_error("state %s: need %s", action, dir ? "a FILE" : "a SOCKET and a FILE");
		state_usage(stderr);
		return EXIT_USAGE;
	}
	if (!dir)
		sock = argv[optind++];
	file = argv[optind];

	if (new_quiet_ctx(false, &ctx) < 0)
		return EXIT_FAIL;
	c = load_state_key(ctx, key_opts, &key);
	if (c != EXIT_OK) {
		vtpm_ctx_unref(ctx);
		return c;
	}
	if (strcmp(action, "export") == 0)
		r = export_state(ctx, sock, dir, version, (int)timeout_s * 1000, key, file);
	else
		r = import_state(ctx, sock, dir, (int)timeout_s * 1000, key, file);
	vtpm_state_key_unref(key);
	vtpm_ctx_unref(ctx);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
