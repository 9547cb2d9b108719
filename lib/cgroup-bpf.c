/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgroup v2 device access: copy the container's BPF_PROG_TYPE_CGROUP_DEVICE
 * programs with a prefix that allows our nodes, swap them in atomically and
 * swap the originals back on revoke.  Raw bpf(2), no libbpf: we need five
 * commands and hand-written instructions, nothing an ELF loader offers.
 *
 * Why a copy and not a second program: the kernel runs every program in a
 * cgroup's effective array and allows the access only if all of them return
 * 1 (kernel/bpf/cgroup.c, __cgroup_bpf_check_dev_permission() runs
 * bpf_prog_run_array_cg() over the array; a 0 from any one denies).  An
 * extra "allow tpmN" program therefore cannot override the runtime's
 * deny-by-default program, and a program cannot call another without maps
 * and tail calls.  Decompiling a program into rules is unreliable, but its
 * translated instructions (BPF_OBJ_GET_INFO_BY_FD, xlated_prog_insns) can be
 * loaded again: device programs have no context rewriting, and the ones
 * runc, crun, LXC and systemd emit use only loads, ALU, jumps and exits.
 * BPF jumps are relative, so code put in front leaves them correct.
 * Programs with helper calls, map references or the verifier's blinding
 * register are refused instead of guessed at.
 */
#include "config.h"

#include <linux/bpf.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>

#include "cgroup-bpf.h"
#include "vtpm-internal.h"

/* Programs attached to one cgroup; the kernel's own limit is 64. */
#define MAX_PROGS 64
/* The kernel's BPF_MAXINSNS for unprivileged loads; device programs are small. */
#define MAX_INSNS 65536
/* The last register a program may name (the read-only frame pointer).  A
 * translated program may also hold BPF_REG_AX, the verifier's scratch
 * register for constant blinding, which a load rejects. */
#define BPF_REG_MAX_VALID BPF_REG_10

static const char prog_license[] = "LGPL-2.1-or-later";
static const char prog_name[] = "vtpm_devcg";

static int sys_bpf(enum bpf_cmd cmd, union bpf_attr *attr)
{
	long r = syscall(SYS_bpf, cmd, attr, sizeof(*attr));

	return r < 0 ? -errno : (int)r;
}

static uint64_t ptr_to_u64(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src,
				  .off = off, .imm = imm };
}

/*
 * The prefix: "if this is a character device and (major, minor) is one of
 * ours, return 1 (allow)"; otherwise fall through to the original program
 * with r1 (the context) untouched.  struct bpf_cgroup_dev_ctx is in
 * <linux/bpf.h>: access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*.
 * The prefix writes only r0 and r2..r4: at entry just r1 and the frame
 * pointer hold values, so a program the verifier accepted never reads the
 * others before it writes them.
 */
#define REG_CTX BPF_REG_1	/* the program's argument, the device context */
#define REG_TYPE BPF_REG_2
#define REG_MAJOR BPF_REG_3
#define REG_MINOR BPF_REG_4

static size_t build_prefix(const struct vtpm_rules *rules, struct bpf_insn *out)
{
	unsigned int n = vtpm_rules_get_count(rules);
	size_t i = 0;

	out[i++] = insn(BPF_LDX | BPF_MEM | BPF_W, REG_TYPE, REG_CTX,
			offsetof(struct bpf_cgroup_dev_ctx, access_type), 0);
	out[i++] = insn(BPF_ALU | BPF_AND | BPF_K, REG_TYPE, 0, 0, 0xffff);
	out[i++] = insn(BPF_JMP | BPF_JNE | BPF_K, REG_TYPE, 0, (int16_t)(2 + 4 * n), BPF_DEVCG_DEV_CHAR);
	out[i++] = insn(BPF_LDX | BPF_MEM | BPF_W, REG_MAJOR, REG_CTX,
			offsetof(struct bpf_cgroup_dev_ctx, major), 0);
	out[i++] = insn(BPF_LDX | BPF_MEM | BPF_W, REG_MINOR, REG_CTX,
			offsetof(struct bpf_cgroup_dev_ctx, minor), 0);
	for (unsigned int k = 0; k < n; k++) {
		struct vtpm_rules_node node;

		vtpm_rules_get_node(rules, k, &node);
		out[i++] = insn(BPF_JMP | BPF_JNE | BPF_K, REG_MAJOR, 0, 3, (int32_t)node.major);
		out[i++] = insn(BPF_JMP | BPF_JNE | BPF_K, REG_MINOR, 0, 2, (int32_t)node.minor);
		out[i++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
		out[i++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}
	return i;
}

#define PREFIX_MAX (5 + 4 * VTPM_RULES_MAX_NODES)

/* Whether @insns can be loaded again as they are. */
static bool insns_reloadable(const struct bpf_insn *insns, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t cls = BPF_CLASS(insns[i].code);

		if (insns[i].dst_reg > BPF_REG_MAX_VALID || insns[i].src_reg > BPF_REG_MAX_VALID)
			return false;
		if ((cls == BPF_JMP || cls == BPF_JMP32) && BPF_OP(insns[i].code) == BPF_CALL)
			return false;
		if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) && insns[i].src_reg != 0)
			return false;
	}
	return true;
}

