/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Device rules through the public API: text formats, JSON parsed back, CDI merging. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include <vtpm/vtpm.h>

/* Two nodes as a TPM 2 pair: tpm3 (10:224) shown as /dev/tpm0, tpmrm3 (253:65539). */
static struct vtpm_rules *make_pair(struct vtpm_ctx **ctx)
{
	struct vtpm_rules *rules;

	assert_int_equal(vtpm_ctx_new(ctx), 0);
	assert_int_equal(vtpm_rules_new(*ctx, &rules), 0);
	assert_int_equal(vtpm_rules_add_node(rules, "/dev/tpm3", "/dev/tpm0", 10, 224), 0);
	assert_int_equal(vtpm_rules_add_node(rules, "/dev/tpmrm3", "/dev/tpmrm0", 253, 65539), 1);
	assert_int_equal(vtpm_rules_set_name(rules, "tpm3"), 0);
	return rules;
}

static void free_pair(struct vtpm_ctx *ctx, struct vtpm_rules *rules)
{
	assert_null(vtpm_rules_unref(rules));
	assert_null(vtpm_ctx_unref(ctx));
}

static struct json_object *parse(const char *text)
{
	struct json_object *obj = json_tokener_parse(text);

	assert_non_null(obj);
	return obj;
}

static struct json_object *get(struct json_object *obj, const char *key, enum json_type type)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v))
		fail_msg("missing key \"%s\"", key);
	assert_int_equal(json_object_get_type(v), type);
	return v;
}

static void assert_json_str(struct json_object *obj, const char *key, const char *want)
{
	assert_string_equal(json_object_get_string(get(obj, key, json_type_string)), want);
}

static void assert_json_int(struct json_object *obj, const char *key, int64_t want)
{
	assert_int_equal(json_object_get_int64(get(obj, key, json_type_int)), want);
}

static void test_nodes(void **state)
{
	struct vtpm_rules_node node;
	struct vtpm_ctx *ctx;
	struct vtpm_rules *rules = make_pair(&ctx);
	uid_t uid;
	gid_t gid;

	assert_int_equal(vtpm_rules_get_count(rules), 2);
	assert_int_equal(vtpm_rules_get_node(rules, 1, &node), 0);
	assert_string_equal(node.host_path, "/dev/tpmrm3");
	assert_string_equal(node.container_path, "/dev/tpmrm0");
	assert_int_equal(node.major, 253);
	assert_int_equal(node.minor, 65539);
	assert_int_equal(vtpm_rules_get_node(rules, 2, &node), -ERANGE);

	assert_int_equal(vtpm_rules_add_node(rules, "dev/tpm1", NULL, 1, 1), -EINVAL);
	assert_int_equal(vtpm_rules_add_node(rules, "/dev/../etc/x", NULL, 1, 1), -EINVAL);
	assert_int_equal(vtpm_rules_add_node(rules, "/", NULL, 1, 1), -EINVAL);
	assert_int_equal(vtpm_rules_set_container_path(rules, 0, "/a/.."), -EINVAL);
	assert_int_equal(vtpm_rules_set_container_path(rules, 5, "/a"), -ERANGE);
	assert_int_equal(vtpm_rules_set_container_path(rules, 0, "/dev/tpm7"), 0);
	assert_int_equal(vtpm_rules_get_node(rules, 0, &node), 0);
	assert_string_equal(node.container_path, "/dev/tpm7");

	assert_int_equal(vtpm_rules_get_mode(rules), 0660);
	assert_int_equal(vtpm_rules_set_mode(rules, 010000), -EINVAL);
	assert_int_equal(vtpm_rules_set_mode(rules, 0600), 0);
	vtpm_rules_set_owner(rules, 1000, 1001);
	vtpm_rules_get_owner(rules, &uid, &gid);
	assert_int_equal(uid, 1000);
	assert_int_equal(gid, 1001);

	assert_int_equal(vtpm_rules_set_name(rules, "-bad"), -EINVAL);
	assert_int_equal(vtpm_rules_set_name(rules, "a/b"), -EINVAL);
	assert_string_equal(vtpm_rules_get_name(rules), "tpm3");
	assert_string_equal(vtpm_rules_get_cdi_kind(rules), VTPM_CDI_KIND_DEFAULT);
	assert_int_equal(vtpm_rules_set_cdi_kind(rules, "novendor"), -EINVAL);
	assert_int_equal(vtpm_rules_set_cdi_kind(rules, "a/b/c"), -EINVAL);
	assert_int_equal(vtpm_rules_set_cdi_kind(rules, "example.com/tpm"), 0);
	assert_string_equal(vtpm_rules_get_cdi_kind(rules), "example.com/tpm");

	for (int i = 2; i < VTPM_RULES_MAX_NODES; i++)
		assert_int_equal(vtpm_rules_add_node(rules, "/dev/x", NULL, 1, (unsigned)i), i);
	assert_int_equal(vtpm_rules_add_node(rules, "/dev/x", NULL, 1, 1), -ENOSPC);
	free_pair(ctx, rules);
}

