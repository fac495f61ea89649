// SPDX-License-Identifier: GPL-2.0
/*
 * loopctl detach, wait, list and features.
 *
 * asyncloop: ALOOP_DETACH (synchronous, EBUSY with other openers),
 * ALOOP_CTL_WAIT, ALOOP_CTL_STATUS and ALOOP_CTL_GET_FEATURES.  The stock
 * driver's fallbacks read sysfs: /sys/block/loopN/loop/ exists while a
 * backing file is bound.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "loopctl.h"

/* stock detach --sync: how long a lazy LOOP_CLR_FD may take to complete */
#define LC_SYNC_GRACE_MS	1000
/* stock wait: the sysfs poll interval */
#define LC_POLL_MS		10

enum {
	OPT_REQUIRE_ATOMIC = 0x100,
	OPT_SYNC,
	OPT_JSON,
};

static const char detach_help[] =
"Usage: loopctl detach [--sync] DEV\n"
"\n"
"Detach the backing file of DEV (/dev/loopN, loopN, N or a device node).\n"
"\n"
"Without --sync: LOOP_CLR_FD.  If others have DEV open, the detach is lazy:\n"
"it happens when the last of them closes it.\n"
"\n"
"  -s, --sync            detach now and return when the backing file is\n"
"                        released, or fail with exit status 5 and leave DEV\n"
"                        bound if anyone else has it open (asyncloop:\n"
"                        ALOOP_DETACH; stock driver: an O_EXCL open detects\n"
"                        mounts and other claims, LOOP_CLR_FD, then a poll\n"
"                        of sysfs for up to 1 s)\n"
"      --require-atomic  with --sync, refuse the stock driver's fallback\n"
"  -h, --help            this help\n"
"\n"
"Exit status: 0 detached, 1 failed (not bound, no such device), 2 bad usage,\n"
"3 no synchronous detach (--require-atomic), 5 busy.\n";

static const char wait_help[] =
"Usage: loopctl wait [--timeout SECONDS] DEV\n"
"\n"
"Wait until the binding DEV has now ends (DEV unbound, or bound anew);\n"
"at once if DEV is not bound.  The wait does not open DEV, so it does not\n"
"keep an AUTOCLEAR device bound.  asyncloop: ALOOP_CTL_WAIT; stock driver:\n"
"a poll of /sys/block/loopN every 10 ms.\n"
"\n"
"  -t, --timeout SECONDS  give up after SECONDS (decimal, e.g. 0.5; 0 only\n"
"                         tests); default: no limit\n"
"      --require-atomic   refuse the stock driver's fallback\n"
"  -h, --help             this help\n"
"\n"
"Exit status: 0 unbound, 1 failed (no such device), 2 bad usage, 3 no\n"
"ALOOP_CTL_WAIT (--require-atomic), 4 still bound at the timeout.\n";

static const char list_help[] =
"Usage: loopctl list [--json]\n"
"\n"
"Show every loop device (/sys/block/loop*): state (bound, rundown, unbound,\n"
"deleting), openers, disk sequence number, offset, size limit, block size,\n"
"flags and backing file.  asyncloop: ALOOP_CTL_STATUS; stock driver: sysfs\n"
"(state bound or unbound, openers unknown).\n"
"\n"
"  -j, --json   one JSON object: {\"driver\", \"api_version\", \"devices\": [...]}\n"
"  -h, --help   this help\n";

static const char features_help[] =
"Usage: loopctl features\n"
"\n"
"Show the asyncloop API version and the extensions the running loop driver\n"
"has (ALOOP_CTL_GET_FEATURES), or that it is the stock driver.\n"
"\n"
"      --require-atomic  exit 3 unless the driver has every extension\n"
"  -h, --help            this help\n";

