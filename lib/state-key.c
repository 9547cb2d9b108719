/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The key that encrypts TPM state at rest, from its bytes or from swtpm's
 * --key option syntax (swtpm src/swtpm/common.c, key.c), so that the same
 * option string opens the same state under both.
 *
 * Key material never reaches a log message, and every copy of it (the
 * object, file buffers, passphrases) is wiped with OPENSSL_cleanse().
 */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "swtpm-blob.h"
#include "vtpm-internal.h"

/* key.c: PBKDF2-HMAC-SHA512 over the passphrase with this salt and count. */
#define PWD_PBKDF2_SALT "swtpm"
#define PWD_PBKDF2_ITERATIONS 1000
/* A key file holds at most "0x", 64 hex digits and a newline (key.c reads 67 bytes). */
#define KEY_FILE_MAX 67
/* Passphrases longer than this are a mistake (a wrong file), not a passphrase. */
#define PWD_FILE_MAX (64u << 10)

struct vtpm_state_key {
	int refcount;
	struct vtpm_ctx *ctx;
	size_t len;
	uint8_t bytes[SWTPM_AES256_KEY_SIZE];
};

size_t vtpm_state_key_size(const struct vtpm_state_key *key)
{
	return key->len;
}

const uint8_t *vtpm_state_key_bytes(const struct vtpm_state_key *key)
{
	return key->bytes;
}

VTPM_EXPORT int vtpm_state_key_new(struct vtpm_ctx *ctx, const uint8_t *bytes, size_t len,
				   struct vtpm_state_key **out)
{
	struct vtpm_state_key *key;

	if (!bytes || (len != SWTPM_AES128_KEY_SIZE && len != SWTPM_AES256_KEY_SIZE))
		return -EINVAL;
	key = calloc(1, sizeof(*key));
	if (!key)
		return -ENOMEM;
	key->refcount = 1;
	key->ctx = vtpm_ctx_ref(ctx);
	key->len = len;
	memcpy(key->bytes, bytes, len);
	*out = key;
	return 0;
}

VTPM_EXPORT struct vtpm_state_key *vtpm_state_key_ref(struct vtpm_state_key *key)
{
	if (key)
		key->refcount++;
	return key;
}

VTPM_EXPORT struct vtpm_state_key *vtpm_state_key_unref(struct vtpm_state_key *key)
{
	if (!key || --key->refcount > 0)
		return NULL;
	vtpm_ctx_unref(key->ctx);
	OPENSSL_cleanse(key, sizeof(*key));
	free(key);
	return NULL;
}

VTPM_EXPORT unsigned int vtpm_state_key_get_bits(const struct vtpm_state_key *key)
{
	return (unsigned int)key->len * 8;
}

/* ------------------------------------------------------------ options */

struct key_options {
	const char *file, *pwdfile;
	int fd, pwdfd;
	const char *mode, *format, *kdf;
	bool remove;
};

static int parse_bool(const char *v, bool *out)
{
	if (!v || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int parse_fd(const char *v, int *out)
{
	char *end;
	long n;

	if (!v || !*v)
		return -EINVAL;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n < 0 || n > INT32_MAX)
		return -EINVAL;
	*out = (int)n;
	return 0;
}

/* Split "name=value,..." in place (@buf is a copy of the caller's string). */
static int parse_options(struct vtpm_ctx *ctx, char *buf, struct key_options *o)
{
	char *save = NULL;

	*o = (struct key_options){ .fd = -1, .pwdfd = -1 };
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *v = strchr(tok, '=');
		int r = 0;

		if (v)
			*v++ = '\0';
		if (!strcmp(tok, "file") && v && *v)
			o->file = v;
		else if (!strcmp(tok, "pwdfile") && v && *v)
			o->pwdfile = v;
		else if (!strcmp(tok, "fd"))
			r = parse_fd(v, &o->fd);
		else if (!strcmp(tok, "pwdfd"))
			r = parse_fd(v, &o->pwdfd);
		else if (!strcmp(tok, "mode") && v)
			o->mode = v;
		else if (!strcmp(tok, "format") && v)
			o->format = v;
		else if (!strcmp(tok, "kdf") && v)
			o->kdf = v;
		else if (!strcmp(tok, "remove"))
			r = parse_bool(v, &o->remove);
		else
			r = -EINVAL;
		if (r < 0) {
			err(ctx, "key options: bad or unknown option '%s'", tok);
			return -EINVAL;
		}
	}
	if ((o->file != NULL) + (o->fd >= 0) + (o->pwdfile != NULL) + (o->pwdfd >= 0) != 1) {
		err(ctx, "key options: give exactly one of file=, fd=, pwdfile=, pwdfd=");
		return -EINVAL;
	}
	return 0;
}

