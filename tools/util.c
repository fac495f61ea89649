// SPDX-License-Identifier: GPL-2.0
/*
 * loopctl: messages, number and device-name parsing, sysfs, the control
 * device and feature discovery, string escaping.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "loopctl.h"

struct lc_global lc;

static void lc_vmsg(const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("loopctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void lc_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lc_vmsg(fmt, ap);
	va_end(ap);
}

void lc_warn(const char *fmt, ...)
{
	va_list ap;

	if (lc.quiet)
		return;
	va_start(ap, fmt);
	lc_vmsg(fmt, ap);
	va_end(ap);
}

int lc_usage_hint(const char *cmd)
{
	if (cmd)
		fprintf(stderr, "Try 'loopctl %s --help'.\n", cmd);
	else
		fputs("Try 'loopctl --help'.\n", stderr);
	return LC_EXIT_USAGE;
}

int lc_bad_option(const char *cmd, int c, char **argv,
		  const struct option *opts)
{
	const char *arg = argv[optind - 1];
	const char *p = cmd ? cmd : "";
	const char *sep = cmd ? ": " : "";
	const char *eq;

	if (c == ':') {
		lc_err("%s%soption '%s' needs an argument", p, sep, arg);
		return lc_usage_hint(cmd);
	}
	if (optopt && strncmp(arg, "--", 2)) {
		lc_err("%s%sunknown option '-%c'", p, sep, optopt);
		return lc_usage_hint(cmd);
	}
	/* a long option: an unknown one, or a value it does not take */
	eq = strchr(arg, '=');
	for (; eq && opts->name; opts++) {
		if (strlen(opts->name) == (size_t)(eq - arg - 2) &&
		    !strncmp(opts->name, arg + 2, eq - arg - 2)) {
			lc_err("%s%soption '--%s' takes no value", p, sep,
			       opts->name);
			return lc_usage_hint(cmd);
		}
	}
	lc_err("%s%sunknown option '%s'", p, sep, arg);
	return lc_usage_hint(cmd);
}

/* ------------------------------------------------------------ numbers -- */