static const struct option dev_opts[] = {
	{ "sync",		no_argument,		NULL, 's' },
	{ "timeout",		required_argument,	NULL, 't' },
	{ "json",		no_argument,		NULL, 'j' },
	{ "require-atomic",	no_argument,		NULL, OPT_REQUIRE_ATOMIC },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

struct dev_cmd_opts {
	bool sync;
	bool json;
	bool has_timeout;
	uint64_t timeout_ms;
};

/*
 * Parse the options @allowed (short letters) of command @cmd.  Returns
 * LC_EXIT_OK, -1 after --help, or an exit code.
 */
static int parse_dev_opts(const char *cmd, int argc, char **argv,
			  const char *allowed, const char *help,
			  struct dev_cmd_opts *o)
{
	char shortopts[16];
	int c, li;

	memset(o, 0, sizeof(*o));
	snprintf(shortopts, sizeof(shortopts), ":%sh", allowed);
	opterr = 0;
	while (li = -1,
	       (c = getopt_long(argc, argv, shortopts, dev_opts, &li)) != -1) {
		/* a long option of another command */
		if (li >= 0 && c != OPT_REQUIRE_ATOMIC && c != 'h' &&
		    !strchr(allowed, c)) {
			lc_err("%s: unknown option '--%s'", cmd, dev_opts[li].name);
			return lc_usage_hint(cmd);
		}
		switch (c) {
		case 's':
			o->sync = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 't':
			if (lc_parse_timeout(optarg, &o->timeout_ms)) {
				lc_err("%s: --timeout: '%s' is not a number of seconds",
				       cmd, optarg);
				return lc_usage_hint(cmd);
			}
			o->has_timeout = true;
			break;
		case OPT_REQUIRE_ATOMIC:
			lc.require_atomic = true;
			break;
		case 'h':
			fputs(help, stdout);
			return -1;
		default:
			return lc_bad_option(cmd, c, argv, dev_opts);
		}
	}
	return LC_EXIT_OK;
}

/* the one DEV operand: its index, the device existing */
static int dev_operand(const char *cmd, int argc, char **argv, int *index)
{
	int rc;

	if (optind != argc - 1) {
		lc_err("%s: %s", cmd, optind >= argc ? "no DEV" : "more than one DEV");
		return lc_usage_hint(cmd);
	}
	rc = lc_parse_dev(cmd, argv[optind], index);
	if (rc)
		return rc;
	if (!lc_sysfs_dev_exists(*index)) {
		lc_err("%s: /dev/loop%d: no such loop device", cmd, *index);
		return LC_EXIT_FAIL;
	}
	return LC_EXIT_OK;
}

static int ctl_or_fail(const char *cmd)
{
	int fd = lc_ctl_fd();

	if (fd < 0)
		lc_err("%s: %s: %s", cmd, LC_CTL_PATH, strerror(-fd));
	return fd;
}

/* ------------------------------------------------------------- detach -- */

static int detach_lazy(int index)
{
	int fd, err;

	fd = lc_dev_open(index, O_RDONLY);
	if (fd < 0) {
		lc_err("detach: /dev/loop%d: %s", index, strerror(-fd));
		return LC_EXIT_FAIL;
	}
	err = ioctl(fd, LOOP_CLR_FD, 0) < 0 ? errno : 0;
	close(fd);
	if (err == ENXIO) {
		lc_err("detach: /dev/loop%d: not bound", index);
		return LC_EXIT_FAIL;
	}
	if (err) {
		lc_err("detach: /dev/loop%d: LOOP_CLR_FD: %s", index, strerror(err));
		return LC_EXIT_FAIL;
	}
	if (lc_sysfs_bound(index))
		lc_warn("detach: /dev/loop%d is open elsewhere: it detaches when its last opener closes it (--sync refuses instead)",
			index);
	return LC_EXIT_OK;
}

static int detach_sync(int index)
{
	struct aloop_status st;
	int fd, err;

	fd = lc_dev_open(index, O_RDONLY);
	if (fd < 0) {
		lc_err("detach: /dev/loop%d: %s", index, strerror(-fd));
		return LC_EXIT_FAIL;
	}
	err = ioctl(fd, ALOOP_DETACH, 0) < 0 ? errno : 0;
	close(fd);
	if (!err)
		return LC_EXIT_OK;
	if (err == ENXIO) {
		lc_err("detach: /dev/loop%d: not bound", index);
		return LC_EXIT_FAIL;
	}
	if (err != EBUSY) {
		lc_err("detach: /dev/loop%d: ALOOP_DETACH: %s", index, strerror(err));
		return LC_EXIT_FAIL;
	}
	memset(&st, 0, sizeof(st));
	st.index = index;
	if (lc_has(ALOOP_FEAT_STATUS) &&
	    !ioctl(lc_ctl_fd(), ALOOP_CTL_STATUS, &st) && st.openers)
		lc_err("detach: /dev/loop%d is busy: %u other opener%s (a mount, a process, a partition); not detached",
		       index, st.openers, st.openers == 1 ? "" : "s");
	else
		lc_err("detach: /dev/loop%d is busy: open elsewhere (a mount, a process, a partition); not detached",
		       index);
	return LC_EXIT_BUSY;
}

/*
 * Stock driver: an O_EXCL open fails while the device is mounted or
 * otherwise claimed.  Plain openers cannot be seen before LOOP_CLR_FD, but
 * they make it lazy: the device is still bound after our close.  Then the
 * AUTOCLEAR that LOOP_CLR_FD armed is cleared again (unless the device had
 * it before) and the device stays bound.
 */
static int detach_sync_classic(int index)
{
	struct loop_info64 info;
	bool autoclear;
	uint64_t end;
	int fd, err;

	fd = lc_dev_open(index, O_RDONLY | O_EXCL);
	if (fd == -EBUSY) {
		lc_err("detach: /dev/loop%d is busy: mounted or claimed by another user; not detached",
		       index);
		return LC_EXIT_BUSY;
	}
	if (fd < 0) {
		lc_err("detach: /dev/loop%d: %s", index, strerror(-fd));
		return LC_EXIT_FAIL;
	}
	err = ioctl(fd, LOOP_GET_STATUS64, &info) < 0 ? errno : 0;
	if (!err)
		err = ioctl(fd, LOOP_CLR_FD, 0) < 0 ? errno : 0;
	close(fd);
	if (err == ENXIO) {
		lc_err("detach: /dev/loop%d: not bound", index);
		return LC_EXIT_FAIL;
	}
	if (err) {
		lc_err("detach: /dev/loop%d: LOOP_CLR_FD: %s", index, strerror(err));
		return LC_EXIT_FAIL;
	}
	autoclear = info.lo_flags & LO_FLAGS_AUTOCLEAR;
	end = lc_now_ms() + LC_SYNC_GRACE_MS;
	while (lc_sysfs_bound(index) && lc_now_ms() < end)
		lc_sleep_ms(LC_POLL_MS);
	if (!lc_sysfs_bound(index))
		return LC_EXIT_OK;
	if (!autoclear) {
		fd = lc_dev_open(index, O_RDWR);
		if (fd < 0)
			fd = lc_dev_open(index, O_RDONLY);
		if (fd >= 0 && !ioctl(fd, LOOP_GET_STATUS64, &info)) {
			info.lo_flags &= ~LO_FLAGS_AUTOCLEAR;
			if (ioctl(fd, LOOP_SET_STATUS64, &info) < 0)
				autoclear = true;
		}
		if (fd >= 0)
			close(fd);
	}
	lc_err("detach: /dev/loop%d is busy: open elsewhere; not detached%s",
	       index, autoclear ?
	       " (AUTOCLEAR is set: it detaches when its last opener closes it)" : "");
	return LC_EXIT_BUSY;
}

int lc_cmd_detach(int argc, char **argv)
{
	struct dev_cmd_opts o;
	int rc, index;

	rc = parse_dev_opts("detach", argc, argv, "s", detach_help, &o);
	if (rc)
		return rc < 0 ? LC_EXIT_OK : rc;
	rc = dev_operand("detach", argc, argv, &index);
	if (rc)
		return rc;
	if (!o.sync)
		return detach_lazy(index);
	if (lc_has(ALOOP_FEAT_DETACH))
		return detach_sync(index);
	rc = lc_fallback("detach", "synchronous detach",
			 "O_EXCL open + LOOP_CLR_FD + a sysfs poll");
	return rc ? rc : detach_sync_classic(index);
}

/* --------------------------------------------------------------- wait -- */

static int wait_classic(int index, const struct dev_cmd_opts *o)
{
	uint64_t seq0 = 0, seq, end = lc_now_ms() + o->timeout_ms;
	bool have_seq = !lc_sysfs_u64(index, "diskseq", &seq0);

	for (;;) {
		if (!lc_sysfs_bound(index))
			return LC_EXIT_OK;
		/* bound anew since (a bump of the disk sequence number) */
		if (have_seq && !lc_sysfs_u64(index, "diskseq", &seq) && seq != seq0)
			return LC_EXIT_OK;
		if (o->has_timeout && lc_now_ms() >= end)
			return LC_EXIT_TIMEOUT;
		lc_sleep_ms(LC_POLL_MS);
	}
}

int lc_cmd_wait(int argc, char **argv)
{
	struct dev_cmd_opts o;
	struct aloop_wait w;
	int rc, index, ctl;

	rc = parse_dev_opts("wait", argc, argv, "t:", wait_help, &o);
	if (rc)
		return rc < 0 ? LC_EXIT_OK : rc;
	rc = dev_operand("wait", argc, argv, &index);
	if (rc)
		return rc;
	ctl = lc_ctl_fd();
	if (ctl >= 0 && lc_has(ALOOP_FEAT_WAIT)) {
		memset(&w, 0, sizeof(w));
		w.index = index;
		w.timeout_ms = o.has_timeout ? o.timeout_ms : ALOOP_WAIT_FOREVER;
		if (!ioctl(ctl, ALOOP_CTL_WAIT, &w))
			return LC_EXIT_OK;
		rc = errno == ETIMEDOUT ? LC_EXIT_TIMEOUT : LC_EXIT_FAIL;
		if (errno == ENODEV)
			lc_err("wait: /dev/loop%d: no such loop device", index);
		else if (errno != ETIMEDOUT)
			lc_err("wait: /dev/loop%d: ALOOP_CTL_WAIT: %s", index,
			       strerror(errno));
	} else {
		rc = lc_fallback("wait", "ALOOP_CTL_WAIT",
				 "a poll of /sys/block/loopN every 10 ms");
		if (rc)
			return rc;
		rc = wait_classic(index, &o);
	}
	if (rc == LC_EXIT_TIMEOUT)
		lc_err("wait: /dev/loop%d: still bound after %llu.%03llu s", index,
		       (unsigned long long)(o.timeout_ms / 1000),
		       (unsigned long long)(o.timeout_ms % 1000));
	return rc;
}

/* --------------------------------------------------------------- list -- */

struct dev_info {
	int index;
	uint32_t state;
	long long openers;	/* -1: unknown (stock) */
	uint32_t flags;
	uint32_t block_size;
	uint64_t offset;
	uint64_t sizelimit;
	uint64_t size;
	uint64_t diskseq;
	bool have_diskseq;
	char *backing;		/* NULL: none */
	size_t backing_len;
};

static const char *const state_names[] = {
	[ALOOP_STATE_UNBOUND]	= "unbound",
	[ALOOP_STATE_BOUND]	= "bound",
	[ALOOP_STATE_RUNDOWN]	= "rundown",
	[ALOOP_STATE_DELETING]	= "deleting",
};

static const char *state_name(uint32_t state)
{
	if (state < ARRAY_SIZE(state_names))
		return state_names[state];
	return "unknown";
}

static uint64_t sysfs_u64_or0(int index, const char *attr)
{
	uint64_t v = 0;

	lc_sysfs_u64(index, attr, &v);
	return v;
}

static void info_from_sysfs(struct dev_info *d)
{
	int i = d->index;

	d->openers = -1;
	d->state = lc_sysfs_bound(i) ? ALOOP_STATE_BOUND : ALOOP_STATE_UNBOUND;
	d->size = sysfs_u64_or0(i, "size") * 512;
	d->block_size = sysfs_u64_or0(i, "queue/logical_block_size");
	d->have_diskseq = !lc_sysfs_u64(i, "diskseq", &d->diskseq);
	if (d->state != ALOOP_STATE_BOUND)
		return;
	d->offset = sysfs_u64_or0(i, "loop/offset");
	d->sizelimit = sysfs_u64_or0(i, "loop/sizelimit");
	if (sysfs_u64_or0(i, "ro"))
		d->flags |= LO_FLAGS_READ_ONLY;
	if (sysfs_u64_or0(i, "loop/autoclear"))
		d->flags |= LO_FLAGS_AUTOCLEAR;
	if (sysfs_u64_or0(i, "loop/partscan"))
		d->flags |= LO_FLAGS_PARTSCAN;
	if (sysfs_u64_or0(i, "loop/dio"))
		d->flags |= LO_FLAGS_DIRECT_IO;
}

/* 0, or -ENODEV: the device went away */
static int info_get(struct dev_info *d, bool status)
{
	struct aloop_status st;
	char buf[PATH_MAX + 64];
	int n;

	memset(&st, 0, sizeof(st));
	st.index = d->index;
	if (status && !ioctl(lc_ctl_fd(), ALOOP_CTL_STATUS, &st)) {
		d->state = st.state;
		d->openers = st.openers;
		d->flags = st.flags;
		d->block_size = st.block_size;
		d->offset = st.offset;
		d->sizelimit = st.sizelimit;
		d->size = st.size;
		d->diskseq = st.diskseq;
		d->have_diskseq = true;
	} else {
		if (status ? errno == ENODEV : !lc_sysfs_dev_exists(d->index))
			return -ENODEV;
		/* stock, or ALOOP_CTL_STATUS failed otherwise */
		info_from_sysfs(d);
	}
	if (d->state == ALOOP_STATE_UNBOUND)
		return 0;
	n = lc_sysfs_read(d->index, "loop/backing_file", buf, sizeof(buf));
	if (n <= 0)
		return 0;
	/* sysfs appends one newline; the name itself may end with one */
	if (buf[n - 1] == '\n')
		n--;
	d->backing = malloc(n + 1);
	if (d->backing) {
		memcpy(d->backing, buf, n);
		d->backing[n] = '\0';
		d->backing_len = n;
	}
	return 0;
}

static int cmp_index(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* the indexes of /sys/block/loop*, sorted: count, or -errno */
static int loop_indexes(int **out)
{
	int *v = NULL, *nv, n = 0, cap = 0, idx;
	struct dirent *de;
	char *end;
	DIR *dir;

	dir = opendir(LC_SYSFS_BLOCK);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, "loop", 4) || !de->d_name[4])
			continue;
		errno = 0;
		idx = strtol(de->d_name + 4, &end, 10);
		if (*end || errno || idx < 0 || de->d_name[4] < '0' || de->d_name[4] > '9')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(dir);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = idx;
	}
	closedir(dir);
	qsort(v, n, sizeof(*v), cmp_index);
	*out = v;
	return n;
}

