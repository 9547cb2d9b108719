/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The manager's typed client against a real manager and driver, for the
 * VM scenario manager-client.vm: creates, describes, lists, restarts and
 * destroys instances through vtpm_manager_client_*() only, and checks each
 * description against the device nodes the kernel made.  Prints one
 * "PASS:" line per step; exit 0 when all passed, 1 at the first failure.
 *
 * Usage: manager-client-run SOCKET
 *        manager-client-run SOCKET absent   (nobody listens: -ECONNREFUSED)
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <vtpm/vtpm.h>

static struct vtpm_manager_client *client;

#define CHECK(cond, ...)							\
	do {									\
		if (!(cond)) {							\
			printf("FAIL: " __VA_ARGS__);				\
			printf(" (%s; manager said \"%s\")\n", #cond,		\
			       vtpm_manager_client_get_message(client));	\
			exit(1);						\
		}								\
	} while (0)

/* The node the description names is the device the kernel made. */
static void check_node(const struct vtpm_instance_info *info, enum vtpm_node node)
{
	const char *path;
	struct stat st;
	dev_t devnum;

	CHECK(vtpm_instance_info_get_node(info, node, &path, &devnum) == 0, "%s has no node %d",
	      vtpm_instance_info_get_name(info), node);
	CHECK(stat(path, &st) == 0 && S_ISCHR(st.st_mode), "%s is no character device", path);
	CHECK(st.st_rdev == devnum, "%s is %u:%u, the manager said %u:%u", path,
	      major(st.st_rdev), minor(st.st_rdev), major(devnum), minor(devnum));
}

static struct vtpm_instance_info *check_running(struct vtpm_instance_info *info, const char *name,
						enum vtpm_version version)
{
	CHECK(strcmp(vtpm_instance_info_get_name(info), name) == 0, "description of %s", name);
	CHECK(vtpm_instance_info_get_status(info) == VTPM_INSTANCE_RUNNING, "%s running", name);
	CHECK(vtpm_instance_info_get_pid(info) > 0, "%s has a pid", name);
	CHECK(vtpm_instance_info_get_version(info) == version, "%s's TPM family", name);
	CHECK(strncmp(vtpm_instance_info_get_ctrl_address(info), "unix:/", 6) == 0,
	      "%s's control address", name);
	check_node(info, VTPM_NODE_TPM);
	if (version == VTPM_VERSION_2)
		check_node(info, VTPM_NODE_TPMRM);
	else
		CHECK(vtpm_instance_info_get_node(info, VTPM_NODE_TPMRM, NULL, NULL) == -ENODEV,
		      "a TPM 1.2 without a tpmrm node");
	return info;
}

int main(int argc, char *argv[])
{
	struct vtpm_manager_client_options o = { .size = sizeof(o), .timeout_ms = 120000 };
	struct vtpm_instance_options tpm12 = { .size = sizeof(tpm12), .version = VTPM_VERSION_1_2 };
	struct vtpm_instance_info *a, *b, *info;
	struct vtpm_instance_list *list;
	struct vtpm_ctx *ctx;
	pid_t old_pid;

	if (argc != 2 && !(argc == 3 && strcmp(argv[2], "absent") == 0)) {
		fprintf(stderr, "usage: %s SOCKET [absent]\n", argv[0]);
		return 2;
	}
	if (vtpm_ctx_new(&ctx) < 0)
		return 1;
	o.socket_path = argv[1];
	if (vtpm_manager_client_new(ctx, &o, &client) < 0)
		return 1;
	if (argc == 3) {
		int r = vtpm_manager_client_list(client, &list);

		printf("list without a manager: %s\n", strerror(-r));
		return r == -ECONNREFUSED ? 0 : 1;
	}

	CHECK(vtpm_manager_client_list(client, &list) == 0, "list");
	CHECK(vtpm_instance_list_get_count(list) == 0, "no instances at first");
	vtpm_instance_list_unref(list);

	CHECK(vtpm_manager_client_create(client, "typed-a", NULL, &a) == 0, "create typed-a");
	check_running(a, "typed-a", VTPM_VERSION_2);
	printf("PASS: create: typed-a runs as pid %d, its nodes are the kernel's\n",
	       (int)vtpm_instance_info_get_pid(a));
	CHECK(vtpm_manager_client_create(client, "typed-a", NULL, NULL) == -EEXIST,
	      "a second typed-a");
	CHECK(vtpm_manager_client_get_message(client)[0] != '\0', "a message with the error");
	printf("PASS: create of a taken name: -EEXIST (\"%s\")\n",
	       vtpm_manager_client_get_message(client));

	CHECK(vtpm_manager_client_create(client, "typed-b", &tpm12, &b) == 0, "create typed-b");
	check_running(b, "typed-b", VTPM_VERSION_1_2);
	printf("PASS: create with options: typed-b is a TPM 1.2\n");

	CHECK(vtpm_manager_client_status(client, "typed-a", &info) == 0, "status typed-a");
	check_running(info, "typed-a", VTPM_VERSION_2);
	CHECK(vtpm_instance_info_get_pid(info) == vtpm_instance_info_get_pid(a), "same process");
	vtpm_instance_info_unref(info);
	CHECK(vtpm_manager_client_list(client, &list) == 0, "list");
	CHECK(vtpm_instance_list_get_count(list) == 2, "two instances");
	CHECK(strcmp(vtpm_instance_info_get_name(vtpm_instance_list_get(list, 0)), "typed-a") == 0 &&
	      strcmp(vtpm_instance_info_get_name(vtpm_instance_list_get(list, 1)), "typed-b") == 0,
	      "listed oldest first");
	vtpm_instance_list_unref(list);
	printf("PASS: status and list describe both\n");

	old_pid = vtpm_instance_info_get_pid(a);
	vtpm_instance_info_unref(a);
	CHECK(vtpm_manager_client_restart(client, "typed-a", &a) == 0, "restart typed-a");
	check_running(a, "typed-a", VTPM_VERSION_2);
	CHECK(vtpm_instance_info_get_pid(a) != old_pid, "a new process");
	printf("PASS: restart: typed-a serves again as pid %d\n", (int)vtpm_instance_info_get_pid(a));

	CHECK(vtpm_manager_client_destroy(client, "typed-a") == 0, "destroy typed-a");
	CHECK(vtpm_manager_client_destroy(client, "typed-b") == 0, "destroy typed-b");
	CHECK(vtpm_manager_client_status(client, "typed-a", &info) == -ENOENT, "typed-a gone");
	CHECK(vtpm_manager_client_destroy(client, "typed-a") == -ENOENT, "destroy twice");
	CHECK(vtpm_manager_client_list(client, &list) == 0, "list");
	CHECK(vtpm_instance_list_get_count(list) == 0, "no instances at the end");
	vtpm_instance_list_unref(list);
	printf("PASS: destroy: both gone; status and destroy then say -ENOENT\n");

	vtpm_instance_info_unref(a);
	vtpm_instance_info_unref(b);
	vtpm_manager_client_unref(client);
	vtpm_ctx_unref(ctx);
	return 0;
}