/* Fetch the translated instructions of a device program. */
/* BPF_OBJ_GET_INFO_BY_FD: what @info asks for (its pointers, lengths) is filled in. */
static int prog_info(int prog_fd, struct bpf_prog_info *info)
{
	union bpf_attr attr = {};

	attr.info.bpf_fd = (uint32_t)prog_fd;
	attr.info.info_len = sizeof(*info);
	attr.info.info = ptr_to_u64(info);
	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr);
}

static int get_insns(struct vtpm_ctx *ctx, int prog_fd, struct bpf_insn **insns, size_t *n)
{
	struct bpf_prog_info info = {};
	_cleanup_free_ struct bpf_insn *buf = NULL;
	uint32_t len;
	int r;

	r = prog_info(prog_fd, &info);
	if (r < 0)
		return r;
	if (info.type != BPF_PROG_TYPE_CGROUP_DEVICE)
		return -EMEDIUMTYPE;
	len = info.xlated_prog_len;
	if (len == 0 || len % sizeof(struct bpf_insn) || len / sizeof(struct bpf_insn) > MAX_INSNS) {
		/* A zero length means the kernel will not show them (kptr_restrict). */
		err(ctx, "cannot read the instructions of device program %u", info.id);
		return -EOPNOTSUPP;
	}
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;

	memset(&info, 0, sizeof(info));
	info.xlated_prog_len = len;
	info.xlated_prog_insns = ptr_to_u64(buf);
	r = prog_info(prog_fd, &info);
	if (r < 0)
		return r;
	if (info.xlated_prog_len != len)
		return -EAGAIN;
	*n = len / sizeof(struct bpf_insn);
	*insns = TAKE_PTR(buf);
	return 0;
}

static int load_prog(struct vtpm_ctx *ctx, const struct bpf_insn *insns, size_t n)
{
	union bpf_attr attr = {};
	char log[4096];
	int r;

	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = ptr_to_u64(insns);
	attr.insn_cnt = (uint32_t)n;
	attr.license = ptr_to_u64(prog_license);
	memcpy(attr.prog_name, prog_name, sizeof(prog_name));
	r = sys_bpf(BPF_PROG_LOAD, &attr);
	if (r >= 0 || r == -EPERM)
		return r;

	/* Load again for the verifier's explanation. */
	log[0] = '\0';
	attr.log_buf = ptr_to_u64(log);
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	if (sys_bpf(BPF_PROG_LOAD, &attr) < 0)
		err(ctx, "the verifier refused the device program: %s", log);
	return r;
}

static int attach(int cg_fd, int prog_fd, int replace_fd, uint32_t flags)
{
	union bpf_attr attr = {};

	attr.target_fd = (uint32_t)cg_fd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = flags;
	if (flags & BPF_F_REPLACE)
		attr.replace_bpf_fd = (uint32_t)replace_fd;
	return sys_bpf(BPF_PROG_ATTACH, &attr);
}

static int query(int cg_fd, uint32_t query_flags, uint32_t *ids, uint32_t *count,
		 uint32_t *attach_flags)
{
	union bpf_attr attr = {};
	int r;

	attr.query.target_fd = (uint32_t)cg_fd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.query_flags = query_flags;
	attr.query.prog_ids = ptr_to_u64(ids);
	attr.query.prog_cnt = *count;
	r = sys_bpf(BPF_PROG_QUERY, &attr);
	if (r < 0)
		return r;
	*count = attr.query.prog_cnt;
	if (attach_flags)
		*attach_flags = attr.query.attach_flags;
	return 0;
}

static int get_prog_fd(uint32_t id)
{
	union bpf_attr attr = {};

	attr.prog_id = id;
	return sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
}