static void test_text_formats(void **state)
{
	struct vtpm_ctx *ctx;
	struct vtpm_rules *rules = make_pair(&ctx), *empty;
	char *text;

	assert_int_equal(vtpm_rules_format(rules, VTPM_RULES_CGROUP1, &text), 0);
	assert_string_equal(text, "c 10:224 rwm\nc 253:65539 rwm\n");
	free(text);

	assert_int_equal(vtpm_rules_format(rules, VTPM_RULES_LXC, &text), 0);
	assert_string_equal(text,
		"lxc.cgroup2.devices.allow = c 10:224 rwm\n"
		"lxc.cgroup.devices.allow = c 10:224 rwm\n"
		"lxc.mount.entry = /dev/tpm3 dev/tpm0 none bind,optional,create=file\n"
		"lxc.cgroup2.devices.allow = c 253:65539 rwm\n"
		"lxc.cgroup.devices.allow = c 253:65539 rwm\n"
		"lxc.mount.entry = /dev/tpmrm3 dev/tpmrm0 none bind,optional,create=file\n");
	free(text);

	assert_int_equal(vtpm_rules_format(rules, 42, &text), -EINVAL);
	assert_int_equal(vtpm_rules_new(ctx, &empty), 0);
	assert_int_equal(vtpm_rules_format(empty, VTPM_RULES_CGROUP1, &text), -ENODATA);
	assert_int_equal(vtpm_rules_add_node(empty, "/dev/tpm1", NULL, 10, 1), 0);
	assert_int_equal(vtpm_rules_format(empty, VTPM_RULES_CDI, &text), -ENOENT);
	vtpm_rules_unref(empty);
	free_pair(ctx, rules);
}

static void test_oci(void **state)
{
	struct vtpm_ctx *ctx;
	struct vtpm_rules *rules = make_pair(&ctx);
	struct json_object *root, *lnx, *devs, *res, *allow, *d;
	char *text;

	vtpm_rules_set_owner(rules, 0, 59);
	assert_int_equal(vtpm_rules_format(rules, VTPM_RULES_OCI, &text), 0);
	root = parse(text);
	free(text);

	lnx = get(root, "linux", json_type_object);
	devs = get(lnx, "devices", json_type_array);
	assert_int_equal(json_object_array_length(devs), 2);
	d = json_object_array_get_idx(devs, 0);
	assert_json_str(d, "path", "/dev/tpm0");
	assert_json_str(d, "type", "c");
	assert_json_int(d, "major", 10);
	assert_json_int(d, "minor", 224);
	assert_json_int(d, "fileMode", 0660);
	assert_json_int(d, "uid", 0);
	assert_json_int(d, "gid", 59);
	d = json_object_array_get_idx(devs, 1);
	assert_json_str(d, "path", "/dev/tpmrm0");
	assert_json_int(d, "major", 253);
	assert_json_int(d, "minor", 65539);

	res = get(lnx, "resources", json_type_object);
	allow = get(res, "devices", json_type_array);
	assert_int_equal(json_object_array_length(allow), 2);
	for (size_t i = 0; i < 2; i++) {
		d = json_object_array_get_idx(allow, i);
		assert_true(json_object_get_boolean(get(d, "allow", json_type_boolean)));
		assert_json_str(d, "type", "c");
		assert_json_str(d, "access", "rwm");
		assert_json_int(d, "major", i == 0 ? 10 : 253);
		assert_json_int(d, "minor", i == 0 ? 224 : 65539);
	}
	json_object_put(root);
	free_pair(ctx, rules);
}

