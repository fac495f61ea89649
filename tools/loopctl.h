/* SPDX-License-Identifier: GPL-2.0 */
/*
 * loopctl - command-line client of the asyncloop extensions of the loop
 * driver (<linux/asyncloop.h>, docs/extensions.md), with a fallback to the
 * classic loop ABI on the stock driver.  loopctl(8) documents the commands
 * and the exit codes below.
 */
#ifndef LOOPCTL_H
#define LOOPCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <getopt.h>
#include <linux/asyncloop.h>

#ifndef LOOPCTL_VERSION
#define LOOPCTL_VERSION "unknown"
#endif

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define LC_CTL_PATH	"/dev/loop-control"
#define LC_SYSFS_BLOCK	"/sys/block"

/* exit codes (loopctl(8), EXIT STATUS) */
enum lc_exit {
	LC_EXIT_OK		= 0,	/* done */
	LC_EXIT_FAIL		= 1,	/* the operation failed */
	LC_EXIT_USAGE		= 2,	/* bad command line or argument */
	LC_EXIT_NOATOMIC	= 3,	/* --require-atomic on a driver without */
	LC_EXIT_TIMEOUT		= 4,	/* wait --timeout expired */
	LC_EXIT_BUSY		= 5,	/* detach --sync: others hold the device */
	LC_EXIT_RUN_FAIL	= 125,	/* run: loopctl failed before CMD ran */
	LC_EXIT_RUN_NOEXEC	= 126,	/* run: CMD found but not executable */
	LC_EXIT_RUN_NOTFOUND	= 127,	/* run: CMD not found */
};

/* global options */
struct lc_global {
	bool require_atomic;	/* refuse the classic-ABI fallbacks */
	bool quiet;		/* no warnings or fallback notes */
};
extern struct lc_global lc;

/* messages on stderr, prefixed "loopctl: " */
void lc_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* a warning: suppressed by --quiet */
void lc_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "Try 'loopctl CMD --help'." after a usage error; returns LC_EXIT_USAGE */
int lc_usage_hint(const char *cmd);
/*
 * The message for an option getopt_long() refused (opterr is 0 and the
 * option string starts with ':'); returns LC_EXIT_USAGE.
 */
int lc_bad_option(const char *cmd, int c, char **argv,
		  const struct option *opts);

/* numbers: decimal or 0x hex, optional K/M/G/T/P/E suffix (binary, "KiB") */
int lc_parse_size(const char *s, uint64_t max, uint64_t *out);
/* seconds, decimal with up to three fraction digits, into milliseconds */
int lc_parse_timeout(const char *s, uint64_t *ms);
/*
 * DEV: /dev/loopN, loopN, N or the path of a loop device node (symlinks
 * followed).  Returns LC_EXIT_OK with *index set, or prints why not and
 * returns LC_EXIT_USAGE (not a loop device) or LC_EXIT_FAIL (no such
 * device or file).
 */
int lc_parse_dev(const char *cmd, const char *arg, int *index);

/* /sys/block/loop<index>/<attr> into buf (NUL-terminated): length or -errno */
int lc_sysfs_read(int index, const char *attr, char *buf, size_t size);
/* a decimal sysfs attribute: 0 or -errno */
int lc_sysfs_u64(int index, const char *attr, uint64_t *val);
bool lc_sysfs_dev_exists(int index);
/* the sysfs loop/ directory exists while a backing file is bound */
bool lc_sysfs_bound(int index);

/* /dev/loop-control, opened once (read-write, else read-only): fd or -errno */
int lc_ctl_fd(void);
bool lc_ctl_writable(void);
/*
 * ALOOP_CTL_GET_FEATURES, asked once: 0 with *f filled, or -errno (ENOSYS,
 * ENOTTY, EINVAL: the stock driver).  f may be NULL.
 */
int lc_features(struct aloop_features *f);
/* the running driver has all of the ALOOP_FEAT_* bits in @mask */
bool lc_has(uint64_t mask);
/* the errno values the stock driver gives an unknown ioctl */
bool lc_errno_is_stock(int err);
/*
 * The driver lacks @what and loopctl is about to use @instead, from the
 * classic ABI: says so on stderr (once per process) and returns
 * LC_EXIT_OK, or, with --require-atomic, says why it refuses and returns
 * LC_EXIT_NOATOMIC.
 */
int lc_fallback(const char *cmd, const char *what, const char *instead);

/* /dev/loopN of a device: open with @flags (O_CLOEXEC added): fd or -errno */
int lc_dev_open(int index, int flags);

uint64_t lc_now_ms(void);
void lc_sleep_ms(unsigned int ms);

/* JSON string (quoted, escaped; invalid UTF-8 as U+FFFD) */
void lc_json_str(const char *s, size_t len);
/* a string for the text output: control characters and '\' escaped */
void lc_text_str(const char *s, size_t len);

/* the commands: argv[0] is the command's name; each returns an exit code */
int lc_cmd_attach(int argc, char **argv);
int lc_cmd_run(int argc, char **argv);
int lc_cmd_detach(int argc, char **argv);
int lc_cmd_wait(int argc, char **argv);
int lc_cmd_list(int argc, char **argv);
int lc_cmd_features(int argc, char **argv);

#endif /* LOOPCTL_H */
