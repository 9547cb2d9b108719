/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Container plumbing through the public API: nodes in a temporary rootfs
 * (symlink escapes refused), in a child's mount namespace, OCI hook input.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <vtpm/vtpm.h>

/* /dev/null's and /dev/zero's numbers: harmless devices to create. */
#define NULL_MAJ 1
#define NULL_MIN 3
#define ZERO_MIN 5

struct fixture {
	struct vtpm_ctx *ctx;
	struct vtpm_rules *rules;
	char root[64];
};

static void __attribute__((format(printf, 1, 2))) run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(vtpm_ctx_new(&f->ctx), 0);
	assert_int_equal(vtpm_rules_new(f->ctx, &f->rules), 0);
	assert_int_equal(vtpm_rules_add_node(f->rules, "/dev/tpm9", "/dev/tpm0", NULL_MAJ, NULL_MIN), 0);
	assert_int_equal(vtpm_rules_add_node(f->rules, "/dev/tpmrm9", "/dev/tpmrm0", NULL_MAJ, ZERO_MIN), 1);
	strcpy(f->root, "/tmp/test-container-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	run("rm -rf %s", f->root);
	vtpm_rules_unref(f->rules);
	vtpm_ctx_unref(f->ctx);
	free(f);
	return 0;
}

static void assert_node(const char *root, const char *rel, unsigned int min, mode_t mode,
			uid_t uid, gid_t gid)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(major(st.st_rdev), NULL_MAJ);
	assert_int_equal(minor(st.st_rdev), min);
	assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
}

static bool exists(const char *root, const char *rel)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return lstat(p, &st) == 0;
}

static void test_rootfs(void **state)
{
	struct fixture *f = *state;
	int r;

	if (geteuid() != 0)
		skip();
	vtpm_rules_set_owner(f->rules, 123, 456);
	assert_int_equal(vtpm_rules_set_mode(f->rules, 0606), 0);
	/* "dev" does not exist yet: it is created. */
	r = vtpm_nodes_create_rootfs(f->rules, f->root, 0);
	if (r == -EPERM)
		skip(); /* no CAP_MKNOD here */
	assert_int_equal(r, 0);
	assert_node(f->root, "dev/tpm0", NULL_MIN, 0606, 123, 456);
	assert_node(f->root, "dev/tpmrm0", ZERO_MIN, 0606, 123, 456);

	/* Again: the same nodes are fine, owner and mode are reset. */
	vtpm_rules_set_owner(f->rules, 0, 0);
	assert_int_equal(vtpm_nodes_create_rootfs(f->rules, f->root, 0), 0);
	assert_node(f->root, "dev/tpm0", NULL_MIN, 0606, 0, 0);

	assert_int_equal(vtpm_nodes_create_rootfs(f->rules, f->root, 0x80), -EINVAL);
	assert_int_equal(vtpm_nodes_remove_rootfs(f->rules, f->root), 0);
	assert_false(exists(f->root, "dev/tpm0"));
	assert_false(exists(f->root, "dev/tpmrm0"));
	assert_true(exists(f->root, "dev"));
	/* Removing what is not there is fine. */
	assert_int_equal(vtpm_nodes_remove_rootfs(f->rules, f->root), 0);
}

static void test_existing_file(void **state)
{
	struct fixture *f = *state;

	if (geteuid() != 0)
		skip();
	run("mkdir -p %s/dev && echo keep > %s/dev/tpmrm0", f->root, f->root);
	/* The first node is created, the second clashes: the first is rolled back. */
	assert_int_equal(vtpm_nodes_create_rootfs(f->rules, f->root, 0), -EEXIST);
	assert_false(exists(f->root, "dev/tpm0"));
	run("grep -q keep %s/dev/tpmrm0", f->root);
	/* Removal leaves files that are not our nodes alone. */
	assert_int_equal(vtpm_nodes_remove_rootfs(f->rules, f->root), 0);
	assert_true(exists(f->root, "dev/tpmrm0"));

	assert_int_equal(vtpm_nodes_create_rootfs(f->rules, f->root, VTPM_NODES_REPLACE), 0);
	assert_node(f->root, "dev/tpmrm0", ZERO_MIN, 0660, 0, 0);
}

