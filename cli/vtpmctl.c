/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vtpmctl: the command-line face of libvtpm.  Dispatches to subcommands. */
#include "config.h"

#include <getopt.h>
#include <string.h>

#include "vtpmctl.h"

static const struct vtpmctl_command commands[] = {
	{ "create", cmd_create, "create a vTPM and serve it until stopped" },
	{ "stop", cmd_stop, "stop the vTPM server holding a pid file and remove the file" },
	{ "ctrl", cmd_ctrl, "send a control command (init, stop, ...) to a running vTPM" },
	{ "state", cmd_state, "export a TPM's state to a file, or import it" },
	{ "manufacture", cmd_manufacture, "give a stopped TPM its EKs, certificates and PCR banks" },
	{ "ek-cert", cmd_ek_cert, "print a TPM's EK certificate" },
	{ "rules", cmd_rules, "print the container rules for an existing vTPM" },
	{ "cdi", cmd_cdi, "add vTPMs to a CDI spec file, or remove them" },
	{ "oci-hook", cmd_oci_hook, "OCI runtime hook: a vTPM per container" },
	{ "lxc-hook", cmd_lxc_hook, "LXC hook: a vTPM per container" },
	{ "daemon", cmd_daemon, "run the instance manager: named vTPMs, restarted if they die" },
	{ "list", cmd_list, "list the instance manager's vTPMs" },
	{ "status", cmd_status, "show one of the instance manager's vTPMs" },
	{ "destroy", cmd_destroy, "stop and remove one of the instance manager's vTPMs" },
	{ "restart", cmd_restart, "restart one of the instance manager's vTPMs" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: vtpmctl [--help] [--version] COMMAND [ARGS...]\n\n"
		   "Software TPMs for containers through the Linux vTPM proxy driver.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'vtpmctl COMMAND --help' for a command's options.\n");
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	int c;

	/* '+': stop at the first non-option, the subcommand. */
	while ((c = getopt_long(argc, argv, "+hV", options, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("vtpmctl %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		log_error("missing command");
		usage(stderr);
		return EXIT_USAGE;
	}

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			static char name[64];

			argc -= optind;
			argv += optind;
			/* getopt names the subcommand in its messages. */
			snprintf(name, sizeof(name), "vtpmctl %s", commands[i].name);
			argv[0] = name;
			optind = 0; /* reset getopt for the subcommand */
			return commands[i].run(argc, argv);
		}
	}
	log_error("unknown command '%s'", argv[optind]);
	usage(stderr);
	return EXIT_USAGE;
}