static const struct {
	uint32_t flag;
	const char *json;
	const char *text;
} flag_names[] = {
	{ LO_FLAGS_READ_ONLY,	"read_only",	"ro" },
	{ LO_FLAGS_AUTOCLEAR,	"autoclear",	"autoclear" },
	{ LO_FLAGS_PARTSCAN,	"partscan",	"partscan" },
	{ LO_FLAGS_DIRECT_IO,	"direct_io",	"dio" },
};
#define N_FLAGS ARRAY_SIZE(flag_names)

static void print_json(const struct dev_info *d, int n)
{
	struct aloop_features f;
	int i, err = lc_features(&f);
	size_t k;

	/* without /dev/loop-control (permissions): unknown */
	printf("{\n  \"driver\": \"%s\",\n", !err ? "asyncloop" :
	       lc_errno_is_stock(-err) ? "stock" : "unknown");
	if (!err)
		printf("  \"api_version\": %u,\n", f.version);
	else
		printf("  \"api_version\": null,\n");
	printf("  \"devices\": [");
	for (i = 0; i < n; i++) {
		printf("%s\n    {\"index\": %d, \"name\": \"/dev/loop%d\", \"state\": \"%s\", \"backing_file\": ",
		       i ? "," : "", d[i].index, d[i].index, state_name(d[i].state));
		if (d[i].backing)
			lc_json_str(d[i].backing, d[i].backing_len);
		else
			fputs("null", stdout);
		printf(", \"offset\": %llu, \"sizelimit\": %llu, \"size\": %llu, \"block_size\": %u, \"flags\": {",
		       (unsigned long long)d[i].offset,
		       (unsigned long long)d[i].sizelimit,
		       (unsigned long long)d[i].size, d[i].block_size);
		for (k = 0; k < N_FLAGS; k++)
			printf("%s\"%s\": %s", k ? ", " : "", flag_names[k].json,
			       d[i].flags & flag_names[k].flag ? "true" : "false");
		fputs("}, \"openers\": ", stdout);
		if (d[i].openers < 0)
			fputs("null", stdout);
		else
			printf("%lld", d[i].openers);
		fputs(", \"diskseq\": ", stdout);
		if (d[i].have_diskseq)
			printf("%llu}", (unsigned long long)d[i].diskseq);
		else
			fputs("null}", stdout);
	}
	printf("%s]\n}\n", n ? "\n  " : "");
}