static int digit_value(int c, int base)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (base == 16 && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (base == 16 && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int lc_parse_size(const char *s, uint64_t max, uint64_t *out)
{
	const char *p = s;
	uint64_t v = 0;
	unsigned int shift = 0;
	int base = 10, d;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (digit_value(*p, base) < 0)
		return -EINVAL;
	for (; (d = digit_value(*p, base)) >= 0; p++) {
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	if (*p) {
		const char *units = "KMGTPE";
		const char *u = strchr(units, toupper((unsigned char)*p));

		if (!u)
			return -EINVAL;
		shift = 10 * (u - units + 1);
		p++;
		if (*p && strcmp(p, "iB"))
			return -EINVAL;
		if (v > (UINT64_MAX >> shift))
			return -ERANGE;
		v <<= shift;
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int lc_parse_timeout(const char *s, uint64_t *ms)
{
	const uint64_t max_secs = 1000000000000ULL;
	uint64_t secs = 0, frac = 0;
	const char *p = s;
	int n;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		secs = secs * 10 + (*p - '0');
		if (secs > max_secs)
			return -ERANGE;
	}
	if (*p == '.') {
		p++;
		for (n = 0; n < 3; n++) {
			frac *= 10;
			if (isdigit((unsigned char)*p))
				frac += *p++ - '0';
		}
		if (*p && !isdigit((unsigned char)*p))
			return -EINVAL;
		while (*p == '0')
			p++;
		if (*p)	/* finer than a millisecond */
			return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	*ms = secs * 1000 + frac;
	return 0;
}

/* ------------------------------------------------------------ devices -- */

/* canonical decimal (no sign, no leading zero): 0 and *val, or -EINVAL */
static int parse_index(const char *s, int *val)
{
	long v = 0;

	if (!isdigit((unsigned char)*s) || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return -EINVAL;
	}
	if (*s)
		return -EINVAL;
	*val = v;
	return 0;
}

int lc_parse_dev(const char *cmd, const char *arg, int *index)
{
	char link[PATH_MAX], sys[64];
	const char *name;
	struct stat st;
	ssize_t n;

	if (!parse_index(arg, index))
		return LC_EXIT_OK;
	if (!strncmp(arg, "loop", 4) && !parse_index(arg + 4, index))
		return LC_EXIT_OK;
	if (!strncmp(arg, "/dev/loop", 9) && !parse_index(arg + 9, index))
		return LC_EXIT_OK;
	if (!*arg || strspn(arg, "0123456789") == strlen(arg)) {
		lc_err("%s: '%s' is not a loop device number", cmd, arg);
		return LC_EXIT_USAGE;
	}
	if (stat(arg, &st) < 0) {
		/* a name that is no path: not one of the forms above */
		if (errno == ENOENT && !strchr(arg, '/')) {
			lc_err("%s: '%s' is not a loop device (/dev/loopN, loopN or N)",
			       cmd, arg);
			return LC_EXIT_USAGE;
		}
		lc_err("%s: %s: %s", cmd, arg, strerror(errno));
		return errno == ENOENT ? LC_EXIT_FAIL : LC_EXIT_USAGE;
	}
	if (!S_ISBLK(st.st_mode)) {
		lc_err("%s: %s: not a loop device (not a block device)", cmd, arg);
		return LC_EXIT_USAGE;
	}
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u",
		 major(st.st_rdev), minor(st.st_rdev));
	n = readlink(sys, link, sizeof(link) - 1);
	if (n < 0) {
		lc_err("%s: %s: not a loop device (%s: %s)", cmd, arg, sys,
		       strerror(errno));
		return LC_EXIT_USAGE;
	}
	link[n] = '\0';
	name = strrchr(link, '/');
	name = name ? name + 1 : link;
	if (!strncmp(name, "loop", 4) && !parse_index(name + 4, index))
		return LC_EXIT_OK;
	if (!strncmp(name, "loop", 4) && strchr(name, 'p'))
		lc_err("%s: %s: a partition (%s), not a loop device", cmd, arg,
		       name);
	else
		lc_err("%s: %s: not a loop device (%s)", cmd, arg, name);
	return LC_EXIT_USAGE;
}

int lc_sysfs_read(int index, const char *attr, char *buf, size_t size)
{
	char path[128];
	size_t len = 0;
	ssize_t n;
	int fd, err;

	snprintf(path, sizeof(path), LC_SYSFS_BLOCK "/loop%d/%s", index, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			close(fd);
			return err;
		}
		if (!n)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return len;
}

int lc_sysfs_u64(int index, const char *attr, uint64_t *val)
{
	char buf[64], *end;
	int n;

	n = lc_sysfs_read(index, attr, buf, sizeof(buf));
	if (n < 0)
		return n;
	errno = 0;
	*val = strtoull(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n'))
		return -EINVAL;
	return 0;
}

static bool lc_sysfs_exists(int index, const char *attr)
{
	char path[128];

	snprintf(path, sizeof(path), LC_SYSFS_BLOCK "/loop%d%s%s", index,
		 attr ? "/" : "", attr ? attr : "");
	return !access(path, F_OK);
}

bool lc_sysfs_dev_exists(int index)
{
	return lc_sysfs_exists(index, NULL);
}

bool lc_sysfs_bound(int index)
{
	return lc_sysfs_exists(index, "loop");
}

int lc_dev_open(int index, int flags)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/dev/loop%d", index);
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* ---------------------------------------------- control and features -- */

static int ctl_fd = -1;
static bool ctl_opened, ctl_rw;

int lc_ctl_fd(void)
{
	if (ctl_opened)
		return ctl_fd;
	ctl_opened = true;
	ctl_fd = open(LC_CTL_PATH, O_RDWR | O_CLOEXEC);
	ctl_rw = ctl_fd >= 0;
	if (ctl_fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS))
		ctl_fd = open(LC_CTL_PATH, O_RDONLY | O_CLOEXEC);
	if (ctl_fd < 0)
		ctl_fd = -errno;
	return ctl_fd;
}

bool lc_ctl_writable(void)
{
	return lc_ctl_fd() >= 0 && ctl_rw;
}

static struct aloop_features feat;
static int feat_err = 1;	/* 1: not asked yet */

bool lc_errno_is_stock(int err)
{
	return err == ENOSYS || err == ENOTTY || err == EINVAL;
}

int lc_features(struct aloop_features *f)
{
	int fd;

	if (feat_err == 1) {
		fd = lc_ctl_fd();
		if (fd < 0)
			feat_err = fd;
		else if (ioctl(fd, ALOOP_CTL_GET_FEATURES, &feat) < 0)
			feat_err = -errno;
		else
			feat_err = 0;
	}
	if (!feat_err && f)
		*f = feat;
	return feat_err;
}

bool lc_has(uint64_t mask)
{
	return !lc_features(NULL) && (feat.features & mask) == mask;
}

int lc_fallback(const char *cmd, const char *what, const char *instead)
{
	static bool noted;
	char why[96];
	int err;

	err = lc_features(NULL);
	if (err && !lc_errno_is_stock(-err))
		snprintf(why, sizeof(why), "%s: %s", LC_CTL_PATH, strerror(-err));
	else if (err)
		snprintf(why, sizeof(why), "stock loop");
	else
		snprintf(why, sizeof(why), "asyncloop API %u without it",
			 feat.version);
	if (lc.require_atomic) {
		lc_err("%s: driver has no %s (%s); refused (--require-atomic)",
		       cmd, what, why);
		return LC_EXIT_NOATOMIC;
	}
	if (!noted)
		lc_warn("driver has no %s (%s); using %s", what, why, instead);
	noted = true;
	return LC_EXIT_OK;
}

/* ---------------------------------------------------------------- time -- */

uint64_t lc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void lc_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ------------------------------------------------------------- strings -- */

/* length of the valid UTF-8 sequence at s (at most n bytes), 0 if none */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	uint32_t cp;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (cp >= 0xd800 && cp <= 0xdfff) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void lc_json_str(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n;

	putchar('"');
	while (i < len) {
		unsigned char c = s[i];

		switch (c) {
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		case '\r':
			fputs("\\r", stdout);
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				printf("\\u%04x", c);
				break;
			}
			n = utf8_seq(s + i, len - i);
			if (!n) {
				fputs("\\ufffd", stdout);
				break;
			}
			fwrite(s + i, 1, n, stdout);
			i += n;
			continue;
		}
		i++;
	}
	putchar('"');
}

void lc_text_str(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n;

	while (i < len) {
		if (s[i] == '\\') {
			fputs("\\\\", stdout);
			i++;
			continue;
		}
		n = s[i] < 0x20 || s[i] == 0x7f ? 0 : utf8_seq(s + i, len - i);
		if (!n) {
			printf("\\x%02x", s[i]);
			i++;
			continue;
		}
		fwrite(s + i, 1, n, stdout);
		i += n;
	}
}