static void test_symlink_escape(void **state)
{
	struct fixture *f = *state;
	char outside[] = "/tmp/test-container-out-XXXXXX";

	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(outside));

	/* rootfs/dev -> a directory outside the rootfs. */
	{
		char p[256];

		snprintf(p, sizeof(p), "%s/dev", f->root);
		assert_int_equal(symlink(outside, p), 0);
	}
	assert_int_equal(vtpm_nodes_create_rootfs(f->rules, f->root, 0), -ELOOP);
	assert_false(exists(outside, "tpm0"));
	assert_int_equal(vtpm_nodes_remove_rootfs(f->rules, f->root), -ELOOP);

	/* A symlink deeper down, and at the leaf itself. */
	run("rm %s/dev && mkdir -p %s/dev/sub && ln -s /etc %s/dev/sub/link", f->root, f->root, f->root);
	assert_int_equal(vtpm_rules_set_container_path(f->rules, 0, "/dev/sub/link/tpm0"), 0);
	assert_int_equal(vtpm_nodes_create_rootfs(f->rules, f->root, 0), -ELOOP);
	assert_false(exists("/etc", "tpm0"));

	assert_int_equal(vtpm_rules_set_container_path(f->rules, 0, "/dev/tpm0"), 0);
	{
		char p[256], target[256];

		snprintf(p, sizeof(p), "%s/dev/tpm0", f->root);
		snprintf(target, sizeof(target), "%s/victim", outside);
		assert_int_equal(symlink(target, p), 0);
		assert_int_equal(vtpm_nodes_create_rootfs(f->rules, f->root, 0), -EEXIST);
		assert_false(exists(outside, "victim"));
		/* With REPLACE the symlink itself is replaced, never followed. */
		assert_int_equal(vtpm_nodes_create_rootfs(f->rules, f->root, VTPM_NODES_REPLACE), 0);
		assert_false(exists(outside, "victim"));
		assert_node(f->root, "dev/tpm0", NULL_MIN, 0660, 0, 0);
	}
	run("rm -rf %s", outside);
}

/*
 * A child in its own mount namespace with a private tmpfs on @dir; -1 if
 * there are no mount namespaces here.  With @pivot, pivot_child() makes it
 * chroot into @dir, as a runtime pivots into a container's root: @pivot[0]
 * gets its answer, @pivot[1] takes the request.
 */
