// SPDX-License-Identifier: GPL-2.0
/* Shared helpers for the asyncloop functional tests (see loopt.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/klog.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <linux/capability.h>

#include "loopt.h"

#define LT_MAX_TRACK 256

static struct {
	int idx;
	bool added;
} tracked_devs[LT_MAX_TRACK];
static int n_tracked_devs;
static char tracked_files[LT_MAX_TRACK][PATH_MAX];
static int n_tracked_files;
static char tracked_mounts[8][PATH_MAX];
static int n_tracked_mounts;

/*
 * The harness ends each test's child with _exit(): whatever it printed to
 * a fully buffered stdout (a pipe) would be lost.  Line buffering keeps
 * ksft_print_msg() lines of the children in the log.
 */
__attribute__((constructor)) static void lt_line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

bool lt_driver_is_ours(void)
{
	const char *d = getenv("ASYNCLOOP_DRIVER");

	return d && !strcmp(d, "ours");
}

bool lt_kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

/*
 * The largest loop block size the running kernel's block layer accepts:
 * the page size up to 6.14, 64 KiB from 6.15 on (block sizes above the page
 * size for block devices).  Both drivers follow the block layer here.
 */
unsigned int lt_max_block_size(void)
{
	return lt_kernel_at_least(6, 15) ? 65536 : getpagesize();
}

bool lt_clr_fd_is_lazy(void)
{
	return !lt_driver_is_ours() && lt_kernel_at_least(6, 11);
}

int lt_clr_fd_now(int idx, int *fd)
{
	long r = lt_ioctl(*fd, LOOP_CLR_FD, 0);
	int mode;

	if (r || !lt_clr_fd_is_lazy())
		return (int)r;
	mode = fcntl(*fd, F_GETFL);
	if (mode < 0)
		return -errno;
	/* stock runs the rundown in ->release of this close */
	close(*fd);
	*fd = lt_open_dev(idx, mode & O_ACCMODE);
	return *fd < 0 ? *fd : 0;
}

bool lt_tmpfs_has_dio(void)
{
	char path[] = LT_TMPDIR "/asyncloop-dio-XXXXXX";
	int fd = mkstemp(path), dfd;

	if (fd < 0)
		return false;
	dfd = open(path, O_RDWR | O_DIRECT);
	unlink(path);
	close(fd);
	if (dfd < 0)
		return false;
	close(dfd);
	return true;
}

int lt_kmsg_count(const char *needle)
{
	int len = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf, *p, *nl;
	int n = 0;

	if (len <= 0)
		return len < 0 ? -errno : 0;
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, len);
	if (len < 0) {
		free(buf);
		return -errno;
	}
	buf[len] = 0;
	for (p = buf; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		if (strstr(p, needle))
			n++;
	}
	free(buf);
	return n;
}

long lt_ioctl(int fd, unsigned long cmd, unsigned long arg)
{
	long r = ioctl(fd, cmd, arg);

	return r < 0 ? -errno : r;
}

const char *lt_errname(long v)
{
	static char bufs[8][32];
	static int n;
	char *b = bufs[n++ % 8];
	const char *name;

	if (v >= 0) {
		snprintf(b, sizeof(bufs[0]), "%ld", v);
		return b;
	}
	name = strerrorname_np((int)-v);
	if (name)
		snprintf(b, sizeof(bufs[0]), "-%s", name);
	else
		snprintf(b, sizeof(bufs[0]), "-errno(%ld)", -v);
	return b;
}

