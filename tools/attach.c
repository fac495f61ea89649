// SPDX-License-Identifier: GPL-2.0
/*
 * loopctl attach and run.
 *
 * With asyncloop, ALOOP_CTL_ATTACH picks, binds and opens a device in one
 * call and returns an O_CLOEXEC descriptor on it.  On the stock driver the
 * classic sequence is used, as systemd's loop-util does it: flock() on
 * /dev/loop-control (which serialises loopctl and systemd), LOOP_CTL_GET_FREE,
 * open /dev/loopN, LOOP_CONFIGURE, and a retry with a small random back-off
 * when another process bound that device first (EBUSY).
 *
 * run holds the descriptor while CMD runs; with AUTOCLEAR, the kernel
 * detaches the device at the last close, i.e. when CMD is done with it and
 * loopctl exits, or is killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>	/* BLKGETSIZE64, BLKSSZGET, BLKROGET */
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loopctl.h"

/* tries of the classic attach before it gives up on EBUSY (systemd: 64) */
#define LC_ATTACH_TRIES	64

struct lc_attach_opts {
	bool read_only;
	bool partscan;
	bool autoclear;
	bool direct_io;
	bool strict;
	uint64_t offset;
	uint64_t sizelimit;
	uint64_t block_size;
};

static const char attach_help[] =
"Usage: loopctl attach [OPTIONS] FILE\n"
"\n"
"Bind FILE (a regular file or a block device) to a free loop device and\n"
"print the device's path (/dev/loopN).  The device stays bound until\n"
"'loopctl detach'.  With asyncloop the choice and the binding are one call\n"
"(ALOOP_CTL_ATTACH); on the stock driver loopctl uses LOOP_CTL_GET_FREE and\n"
"LOOP_CONFIGURE and retries when another process took the device first.\n"
"\n"
"Options:\n"
"  -r, --read-only        bind read-only (also the fallback when FILE is\n"
"                         not writable)\n"
"  -P, --partscan         scan the partition table (/dev/loopNpM)\n"
"      --direct-io[=MODE] direct I/O on the backing file; MODE on (default),\n"
"                         off, or strict: refuse if it cannot be used\n"
"      --strict           refuse what the kernel would silently adjust:\n"
"                         direct I/O that cannot be used, a size that is\n"
"                         not a multiple of the block size or of 512\n"
"  -o, --offset N         start N bytes into FILE\n"
"      --sizelimit N      at most N bytes of FILE (0: up to its end)\n"
"  -b, --block-size N     logical block size (512, 1024, 2048, 4096, ...)\n"
"      --require-atomic   refuse the stock driver's fallback (exit 3)\n"
"  -h, --help             this help\n"
"\n"
"N: decimal or 0x hexadecimal, with an optional K, M, G, T suffix (KiB...).\n"
"--autoclear is refused here: loopctl's own descriptor would be the last\n"
"one, so the device would detach before attach returns.  'loopctl run'\n"
"binds with AUTOCLEAR for the lifetime of a command.\n"
"\n"
"Exit status: 0 done, 1 failed, 2 bad usage, 3 no atomic attach\n"
"(--require-atomic).\n";

static const char run_help[] =
"Usage: loopctl run [OPTIONS] FILE -- CMD [ARG...]\n"
"\n"
"Bind FILE to a free loop device with AUTOCLEAR, run CMD with\n"
"LOOP_DEVICE=/dev/loopN in its environment, and hold the device open\n"
"until CMD exits.  The device detaches when its last opener closes it:\n"
"when CMD exits (or loopctl is killed, even by SIGKILL), unless CMD left\n"
"it mounted or open.  SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to loopctl\n"
"are forwarded to CMD.\n"
"\n"
"Options: those of 'loopctl attach' (-r, -P, --direct-io[=MODE], --strict,\n"
"-o, --sizelimit, -b, --require-atomic); --autoclear is implied.  They go\n"
"before FILE.\n"
"\n"
"Exit status: CMD's; 128+N if CMD was killed by signal N; 125 if loopctl\n"
"failed before CMD ran (including bad usage and --require-atomic on the\n"
"stock driver); 126 if CMD could not be executed; 127 if it was not found.\n";

enum {
	OPT_SIZELIMIT = 0x100,
	OPT_DIRECT_IO,
	OPT_STRICT,
	OPT_AUTOCLEAR,
	OPT_REQUIRE_ATOMIC,
};

