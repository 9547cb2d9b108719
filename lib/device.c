/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Device pairs: creation through the proxy control device, node lookup. */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/vtpm_proxy.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "vtpm-internal.h"

struct vtpm_device {
	int refcount;
	struct vtpm_ctx *ctx;
	enum vtpm_version version;
	int fd;
	unsigned int number;
	dev_t tpm_devnum;
	dev_t tpmrm_devnum; /* 0 until read from sysfs */
	char *paths[2];	    /* indexed by enum vtpm_node */
};

static int create_pair(struct vtpm_ctx *ctx, enum vtpm_version version,
		       struct vtpm_proxy_new_dev *new_dev)
{
	const char *vtpmx = vtpm_ctx_get_path(ctx, VTPM_PATH_VTPMX);
	_cleanup_close_ int fd = -1;
	int r;

	fd = open(vtpmx, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		err(ctx, "cannot open %s: %s", vtpmx, strerror(-r));
		return r;
	}

	memset(new_dev, 0, sizeof(*new_dev));
	new_dev->flags = version == VTPM_VERSION_2 ? VTPM_PROXY_FLAG_TPM2 : 0;
	if (ioctl(fd, VTPM_PROXY_IOC_NEW_DEV, new_dev) < 0) {
		r = -errno;
		/* Kernels have answered unknown flags with ENOSYS and EOPNOTSUPP. */
		if (r == -ENOSYS || r == -ENOTTY)
			r = -EOPNOTSUPP;
		err(ctx, "VTPM_PROXY_IOC_NEW_DEV on %s failed: %s", vtpmx, strerror(-r));
		return r;
	}

	/* The kernel installs the server fd without close-on-exec. */
	if (fcntl((int)new_dev->fd, F_SETFD, FD_CLOEXEC) < 0) {
		r = -errno;
		close((int)new_dev->fd);
		return r;
	}
	return 0;
}

static int build_paths(struct vtpm_device *dev)
{
	const char *devroot = vtpm_ctx_get_path(dev->ctx, VTPM_PATH_DEV);

	if (asprintf(&dev->paths[VTPM_NODE_TPM], "%s/tpm%u", devroot, dev->number) < 0) {
		dev->paths[VTPM_NODE_TPM] = NULL;
		return -ENOMEM;
	}
	if (dev->version != VTPM_VERSION_2)
		return 0;
	if (asprintf(&dev->paths[VTPM_NODE_TPMRM], "%s/tpmrm%u", devroot, dev->number) < 0) {
		dev->paths[VTPM_NODE_TPMRM] = NULL;
		return -ENOMEM;
	}
	return 0;
}

VTPM_EXPORT int vtpm_device_new(struct vtpm_ctx *ctx, enum vtpm_version version,
				struct vtpm_device **out)
{
	struct vtpm_proxy_new_dev new_dev;
	struct vtpm_device *dev;
	int r;

	if (version != VTPM_VERSION_1_2 && version != VTPM_VERSION_2)
		return -EINVAL;

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->refcount = 1;
	dev->fd = -1;
	dev->ctx = vtpm_ctx_ref(ctx);
	dev->version = version;

	r = create_pair(ctx, version, &new_dev);
	if (r < 0)
		goto fail;
	dev->fd = (int)new_dev.fd;
	dev->number = new_dev.tpm_num;
	dev->tpm_devnum = makedev(new_dev.major, new_dev.minor);

	r = build_paths(dev);
	if (r < 0)
		goto fail;

	info(ctx, "created tpm%u (%u:%u), TPM %s", dev->number, new_dev.major,
	     new_dev.minor, version == VTPM_VERSION_2 ? "2" : "1.2");
	*out = dev;
	return 0;

fail:
	vtpm_device_unref(dev);
	return r;
}

VTPM_EXPORT struct vtpm_device *vtpm_device_ref(struct vtpm_device *dev)
{
	if (dev)
		dev->refcount++;
	return dev;
}