static pid_t spawn_in_mountns(const char *dir, int pivot[2])
{
	int ready[2], cmd[2];
	char c = 1;
	pid_t pid;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(cmd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("tmpfs", dir, "tmpfs", 0, "mode=0755") < 0)
			c = 0;
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		if (read(cmd[0], &c, 1) == 1 && chroot(dir) == 0 && chdir("/") == 0 &&
		    write(ready[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(cmd[0]);
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	if (pivot) {
		pivot[0] = ready[0];
		pivot[1] = cmd[1];
	} else {
		close(ready[0]);
		close(cmd[1]);
	}
	if (c)
		return pid;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* Have the child of spawn_in_mountns() pivot. */
static void pivot_child(int pivot[2])
{
	char c = 1;

	assert_int_equal(write(pivot[1], &c, 1), 1);
	assert_int_equal(read(pivot[0], &c, 1), 1);
	close(pivot[0]);
	close(pivot[1]);
}

static void test_pid(void **state)
{
	struct fixture *f = *state;
	int status;
	char p[256];
	pid_t pid;

	if (geteuid() != 0)
		skip();
	assert_int_equal(vtpm_nodes_create_pid(f->rules, 0, NULL, 0), -EINVAL);
	assert_int_equal(vtpm_nodes_create_pid(f->rules, 1, "relative", 0), -EINVAL);

	pid = spawn_in_mountns(f->root, NULL);
	if (pid < 0)
		skip(); /* no mount namespaces here */

	/* Created in the child's tmpfs: invisible from here. */
	assert_int_equal(vtpm_nodes_create_pid(f->rules, pid, f->root, 0), 0);
	assert_false(exists(f->root, "dev/tpm0"));
	snprintf(p, sizeof(p), "/proc/%d/root%s/dev/tpm0", (int)pid, f->root);
	assert_int_equal(access(p, F_OK), 0);
	assert_int_equal(vtpm_nodes_remove_pid(f->rules, pid, f->root), 0);
	assert_int_equal(access(p, F_OK), -1);

	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(vtpm_nodes_create_pid(f->rules, pid, NULL, 0), -ESRCH);
}

static int parse(struct vtpm_ctx *ctx, const char *json, struct vtpm_oci_state **st)
{
	return vtpm_oci_state_parse(ctx, json, strlen(json), st);
}

static void test_oci_state(void **state)
{
	struct fixture *f = *state;
	struct vtpm_oci_state *st;
	static const char *const bad[] = {
		"",
		"   ",
		"{",
		"[]",
		"42",
		"{} x",
		"{\"id\":\"c1\",\"status\":\"created\",\"pid\":5}",
		"{\"ociVersion\":\"1.0.2\",\"status\":\"created\",\"pid\":5}",
		"{\"ociVersion\":\"1.0.2\",\"id\":\"\",\"status\":\"created\",\"pid\":5}",
		"{\"ociVersion\":\"1.0.2\",\"id\":\"../x\",\"status\":\"created\",\"pid\":5}",
		"{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"pid\":5}",
		"{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"created\"}",
		"{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"created\",\"pid\":-1}",
		"{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"created\",\"pid\":0}",
		"{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"created\",\"pid\":\"5\"}",
		"{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"created\",\"pid\":1e3}",
		"{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"created\",\"pid\":99999999999}",
		"{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"created\",\"pid\":5,\"bundle\":\"rel\"}",
		"{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"created\",\"pid\":5,\"annotations\":[]}",
		"{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"created\",\"pid\":5,\"annotations\":{\"a\":1}}",
		/* A NUL would cut the id (and name another container's TPM). */
		"{\"ociVersion\":\"1.0.2\",\"id\":\"web\\u0000x\",\"status\":\"created\",\"pid\":5}",
		"{\"ociVersion\":\"1.0.2\",\"id\":\"\\u0000\",\"status\":\"created\",\"pid\":5}",
		"{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"created\",\"pid\":5,"
		"\"annotations\":{\"a\":\"1\\u0000\"}}",
	};

	vtpm_ctx_set_log_priority(f->ctx, 0); /* the bad inputs log errors */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st = (void *)1;
		if (parse(f->ctx, bad[i], &st) != -EBADMSG)
			fail_msg("accepted bad state #%zu: %s", i, bad[i]);
		assert_ptr_equal(st, (void *)1);
	}
	assert_int_equal(vtpm_oci_state_parse(f->ctx, NULL, 0, &st), -EBADMSG);

	assert_int_equal(parse(f->ctx,
		"{\"ociVersion\":\"1.0.2\",\"id\":\"web-1\",\"status\":\"creating\",\"pid\":4242,"
		"\"bundle\":\"/run/b\",\"annotations\":{\"libvtpm.org/version\":\"1.2\"}}\n", &st), 0);
	assert_string_equal(vtpm_oci_state_get_id(st), "web-1");
	assert_string_equal(vtpm_oci_state_get_status(st), "creating");
	assert_int_equal(vtpm_oci_state_get_pid(st), 4242);
	assert_string_equal(vtpm_oci_state_get_bundle(st), "/run/b");
	assert_string_equal(vtpm_oci_state_get_annotation(st, "libvtpm.org/version"), "1.2");
	assert_null(vtpm_oci_state_get_annotation(st, "other"));
	assert_null(vtpm_oci_state_free(st));

	/* poststop: the process is gone, "pid" may be absent. */
	assert_int_equal(parse(f->ctx, "{\"ociVersion\":\"1.0.2\",\"id\":\"web-1\",\"status\":\"stopped\"}", &st), 0);
	assert_int_equal(vtpm_oci_state_get_pid(st), 0);
	assert_null(vtpm_oci_state_get_bundle(st));
	assert_null(vtpm_oci_state_get_annotation(st, "x"));
	vtpm_oci_state_free(st);

	/* crun's poststop: "pid": 0 stands for the process that is gone. */
	assert_int_equal(parse(f->ctx, "{\"ociVersion\":\"1.0.0\",\"id\":\"web-1\",\"pid\":0,"
				       "\"status\":\"stopped\",\"bundle\":\"/run/b\"}", &st), 0);
	assert_int_equal(vtpm_oci_state_get_pid(st), 0);
	vtpm_oci_state_free(st);
}

static void test_bundle_rootfs(void **state)
{
	struct fixture *f = *state;
	char *rootfs, p[256];

	vtpm_ctx_set_log_priority(f->ctx, 0);
	assert_int_equal(vtpm_oci_bundle_get_rootfs(f->ctx, "rel", &rootfs), -EINVAL);
	assert_int_equal(vtpm_oci_bundle_get_rootfs(f->ctx, f->root, &rootfs), -ENOENT);
	run("echo '{\"root\":{\"path\":\"rootfs\"}}' > %s/config.json", f->root);
	assert_int_equal(vtpm_oci_bundle_get_rootfs(f->ctx, f->root, &rootfs), 0);
	snprintf(p, sizeof(p), "%s/rootfs", f->root);
	assert_string_equal(rootfs, p);
	free(rootfs);
	run("echo '{\"root\":{\"path\":\"/abs/root\"}}' > %s/config.json", f->root);
	assert_int_equal(vtpm_oci_bundle_get_rootfs(f->ctx, f->root, &rootfs), 0);
	assert_string_equal(rootfs, "/abs/root");
	free(rootfs);
	run("echo '{\"root\":{}}' > %s/config.json", f->root);
	assert_int_equal(vtpm_oci_bundle_get_rootfs(f->ctx, f->root, &rootfs), -EBADMSG);
	run("echo '{\"root\":' > %s/config.json", f->root);
	assert_int_equal(vtpm_oci_bundle_get_rootfs(f->ctx, f->root, &rootfs), -EBADMSG);
}

static void test_cgroup_errors(void **state)
{
	struct fixture *f = *state;
	struct vtpm_cgroup *cg;

	vtpm_ctx_set_log_priority(f->ctx, 0);
	assert_int_equal(vtpm_cgroup_new_from_pid(f->ctx, 0, &cg), -EINVAL);
	assert_int_equal(vtpm_cgroup_new_from_path(f->ctx, "rel", &cg), -EINVAL);
	assert_int_equal(vtpm_cgroup_new_from_path(f->ctx, f->root, &cg), -EMEDIUMTYPE);
	assert_int_equal(vtpm_cgroup_new_from_path(f->ctx, "/nonexistent-cg", &cg), -ENOENT);
}

/* ------------------------------------------------------------ hand-over */

static struct vtpm_handover_options target_rootfs(const char *root)
{
	return (struct vtpm_handover_options){ .size = sizeof(struct vtpm_handover_options),
					       .rootfs = root };
}

static void test_handover_options(void **state)
{
	struct fixture *f = *state;
	struct vtpm_handover_options o = target_rootfs(f->root);
	struct vtpm_handover *h = NULL;
	struct vtpm_rules *empty;

	vtpm_ctx_set_log_priority(f->ctx, 0);
	o.size = offsetof(struct vtpm_handover_options, flags);
	assert_int_equal(vtpm_handover_new_from_rules(f->rules, &o, &h), -EINVAL);
	o = target_rootfs(NULL);
	assert_int_equal(vtpm_handover_new_from_rules(f->rules, &o, &h), -EINVAL);
	o = target_rootfs(f->root);
	o.pid = getpid();
	assert_int_equal(vtpm_handover_new_from_rules(f->rules, &o, &h), -EINVAL);
	o = target_rootfs(f->root);
	o.pid_rootfs = "/x";
	assert_int_equal(vtpm_handover_new_from_rules(f->rules, &o, &h), -EINVAL);
	o = (struct vtpm_handover_options){ .size = sizeof(o), .pid = getpid(), .pid_rootfs = "x" };
	assert_int_equal(vtpm_handover_new_from_rules(f->rules, &o, &h), -EINVAL);
	o = target_rootfs(f->root);
	o.cgroup = "relative";
	assert_int_equal(vtpm_handover_new_from_rules(f->rules, &o, &h), -EINVAL);
	o = target_rootfs(f->root);
	o.mode = 010000;
	assert_int_equal(vtpm_handover_new_from_rules(f->rules, &o, &h), -EINVAL);
	o = target_rootfs(f->root);
	o.flags = 0x80;
	assert_int_equal(vtpm_handover_new_from_rules(f->rules, &o, &h), -EINVAL);
	o = target_rootfs(f->root);
	o.tpm_path = "/dev/../etc/x";
	assert_int_equal(vtpm_handover_new_from_rules(f->rules, &o, &h), -EINVAL);
	assert_int_equal(vtpm_handover_new(NULL, &o, &h), -EINVAL);
	assert_int_equal(vtpm_rules_new(f->ctx, &empty), 0);
	o = target_rootfs(f->root);
	assert_int_equal(vtpm_handover_new_from_rules(empty, &o, &h), -ENODATA);
	vtpm_rules_unref(empty);
	assert_null(h);
	assert_false(exists(f->root, "dev"));
	/* A cgroup that is none: found out before any node is made. */
	o.cgroup = f->root;
	assert_int_equal(vtpm_handover_new_from_rules(f->rules, &o, &h), -EMEDIUMTYPE);
	assert_false(exists(f->root, "dev"));
	assert_int_equal(vtpm_handover_revoke(NULL), -EINVAL);
	assert_null(vtpm_handover_unref(NULL));
	assert_null(vtpm_handover_get_cgroup_path(NULL));
}

/* Rules for a pair "<dir>/dev/tpm5" (/dev/null's numbers) and its tpmrm (1:5). */
static struct vtpm_rules *pair_rules(struct vtpm_ctx *ctx, const char *dir)
{
	struct vtpm_rules *rules;
	char p[256];

	run("mkdir -p %s/dev %s/sys/class/tpmrm/tpmrm5 && echo 1:5 > %s/sys/class/tpmrm/tpmrm5/dev",
	    dir, dir, dir);
	snprintf(p, sizeof(p), "%s/dev/tpm5", dir);
	assert_int_equal(mknod(p, S_IFCHR | 0600, makedev(NULL_MAJ, NULL_MIN)), 0);
	snprintf(p, sizeof(p), "%s/sys", dir);
	assert_int_equal(vtpm_ctx_set_path(ctx, VTPM_PATH_SYSFS, p), 0);
	snprintf(p, sizeof(p), "%s/dev/tpm5", dir);
	assert_int_equal(vtpm_rules_new_from_path(ctx, p, &rules), 0);
	return rules;
}

static void test_handover_rootfs(void **state)
{
	struct fixture *f = *state;
	char host[] = "/tmp/test-handover-XXXXXX", root[128];
	struct vtpm_handover_options o;
	struct vtpm_handover *h;
	struct vtpm_rules *pair;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(host));
	pair = pair_rules(f->ctx, host);
	snprintf(root, sizeof(root), "%s/root", host);
	run("mkdir %s", root);

	/* The pair's nodes at the default paths, or where asked; owner and mode given. */
	o = target_rootfs(root);
	o.tpmrm_path = "/dev/sub/rm";
	o.uid = 123;
	o.gid = 456;
	assert_int_equal(vtpm_handover_new_from_rules(pair, &o, &h), 0);
	assert_node(root, "dev/tpm0", NULL_MIN, VTPM_HANDOVER_MODE, 123, 456);
	assert_node(root, "dev/sub/rm", ZERO_MIN, VTPM_HANDOVER_MODE, 123, 456);
	assert_null(vtpm_handover_get_cgroup_path(h));
	/* The caller's rules are not changed. */
	vtpm_rules_get_owner(pair, &uid, &gid);
	assert_int_equal(uid, 0);
	assert_int_equal(vtpm_rules_find_node(pair, VTPM_NODE_TPMRM), 1);
	{
		struct vtpm_rules_node n;

		assert_int_equal(vtpm_rules_get_node(pair, 1, &n), 0);
		assert_string_equal(n.container_path, n.host_path);
	}
	/* Taken back, as often as asked. */
	assert_int_equal(vtpm_handover_revoke(h), 0);
	assert_false(exists(root, "dev/tpm0"));
	assert_false(exists(root, "dev/sub/rm"));
	assert_int_equal(vtpm_handover_revoke(h), 0);
	assert_null(vtpm_handover_unref(h));

	/* Unref alone leaves the nodes (a runtime removes them with the container). */
	o = target_rootfs(root);
	o.tpm_path = "/tpm";
	o.mode = 0600;
	assert_int_equal(vtpm_handover_new_from_rules(pair, &o, &h), 0);
	assert_node(root, "tpm", NULL_MIN, 0600, 0, 0);
	assert_node(root, "dev/tpmrm0", ZERO_MIN, 0600, 0, 0);
	vtpm_handover_unref(h);
	assert_true(exists(root, "tpm"));

	/* A second node in the way: the first is not left behind. */
	run("rm %s/tpm %s/dev/tpmrm0 && echo keep > %s/dev/tpmrm0", root, root, root);
	o = target_rootfs(root);
	assert_int_equal(vtpm_handover_new_from_rules(pair, &o, &h), -EEXIST);
	assert_false(exists(root, "dev/tpm0"));
	o.flags = VTPM_NODES_REPLACE;
	assert_int_equal(vtpm_handover_new_from_rules(pair, &o, &h), 0);
	assert_node(root, "dev/tpmrm0", ZERO_MIN, VTPM_HANDOVER_MODE, 0, 0);
	vtpm_handover_revoke(h);
	vtpm_handover_unref(h);

	vtpm_rules_unref(pair);
	run("rm -rf %s", host);
}

/* A cgroup v1 devices directory of our own, denying everything; NULL if none. */
static char *devices_cgroup(void)
{
	char *dir = strdup("/sys/fs/cgroup/devices/test-handover-XXXXXX");

	if (access("/sys/fs/cgroup/devices/devices.allow", W_OK) < 0 || !mkdtemp(dir)) {
		free(dir);
		return NULL;
	}
	run("echo a > %s/devices.deny", dir);
	return dir;
}

static bool cgroup_lists(const char *dir, const char *line)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "grep -qx '%s' %s/devices.list", line, dir);
	return system(cmd) == 0;
}

