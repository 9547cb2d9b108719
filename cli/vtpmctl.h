/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What vtpmctl's subcommands share. */
#ifndef VTPMCTL_H
#define VTPMCTL_H

#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>
#include <vtpm/vtpm.h>

/* Exit codes: the CLI's contract with scripts. */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

struct vtpmctl_command {
	const char *name;
	int (*run)(int argc, char *argv[]);
	const char *summary;
};

int cmd_create(int argc, char *argv[]);

/* Print "vtpmctl: <message>" to stderr. */
void log_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Explain a libvtpm error from vtpm_device_new() with what to do about it. */
void explain_device_error(int r, const char *vtpmx);

/* Parse a decimal number in [min, max]; false if @s is not one. */
bool parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/* A device's description as JSON: version, tpm and tpmrm nodes. */
struct json_object *device_to_json(struct vtpm_device *dev);

/* The same, human-readable, to @f. */
void device_print(struct vtpm_device *dev, FILE *f);

#endif