static const struct option attach_opts[] = {
	{ "read-only",		no_argument,		NULL, 'r' },
	{ "partscan",		no_argument,		NULL, 'P' },
	{ "direct-io",		optional_argument,	NULL, OPT_DIRECT_IO },
	{ "strict",		no_argument,		NULL, OPT_STRICT },
	{ "offset",		required_argument,	NULL, 'o' },
	{ "sizelimit",		required_argument,	NULL, OPT_SIZELIMIT },
	{ "block-size",		required_argument,	NULL, 'b' },
	{ "autoclear",		no_argument,		NULL, OPT_AUTOCLEAR },
	{ "require-atomic",	no_argument,		NULL, OPT_REQUIRE_ATOMIC },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int parse_number(const char *cmd, const char *opt, const char *arg,
			uint64_t max, uint64_t *val)
{
	int err = lc_parse_size(arg, max, val);

	if (!err)
		return LC_EXIT_OK;
	if (err == -ERANGE)
		lc_err("%s: %s: '%s' is too large (at most %llu)", cmd, opt, arg,
		       (unsigned long long)max);
	else
		lc_err("%s: %s: '%s' is not a number (decimal or 0x hex, optional K, M, G, T suffix)",
		       cmd, opt, arg);
	return lc_usage_hint(cmd);
}

/*
 * The options of attach and run.  Returns LC_EXIT_OK with optind at the
 * first operand, -1 after --help, or an exit code.
 */
static int parse_attach_opts(const char *cmd, int argc, char **argv,
			     const char *shortopts, const char *help,
			     struct lc_attach_opts *o)
{
	int c, rc;

	memset(o, 0, sizeof(*o));
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, attach_opts, NULL)) != -1) {
		rc = LC_EXIT_OK;
		switch (c) {
		case 'r':
			o->read_only = true;
			break;
		case 'P':
			o->partscan = true;
			break;
		case OPT_DIRECT_IO:
			if (!optarg || !strcmp(optarg, "on")) {
				o->direct_io = true;
			} else if (!strcmp(optarg, "off")) {
				o->direct_io = false;
			} else if (!strcmp(optarg, "strict")) {
				o->direct_io = true;
				o->strict = true;
			} else {
				lc_err("%s: --direct-io: '%s' is not on, off or strict",
				       cmd, optarg);
				return lc_usage_hint(cmd);
			}
			break;
		case OPT_STRICT:
			o->strict = true;
			break;
		case 'o':
			rc = parse_number(cmd, "--offset", optarg, INT64_MAX,
					  &o->offset);
			break;
		case OPT_SIZELIMIT:
			rc = parse_number(cmd, "--sizelimit", optarg, INT64_MAX,
					  &o->sizelimit);
			break;
		case 'b':
			rc = parse_number(cmd, "--block-size", optarg, UINT32_MAX,
					  &o->block_size);
			break;
		case OPT_AUTOCLEAR:
			o->autoclear = true;
			break;
		case OPT_REQUIRE_ATOMIC:
			lc.require_atomic = true;
			break;
		case 'h':
			fputs(help, stdout);
			return -1;
		default:
			return lc_bad_option(cmd, c, argv, attach_opts);
		}
		if (rc)
			return rc;
	}
	return LC_EXIT_OK;
}

/* Open FILE as the backing file: read-write unless read-only (or denied). */
static int open_backing(const char *cmd, const char *file,
			struct lc_attach_opts *o, int *fdp)
{
	struct stat st;
	int fd, err;

	fd = open(file, (o->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0 && !o->read_only &&
	    (errno == EACCES || errno == EROFS || errno == EPERM)) {
		err = errno;
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			lc_warn("%s: %s: not writable (%s), attaching read-only",
				cmd, file, strerror(err));
			o->read_only = true;
		}
	}
	if (fd < 0) {
		lc_err("%s: %s: %s", cmd, file, strerror(errno));
		return LC_EXIT_FAIL;
	}
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		lc_err("%s: %s: not a regular file or block device", cmd, file);
		close(fd);
		return LC_EXIT_FAIL;
	}
	*fdp = fd;
	return LC_EXIT_OK;
}