static void test_handover_pid(void **state)
{
	struct fixture *f = *state;
	struct vtpm_handover_options o = { .size = sizeof(o) };
	struct vtpm_handover *h;
	int status, pivot[2];
	char p[256], *cg;
	pid_t pid;

	if (geteuid() != 0)
		skip();
	pid = spawn_in_mountns(f->root, pivot);
	if (pid < 0)
		skip(); /* no mount namespaces here */
	cg = devices_cgroup();
	if (!cg) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		skip(); /* no cgroup v1 devices hierarchy of ours here */
	}

	o.pid = pid;
	o.pid_rootfs = f->root;
	o.cgroup = cg;
	assert_int_equal(vtpm_handover_new_from_rules(f->rules, &o, &h), 0);
	assert_string_equal(vtpm_handover_get_cgroup_path(h), cg);
	snprintf(p, sizeof(p), "/proc/%d/root%s/dev/tpm0", (int)pid, f->root);
	assert_int_equal(access(p, F_OK), 0);
	assert_false(exists(f->root, "dev/tpm0"));
	assert_true(cgroup_lists(cg, "c 1:3 rwm"));
	assert_true(cgroup_lists(cg, "c 1:5 rwm"));
	assert_int_equal(vtpm_handover_revoke(h), 0);
	assert_int_equal(access(p, F_OK), -1);
	assert_false(cgroup_lists(cg, "c 1:3 rwm"));
	vtpm_handover_unref(h);

	/* Given again before the runtime pivots into the root, taken back after. */
	assert_int_equal(vtpm_handover_new_from_rules(f->rules, &o, &h), 0);
	pivot_child(pivot);
	snprintf(p, sizeof(p), "/proc/%d/root/dev/tpm0", (int)pid);
	assert_int_equal(access(p, F_OK), 0);
	assert_int_equal(vtpm_handover_revoke(h), 0);
	assert_int_equal(access(p, F_OK), -1);
	vtpm_handover_unref(h);

	/* The container dies: its nodes went along, revoke is done. */
	assert_int_equal(vtpm_handover_new_from_rules(f->rules, &o, &h), -ENOENT);
	o.pid_rootfs = NULL;
	assert_int_equal(vtpm_handover_new_from_rules(f->rules, &o, &h), 0);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(vtpm_handover_revoke(h), 0);
	assert_false(cgroup_lists(cg, "c 1:3 rwm"));
	vtpm_handover_unref(h);
	assert_int_equal(vtpm_handover_new_from_rules(f->rules, &o, &h), -ESRCH);

	assert_int_equal(rmdir(cg), 0);
	free(cg);
}