/* Read all of @fd, up to @max bytes (-EFBIG beyond); @buf has room for @max + 1. */
static int read_all(int fd, uint8_t *buf, size_t max, size_t *len)
{
	size_t n = 0;

	for (;;) {
		ssize_t k = read(fd, buf + n, max + 1 - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > max)
			return -EFBIG;
	}
	*len = n;
	return 0;
}

static int hex_value(uint8_t c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* A key in hex, with an optional "0x", ending at white space (key.c). */
static int parse_hex(const uint8_t *text, size_t len, uint8_t *key, size_t *key_len)
{
	size_t i = 0, n = 0;

	if (len >= 2 && text[0] == '0' && text[1] == 'x')
		i = 2;
	for (; i < len && !isspace(text[i]); i += 2) {
		if (i + 1 >= len || !isxdigit(text[i]) || !isxdigit(text[i + 1]) ||
		    n >= SWTPM_AES256_KEY_SIZE)
			return -EBADMSG;
		key[n++] = (uint8_t)(hex_value(text[i]) << 4 | hex_value(text[i + 1]));
	}
	for (; i < len; i++)
		if (!isspace(text[i]))
			return -EBADMSG;
	*key_len = n;
	return 0;
}

static int open_source(struct vtpm_ctx *ctx, const char *path, int fd, int *out)
{
	if (!path) {
		*out = fd;
		return 0;
	}
	*out = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (*out < 0) {
		int r = -errno;

		err(ctx, "cannot open key file %s: %s", path, strerror(-r));
		return r;
	}
	return 0;
}

static int key_from_file(struct vtpm_ctx *ctx, const struct key_options *o, size_t mode_len,
			 uint8_t *key, size_t *key_len)
{
	const char *what = o->file ? o->file : "the key descriptor";
	uint8_t buf[KEY_FILE_MAX + 1];
	bool binary = o->format && !strcmp(o->format, "binary");
	size_t len = 0;
	int fd, r;

	if (o->format && !binary && strcmp(o->format, "hex")) {
		err(ctx, "key options: format=%s: use hex or binary", o->format);
		return -EINVAL;
	}
	r = open_source(ctx, o->file, o->fd, &fd);
	if (r < 0)
		return r;
	r = read_all(fd, buf, KEY_FILE_MAX, &len);
	if (o->file)
		close(fd);
	if (r == 0 && binary) {
		/* swtpm takes a binary key up to the mode's length. */
		if (len > mode_len || (len != SWTPM_AES128_KEY_SIZE && len != SWTPM_AES256_KEY_SIZE))
			r = -EBADMSG;
		else
			memcpy(key, buf, len);
		*key_len = len;
	} else if (r == 0) {
		r = parse_hex(buf, len, key, key_len);
		if (r == 0 && *key_len != mode_len)
			r = -EBADMSG;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	if (r == -EFBIG || r == -EBADMSG)
		err(ctx, "%s does not hold a %zu-bit key in %s", what, mode_len * 8,
		    binary ? "binary" : "hex (32 or 64 digits, as the mode needs)");
	else if (r < 0)
		err(ctx, "cannot read %s: %s", what, strerror(-r));
	return r;
}

static int key_from_passphrase(struct vtpm_ctx *ctx, const struct key_options *o, size_t mode_len,
			       uint8_t *key)
{
	const char *what = o->pwdfile ? o->pwdfile : "the passphrase descriptor";
	const char *kdf = o->kdf ? o->kdf : "pbkdf2";
	uint8_t *buf, md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	size_t len = 0;
	int fd, r;

	if (strcmp(kdf, "pbkdf2") && strcmp(kdf, "sha512")) {
		err(ctx, "key options: kdf=%s: use pbkdf2 or sha512", kdf);
		return -EINVAL;
	}
	buf = malloc(PWD_FILE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	r = open_source(ctx, o->pwdfile, o->pwdfd, &fd);
	if (r == 0) {
		r = read_all(fd, buf, PWD_FILE_MAX, &len);
		if (o->pwdfile)
			close(fd);
		if (r < 0)
			err(ctx, "cannot read %s: %s", what,
			    r == -EFBIG ? "longer than a passphrase can be" : strerror(-r));
	}
	/* The whole file is the passphrase, a final newline included (key.c). */
	if (r == 0 && !strcmp(kdf, "pbkdf2")) {
		if (PKCS5_PBKDF2_HMAC((const char *)buf, (int)len, (const uint8_t *)PWD_PBKDF2_SALT,
				      sizeof(PWD_PBKDF2_SALT) - 1, PWD_PBKDF2_ITERATIONS, EVP_sha512(),
				      (int)mode_len, key) != 1)
			r = -EIO;
	} else if (r == 0) {
		if (EVP_Digest(buf, len, md, &md_len, EVP_sha512(), NULL) != 1 || md_len < mode_len)
			r = -EIO;
		else
			memcpy(key, md, mode_len);
		OPENSSL_cleanse(md, sizeof(md));
	}
	OPENSSL_cleanse(buf, PWD_FILE_MAX + 1);
	free(buf);
	return r;
}

VTPM_EXPORT int vtpm_state_key_new_from_options(struct vtpm_ctx *ctx, const char *options,
						struct vtpm_state_key **out)
{
	uint8_t bytes[SWTPM_AES256_KEY_SIZE];
	struct key_options o;
	size_t mode_len, key_len = 0;
	char *buf;
	int r;

	if (!options || !*options)
		return -EINVAL;
	/* The option string may name a descriptor, never hold the key. */
	buf = strdup(options);
	if (!buf)
		return -ENOMEM;
	r = parse_options(ctx, buf, &o);
	if (r < 0)
		goto out;
	if (!o.mode || !strcmp(o.mode, "aes-128-cbc") || !strcmp(o.mode, "aes-cbc")) {
		mode_len = SWTPM_AES128_KEY_SIZE;
	} else if (!strcmp(o.mode, "aes-256-cbc")) {
		mode_len = SWTPM_AES256_KEY_SIZE;
	} else {
		err(ctx, "key options: mode=%s: use aes-128-cbc or aes-256-cbc", o.mode);
		r = -EINVAL;
		goto out;
	}

	if (o.file || o.fd >= 0) {
		r = key_from_file(ctx, &o, mode_len, bytes, &key_len);
	} else {
		r = key_from_passphrase(ctx, &o, mode_len, bytes);
		key_len = mode_len;
	}
	if (r == 0)
		r = vtpm_state_key_new(ctx, bytes, key_len, out);
	/* Like swtpm: the file has served its purpose once it is read. */
	if (r == 0 && o.remove && (o.file || o.pwdfile) && unlink(o.file ? o.file : o.pwdfile) < 0)
		warn(ctx, "cannot remove %s: %s", o.file ? o.file : o.pwdfile, strerror(errno));
out:
	OPENSSL_cleanse(bytes, sizeof(bytes));
	free(buf);
	return r;
}
