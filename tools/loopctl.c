// SPDX-License-Identifier: GPL-2.0
/*
 * loopctl - attach, run, detach, wait for and list loop devices with the
 * asyncloop extensions (<linux/asyncloop.h>), falling back to the classic
 * loop ABI on the stock driver.  See loopctl(8).
 *
 * This file: global options and the command dispatch.  attach.c: attach
 * and run; devices.c: detach, wait, list and features; util.c: the rest.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "loopctl.h"

static const char usage_text[] =
"Usage: loopctl [--require-atomic] [--quiet] COMMAND [OPTIONS] [ARGS]\n"
"       loopctl --help | --version\n"
"\n"
"Commands:\n"
"  attach [OPTIONS] FILE         bind FILE to a free loop device, print its path\n"
"  run [OPTIONS] FILE -- CMD...  bind FILE while CMD runs, LOOP_DEVICE=/dev/loopN\n"
"  detach [--sync] DEV           detach the backing file of DEV\n"
"  wait [--timeout SECONDS] DEV  wait until DEV is unbound\n"
"  list [--json]                 show every loop device\n"
"  features                      show the driver's asyncloop extensions\n"
"\n"
"DEV is /dev/loopN, loopN, N or the path of a loop device node.\n"
"'loopctl COMMAND --help' describes a command and its options.\n"
"\n"
"Global options:\n"
"      --require-atomic  refuse the classic-ABI fallbacks (stock loop driver)\n"
"  -q, --quiet           no warnings or fallback notes on stderr\n"
"  -h, --help            this help\n"
"  -V, --version         loopctl's version and the asyncloop API it speaks\n"
"\n"
"Exit status: 0 done, 1 failed, 2 bad usage, 3 no atomic interface\n"
"(--require-atomic), 4 timed out, 5 busy; run: CMD's exit status, 128+N if\n"
"CMD was killed by signal N, 125 if loopctl failed before CMD ran, 126 CMD\n"
"not executable, 127 CMD not found.  See loopctl(8).\n";

struct lc_command {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct lc_command commands[] = {
	{ "attach",	lc_cmd_attach },
	{ "run",	lc_cmd_run },
	{ "detach",	lc_cmd_detach },
	{ "wait",	lc_cmd_wait },
	{ "list",	lc_cmd_list },
	{ "features",	lc_cmd_features },
};

enum { OPT_REQUIRE_ATOMIC = 0x100 };

static const struct option global_opts[] = {
	{ "require-atomic",	no_argument,	NULL, OPT_REQUIRE_ATOMIC },
	{ "quiet",		no_argument,	NULL, 'q' },
	{ "help",		no_argument,	NULL, 'h' },
	{ "version",		no_argument,	NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static const struct lc_command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct lc_command *cmd;
	char *help_argv[] = { NULL, "--help", NULL };
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:qhV", global_opts, NULL)) != -1) {
		switch (c) {
		case OPT_REQUIRE_ATOMIC:
			lc.require_atomic = true;
			break;
		case 'q':
			lc.quiet = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return LC_EXIT_OK;
		case 'V':
			printf("loopctl %s (asyncloop API %d)\n", LOOPCTL_VERSION,
			       ALOOP_API_VERSION);
			return LC_EXIT_OK;
		default:
			return lc_bad_option(NULL, c, argv, global_opts);
		}
	}
	if (optind >= argc) {
		lc_err("no command");
		return lc_usage_hint(NULL);
	}
	if (!strcmp(argv[optind], "help")) {
		/* loopctl help [COMMAND] */
		if (optind + 1 >= argc) {
			fputs(usage_text, stdout);
			return LC_EXIT_OK;
		}
		cmd = find_command(argv[optind + 1]);
		if (!cmd) {
			lc_err("unknown command '%s'", argv[optind + 1]);
			return lc_usage_hint(NULL);
		}
		help_argv[0] = (char *)cmd->name;
		optind = 0;
		return cmd->fn(2, help_argv);
	}
	cmd = find_command(argv[optind]);
	if (!cmd) {
		lc_err("unknown command '%s'", argv[optind]);
		return lc_usage_hint(NULL);
	}
	argc -= optind;
	argv += optind;
	optind = 0;	/* glibc: reinitialise for the command's options */
	rc = cmd->fn(argc, argv);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		lc_err("write error on standard output");
		if (!rc)
			rc = LC_EXIT_FAIL;
	}
	return rc;
}