static void check_cdi_device(struct json_object *dev, const char *name)
{
	struct json_object *nodes, *n;

	assert_json_str(dev, "name", name);
	nodes = get(get(dev, "containerEdits", json_type_object), "deviceNodes", json_type_array);
	assert_int_equal(json_object_array_length(nodes), 2);
	n = json_object_array_get_idx(nodes, 0);
	assert_json_str(n, "path", "/dev/tpm0");
	assert_json_str(n, "hostPath", "/dev/tpm3");
	assert_json_str(n, "type", "c");
	assert_json_int(n, "major", 10);
	assert_json_int(n, "minor", 224);
	assert_json_str(n, "permissions", "rwm");
	assert_json_int(n, "fileMode", 0660);
	n = json_object_array_get_idx(nodes, 1);
	assert_json_str(n, "path", "/dev/tpmrm0");
	assert_json_str(n, "hostPath", "/dev/tpmrm3");
}

static void test_cdi(void **state)
{
	struct vtpm_ctx *ctx;
	struct vtpm_rules *rules = make_pair(&ctx);
	struct json_object *root, *devs;
	char *text, *merged, *again, *left;

	assert_int_equal(vtpm_rules_format(rules, VTPM_RULES_CDI, &text), 0);
	root = parse(text);
	assert_json_str(root, "cdiVersion", VTPM_CDI_VERSION);
	assert_json_str(root, "kind", "libvtpm.org/vtpm");
	devs = get(root, "devices", json_type_array);
	assert_int_equal(json_object_array_length(devs), 1);
	check_cdi_device(json_object_array_get_idx(devs, 0), "tpm3");
	json_object_put(root);

	/* Merging a second name appends; the same name again replaces. */
	assert_int_equal(vtpm_rules_set_name(rules, "other"), 0);
	assert_int_equal(vtpm_cdi_spec_merge(rules, text, &merged), 0);
	assert_int_equal(vtpm_cdi_spec_merge(rules, merged, &again), 0);
	root = parse(again);
	devs = get(root, "devices", json_type_array);
	assert_int_equal(json_object_array_length(devs), 2);
	check_cdi_device(json_object_array_get_idx(devs, 0), "tpm3");
	check_cdi_device(json_object_array_get_idx(devs, 1), "other");
	json_object_put(root);

	assert_int_equal(vtpm_cdi_spec_remove(again, "tpm3", &left), 0);
	root = parse(left);
	devs = get(root, "devices", json_type_array);
	assert_int_equal(json_object_array_length(devs), 1);
	check_cdi_device(json_object_array_get_idx(devs, 0), "other");
	json_object_put(root);
	assert_int_equal(vtpm_cdi_spec_remove(left, "nope", &merged), -ENOENT);
	free(again);
	assert_int_equal(vtpm_cdi_spec_remove(left, "other", &again), 0);
	assert_null(again);
	free(left);
	free(merged);

	assert_int_equal(vtpm_cdi_spec_merge(rules, NULL, &merged), 0);
	free(merged);
	assert_int_equal(vtpm_cdi_spec_merge(rules, "[1]", &merged), -EBADMSG);
	assert_int_equal(vtpm_cdi_spec_merge(rules, "{\"kind\":\"x/y\"}", &merged), -EBADMSG);
	assert_int_equal(vtpm_cdi_spec_merge(rules, "{\"kind\":\"x.org/y\",\"devices\":[]}", &merged),
			 -EXDEV);
	assert_int_equal(vtpm_cdi_spec_merge(rules, "{not json", &merged), -EBADMSG);
	free(text);
	free_pair(ctx, rules);
}