int lt_ctl_open(void)
{
	int fd = open(LT_CTL_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

long lt_ctl(unsigned long cmd, long arg)
{
	int fd = lt_ctl_open();
	long r;

	if (fd < 0)
		return fd;
	r = lt_ioctl(fd, cmd, (unsigned long)arg);
	close(fd);
	return r;
}

int lt_get_free(void)
{
	long r = lt_ctl(LOOP_CTL_GET_FREE, 0);

	if (r >= 0)
		lt_track_dev((int)r, false);
	return (int)r;
}

void lt_dev_path(int idx, char *buf, size_t len)
{
	snprintf(buf, len, "/dev/loop%d", idx);
}

int lt_open_dev(int idx, int flags)
{
	char p[64];
	int fd;

	lt_dev_path(idx, p, sizeof(p));
	fd = open(p, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

bool lt_dev_exists(int idx)
{
	char p[64];

	snprintf(p, sizeof(p), "/sys/block/loop%d", idx);
	return access(p, F_OK) == 0;
}

bool lt_is_bound(int idx)
{
	return lt_sysfs_exists(idx, "loop");
}

int lt_free_index(int start)
{
	int i;

	for (i = start; i < start + 1000; i++)
		if (!lt_dev_exists(i))
			return i;
	return -ENOSPC;
}

long lt_env_long(const char *name, long dflt)
{
	const char *s = getenv(name);

	return s && atol(s) > 0 ? atol(s) : dflt;
}

const char *lt_env_dir(const char *name)
{
	const char *d = getenv(name);

	return d && *d ? d : LT_TMPDIR;
}

uint8_t lt_pattern(uint64_t off)
{
	return (uint8_t)((off >> 9) * 31 + (off & 511) * 7 + 1);
}

int lt_make_file(char *path, size_t pathlen, off_t size)
{
	return lt_make_file_in(LT_TMPDIR, path, pathlen, size);
}

int lt_make_file_in(const char *dir, char *path, size_t pathlen, off_t size)
{
	uint8_t buf[65536];
	off_t done = 0;
	int fd;

	snprintf(path, pathlen, "%s/asyncloop-test-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	lt_track_file(path);
	while (done < size) {
		size_t n = sizeof(buf);
		size_t i;
		ssize_t w;

		if ((off_t)n > size - done)
			n = size - done;
		for (i = 0; i < n; i++)
			buf[i] = lt_pattern(done + i);
		w = pwrite(fd, buf, n, done);
		if (w < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		done += w;
	}
	close(fd);
	return 0;
}

int lt_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0600);

	return fd < 0 ? -errno : fd;
}

int lt_check_pattern(const uint8_t *buf, size_t len, uint64_t file_off,
		     char *why, size_t whylen)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] != lt_pattern(file_off + i)) {
			snprintf(why, whylen,
				 "byte %zu (file offset %llu): got 0x%02x, expected 0x%02x",
				 i, (unsigned long long)(file_off + i), buf[i],
				 lt_pattern(file_off + i));
			return -1;
		}
	}
	return 0;
}

int lt_configure(int devfd, int backfd, uint64_t off, uint64_t sizelimit,
		 uint32_t flags, uint32_t bsize)
{
	struct loop_config c;

	memset(&c, 0, sizeof(c));
	c.fd = backfd;
	c.block_size = bsize;
	c.info.lo_offset = off;
	c.info.lo_sizelimit = sizelimit;
	c.info.lo_flags = flags;
	return (int)lt_ioctlp(devfd, LOOP_CONFIGURE, &c);
}

int lt_status64(int devfd, struct loop_info64 *info)
{
	memset(info, 0, sizeof(*info));
	return (int)lt_ioctlp(devfd, LOOP_GET_STATUS64, info);
}

int lt_set_status64(int devfd, const struct loop_info64 *info)
{
	return (int)lt_ioctlp(devfd, LOOP_SET_STATUS64, info);
}

int lt_size64(int devfd, uint64_t *size)
{
	return (int)lt_ioctlp(devfd, BLKGETSIZE64, size);
}

int lt_sysfs_read(int idx, const char *rel, char *buf, size_t len)
{
	char p[128];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "/sys/block/loop%d/%s", idx, rel);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	buf[n] = 0;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	return 0;
}