/* Put one swapped program back; -ENOENT if ours is no longer attached. */
static int swap_back(int cg_fd, struct bpf_swap *s)
{
	if (s->flags & BPF_F_ALLOW_MULTI)
		return attach(cg_fd, s->old_fd, s->new_fd, BPF_F_ALLOW_MULTI | BPF_F_REPLACE);
	return attach(cg_fd, s->old_fd, -1, s->flags);
}

void vtpm_bpf_swaps_release(struct bpf_swaps *swaps)
{
	for (unsigned int i = 0; i < swaps->count; i++) {
		closep(&swaps->items[i].old_fd);
		closep(&swaps->items[i].new_fd);
	}
	free(swaps->items);
	*swaps = (struct bpf_swaps){};
}

int vtpm_bpf_revoke(struct vtpm_ctx *ctx, int cg_fd, struct bpf_swaps *swaps)
{
	int r = 0;

	for (unsigned int i = swaps->count; i-- > 0; ) {
		int k = swap_back(cg_fd, &swaps->items[i]);

		if (k < 0) {
			warn(ctx, "cannot restore device program %u: %s", i, strerror(-k));
			if (r == 0)
				r = k;
		}
	}
	vtpm_bpf_swaps_release(swaps);
	return r;
}

int vtpm_bpf_allow(struct vtpm_ctx *ctx, int cg_fd, const struct vtpm_rules *rules,
		   struct bpf_swaps *swaps)
{
	uint32_t ids[MAX_PROGS], count = MAX_PROGS, flags = 0;
	struct bpf_insn prefix[PREFIX_MAX];
	size_t prefix_len;
	int r;

	*swaps = (struct bpf_swaps){};
	r = query(cg_fd, 0, ids, &count, &flags);
	if (r < 0) {
		err(ctx, "BPF_PROG_QUERY on the cgroup failed: %s", strerror(-r));
		return r;
	}
	if (count == 0) {
		uint32_t eff = 0;

		/* Nothing of its own restricts it; ancestors are not ours to change. */
		if (query(cg_fd, BPF_F_QUERY_EFFECTIVE, NULL, &eff, NULL) == 0 && eff > 0)
			info(ctx, "no device program on the cgroup itself, %u inherited: left alone", eff);
		return 0;
	}
	if (count > MAX_PROGS)
		return -E2BIG;

	swaps->items = calloc(count, sizeof(*swaps->items));
	if (!swaps->items)
		return -ENOMEM;
	prefix_len = build_prefix(rules, prefix);

	for (uint32_t i = 0; i < count; i++) {
		_cleanup_free_ struct bpf_insn *old = NULL, *merged = NULL;
		struct bpf_swap *s = &swaps->items[swaps->count];
		size_t n;

		s->old_fd = s->new_fd = -1;
		s->flags = flags;
		r = get_prog_fd(ids[i]);
		if (r < 0) {
			err(ctx, "cannot open device program %u: %s", ids[i], strerror(-r));
			goto undo;
		}
		s->old_fd = r;
		r = get_insns(ctx, s->old_fd, &old, &n);
		if (r < 0)
			goto undo_one;
		if (!insns_reloadable(old, n)) {
			err(ctx, "device program %u uses helpers or maps: not copying it", ids[i]);
			r = -EOPNOTSUPP;
			goto undo_one;
		}
		merged = malloc((prefix_len + n) * sizeof(*merged));
		if (!merged) {
			r = -ENOMEM;
			goto undo_one;
		}
		memcpy(merged, prefix, prefix_len * sizeof(*merged));
		memcpy(merged + prefix_len, old, n * sizeof(*merged));
		r = load_prog(ctx, merged, prefix_len + n);
		if (r < 0)
			goto undo_one;
		s->new_fd = r;
		r = attach(cg_fd, s->new_fd, s->old_fd,
			   flags & BPF_F_ALLOW_MULTI ? BPF_F_ALLOW_MULTI | BPF_F_REPLACE : flags);
		if (r < 0) {
			err(ctx, "cannot attach the device program: %s", strerror(-r));
			goto undo_one;
		}
		info(ctx, "device program %u replaced by a copy that allows our nodes", ids[i]);
		swaps->count++;
	}
	return 0;

undo_one:
	closep(&swaps->items[swaps->count].old_fd);
	closep(&swaps->items[swaps->count].new_fd);
undo:
	vtpm_bpf_revoke(ctx, cg_fd, swaps);
	return r;
}
