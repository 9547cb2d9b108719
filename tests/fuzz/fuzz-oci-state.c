/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the OCI hook's input: the runtime state JSON a
 * hook reads on stdin (vtpm_oci_state_parse()).
 * Invariants: an accepted state has the fields the header promises: id and
 * status strings, a pid > 0 unless stopped, an absolute bundle if any.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vtpm-internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vtpm_ctx *ctx;

static void die(const char *what)
{
	fprintf(stderr, "fuzz-oci-state: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (vtpm_ctx_new(&ctx) < 0)
		die("ctx");
	vtpm_ctx_set_log_priority(ctx, LOG_EMERG);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vtpm_oci_state *state;
	const char *id, *status, *bundle;

	if (vtpm_oci_state_parse(ctx, (const char *)data, size, &state) < 0)
		return 0;
	id = vtpm_oci_state_get_id(state);
	status = vtpm_oci_state_get_status(state);
	if (!id || !status)
		die("accepted a state without id or status");
	if (strcmp(status, "stopped") != 0 && vtpm_oci_state_get_pid(state) <= 0)
		die("accepted a running state without a pid");
	bundle = vtpm_oci_state_get_bundle(state);
	if (bundle && bundle[0] != '/')
		die("accepted a relative bundle");
	vtpm_oci_state_get_annotation(state, "org.libvtpm.tpm");
	vtpm_oci_state_free(state);
	return 0;
}