static void *idle_thread(void *arg)
{
	pause();
	return arg;
}

/* How the guarded child in test_handover_guard ends. */
enum child_end { END_EXIT, END_SIGKILL, END_FORWARDED };

static pid_t guarded(struct vtpm_handover *h, enum child_end end, int *status)
{
	int fds[] = { -1, open("/dev/null", O_RDONLY | O_CLOEXEC) };
	struct vtpm_guard_options go = { .size = sizeof(go), .close_fds = fds, .n_close_fds = 2 };
	pid_t child = vtpm_handover_guard(h, &go, status);

	if (child != 0) {
		/* The warden closed what it was told to. */
		assert_true(fcntl(fds[1], F_GETFD) < 0);
		return child;
	}
	/* The serving child: its copy revokes nothing, the warden does. */
	if (vtpm_handover_revoke(h) != 0 || vtpm_handover_guard(h, NULL, status) != -EINVAL)
		_exit(3);
	vtpm_handover_unref(h);
	switch (end) {
	case END_EXIT:
		_exit(7);
	case END_SIGKILL:
		raise(SIGKILL);
		break;
	case END_FORWARDED:
		/* The warden sends it on: the default action ends this process. */
		kill(getppid(), SIGTERM);
		pause();
		break;
	}
	_exit(4);
}

