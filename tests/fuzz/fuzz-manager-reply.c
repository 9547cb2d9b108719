/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for what a manager client reads: the answer to each
 * request (vtpm_mgr_reply_parse()).  The first byte chooses the request,
 * the rest is the answer to a request about the instance "a".
 * Invariants: an accepted answer is either an error answer with a
 * documented errno and a printable message, or exactly the result its
 * request promises, with safe absolute paths and consistent nodes.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager-internal.h"
#include "vtpm-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
	fprintf(stderr, "fuzz-manager-reply: %s\n", what);
	abort();
}

static void check_info(const struct vtpm_instance_info *info)
{
	const char *path;
	dev_t devnum;

	if (!vtpm_mgr_name_is_valid(vtpm_instance_info_get_name(info)))
		die("accepted a bad name");
	if (!vtpm_path_is_safe(vtpm_instance_info_get_state_dir(info)) ||
	    !vtpm_path_is_safe(vtpm_instance_info_get_runtime_dir(info)))
		die("accepted an unsafe directory");
	if (strncmp(vtpm_instance_info_get_ctrl_address(info), "unix:/", 6) != 0)
		die("made a bad control address");
	if (!vtpm_instance_status_to_string(vtpm_instance_info_get_status(info)))
		die("accepted an unknown status");
	if (vtpm_instance_info_get_pid(info) < 0)
		die("accepted a negative pid");
	if (vtpm_instance_info_get_node(info, VTPM_NODE_TPMRM, &path, &devnum) == 0) {
		if (vtpm_instance_info_get_version(info) != VTPM_VERSION_2)
			die("accepted a tpmrm node on a TPM 1.2");
		if (vtpm_instance_info_get_node(info, VTPM_NODE_TPM, NULL, NULL) < 0)
			die("accepted a tpmrm node without a tpm node");
		if (!vtpm_path_is_safe(path))
			die("accepted an unsafe node path");
	}
	if (vtpm_instance_info_get_node(info, 7, NULL, NULL) != -EINVAL)
		die("took an unknown node");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vtpm_mgr_reply reply;
	enum vtpm_mgr_op op;
	int r;

	if (size < 1)
		return 0;
	op = VTPM_MGR_OP_CREATE + data[0] % 5;
	r = vtpm_mgr_reply_parse((const char *)data + 1, size - 1, op, "a", &reply);
	if (r < 0) {
		if (reply.info || reply.list || reply.error)
			die("failed but left a result");
		return 0;
	}
	if (reply.error) {
		if (reply.error >= 0 || reply.info || reply.list)
			die("an error answer with a result");
		for (const char *p = reply.message; *p; p++)
			if (*p < 0x20 || *p >= 0x7f)
				die("kept an unprintable message");
		return 0;
	}
	switch (op) {
	case VTPM_MGR_OP_DESTROY:
		if (reply.info || reply.list)
			die("a result for destroy");
		break;
	case VTPM_MGR_OP_LIST:
		if (!reply.list || reply.info)
			die("list without a list");
		if (vtpm_instance_list_get_count(reply.list) > VTPM_MANAGER_LIST_MAX)
			die("too long a list");
		for (unsigned int i = 0; i < vtpm_instance_list_get_count(reply.list); i++)
			check_info(vtpm_instance_list_get(reply.list, i));
		if (vtpm_instance_list_get(reply.list, vtpm_instance_list_get_count(reply.list)))
			die("an item past the end");
		break;
	default:
		if (!reply.info || reply.list)
			die("no description");
		if (strcmp(vtpm_instance_info_get_name(reply.info), "a") != 0)
			die("a description of another instance");
		check_info(reply.info);
	}
	vtpm_mgr_reply_clear(&reply);
	return 0;
}