VTPM_EXPORT struct vtpm_device *vtpm_device_unref(struct vtpm_device *dev)
{
	if (!dev || --dev->refcount > 0)
		return NULL;
	if (dev->fd >= 0)
		close(dev->fd);
	free(dev->paths[VTPM_NODE_TPM]);
	free(dev->paths[VTPM_NODE_TPMRM]);
	vtpm_ctx_unref(dev->ctx);
	free(dev);
	return NULL;
}

VTPM_EXPORT enum vtpm_version vtpm_device_get_version(const struct vtpm_device *dev)
{
	return dev->version;
}

VTPM_EXPORT unsigned int vtpm_device_get_number(const struct vtpm_device *dev)
{
	return dev->number;
}

VTPM_EXPORT int vtpm_device_get_fd(const struct vtpm_device *dev)
{
	return dev->fd;
}

VTPM_EXPORT const char *vtpm_device_get_path(const struct vtpm_device *dev, enum vtpm_node node)
{
	if (node != VTPM_NODE_TPM && node != VTPM_NODE_TPMRM)
		return NULL;
	return dev->paths[node];
}

/* "<sysfs>/class/tpm/tpm0/dev" or "<sysfs>/class/tpmrm/tpmrm0/dev" */
static int sysfs_dev_attr(const struct vtpm_device *dev, enum vtpm_node node,
			  char *buf, size_t size)
{
	const char *class = node == VTPM_NODE_TPM ? "tpm" : "tpmrm";
	int n;

	n = snprintf(buf, size, "%s/class/%s/%s%u/dev",
		     vtpm_ctx_get_path(dev->ctx, VTPM_PATH_SYSFS), class, class, dev->number);
	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

int vtpm_sysfs_read_devnum(const char *path, dev_t *devnum)
{
	unsigned int maj, min;
	char line[64], extra;
	FILE *f;
	int r = 0;

	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -EAGAIN : -errno;
	if (!fgets(line, sizeof(line), f))
		r = -EIO;
	fclose(f);
	if (r < 0)
		return r;
	/* The attribute is "MAJOR:MINOR\n". */
	if (sscanf(line, "%u:%u%c", &maj, &min, &extra) != 3 || extra != '\n')
		return -EIO;
	*devnum = makedev(maj, min);
	return 0;
}

VTPM_EXPORT int vtpm_device_get_devnum(struct vtpm_device *dev, enum vtpm_node node, dev_t *devnum)
{
	char path[PATH_MAX];
	int r;

	if (node == VTPM_NODE_TPM) {
		*devnum = dev->tpm_devnum;
		return 0;
	}
	if (node != VTPM_NODE_TPMRM)
		return -EINVAL;
	if (dev->version != VTPM_VERSION_2)
		return -ENODEV;
	if (dev->tpmrm_devnum == 0) {
		r = sysfs_dev_attr(dev, VTPM_NODE_TPMRM, path, sizeof(path));
		if (r < 0)
			return r;
		r = vtpm_sysfs_read_devnum(path, &dev->tpmrm_devnum);
		if (r < 0)
			return r;
	}
	*devnum = dev->tpmrm_devnum;
	return 0;
}

static int sysfs_node_exists(const struct vtpm_device *dev, enum vtpm_node node)
{
	char path[PATH_MAX];
	struct stat st;
	int r;

	r = sysfs_dev_attr(dev, node, path, sizeof(path));
	if (r < 0)
		return r;
	if (stat(path, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

struct vtpm_ctx *vtpm_device_get_ctx(const struct vtpm_device *dev)
{
	return dev->ctx;
}

VTPM_EXPORT int vtpm_device_is_registered(const struct vtpm_device *dev)
{
	int r;

	/* The kernel adds the tpmrm device after the tpm one: check it last. */
	r = sysfs_node_exists(dev, VTPM_NODE_TPM);
	if (r <= 0 || dev->version != VTPM_VERSION_2)
		return r;
	return sysfs_node_exists(dev, VTPM_NODE_TPMRM);
}