static void print_text(const struct dev_info *d, int n)
{
	char flags[64], openers[24], seq[24];
	size_t k;
	int i;

	printf("%-12s %-8s %7s %7s %12s %12s %5s %-24s %s\n", "NAME", "STATE",
	       "OPENERS", "DISKSEQ", "OFFSET", "SIZELIMIT", "BLKSZ", "FLAGS",
	       "BACKING-FILE");
	for (i = 0; i < n; i++) {
		char name[24];

		flags[0] = '\0';
		for (k = 0; k < N_FLAGS; k++)
			if (d[i].flags & flag_names[k].flag)
				snprintf(flags + strlen(flags), sizeof(flags) - strlen(flags),
					 "%s%s", flags[0] ? "," : "", flag_names[k].text);
		if (d[i].openers < 0)
			snprintf(openers, sizeof(openers), "-");
		else
			snprintf(openers, sizeof(openers), "%lld", d[i].openers);
		if (d[i].have_diskseq)
			snprintf(seq, sizeof(seq), "%llu", (unsigned long long)d[i].diskseq);
		else
			snprintf(seq, sizeof(seq), "-");
		snprintf(name, sizeof(name), "/dev/loop%d", d[i].index);
		printf("%-12s %-8s %7s %7s %12llu %12llu %5u %-24s ", name,
		       state_name(d[i].state), openers, seq,
		       (unsigned long long)d[i].offset,
		       (unsigned long long)d[i].sizelimit, d[i].block_size,
		       flags[0] ? flags : "-");
		if (d[i].backing)
			lc_text_str(d[i].backing, d[i].backing_len);
		else
			fputs("-", stdout);
		putchar('\n');
	}
}