int lt_sysfs_u64(int idx, const char *rel, unsigned long long *val)
{
	char b[64], *end;
	int r = lt_sysfs_read(idx, rel, b, sizeof(b));

	if (r)
		return r;
	errno = 0;
	*val = strtoull(b, &end, 10);
	if (errno || end == b || *end)
		return -EINVAL;
	return 0;
}

bool lt_sysfs_exists(int idx, const char *rel)
{
	char p[128];

	snprintf(p, sizeof(p), "/sys/block/loop%d/%s", idx, rel);
	return access(p, F_OK) == 0;
}

static void snap_attr(int idx, const char *rel, char *buf, size_t len)
{
	int r = lt_sysfs_read(idx, rel, buf, len);

	if (r)
		snprintf(buf, len, "<%s>", lt_errname(r));
}

void lt_snapshot(int idx, int devfd, struct lt_state *st)
{
	memset(st, 0, sizeof(*st));
	st->status_err = lt_status64(devfd, &st->info);
	st->loopdir = lt_is_bound(idx);
	snap_attr(idx, "loop/backing_file", st->backing_file,
		  sizeof(st->backing_file));
	snap_attr(idx, "loop/offset", st->offset, sizeof(st->offset));
	snap_attr(idx, "loop/sizelimit", st->sizelimit, sizeof(st->sizelimit));
	snap_attr(idx, "loop/autoclear", st->autoclear, sizeof(st->autoclear));
	snap_attr(idx, "loop/partscan", st->partscan, sizeof(st->partscan));
	snap_attr(idx, "loop/dio", st->dio, sizeof(st->dio));
	snap_attr(idx, "size", st->size, sizeof(st->size));
	snap_attr(idx, "ro", st->ro, sizeof(st->ro));
	snap_attr(idx, "queue/logical_block_size", st->lbs, sizeof(st->lbs));
}

#define DIFF_STR(f) do {						\
	if (strcmp(a->f, b->f)) {					\
		snprintf(why, whylen, "%s: '%s' -> '%s'", #f, a->f, b->f); \
		return 1;						\
	}								\
} while (0)
#define DIFF_NUM(f) do {						\
	if (a->f != b->f) {						\
		snprintf(why, whylen, "%s: %llu -> %llu", #f,		\
			 (unsigned long long)a->f, (unsigned long long)b->f); \
		return 1;						\
	}								\
} while (0)

int lt_state_diff(const struct lt_state *a, const struct lt_state *b,
		  char *why, size_t whylen)
{
	if (a->status_err != b->status_err) {
		snprintf(why, whylen, "LOOP_GET_STATUS64: %s -> %s",
			 lt_errname(a->status_err), lt_errname(b->status_err));
		return 1;
	}
	DIFF_NUM(info.lo_device);
	DIFF_NUM(info.lo_inode);
	DIFF_NUM(info.lo_rdevice);
	DIFF_NUM(info.lo_offset);
	DIFF_NUM(info.lo_sizelimit);
	DIFF_NUM(info.lo_number);
	DIFF_NUM(info.lo_encrypt_type);
	DIFF_NUM(info.lo_flags);
	if (memcmp(a->info.lo_file_name, b->info.lo_file_name, LO_NAME_SIZE)) {
		snprintf(why, whylen, "lo_file_name: '%.64s' -> '%.64s'",
			 (const char *)a->info.lo_file_name,
			 (const char *)b->info.lo_file_name);
		return 1;
	}
	DIFF_NUM(loopdir);
	DIFF_STR(backing_file);
	DIFF_STR(offset);
	DIFF_STR(sizelimit);
	DIFF_STR(autoclear);
	DIFF_STR(partscan);
	DIFF_STR(dio);
	DIFF_STR(size);
	DIFF_STR(ro);
	DIFF_STR(lbs);
	return 0;
}

int lt_drop_cap_sys_admin(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	d[CAP_TO_INDEX(CAP_SYS_ADMIN)].permitted &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	d[CAP_TO_INDEX(CAP_SYS_ADMIN)].inheritable &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	if (syscall(SYS_capset, &h, d))
		return -errno;
	return 0;
}