static void test_handover_guard(void **state)
{
	struct fixture *f = *state;
	struct vtpm_handover_options o = target_rootfs(f->root);
	struct vtpm_handover *h;
	pthread_t thread;
	int status;
	pid_t child;

	if (geteuid() != 0)
		skip();
	assert_int_equal(vtpm_handover_guard(NULL, NULL, &status), -EINVAL);
	for (int end = END_EXIT; end <= END_FORWARDED; end++) {
		assert_int_equal(vtpm_handover_new_from_rules(f->rules, &o, &h), 0);
		assert_true(exists(f->root, "dev/tpm0"));
		child = guarded(h, end, &status);
		assert_true(child > 0);
		/* Reaped: no process left, nodes gone, signals as they were. */
		assert_int_equal(kill(child, 0), -1);
		assert_false(exists(f->root, "dev/tpm0"));
		assert_false(exists(f->root, "dev/tpmrm0"));
		assert_int_equal(vtpm_handover_revoke(h), 0);
		if (end == END_EXIT) {
			assert_true(WIFEXITED(status));
			assert_int_equal(WEXITSTATUS(status), 7);
		} else {
			assert_true(WIFSIGNALED(status));
			assert_int_equal(WTERMSIG(status), end == END_SIGKILL ? SIGKILL : SIGTERM);
		}
		{
			sigset_t mask;

			pthread_sigmask(SIG_SETMASK, NULL, &mask);
			assert_false(sigismember(&mask, SIGTERM));
			assert_false(sigismember(&mask, SIGCHLD));
		}
		vtpm_handover_unref(h);
	}

	/* Another thread would miss the signals the warden forwards. */
	assert_int_equal(vtpm_handover_new_from_rules(f->rules, &o, &h), 0);
	assert_int_equal(pthread_create(&thread, NULL, idle_thread, NULL), 0);
	assert_int_equal(vtpm_handover_guard(h, NULL, &status), -EBUSY);
	pthread_cancel(thread);
	pthread_join(thread, NULL);
	assert_int_equal(vtpm_handover_revoke(h), 0);
	vtpm_handover_unref(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rootfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oci_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bundle_rootfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cgroup_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handover_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handover_rootfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handover_pid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handover_guard, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