int lc_cmd_list(int argc, char **argv)
{
	struct dev_cmd_opts o;
	struct dev_info *d;
	int *idx = NULL, n, m, i, rc;
	bool status;

	rc = parse_dev_opts("list", argc, argv, "j", list_help, &o);
	if (rc)
		return rc < 0 ? LC_EXIT_OK : rc;
	if (optind < argc) {
		lc_err("list: unexpected argument '%s'", argv[optind]);
		return lc_usage_hint("list");
	}
	n = loop_indexes(&idx);
	if (n < 0) {
		lc_err("list: %s: %s", LC_SYSFS_BLOCK, strerror(-n));
		return LC_EXIT_FAIL;
	}
	/* without /dev/loop-control: sysfs only */
	status = lc_ctl_fd() >= 0 && lc_has(ALOOP_FEAT_STATUS);
	d = calloc(n ? n : 1, sizeof(*d));
	if (!d) {
		lc_err("list: out of memory");
		free(idx);
		return LC_EXIT_FAIL;
	}
	for (i = 0, m = 0; i < n; i++) {
		d[m].index = idx[i];
		if (!info_get(&d[m], status))
			m++;
	}
	if (o.json)
		print_json(d, m);
	else
		print_text(d, m);
	for (i = 0; i < m; i++)
		free(d[i].backing);
	free(d);
	free(idx);
	return LC_EXIT_OK;
}