static void fill_config(struct loop_config *cfg, const struct lc_attach_opts *o,
			int fd, const char *file)
{
	char *abs = realpath(file, NULL);
	const char *name = abs ? abs : file;
	size_t len = strlen(name);

	memset(cfg, 0, sizeof(*cfg));
	cfg->fd = fd;
	cfg->block_size = o->block_size;
	cfg->info.lo_offset = o->offset;
	cfg->info.lo_sizelimit = o->sizelimit;
	if (o->read_only)
		cfg->info.lo_flags |= LO_FLAGS_READ_ONLY;
	if (o->autoclear)
		cfg->info.lo_flags |= LO_FLAGS_AUTOCLEAR;
	if (o->partscan)
		cfg->info.lo_flags |= LO_FLAGS_PARTSCAN;
	if (o->direct_io)
		cfg->info.lo_flags |= LO_FLAGS_DIRECT_IO;
	if (len > LO_NAME_SIZE - 1)
		len = LO_NAME_SIZE - 1;
	memcpy(cfg->info.lo_file_name, name, len);
	free(abs);
}

/*
 * --strict where the driver cannot check it (ALOOP_ATTACH_STRICT): the
 * size checks before the binding, as asyncloop makes them; direct I/O is
 * checked after it (check_binding()).
 */
static int strict_precheck(const char *cmd, int fd, const struct lc_attach_opts *o)
{
	uint64_t size = 0, bs = o->block_size ? o->block_size : 512, len;
	struct stat st;
	int lbs;

	if (o->sizelimit % 512) {
		lc_err("%s: --strict: --sizelimit %llu is not a multiple of 512",
		       cmd, (unsigned long long)o->sizelimit);
		return LC_EXIT_FAIL;
	}
	if (fstat(fd, &st) < 0)
		return LC_EXIT_OK;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0)
			return LC_EXIT_OK;
		if (!o->block_size && !ioctl(fd, BLKSSZGET, &lbs) && lbs > 0)
			bs = lbs;
	} else {
		size = st.st_size;
	}
	len = size > o->offset ? size - o->offset : 0;
	if (o->sizelimit && o->sizelimit < len)
		len = o->sizelimit;
	if (len % bs) {
		lc_err("%s: --strict: the device size %llu is not a multiple of the block size %llu",
		       cmd, (unsigned long long)len, (unsigned long long)bs);
		return LC_EXIT_FAIL;
	}
	return LC_EXIT_OK;
}

static int attach_atomic(const struct loop_config *cfg, bool strict,
			 int *index, int *dev_fd)
{
	struct aloop_attach a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.config = *cfg;
	if (strict)
		a.flags |= ALOOP_ATTACH_STRICT;
	fd = ioctl(lc_ctl_fd(), ALOOP_CTL_ATTACH, &a);
	if (fd < 0)
		return -errno;
	*index = a.index;
	*dev_fd = fd;
	return 0;
}

static int attach_classic(const struct loop_config *cfg, bool read_only,
			  int *index, int *dev_fd)
{
	unsigned int seed = getpid() ^ (unsigned int)lc_now_ms();
	int ctl = lc_ctl_fd(), try, nr, fd, err;

	for (try = 0; try < LC_ATTACH_TRIES; try++) {
		if (try)
			lc_sleep_ms(1 + rand_r(&seed) % (4 + try / 2));
		while (flock(ctl, LOCK_EX) < 0)
			if (errno != EINTR)
				return -errno;
		nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0) {
			err = -errno;
			flock(ctl, LOCK_UN);
			return err;
		}
		fd = lc_dev_open(nr, read_only ? O_RDONLY : O_RDWR);
		if (fd < 0) {
			flock(ctl, LOCK_UN);
			/* no node yet (udev), or the device is going away */
			if (fd == -ENOENT || fd == -ENXIO || fd == -EBUSY)
				continue;
			return fd;
		}
		err = ioctl(fd, LOOP_CONFIGURE, cfg) < 0 ? -errno : 0;
		flock(ctl, LOCK_UN);
		if (!err) {
			*index = nr;
			*dev_fd = fd;
			return 0;
		}
		close(fd);
		if (err != -EBUSY)
			return err;
	}
	return -EBUSY;
}

/* Undo a binding of ours: the last close detaches an AUTOCLEAR device. */
static void undo_attach(int dev_fd, const struct lc_attach_opts *o)
{
	if (!o->autoclear)
		ioctl(dev_fd, LOOP_CLR_FD, 0);
	close(dev_fd);
}