void lt_track_dev(int idx, bool added)
{
	int i;

	for (i = 0; i < n_tracked_devs; i++) {
		if (tracked_devs[i].idx == idx) {
			tracked_devs[i].added |= added;
			return;
		}
	}
	if (n_tracked_devs < LT_MAX_TRACK) {
		tracked_devs[n_tracked_devs].idx = idx;
		tracked_devs[n_tracked_devs].added = added;
		n_tracked_devs++;
	}
}

void lt_track_file(const char *path)
{
	if (n_tracked_files < LT_MAX_TRACK)
		snprintf(tracked_files[n_tracked_files++], PATH_MAX, "%s", path);
}

void lt_track_mount(const char *dir)
{
	if (n_tracked_mounts < 8)
		snprintf(tracked_mounts[n_tracked_mounts++], PATH_MAX, "%s", dir);
}

void lt_cleanup(void)
{
	int i;

	/* Drop every fd the test still holds: autoclear devices detach. */
	for (i = 3; i < 1024; i++)
		close(i);
	/* Unbind in reverse order so stacked devices go top first. */
	for (i = n_tracked_devs - 1; i >= 0; i--) {
		int idx = tracked_devs[i].idx;
		int fd;

		if (lt_is_bound(idx)) {
			fd = lt_open_dev(idx, O_RDONLY);
			if (fd >= 0) {
				long r = lt_ioctl(fd, LOOP_CLR_FD, 0);

				if (r && r != -ENXIO)
					fprintf(stderr, "# cleanup: loop%d LOOP_CLR_FD: %s\n",
						idx, lt_errname(r));
				close(fd);
			}
		}
		if (tracked_devs[i].added && lt_dev_exists(idx)) {
			long r = lt_ctl(LOOP_CTL_REMOVE, idx);

			if (r < 0)
				fprintf(stderr, "# cleanup: LOOP_CTL_REMOVE %d: %s\n",
					idx, lt_errname(r));
		}
	}
	n_tracked_devs = 0;
	for (i = 0; i < n_tracked_files; i++)
		unlink(tracked_files[i]);
	n_tracked_files = 0;
	for (i = n_tracked_mounts - 1; i >= 0; i--) {
		umount2(tracked_mounts[i], MNT_DETACH);
		rmdir(tracked_mounts[i]);
	}
	n_tracked_mounts = 0;
}

int lt_load_driver(const char *extra)
{
	const char *ko = getenv("ASYNCLOOP_LOOP_KO");
	const char *mp = getenv("ASYNCLOOP_MODPARAMS");
	char params[256];
	int fd, r;

	if (!ko)
		return -ENOENT;
	snprintf(params, sizeof(params), "%s %s", mp ? mp : "", extra);
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return r;
}

int lt_write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int e;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	e = errno;
	close(fd);
	if (n < 0)
		return -e;
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

int lt_write_mbr(int fd, const uint32_t (*p)[2], int n)
{
	uint8_t mbr[512];
	int i;

	memset(mbr, 0, sizeof(mbr));
	for (i = 0; i < n; i++) {
		uint8_t *e = mbr + 446 + 16 * i;
		uint32_t s = p[i][0], c = p[i][1];

		if (!c)
			continue;
		e[1] = 0xfe; e[2] = 0xff; e[3] = 0xff;	/* CHS: use LBA */
		e[4] = 0x83;
		e[5] = 0xfe; e[6] = 0xff; e[7] = 0xff;
		memcpy(e + 8, &s, 4);
		memcpy(e + 12, &c, 4);
	}
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	if (pwrite(fd, mbr, 512, 0) != 512)
		return -errno;
	return fsync(fd) ? -errno : 0;
}

long lt_module_param(const char *name)
{
	char path[128], buf[32] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/module/loop/parameters/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atol(buf) : -EIO;
}

int lt_unload_driver(void)
{
	return syscall(SYS_delete_module, "loop", O_NONBLOCK) ? -errno : 0;
}