/* ----------------------------------------------------------- features -- */

static const char *const feature_names[] = {
	"attach", "wait", "detach", "status", "strict",
};
#define ALL_FEATURES (ALOOP_FEAT_ATTACH | ALOOP_FEAT_WAIT | ALOOP_FEAT_DETACH | \
		      ALOOP_FEAT_STATUS | ALOOP_FEAT_STRICT)

int lc_cmd_features(int argc, char **argv)
{
	struct aloop_features f;
	struct dev_cmd_opts o;
	unsigned int bit;
	int rc, err;

	rc = parse_dev_opts("features", argc, argv, "", features_help, &o);
	if (rc)
		return rc < 0 ? LC_EXIT_OK : rc;
	if (optind < argc) {
		lc_err("features: unexpected argument '%s'", argv[optind]);
		return lc_usage_hint("features");
	}
	if (ctl_or_fail("features") < 0)
		return LC_EXIT_FAIL;
	err = lc_features(&f);
	if (err && !lc_errno_is_stock(-err)) {
		lc_err("features: ALOOP_CTL_GET_FEATURES: %s", strerror(-err));
		return LC_EXIT_FAIL;
	}
	if (err) {
		printf("driver: stock loop (ALOOP_CTL_GET_FEATURES: %s)\nfeatures: none\n",
		       strerror(-err));
		return lc.require_atomic ? LC_EXIT_NOATOMIC : LC_EXIT_OK;
	}
	printf("driver: asyncloop, API version %u (loopctl speaks %d)\nfeatures:",
	       f.version, ALOOP_API_VERSION);
	for (bit = 0; bit < 64; bit++) {
		if (!(f.features & (1ULL << bit)))
			continue;
		if (bit < ARRAY_SIZE(feature_names))
			printf(" %s", feature_names[bit]);
		else
			printf(" bit%u", bit);
	}
	putchar('\n');
	if (lc.require_atomic && (f.features & ALL_FEATURES) != ALL_FEATURES)
		return LC_EXIT_NOATOMIC;
	return LC_EXIT_OK;
}