/* After the binding: direct I/O and read-only as asked? */
static int check_binding(const char *cmd, int index, int dev_fd,
			 const struct lc_attach_opts *o)
{
	struct loop_info64 info;
	int ro = 0;

	if (o->direct_io) {
		if (ioctl(dev_fd, LOOP_GET_STATUS64, &info) < 0) {
			lc_err("%s: /dev/loop%d: LOOP_GET_STATUS64: %s", cmd,
			       index, strerror(errno));
			return LC_EXIT_FAIL;
		}
		if (!(info.lo_flags & LO_FLAGS_DIRECT_IO)) {
			if (o->strict) {
				lc_err("%s: direct I/O cannot be used on the backing file (its file system, the offset or the block size); nothing attached (--direct-io=strict)",
				       cmd);
				return LC_EXIT_FAIL;
			}
			lc_warn("%s: /dev/loop%d: direct I/O is not used (the backing file, the offset or the block size does not allow it)",
				cmd, index);
		}
	}
	if (!o->read_only && !ioctl(dev_fd, BLKROGET, &ro) && ro)
		lc_warn("%s: /dev/loop%d is read-only (%s is not writable)", cmd,
			index, LC_CTL_PATH);
	return LC_EXIT_OK;
}

/*
 * Bind FILE as @o says.  Returns LC_EXIT_OK with the device's number and a
 * descriptor open on it (O_CLOEXEC), or an exit code after the message.
 */
static int do_attach(const char *cmd, struct lc_attach_opts *o,
		     const char *file, int *index, int *dev_fd)
{
	bool atomic, kernel_strict;
	struct loop_config cfg;
	int bfd, ctl, err, rc;

	rc = open_backing(cmd, file, o, &bfd);
	if (rc)
		return rc;
	ctl = lc_ctl_fd();
	if (ctl < 0) {
		lc_err("%s: %s: %s%s", cmd, LC_CTL_PATH, strerror(-ctl),
		       ctl == -ENOENT ? " (is the loop module loaded?)" : "");
		close(bfd);
		return LC_EXIT_FAIL;
	}
	atomic = lc_has(ALOOP_FEAT_ATTACH);
	kernel_strict = atomic && o->strict && lc_has(ALOOP_FEAT_STRICT);
	if (!atomic)
		rc = lc_fallback(cmd, "atomic attach",
				 "LOOP_CTL_GET_FREE + LOOP_CONFIGURE");
	else if (o->strict && !kernel_strict)
		rc = lc_fallback(cmd, "strict attach",
				 "checks by loopctl before and after ALOOP_CTL_ATTACH");
	if (!rc && o->strict && !kernel_strict)
		rc = strict_precheck(cmd, bfd, o);
	if (rc) {
		close(bfd);
		return rc;
	}
	fill_config(&cfg, o, bfd, file);
	if (atomic)
		err = attach_atomic(&cfg, kernel_strict, index, dev_fd);
	else
		err = attach_classic(&cfg, o->read_only, index, dev_fd);
	if (err == -EINVAL && kernel_strict) {
		/* which refusal: loopctl's own size checks name it */
		if (!strict_precheck(cmd, bfd, o))
			lc_err("%s: %s: %s (--strict: %s)", cmd, file,
			       strerror(-err), o->direct_io ?
			       "direct I/O cannot be used on the backing file (its file system, the offset or the block size)" :
			       "refused by the kernel");
		close(bfd);
		return LC_EXIT_FAIL;
	}
	close(bfd);
	if (err == -EBUSY && !atomic) {
		lc_err("%s: %s: no free loop device (taken by others %d times)",
		       cmd, file, LC_ATTACH_TRIES);
		return LC_EXIT_FAIL;
	}
	if (err) {
		lc_err("%s: %s: %s", cmd, file, strerror(-err));
		return LC_EXIT_FAIL;
	}
	rc = check_binding(cmd, *index, *dev_fd, o);
	if (rc)
		undo_attach(*dev_fd, o);
	return rc;
}

