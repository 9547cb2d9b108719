/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Replacing a TPM's state without ever losing its identity.
 *
 * A permanent blob holds the TPM's seeds: overwritten by one that libtpms
 * refuses (another TPM family, or bytes with a valid file checksum but a
 * damaged content), the TPM never starts again and its keys are gone.  So
 * an import checks the family first, then loads the new state into a
 * scratch TPM and starts it up, and only then replaces the blobs; the old
 * ones stay in memory, and if the TPM still fails to start on the new
 * state they are put back.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file-util.h"
#include "vtpm-internal.h"

/* The permanent blob file of each family in a state directory (swtpm's names). */
static const char *permanent_file(enum vtpm_version version)
{
	return version == VTPM_VERSION_2 ? "tpm2-00.permall" : "tpm-00.permall";
}

VTPM_EXPORT int vtpm_state_check(const struct vtpm_state *state, uint32_t *tpm_rc)
{
	struct vtpm_ctx *ctx = vtpm_state_get_ctx(state);
	struct vtpm_backend *b = NULL;
	const char *tmp = secure_getenv("TMPDIR");
	char *dir = NULL;
	int r;

	if (tpm_rc)
		*tpm_rc = 0;
	if (asprintf(&dir, "%s/vtpm-check-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
		return -ENOMEM;
	if (!mkdtemp(dir)) {
		r = -errno;
		free(dir);
		return r;
	}
	r = vtpm_backend_new_libtpms(ctx, vtpm_state_get_version(state), dir, 0, &b);
	if (r == 0)
		r = vtpm_state_to_backend(state, b);
	if (r == 0)
		r = vtpm_backend_startup(b, 0, tpm_rc);
	vtpm_backend_unref(b);
	vtpm_remove_flat_dir(dir);
	free(dir);
	return r;
}

/* Put @old back after a failed import; NULL: there was no state before. */
static void roll_back(struct vtpm_backend *backend, const struct vtpm_state *old)
{
	struct vtpm_ctx *ctx = vtpm_backend_get_ctx(backend);
	int r;

	vtpm_backend_shutdown(backend);
	if (!old)
		return;
	r = vtpm_state_to_backend(old, backend);
	if (r < 0)
		err(ctx, "restoring the previous state failed: %s", strerror(-r));
}

VTPM_EXPORT int vtpm_state_import_backend(const struct vtpm_state *state,
					  struct vtpm_backend *backend, uint32_t *tpm_rc)
{
	struct vtpm_state *old = NULL;
	int r;

	if (tpm_rc)
		*tpm_rc = 0;
	if (vtpm_backend_get_version(backend) != vtpm_state_get_version(state))
		return -EINVAL;
	if (vtpm_backend_is_running(backend))
		return -EBUSY;
	r = vtpm_state_from_backend(backend, &old);
	if (r < 0 && r != -ENOENT)
		return r;
	/*
	 * Powered on, not started up: a start-up would rewrite the permanent
	 * blob (its reset counters), and the imported one should stay as it
	 * came.  vtpm_state_check() starts a copy up where that matters.
	 */
	r = vtpm_state_to_backend(state, backend);
	if (r == 0)
		r = vtpm_backend_start(backend);
	if (r < 0)
		roll_back(backend, old);
	else
		r = vtpm_backend_shutdown(backend);
	vtpm_state_unref(old);
	return r;
}

VTPM_EXPORT int vtpm_state_import_dir(const struct vtpm_state *state, const char *state_dir,
				      struct vtpm_state_key *key, uint32_t *tpm_rc)
{
	struct vtpm_ctx *ctx = vtpm_state_get_ctx(state);
	enum vtpm_version version = vtpm_state_get_version(state);
	const struct vtpm_libtpms_options o = {
		.size = sizeof(o), .version = version, .state_dir = state_dir, .key = key,
	};
	enum vtpm_version other = version == VTPM_VERSION_2 ? VTPM_VERSION_1_2 : VTPM_VERSION_2;
	struct vtpm_backend *b = NULL;
	_cleanup_free_ char *path = NULL;
	int r;

	if (tpm_rc)
		*tpm_rc = 0;
	if (!state_dir || !*state_dir)
		return -EINVAL;
	/* A directory holding the other family's TPM is not this state's. */
	if (asprintf(&path, "%s/%s", state_dir, permanent_file(other)) < 0)
		return -ENOMEM;
	if (access(path, F_OK) == 0) {
		err(ctx, "%s holds a TPM %s, the state is a TPM %s's", state_dir,
		    other == VTPM_VERSION_2 ? "2" : "1.2", version == VTPM_VERSION_2 ? "2" : "1.2");
		return -EINVAL;
	}
	/* Before the directory is touched: one libtpms TPM per process. */
	r = vtpm_state_check(state, tpm_rc);
	if (r < 0)
		return r;
	/* Its present state must open (with @key) before anything is replaced. */
	r = vtpm_backend_new_libtpms_opts(ctx, &o, &b);
	if (r == 0)
		r = vtpm_state_import_backend(state, b, tpm_rc);
	vtpm_backend_unref(b);
	return r;
}

VTPM_EXPORT int vtpm_state_import_ctrl(const struct vtpm_state *state,
				       struct vtpm_ctrl_client *client, uint32_t *tpm_rc)
{
	struct vtpm_ctx *ctx = vtpm_state_get_ctx(state);
	enum vtpm_version version = 0;
	struct vtpm_state *old = NULL;
	int r;

	if (tpm_rc)
		*tpm_rc = 0;
	r = vtpm_state_ask_version(client, &version);
	if (r < 0) {
		err(ctx, "cannot tell the TPM family through the control channel: %s", strerror(-r));
		return r;
	}
	if (version != vtpm_state_get_version(state))
		return -EINVAL;
	/* Here, with a scratch TPM: the remote one keeps running meanwhile. */
	r = vtpm_state_check(state, tpm_rc);
	if (r < 0)
		return r;
	/* The remote TPM hands out its state only while it runs. */
	r = vtpm_state_from_ctrl_client(client, version, &old);
	if (r < 0) {
		err(ctx, "cannot keep the current state for a roll-back: %s", strerror(-r));
		return r;
	}
	r = vtpm_state_to_ctrl(state, client);
	if (r < 0 && vtpm_state_to_ctrl(old, client) < 0)
		err(ctx, "restoring the previous state through the control channel failed");
	vtpm_state_unref(old);
	return r;
}