/* A fake /dev and sysfs: tpm5 is this test's /dev/null device number. */
static void test_from_path(void **state)
{
	static const char *const bad_devnums[] = {
		"253:65541x\n", "253:65541", "253\n", "", "x:1\n",
	};
	char root[] = "/tmp/test-rules-XXXXXX", p[512], dev[64];
	struct vtpm_rules_node node;
	struct vtpm_rules *rules;
	struct vtpm_ctx *ctx;
	struct stat st;
	FILE *f;

	if (stat("/dev/null", &st) < 0 || !S_ISCHR(st.st_mode))
		skip();
	assert_non_null(mkdtemp(root));
	snprintf(dev, sizeof(dev), "%s/dev", root);
	assert_int_equal(mkdir(dev, 0755), 0);
	snprintf(p, sizeof(p), "mkdir -p %s/sys/class/tpmrm/tpmrm5", root);
	assert_int_equal(system(p), 0);
	snprintf(p, sizeof(p), "%s/sys/class/tpmrm/tpmrm5/dev", root);
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "253:65541\n");
	fclose(f);

	/* Not a tpmN name, a missing node, a regular file. */
	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	assert_int_equal(vtpm_ctx_set_path(ctx, VTPM_PATH_DEV, dev), 0);
	snprintf(p, sizeof(p), "%s/sys", root);
	assert_int_equal(vtpm_ctx_set_path(ctx, VTPM_PATH_SYSFS, p), 0);
	assert_int_equal(vtpm_rules_new_from_path(ctx, "/dev/null", &rules), -EINVAL);
	assert_int_equal(vtpm_rules_new_from_path(ctx, "x5", &rules), -EINVAL);
	assert_int_equal(vtpm_rules_new_from_path(ctx, "5", &rules), -ENOENT);
	snprintf(p, sizeof(p), "%s/tpm5", dev);
	f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(vtpm_rules_new_from_path(ctx, "5", &rules), -ENOTTY);
	unlink(p);

	if (mknod(p, S_IFCHR | 0600, st.st_rdev) < 0) {
		/* Not root: a symlink to /dev/null is a character device for stat(2). */
		assert_int_equal(symlink("/dev/null", p), 0);
	}
	assert_int_equal(vtpm_rules_new_from_path(ctx, "5", &rules), 0);
	assert_int_equal(vtpm_rules_get_count(rules), 2);
	assert_string_equal(vtpm_rules_get_name(rules), "tpm5");
	assert_int_equal(vtpm_rules_get_node(rules, 0, &node), 0);
	assert_string_equal(node.host_path, p);
	assert_int_equal(node.major, major(st.st_rdev));
	assert_int_equal(node.minor, minor(st.st_rdev));
	assert_int_equal(vtpm_rules_get_node(rules, 1, &node), 0);
	assert_int_equal(node.major, 253);
	assert_int_equal(node.minor, 65541);
	snprintf(p, sizeof(p), "%s/tpmrm5", dev);
	assert_string_equal(node.host_path, p);
	/* Nodes chosen by what they are, not by position. */
	assert_int_equal(vtpm_rules_find_node(rules, VTPM_NODE_TPM), 0);
	assert_int_equal(vtpm_rules_find_node(rules, VTPM_NODE_TPMRM), 1);
	assert_int_equal(vtpm_rules_find_node(rules, 2), -EINVAL);
	assert_int_equal(vtpm_rules_set_node_container_path(rules, VTPM_NODE_TPMRM, "/dev/tpmrm0"), 0);
	assert_int_equal(vtpm_rules_get_node(rules, 1, &node), 0);
	assert_string_equal(node.container_path, "/dev/tpmrm0");
	assert_int_equal(vtpm_rules_set_node_container_path(rules, VTPM_NODE_TPM, "../x"), -EINVAL);
	assert_int_equal(vtpm_rules_set_node_container_path(rules, 7, "/dev/x"), -EINVAL);
	/* A node added by hand is neither. */
	assert_int_equal(vtpm_rules_add_node(rules, "/dev/other", NULL, 1, 2), 2);
	assert_int_equal(vtpm_rules_find_node(rules, VTPM_NODE_TPM), 0);
	vtpm_rules_unref(rules);

	/* A sysfs attribute that is not exactly "MAJOR:MINOR\n" is refused, not half read. */
	snprintf(p, sizeof(p), "%s/sys/class/tpmrm/tpmrm5/dev", root);
	for (size_t i = 0; i < sizeof(bad_devnums) / sizeof(bad_devnums[0]); i++) {
		f = fopen(p, "w");
		assert_non_null(f);
		fputs(bad_devnums[i], f);
		fclose(f);
		rules = NULL;
		assert_int_equal(vtpm_rules_new_from_path(ctx, "5", &rules), -EIO);
		assert_null(rules);
	}

	/* Without a tpmrm node in sysfs (TPM 1.2): only the tpm node. */
	unlink(p);
	assert_int_equal(vtpm_rules_new_from_path(ctx, "5", &rules), 0);
	assert_int_equal(vtpm_rules_find_node(rules, VTPM_NODE_TPM), 0);
	assert_int_equal(vtpm_rules_find_node(rules, VTPM_NODE_TPMRM), -ENOENT);
	assert_int_equal(vtpm_rules_set_node_container_path(rules, VTPM_NODE_TPMRM, "/dev/x"),
			 -ENOENT);
	vtpm_rules_unref(rules);

	snprintf(p, sizeof(p), "rm -rf %s", root);
	assert_int_equal(system(p), 0);
	vtpm_ctx_unref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nodes),
		cmocka_unit_test(test_text_formats),
		cmocka_unit_test(test_oci),
		cmocka_unit_test(test_cdi),
		cmocka_unit_test(test_from_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