int lc_cmd_attach(int argc, char **argv)
{
	struct lc_attach_opts o;
	int rc, index, dev_fd;

	rc = parse_attach_opts("attach", argc, argv, ":rPo:b:h", attach_help, &o);
	if (rc)
		return rc < 0 ? LC_EXIT_OK : rc;
	if (o.autoclear) {
		lc_err("attach: --autoclear would detach the device as soon as loopctl exits; use 'loopctl run [OPTIONS] FILE -- CMD'");
		return lc_usage_hint("attach");
	}
	if (optind != argc - 1) {
		lc_err("attach: %s", optind >= argc ? "no FILE" : "more than one FILE");
		return lc_usage_hint("attach");
	}
	rc = do_attach("attach", &o, argv[optind], &index, &dev_fd);
	if (rc)
		return rc;
	printf("/dev/loop%d\n", index);
	close(dev_fd);
	return LC_EXIT_OK;
}

/* fork and exec CMD, forward signals, return its exit status */
static int run_cmd(int index, int dev_fd, char **cmd)
{
	sigset_t fwd, old;
	siginfo_t si;
	char dev[32];
	int status = 0, err;
	pid_t pid;

	sigemptyset(&fwd);
	sigaddset(&fwd, SIGINT);
	sigaddset(&fwd, SIGTERM);
	sigaddset(&fwd, SIGHUP);
	sigaddset(&fwd, SIGQUIT);
	sigaddset(&fwd, SIGCHLD);
	/* an inherited SIG_IGN would reap CMD before we see its status */
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_BLOCK, &fwd, &old);
	snprintf(dev, sizeof(dev), "/dev/loop%d", index);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		lc_err("run: fork: %s", strerror(errno));
		close(dev_fd);
		return LC_EXIT_RUN_FAIL;
	}
	if (!pid) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (setenv("LOOP_DEVICE", dev, 1) < 0) {
			lc_err("run: setenv: %s", strerror(errno));
			_exit(LC_EXIT_RUN_FAIL);
		}
		execvp(cmd[0], cmd);
		err = errno;
		lc_err("run: %s: %s", cmd[0], strerror(err));
		_exit(err == ENOENT || err == ENOTDIR ? LC_EXIT_RUN_NOTFOUND :
		      LC_EXIT_RUN_NOEXEC);
	}
	for (;;) {
		if (sigwaitinfo(&fwd, &si) < 0) {
			if (errno == EINTR)
				continue;
			lc_err("run: sigwaitinfo: %s", strerror(errno));
			if (waitpid(pid, &status, 0) == pid)
				break;
			status = LC_EXIT_RUN_FAIL << 8;
			break;
		}
		if (si.si_signo == SIGCHLD) {
			if (waitpid(pid, &status, WNOHANG) == pid)
				break;
			continue;
		}
		/*
		 * Sent by a process: forward it.  One from the kernel (the
		 * terminal's ^C) reached CMD's process group, CMD included.
		 */
		if (si.si_code <= 0)
			kill(pid, si.si_signo);
	}
	/* the last close: AUTOCLEAR detaches the device unless CMD holds it */
	close(dev_fd);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return LC_EXIT_RUN_FAIL;
}

int lc_cmd_run(int argc, char **argv)
{
	struct lc_attach_opts o;
	int rc, index, dev_fd;
	const char *file;

	rc = parse_attach_opts("run", argc, argv, "+:rPo:b:h", run_help, &o);
	if (rc < 0)
		return LC_EXIT_OK;
	if (rc)
		return LC_EXIT_RUN_FAIL;
	if (optind >= argc) {
		lc_err("run: no FILE");
		lc_usage_hint("run");
		return LC_EXIT_RUN_FAIL;
	}
	file = argv[optind++];
	if (optind < argc && argv[optind][0] == '-' && strcmp(argv[optind], "--")) {
		lc_err("run: options go before FILE ('%s')", argv[optind]);
		lc_usage_hint("run");
		return LC_EXIT_RUN_FAIL;
	}
	if (optind >= argc || strcmp(argv[optind], "--")) {
		lc_err("run: expected '--' and a command after FILE");
		lc_usage_hint("run");
		return LC_EXIT_RUN_FAIL;
	}
	if (++optind >= argc) {
		lc_err("run: no command after '--'");
		lc_usage_hint("run");
		return LC_EXIT_RUN_FAIL;
	}
	o.autoclear = true;
	rc = do_attach("run", &o, file, &index, &dev_fd);
	if (rc)
		return LC_EXIT_RUN_FAIL;
	return run_cmd(index, dev_fd, &argv[optind]);
}
