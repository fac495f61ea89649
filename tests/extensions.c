// SPDX-License-Identifier: GPL-2.0
/*
 * The asyncloop extensions of <linux/asyncloop.h> (docs/extensions.md, issue
 * 13): ALOOP_CTL_GET_FEATURES, ALOOP_CTL_ATTACH (atomic pick + bind + open,
 * STRICT, INDEX, PARTSCAN), ALOOP_CTL_WAIT, ALOOP_DETACH, ALOOP_CTL_STATUS.
 *
 * Reference mode (ASYNCLOOP_DRIVER=stock): every test of the new interface
 * first checks that stock answers the call as any unknown command (ENOSYS
 * on /dev/loop-control, EINVAL on /dev/loopN, ENOTTY there for 32-bit
 * callers) and leaves everything as it was, then SKIPs the rest.  The
 * stress and SIGKILL tests run the classic systemd-style path on stock
 * (flock + LOOP_CTL_GET_FREE + LOOP_CONFIGURE, retried), the fallback
 * every client of the extensions needs there.
 *
 * The stress tests: 4 processes x 5,000 atomic attach + I/O + close
 * cycles, and 2 atomic attachers beside 2 lock-less classic clients
 * (half the rounds), with a shared table of who holds which device.
 *
 * Knobs: ALOOP_EXT_ROUNDS (5000 atomic attach cycles per process),
 * ALOOP_EXT_PROCS (4), ALOOP_EXT_KILLS (1000 SIGKILL rounds),
 * ALOOP_EXT_SEED (the kill test's random seed, default: the time),
 * ALOOP_EXT_DETACH_ROUNDS (50), ALOOP_EXT_DIR (a directory on ext4 on the
 * virtio disk, for the direct I/O checks; those SKIP without it).
 *
 * tests/extensions32.c builds this file with -m32 (EXT_COMPAT32): the same
 * calls through the compat ioctl paths, without the stress and kill tests.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <linux/asyncloop.h>

#include "kselftest_harness.h"
#include "loopt.h"

#define MAXDEV		1024
#define FILE_SIZE	(1 << 20)
#define ALL_FEATURES	(ALOOP_FEAT_ATTACH | ALOOP_FEAT_WAIT | ALOOP_FEAT_DETACH | \
			 ALOOP_FEAT_STATUS | ALOOP_FEAT_STRICT)
/* what stock answers to a command it does not know */
#define STOCK_CTL_ERR	(-ENOSYS)
#define STOCK_DEV_ERR	(sizeof(long) == 4 ? -ENOTTY : -EINVAL)
#define EXT_TMP		"/tmp/ext"

/* ASSERT_RET and friends with a message of the caller's */
#define __RET_M(kind, expected, seen, fmt, ...) do {			\
	long __m_e = (long)(expected), __m_s = (long)(seen);		\
	kind##_EQ(__m_e, __m_s)						\
		TH_LOG("%s: expected %s, got %s: " fmt, #seen,		\
		       lt_errname(__m_e), lt_errname(__m_s), ##__VA_ARGS__); \
} while (0)
#define ASSERT_RET_M(e, s, fmt, ...) __RET_M(ASSERT, e, s, fmt, ##__VA_ARGS__)
#define EXPECT_RET_M(e, s, fmt, ...) __RET_M(EXPECT, e, s, fmt, ##__VA_ARGS__)
#define ASSERT_NONNEG_M(seen, fmt, ...) do {				\
	long __m_s = (long)(seen);					\
	ASSERT_LE(0, __m_s)						\
		TH_LOG("%s failed: %s: " fmt, #seen, lt_errname(__m_s),	\
		       ##__VA_ARGS__);					\
} while (0)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool ours(void)
{
	return lt_driver_is_ours();
}

static void attach_init(struct aloop_attach *a, int bfd, uint32_t lo_flags)
{
	memset(a, 0, sizeof(*a));
	a->config.fd = bfd;
	a->config.info.lo_flags = lo_flags;
}

/* ALOOP_CTL_ATTACH: the new descriptor or -errno */
static int do_attach(int ctl, struct aloop_attach *a)
{
	return (int)lt_ioctlp(ctl, ALOOP_CTL_ATTACH, a);
}

static long do_wait(int ctl, uint32_t idx, uint64_t timeout_ms)
{
	struct aloop_wait w = { .index = idx, .timeout_ms = timeout_ms };

	return lt_ioctlp(ctl, ALOOP_CTL_WAIT, &w);
}

static long do_status(int ctl, uint32_t idx, struct aloop_status *s)
{
	memset(s, 0, sizeof(*s));
	s->index = idx;
	return lt_ioctlp(ctl, ALOOP_CTL_STATUS, s);
}

/* ------------------------------------------------ devices and descriptors */

/* which loop devices exist and which are bound (sysfs) */
struct devset {
	int ndev, nbound;
	unsigned char exists[MAXDEV], bound[MAXDEV];
};

static void devset_read(struct devset *s)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	int idx;

	memset(s, 0, sizeof(*s));
	if (!d)
		return;
	while ((e = readdir(d))) {
		char tail;

		if (sscanf(e->d_name, "loop%d%c", &idx, &tail) != 1 ||
		    idx < 0 || idx >= MAXDEV)
			continue;
		s->exists[idx] = 1;
		s->ndev++;
		if (lt_is_bound(idx)) {
			s->bound[idx] = 1;
			s->nbound++;
		}
	}
	closedir(d);
}

/* 0 if @a and @b have the same devices and the same bound ones */
static int devset_diff(const struct devset *a, const struct devset *b,
		       char *why, size_t len)
{
	int i;

	for (i = 0; i < MAXDEV; i++) {
		if (a->exists[i] != b->exists[i]) {
			snprintf(why, len, "loop%d %s", i,
				 b->exists[i] ? "was created" : "was removed");
			return 1;
		}
		if (a->bound[i] != b->bound[i]) {
			snprintf(why, len, "loop%d %s", i,
				 b->bound[i] ? "is bound now" : "is no longer bound");
			return 1;
		}
	}
	return 0;
}

/* the device ALOOP_CTL_ATTACH (and GET_FREE) picks: lowest unbound */
static int lowest_unbound(const struct devset *s)
{
	int i;

	for (i = 0; i < MAXDEV; i++)
		if (s->exists[i] && !s->bound[i])
			return i;
	return -1;
}

static __attribute__((unused)) int count_devices(void)
{
	struct devset s;

	devset_read(&s);
	return s.ndev;
}

/* open descriptors of this process */
static int nfds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -errno;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3;	/* ".", ".." and the directory's own */
}

/* st_rdev of /sys/block/loopN/dev */
static dev_t sysfs_devt(int idx)
{
	char b[32];
	unsigned int ma, mi;

	if (lt_sysfs_read(idx, "dev", b, sizeof(b)) || sscanf(b, "%u:%u", &ma, &mi) != 2)
		return 0;
	return makedev(ma, mi);
}

static bool part_node(int idx, int p)
{
	char d[64];
	struct stat st;

	snprintf(d, sizeof(d), "/dev/loop%dp%d", idx, p);
	return !stat(d, &st) && S_ISBLK(st.st_mode);
}

static bool part_sysfs(int idx, int p)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "loop%dp%d", idx, p);
	return lt_sysfs_exists(idx, rel);
}

static int open_part(int idx, int p, int flags)
{
	char d[64];
	int fd;

	snprintf(d, sizeof(d), "/dev/loop%dp%d", idx, p);
	fd = open(d, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* a classic binding through LOOP_CTL_GET_FREE + LOOP_CONFIGURE: the fd */
static int classic_bind(int bfd, uint32_t lo_flags, uint32_t bsize, int *idx)
{
	int i = lt_get_free(), fd, r;

	if (i < 0)
		return i;
	fd = lt_open_dev(i, O_RDWR);
	if (fd < 0)
		return fd;
	r = lt_configure(fd, bfd, 0, 0, lo_flags, bsize);
	if (r) {
		close(fd);
		return r;
	}
	*idx = i;
	return fd;
}

/*
 * The systemd-style attach of the classic ABI, the fallback on stock:
 * flock(/dev/loop-control) (with @lock; util-linux takes none), GET_FREE,
 * open, LOOP_CONFIGURE, unlock; EBUSY
 * or ENXIO (a device another process got first, or in rundown) is retried
 * and counted in *@retries.  Returns the device's fd or -errno.
 */
static __attribute__((unused)) int classic_attach(int ctl, int bfd, uint32_t lo_flags, int *idx,
			  long *retries, bool lock)
{
	for (;;) {
		int i, fd;

		if (lock && flock(ctl, LOCK_EX))
			return -errno;
		i = (int)lt_ioctl(ctl, LOOP_CTL_GET_FREE, 0);
		if (i < 0) {
			if (lock)
				flock(ctl, LOCK_UN);
			return i;
		}
		fd = lt_open_dev(i, O_RDWR);
		if (fd >= 0) {
			int r = lt_configure(fd, bfd, 0, 0, lo_flags, 0);

			if (r) {
				close(fd);
				fd = r;
			}
		}
		if (lock)
			flock(ctl, LOCK_UN);
		if (fd >= 0) {
			*idx = i;
			return fd;
		}
		if (fd != -EBUSY && fd != -ENXIO)
			return fd;
		(*retries)++;
	}
}

/* ALOOP_CTL_ATTACH of any free device with @lo_flags: the fd, or -errno */
static int atomic_attach(int ctl, int bfd, uint32_t lo_flags, int *idx)
{
	struct aloop_attach a;
	int fd;

	attach_init(&a, bfd, lo_flags);
	fd = do_attach(ctl, &a);
	if (fd >= 0)
		*idx = a.index;
	return fd;
}

/* ---------------------------------------------------------------- fixture */

FIXTURE(ext) {
	int ctl;
	char file[PATH_MAX];
	int bfd;
	struct devset before;
};

FIXTURE_SETUP(ext)
{
	mkdir(EXT_TMP, 0755);
	self->ctl = lt_ctl_open();
	ASSERT_NONNEG(self->ctl);
	ASSERT_OK(lt_make_file(self->file, sizeof(self->file), FILE_SIZE));
	self->bfd = lt_open(self->file, O_RDWR);
	ASSERT_NONNEG(self->bfd);
	devset_read(&self->before);
}

FIXTURE_TEARDOWN(ext)
{
	lt_cleanup();
}

/* the same devices exist and are bound as in @before, no new descriptor */
#define ASSERT_NOTHING_NEW(before, fds_before, what) do {		\
	struct devset __e_now;						\
	char __e_why[128];						\
	devset_read(&__e_now);						\
	ASSERT_EQ(0, devset_diff((before), &__e_now, __e_why,		\
				 sizeof(__e_why)))			\
		TH_LOG("%s: %s", (what), __e_why);			\
	ASSERT_EQ((fds_before), nfds())					\
		TH_LOG("%s: a descriptor was left open", (what));	\
} while (0)

/*
 * Reference mode: on stock, @r (the first call of the new interface the
 * test made) must be what stock answers to an unknown command, nothing may
 * have changed; the rest of the test needs asyncloop and SKIPs.
 */
#define STOCK_ONLY_CHECK(r, want, what, before) do {			\
	if (!ours()) {							\
		ASSERT_RET_M((want), (r), "stock: %s", (what));	\
		{							\
			struct devset __s_now;				\
			char __s_why[128];				\
			devset_read(&__s_now);				\
			ASSERT_EQ(0, devset_diff((before), &__s_now,	\
						 __s_why, sizeof(__s_why))) \
				TH_LOG("stock %s: %s", (what), __s_why); \
		}							\
		SKIP(return, "stock driver: %s answers %s like any unknown command (checked); the rest needs asyncloop", \
		     (what), lt_errname(want));				\
	}								\
} while (0)

/* ------------------------------------------------------------ discovery */

/* one layout for 32-bit and 64-bit callers: the sizes the numbers encode */
TEST(uapi_layout)
{
	ASSERT_EQ(32u, sizeof(struct aloop_features));
	ASSERT_EQ(360u, sizeof(struct aloop_attach));
	ASSERT_EQ(16u, sizeof(struct aloop_wait));
	ASSERT_EQ(88u, sizeof(struct aloop_status));
	ASSERT_EQ(0xc1684ca1u, (unsigned int)ALOOP_CTL_ATTACH);
	ASSERT_EQ(0x80204ca0u, (unsigned int)ALOOP_CTL_GET_FEATURES);
	ASSERT_EQ(0x40104ca2u, (unsigned int)ALOOP_CTL_WAIT);
	ASSERT_EQ(0xc0584ca3u, (unsigned int)ALOOP_CTL_STATUS);
	ASSERT_EQ(0x4ca8u, (unsigned int)ALOOP_DETACH);
}

TEST_F(ext, features)
{
	struct aloop_features f;
	unsigned char junk[sizeof(f)];
	long r;
	int ro;

	memset(&f, 0xa5, sizeof(f));
	memset(junk, 0xa5, sizeof(junk));
	r = lt_ioctlp(self->ctl, ALOOP_CTL_GET_FEATURES, &f);
	if (!ours())
		ASSERT_EQ(0, memcmp(&f, junk, sizeof(f))) TH_LOG("stock wrote the argument");
	STOCK_ONLY_CHECK(r, STOCK_CTL_ERR, "ALOOP_CTL_GET_FEATURES", &self->before);
	ASSERT_OK(r);
	ASSERT_EQ((uint32_t)ALOOP_API_VERSION, f.version);
	ASSERT_EQ(1u, f.version);
	ASSERT_EQ((uint64_t)ALL_FEATURES, f.features)
		TH_LOG("features 0x%llx", (unsigned long long)f.features);
	ASSERT_EQ(0u, f.__pad);
	ASSERT_EQ(0u, f.__reserved[0]);
	ASSERT_EQ(0u, f.__reserved[1]);
	/* an open /dev/loop-control is all it needs */
	ro = open(LT_CTL_PATH, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, ro);
	memset(&f, 0, sizeof(f));
	ASSERT_OK(lt_ioctlp(ro, ALOOP_CTL_GET_FEATURES, &f));
	ASSERT_EQ((uint64_t)ALL_FEATURES, f.features);
	ASSERT_RET(-EFAULT, lt_ioctl(self->ctl, ALOOP_CTL_GET_FEATURES, 8));
}

/*
 * What a client's discovery sees on either driver: stock answers every new
 * call as an unknown command and changes nothing; ours answers the unused
 * numbers of its range the same way.
 */
TEST_F(ext, unknown_commands)
{
	struct aloop_features f = { 0 };
	struct aloop_attach a;
	struct aloop_status s;
	struct lt_state st0;
	int fd, idx, nr, fds;

	fd = classic_bind(self->bfd, 0, 0, &idx);
	ASSERT_NONNEG(fd);
	devset_read(&self->before);
	lt_snapshot(idx, fd, &st0);
	fds = nfds();
	if (!ours()) {
		attach_init(&a, self->bfd, LO_FLAGS_AUTOCLEAR);
		EXPECT_RET(STOCK_CTL_ERR, lt_ioctlp(self->ctl, ALOOP_CTL_GET_FEATURES, &f));
		EXPECT_RET(STOCK_CTL_ERR, do_attach(self->ctl, &a));
		EXPECT_RET(STOCK_CTL_ERR, do_wait(self->ctl, idx, 0));
		EXPECT_RET(STOCK_CTL_ERR, do_wait(self->ctl, idx, ALOOP_WAIT_FOREVER));
		EXPECT_RET(STOCK_CTL_ERR, do_status(self->ctl, idx, &s));
		EXPECT_RET(STOCK_DEV_ERR, lt_ioctl(fd, ALOOP_DETACH, 0));
	}
	/* numbers 0xa0-0xaf that no call uses */
	for (nr = 0xa0; nr <= 0xaf; nr++) {
		if (nr <= 0xa3 || nr == 0xa8)
			continue;
		EXPECT_RET_M(STOCK_CTL_ERR, lt_ioctl(self->ctl, _IO('L', nr), 0), "'L' 0x%x on /dev/loop-control", nr);
		EXPECT_RET_M(STOCK_DEV_ERR, lt_ioctl(fd, _IO('L', nr), 0), "'L' 0x%x on /dev/loop%d", nr, idx);
	}
	/* the device-only call on the control device and back */
	EXPECT_RET(STOCK_CTL_ERR, lt_ioctl(self->ctl, ALOOP_DETACH, 0));
	ASSERT_UNCHANGED(idx, fd, &st0);
	ASSERT_NOTHING_NEW(&self->before, fds, "unknown commands");
}

/* ------------------------------------------------------------- attach ---- */

TEST_F(ext, attach_binds_lowest_free_device)
{
	struct aloop_attach a;
	struct aloop_status s;
	struct stat st, node;
	char path[64], buf[PATH_MAX];
	uint8_t *io;
	int fd, expect = lowest_unbound(&self->before);

	attach_init(&a, self->bfd, LO_FLAGS_AUTOCLEAR);
	a.index = 77;		/* only read with ALOOP_ATTACH_INDEX */
	a.nr_partitions = 5;	/* out only */
	a.dev_fd = -7;		/* out only */
	fd = do_attach(self->ctl, &a);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	ASSERT_EQ(fd, a.dev_fd);
	ASSERT_EQ(expect, a.index) TH_LOG("not the lowest unbound device");
	ASSERT_EQ(0u, a.nr_partitions);
	ASSERT_EQ(0u, a.__pad);
	/* the descriptor: O_CLOEXEC, O_RDWR, the device's node */
	ASSERT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(O_RDWR, fcntl(fd, F_GETFL) & O_ACCMODE);
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_TRUE(S_ISBLK(st.st_mode));
	ASSERT_EQ(sysfs_devt(a.index), st.st_rdev)
		TH_LOG("fd is %u:%u", major(st.st_rdev), minor(st.st_rdev));
	lt_dev_path(a.index, path, sizeof(path));
	ASSERT_EQ(0, stat(path, &node));
	ASSERT_EQ(node.st_rdev, st.st_rdev);
	{
		char link[64], target[128] = "";

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ASSERT_LT(0, readlink(link, target, sizeof(target) - 1));
		ASSERT_STREQ(path, target) TH_LOG("%s", link);
	}
	/* the binding */
	ASSERT_TRUE(lt_is_bound(a.index));
	ASSERT_SYSFS_STR(a.index, "loop/backing_file", self->file);
	ASSERT_SYSFS_STR(a.index, "loop/autoclear", "1");
	ASSERT_OK(do_status(self->ctl, a.index, &s));
	ASSERT_EQ((uint32_t)ALOOP_STATE_BOUND, s.state);
	ASSERT_EQ(1u, s.openers);
	/* I/O through the returned descriptor reaches the backing file */
	io = malloc(8192);
	ASSERT_NE(NULL, io);
	ASSERT_EQ(4096, pread(fd, io, 4096, 8192));
	ASSERT_EQ(0, lt_check_pattern(io, 4096, 8192, buf, sizeof(buf))) TH_LOG("%s", buf);
	memset(io, 0x5a, 4096);
	ASSERT_EQ(4096, pwrite(fd, io, 4096, 4096));
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(4096, pread(self->bfd, io + 4096, 4096, 4096));
	ASSERT_EQ(0, memcmp(io, io + 4096, 4096));
	free(io);
	/* the last close detaches (AUTOCLEAR) before close() returns */
	ASSERT_EQ(0, close(fd));
	ASSERT_FALSE(lt_is_bound(a.index)) TH_LOG("loop%d still bound after the last close", a.index);
	ASSERT_OK(do_status(self->ctl, a.index, &s));
	ASSERT_EQ((uint32_t)ALOOP_STATE_UNBOUND, s.state);
}

/* without AUTOCLEAR the binding outlives the descriptor */
TEST_F(ext, attach_without_autoclear_stays_bound)
{
	struct aloop_attach a;
	int fd, fd2;

	attach_init(&a, self->bfd, 0);
	fd = do_attach(self->ctl, &a);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	ASSERT_SYSFS_STR(a.index, "loop/autoclear", "0");
	ASSERT_EQ(0, close(fd));
	ASSERT_TRUE(lt_is_bound(a.index));
	fd2 = lt_open_dev(a.index, O_RDONLY);
	ASSERT_NONNEG(fd2);
	ASSERT_OK(lt_ioctl(fd2, ALOOP_DETACH, 0));
	ASSERT_FALSE(lt_is_bound(a.index));
}

/* read-only bindings: asked for, a read-only backing fd, a read-only control */
TEST_F(ext, attach_read_only)
{
	static const char *const how[] = {
		"LO_FLAGS_READ_ONLY", "read-only backing fd", "read-only /dev/loop-control" };
	struct aloop_attach a;
	struct aloop_status s;
	struct loop_info64 info;
	int i, fd, ctl, bfd;
	char c = 0;

	for (i = 0; i < 3; i++) {
		ctl = i == 2 ? open(LT_CTL_PATH, O_RDONLY | O_CLOEXEC) : self->ctl;
		ASSERT_LE(0, ctl);
		bfd = i == 1 ? lt_open(self->file, O_RDONLY) : self->bfd;
		ASSERT_LE(0, bfd);
		attach_init(&a, bfd, LO_FLAGS_AUTOCLEAR | (i == 0 ? LO_FLAGS_READ_ONLY : 0));
		fd = do_attach(ctl, &a);
		if (i == 0)
			STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
		ASSERT_NONNEG_M(fd, "%s", how[i]);
		lt_track_dev(a.index, false);
		ASSERT_EQ(O_RDONLY, fcntl(fd, F_GETFL) & O_ACCMODE) TH_LOG("%s", how[i]);
		ASSERT_EQ(-1, pwrite(fd, &c, 1, 0)) TH_LOG("%s", how[i]);
		ASSERT_EQ(EBADF, errno) TH_LOG("%s: write: %s", how[i], strerror(errno));
		ASSERT_EQ(1, pread(fd, &c, 1, 0));
		ASSERT_SYSFS_STR(a.index, "ro", "1");
		ASSERT_OK(lt_status64(fd, &info));
		ASSERT_TRUE(info.lo_flags & LO_FLAGS_READ_ONLY) TH_LOG("%s", how[i]);
		ASSERT_OK(do_status(self->ctl, a.index, &s));
		ASSERT_TRUE(s.flags & LO_FLAGS_READ_ONLY) TH_LOG("%s", how[i]);
		ASSERT_EQ(0, close(fd));
		ASSERT_FALSE(lt_is_bound(a.index));
		if (i == 1)
			close(bfd);
		if (i == 2)
			close(ctl);
	}
}

/* attach @a, expecting @want: nothing bound, created or left open */
static void expect_refused(struct __test_metadata *_metadata, int ctl,
			   struct aloop_attach *a, long want, const char *what)
{
	struct devset before;
	int fds = nfds(), r;

	devset_read(&before);
	r = do_attach(ctl, a);
	if (r >= 0) {
		lt_track_dev(a->index, false);
		close(r);
	}
	ASSERT_RET_M(want, r, "%s", what);
	ASSERT_NOTHING_NEW(&before, fds, what);
}

/* the errno table of docs/extensions.md; each leaves nothing behind */
TEST_F(ext, attach_errors)
{
	struct aloop_attach a;
	char what[96];
	int i, fd, dirfd, nullfd, pfd[2], sv[2], lfd, free_idx, bound_fd, bound_idx;
	void *page;

	attach_init(&a, -1, 0);
	fd = do_attach(self->ctl, &a);
	if (fd >= 0)
		close(fd);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	ASSERT_RET(-EBADF, fd);

	attach_init(&a, 999, 0);
	expect_refused(_metadata, self->ctl, &a, -EBADF, "closed config.fd");

	/* unknown flags, non-zero reserved fields */
	for (i = 2; i < 64; i += 7) {
		attach_init(&a, self->bfd, 0);
		a.flags = 1ULL << i;
		snprintf(what, sizeof(what), "flags bit %d", i);
		expect_refused(_metadata, self->ctl, &a, -EINVAL, what);
	}
	attach_init(&a, self->bfd, 0);
	a.__pad = 1;
	expect_refused(_metadata, self->ctl, &a, -EINVAL, "__pad");
	for (i = 0; i < 4; i++) {
		attach_init(&a, self->bfd, 0);
		a.__reserved[i] = 1ULL << 40;
		snprintf(what, sizeof(what), "__reserved[%d]", i);
		expect_refused(_metadata, self->ctl, &a, -EINVAL, what);
	}
	for (i = 0; i < 8; i++) {
		attach_init(&a, self->bfd, 0);
		a.config.__reserved[i] = 1;
		snprintf(what, sizeof(what), "config.__reserved[%d]", i);
		expect_refused(_metadata, self->ctl, &a, -EINVAL, what);
	}
	/* lo_flags outside READ_ONLY, AUTOCLEAR, PARTSCAN, DIRECT_IO */
	{
		static const uint32_t bad[] = { 2, 1u << 5, 1u << 12, 1u << 31 };

		for (i = 0; i < 4; i++) {
			attach_init(&a, self->bfd, LO_FLAGS_AUTOCLEAR | bad[i]);
			snprintf(what, sizeof(what), "lo_flags 0x%x", bad[i]);
			expect_refused(_metadata, self->ctl, &a, -EINVAL, what);
		}
	}
	attach_init(&a, self->bfd, 0);
	a.config.info.lo_encrypt_type = 1;	/* LO_CRYPT_XOR */
	expect_refused(_metadata, self->ctl, &a, -EINVAL, "lo_encrypt_type XOR");
	/* block sizes the block layer refuses */
	{
		const uint32_t bad[] = { 1, 256, 1000, 513,
					 2 * lt_max_block_size(),
					 16 * lt_max_block_size() };

		for (i = 0; i < 6; i++) {
			attach_init(&a, self->bfd, 0);
			a.config.block_size = bad[i];
			snprintf(what, sizeof(what), "block_size %u", bad[i]);
			expect_refused(_metadata, self->ctl, &a, -EINVAL, what);
		}
	}
	/* offset and sizelimit past LLONG_MAX */
	attach_init(&a, self->bfd, 0);
	a.config.info.lo_offset = (uint64_t)LLONG_MAX + 1;
	expect_refused(_metadata, self->ctl, &a, -EOVERFLOW, "lo_offset LLONG_MAX+1");
	attach_init(&a, self->bfd, 0);
	a.config.info.lo_sizelimit = ~0ULL;
	expect_refused(_metadata, self->ctl, &a, -EOVERFLOW, "lo_sizelimit ~0");
	/* backing files that are neither regular files nor block devices */
	dirfd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dirfd);
	ASSERT_LE(0, nullfd);
	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	/* the debug kernels are built without AF_UNIX: a UDP socket there */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		sv[0] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		sv[1] = -1;
	}
	ASSERT_LE(0, sv[0]);
	attach_init(&a, dirfd, 0);
	expect_refused(_metadata, self->ctl, &a, -EINVAL, "a directory");
	attach_init(&a, nullfd, 0);
	expect_refused(_metadata, self->ctl, &a, -EINVAL, "/dev/null");
	attach_init(&a, pfd[1], 0);
	expect_refused(_metadata, self->ctl, &a, -EINVAL, "a pipe");
	attach_init(&a, sv[0], 0);
	expect_refused(_metadata, self->ctl, &a, -EINVAL, "a socket");
	/* a chain through an unbound loop device */
	free_idx = lowest_unbound(&self->before);
	ASSERT_LE(0, free_idx);
	for (i = free_idx + 1; i < MAXDEV; i++)
		if (self->before.exists[i] && !self->before.bound[i])
			break;
	ASSERT_GT(MAXDEV, i);
	lfd = lt_open_dev(i, O_RDWR);
	ASSERT_NONNEG(lfd);
	attach_init(&a, lfd, 0);
	snprintf(what, sizeof(what), "backing: unbound loop%d", i);
	expect_refused(_metadata, self->ctl, &a, -EINVAL, what);
	attach_init(&a, lfd, 0);
	a.flags = ALOOP_ATTACH_INDEX;
	a.index = free_idx;
	snprintf(what, sizeof(what), "INDEX %d, backing: unbound loop%d", free_idx, i);
	expect_refused(_metadata, self->ctl, &a, -EINVAL, what);
	close(lfd);
	/* ALOOP_ATTACH_INDEX of a bound device */
	bound_fd = classic_bind(self->bfd, 0, 0, &bound_idx);
	ASSERT_NONNEG(bound_fd);
	attach_init(&a, self->bfd, 0);
	a.flags = ALOOP_ATTACH_INDEX;
	a.index = bound_idx;
	expect_refused(_metadata, self->ctl, &a, -EBUSY, "INDEX of a bound device");
	ASSERT_OK(lt_clr_fd_now(bound_idx, &bound_fd));
	close(bound_fd);
	/* negative index with ALOOP_ATTACH_INDEX */
	attach_init(&a, self->bfd, 0);
	a.flags = ALOOP_ATTACH_INDEX;
	a.index = -1;
	expect_refused(_metadata, self->ctl, &a, -EINVAL, "INDEX -1");
	a.index = INT_MIN;
	expect_refused(_metadata, self->ctl, &a, -EINVAL, "INDEX INT_MIN");
	/* the argument cannot be read */
	{
		struct devset before;
		int fds = nfds();

		devset_read(&before);
		ASSERT_RET(-EFAULT, lt_ioctl(self->ctl, ALOOP_CTL_ATTACH, 0));
		ASSERT_RET(-EFAULT, lt_ioctl(self->ctl, ALOOP_CTL_ATTACH, 16));
		ASSERT_NOTHING_NEW(&before, fds, "unreadable argument");
	}
	/* ... or not written back: the binding made is undone */
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	attach_init(page, self->bfd, LO_FLAGS_AUTOCLEAR);
	ASSERT_EQ(0, mprotect(page, 4096, PROT_READ));
	expect_refused(_metadata, self->ctl, page, -EFAULT, "read-only argument (no write-back)");
	attach_init(&a, self->bfd, 0);	/* without AUTOCLEAR too */
	ASSERT_EQ(0, mprotect(page, 4096, PROT_READ | PROT_WRITE));
	memcpy(page, &a, sizeof(a));
	ASSERT_EQ(0, mprotect(page, 4096, PROT_READ));
	expect_refused(_metadata, self->ctl, page, -EFAULT, "read-only argument, no AUTOCLEAR");
	{	/* ... and a device that ALOOP_ATTACH_INDEX created is removed */
		struct devset now;

		devset_read(&now);
		for (i = 0; i < MAXDEV && now.exists[i]; i++)
			;
		ASSERT_GT(MAXDEV, i);
		attach_init(&a, self->bfd, LO_FLAGS_AUTOCLEAR);
		a.flags = ALOOP_ATTACH_INDEX;
		a.index = i;
		ASSERT_EQ(0, mprotect(page, 4096, PROT_READ | PROT_WRITE));
		memcpy(page, &a, sizeof(a));
		ASSERT_EQ(0, mprotect(page, 4096, PROT_READ));
		snprintf(what, sizeof(what), "read-only argument, INDEX %d created", i);
		expect_refused(_metadata, self->ctl, page, -EFAULT, what);
	}
	munmap(page, 4096);
	/* no free descriptor */
	{
		struct rlimit old, rl;
		int probe = dup(0);

		ASSERT_LE(0, probe);
		close(probe);
		ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
		rl = old;
		rl.rlim_cur = probe;
		ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
		attach_init(&a, self->bfd, LO_FLAGS_AUTOCLEAR);
		expect_refused(_metadata, self->ctl, &a, -EMFILE, "RLIMIT_NOFILE reached");
		ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
	}
	/* and after all that, an attach still works */
	attach_init(&a, self->bfd, LO_FLAGS_AUTOCLEAR);
	fd = do_attach(self->ctl, &a);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	ASSERT_EQ(free_idx, a.index);
	close(fd);
	ASSERT_FALSE(lt_is_bound(a.index));
}

/*
 * The backing file is the chosen device itself: EBADF, as stock's
 * LOOP_CONFIGURE answers (docs/extensions.md's table).
 */
TEST_F(ext, attach_backing_is_the_device_itself)
{
	struct aloop_attach a;
	int idx = lowest_unbound(&self->before), lfd, r;
	long want = -EBADF;

	ASSERT_LE(0, idx);
	lfd = lt_open_dev(idx, O_RDWR);
	ASSERT_NONNEG(lfd);
	attach_init(&a, lfd, 0);
	a.flags = ALOOP_ATTACH_INDEX;
	a.index = idx;
	r = do_attach(self->ctl, &a);
	if (r >= 0)
		close(r);
	STOCK_ONLY_CHECK(r, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	ASSERT_NOTHING_NEW(&self->before, nfds(), "INDEX n, backing /dev/loopn");
	EXPECT_RET_M(want, r, "INDEX %d, backing /dev/loop%d itself", idx, idx);
	/* without INDEX it picks the same lowest unbound device */
	attach_init(&a, lfd, 0);
	r = do_attach(self->ctl, &a);
	if (r >= 0)
		close(r);
	ASSERT_NOTHING_NEW(&self->before, nfds(), "backing /dev/loopn, n the lowest free");
	EXPECT_RET_M(want, r, "backing /dev/loop%d, the device it picks", idx);
}

/* ALOOP_ATTACH_INDEX: a bound device is EBUSY and untouched; others bind */
TEST_F(ext, attach_index)
{
	struct aloop_attach a;
	struct lt_state st0;
	struct stat st;
	char why[256];
	uint8_t buf[512];
	int fd, bfd2, bound_fd, bound_idx, other, fresh;
	char file2[PATH_MAX];

	bound_fd = classic_bind(self->bfd, 0, 0, &bound_idx);
	ASSERT_NONNEG(bound_fd);
	devset_read(&self->before);
	ASSERT_OK(lt_make_file(file2, sizeof(file2), FILE_SIZE));
	bfd2 = lt_open(file2, O_RDWR);
	ASSERT_NONNEG(bfd2);
	lt_snapshot(bound_idx, bound_fd, &st0);
	attach_init(&a, bfd2, LO_FLAGS_AUTOCLEAR);
	a.flags = ALOOP_ATTACH_INDEX;
	a.index = bound_idx;
	fd = do_attach(self->ctl, &a);
	if (fd >= 0)
		close(fd);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	ASSERT_RET(-EBUSY, fd);
	ASSERT_UNCHANGED(bound_idx, bound_fd, &st0);
	ASSERT_EQ(512, pread(bound_fd, buf, 512, 65536));
	ASSERT_EQ(0, lt_check_pattern(buf, 512, 65536, why, sizeof(why))) TH_LOG("%s", why);

	/* an existing unbound device that is not the lowest */
	devset_read(&self->before);
	for (other = lowest_unbound(&self->before) + 1; other < MAXDEV; other++)
		if (self->before.exists[other] && !self->before.bound[other])
			break;
	ASSERT_GT(MAXDEV, other) TH_LOG("no second unbound device");
	attach_init(&a, bfd2, LO_FLAGS_AUTOCLEAR);
	a.flags = ALOOP_ATTACH_INDEX;
	a.index = other;
	fd = do_attach(self->ctl, &a);
	ASSERT_NONNEG(fd);
	lt_track_dev(other, false);
	ASSERT_EQ(other, a.index);
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_EQ(sysfs_devt(other), st.st_rdev);
	ASSERT_SYSFS_STR(other, "loop/backing_file", file2);
	close(fd);
	ASSERT_FALSE(lt_is_bound(other));

	/* a new index: the device is created */
	fresh = lt_free_index(40);
	ASSERT_LE(0, fresh);
	lt_track_dev(fresh, true);
	attach_init(&a, bfd2, LO_FLAGS_AUTOCLEAR);
	a.flags = ALOOP_ATTACH_INDEX | ALOOP_ATTACH_STRICT;
	a.index = fresh;
	fd = do_attach(self->ctl, &a);
	ASSERT_NONNEG(fd);
	ASSERT_EQ(fresh, a.index);
	ASSERT_TRUE(lt_dev_exists(fresh));
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_EQ(sysfs_devt(fresh), st.st_rdev);
	ASSERT_EQ(512, pread(fd, buf, 512, 4096));
	ASSERT_EQ(0, lt_check_pattern(buf, 512, 4096, why, sizeof(why))) TH_LOG("%s", why);
	close(fd);
	ASSERT_FALSE(lt_is_bound(fresh));
	ASSERT_OK(lt_ctl(LOOP_CTL_REMOVE, fresh));
}

/*
 * "Errors (nothing changed, nothing bound, no descriptor)": an attach of a
 * new index that fails leaves no new device behind either.
 */
TEST_F(ext, attach_index_error_creates_nothing)
{
	struct aloop_attach a;
	int fresh = lt_free_index(40), fd, fds = nfds();

	ASSERT_LE(0, fresh);
	lt_track_dev(fresh, true);
	attach_init(&a, self->bfd, 0);
	a.flags = ALOOP_ATTACH_INDEX;
	a.index = fresh;
	a.config.block_size = 1000;
	fd = do_attach(self->ctl, &a);
	if (fd >= 0)
		close(fd);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	ASSERT_RET(-EINVAL, fd);
	ASSERT_NOTHING_NEW(&self->before, fds, "INDEX of a new device, block_size 1000");
}

/* PARTSCAN: the partitions are counted and their nodes exist on return */
TEST_F(ext, attach_partscan)
{
	static const uint32_t parts[][2] = {
		{ 2048, 4096 }, { 6144, 4096 }, { 10240, 4096 } };
	struct aloop_attach a;
	char file[PATH_MAX], why[256];
	unsigned long long sz;
	uint8_t buf[4096];
	int bfd, fd, p, pfd;
	long max_part = lt_module_param("max_part");

	ASSERT_OK(lt_make_file(file, sizeof(file), 8 << 20));
	bfd = lt_open(file, O_RDWR);
	ASSERT_NONNEG(bfd);
	ASSERT_OK(lt_write_mbr(bfd, parts, 3));
	attach_init(&a, bfd, LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN);
	fd = do_attach(self->ctl, &a);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	/* no wait, no retry: the nodes exist when the call returned */
	for (p = 1; p <= 3; p++) {
		ASSERT_TRUE(part_node(a.index, p)) TH_LOG("/dev/loop%dp%d missing", a.index, p);
		ASSERT_TRUE(part_sysfs(a.index, p)) TH_LOG("sysfs loop%dp%d missing", a.index, p);
	}
	ASSERT_EQ(3u, a.nr_partitions);
	ASSERT_FALSE(part_node(a.index, 4));
	ASSERT_SYSFS_STR(a.index, "loop/partscan", "1");
	snprintf(why, sizeof(why), "loop%dp2/size", a.index);
	ASSERT_OK(lt_sysfs_u64(a.index, why, &sz));
	ASSERT_EQ(4096u, sz);
	pfd = open_part(a.index, 2, O_RDONLY);
	ASSERT_NONNEG(pfd);
	ASSERT_EQ(4096, pread(pfd, buf, 4096, 0));
	ASSERT_EQ(0, lt_check_pattern(buf, 4096, 6144 * 512, why, sizeof(why))) TH_LOG("%s", why);
	close(pfd);
	close(fd);
	ASSERT_FALSE(lt_is_bound(a.index));
	ASSERT_FALSE(part_sysfs(a.index, 1)) TH_LOG("partition left after the detach");

	/* without PARTSCAN (and without max_part): no partitions */
	if (max_part > 0)
		SKIP(return, "max_part=%ld scans every binding", max_part);
	attach_init(&a, bfd, LO_FLAGS_AUTOCLEAR);
	a.nr_partitions = 9;
	fd = do_attach(self->ctl, &a);
	ASSERT_NONNEG(fd);
	ASSERT_EQ(0u, a.nr_partitions);
	ASSERT_FALSE(part_sysfs(a.index, 1));
	close(fd);
}

/* an image with an empty partition table: PARTSCAN counts 0 */
TEST_F(ext, attach_partscan_no_table)
{
	struct aloop_attach a;
	int fd;

	attach_init(&a, self->bfd, LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN);
	a.nr_partitions = 9;
	fd = do_attach(self->ctl, &a);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	ASSERT_EQ(0u, a.nr_partitions);
	ASSERT_FALSE(part_sysfs(a.index, 1));
	close(fd);
}

/* ------------------------------------------------------------- strict ---- */

/* does a file in @dir open with O_DIRECT? */
static bool dir_has_dio(const char *dir)
{
	char path[PATH_MAX];
	int fd, dfd;

	snprintf(path, sizeof(path), "%s/asyncloop-dio-XXXXXX", dir);
	fd = mkstemp(path);
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

/* a 1 MiB patterned file in $ALOOP_EXT_DIR (ext4 on the virtio disk) */
static int ext4_file(char *path, size_t len)
{
	const char *dir = getenv("ALOOP_EXT_DIR");
	int r;

	if (!dir || !*dir || !dir_has_dio(dir))
		return -ENOENT;
	r = lt_make_file_in(dir, path, len, FILE_SIZE);
	return r ? r : 0;
}

/* the binding uses direct I/O: ALOOP_CTL_STATUS and sysfs agree */
static void check_dio(struct __test_metadata *_metadata, int ctl, int idx,
		      bool on, const char *what)
{
	struct aloop_status s;

	ASSERT_OK(do_status(ctl, idx, &s));
	ASSERT_EQ(on ? (uint32_t)LO_FLAGS_DIRECT_IO : 0u, s.flags & LO_FLAGS_DIRECT_IO)
		TH_LOG("%s: ALOOP_CTL_STATUS flags 0x%x", what, s.flags);
	ASSERT_SYSFS_STR(idx, "loop/dio", on ? "1" : "0");
}

/*
 * @a with ALOOP_ATTACH_STRICT: EINVAL, nothing bound or left open; then
 * without it: bound.  Returns the second call's descriptor.
 */
static int strict_refused(struct __test_metadata *_metadata, int ctl,
			  struct aloop_attach *a, const char *what)
{
	struct aloop_attach b = *a;
	int fd;

	b.flags |= ALOOP_ATTACH_STRICT;
	expect_refused(_metadata, ctl, &b, -EINVAL, what);
	b = *a;
	b.flags &= ~ALOOP_ATTACH_STRICT;
	fd = do_attach(ctl, &b);
	ASSERT_NONNEG_M(fd, "%s without STRICT", what);
	lt_track_dev(b.index, false);
	a->index = b.index;
	return fd;
}

/* what STRICT can honour it binds as asked */
TEST_F(ext, strict_accepts)
{
	struct aloop_attach a;
	uint64_t sz;
	int fd;

	attach_init(&a, self->bfd, LO_FLAGS_AUTOCLEAR);
	a.flags = ALOOP_ATTACH_STRICT;
	a.config.block_size = 4096;
	a.config.info.lo_offset = 4096;
	a.config.info.lo_sizelimit = 65536;
	fd = do_attach(self->ctl, &a);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	ASSERT_OK(lt_size64(fd, &sz));
	ASSERT_EQ(65536u, sz);
	ASSERT_SYSFS_STR(a.index, "queue/logical_block_size", "4096");
	close(fd);
	/* an offset that is no multiple of 512 is fine without direct I/O */
	attach_init(&a, self->bfd, LO_FLAGS_AUTOCLEAR);
	a.flags = ALOOP_ATTACH_STRICT;
	a.config.info.lo_offset = 256;
	a.config.info.lo_sizelimit = FILE_SIZE - 4096;
	fd = do_attach(self->ctl, &a);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	close(fd);
}

/* direct I/O on a file that cannot do O_DIRECT (ramfs; tmpfs before 6.6) */
TEST_F(ext, strict_dio_without_odirect)
{
	const char *mnt = EXT_TMP "/ramfs";
	char file[PATH_MAX], what[96];
	struct aloop_attach a;
	int fd, bfd, pass;

	attach_init(&a, -1, 0);
	a.flags = ALOOP_ATTACH_STRICT;
	fd = do_attach(self->ctl, &a);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	mkdir(mnt, 0755);
	ASSERT_EQ(0, mount("ramfs", mnt, "ramfs", 0, NULL)) TH_LOG("mount ramfs: %s", strerror(errno));
	lt_track_mount(mnt);
	for (pass = 0; pass < 2; pass++) {
		const char *dir = pass ? LT_TMPDIR : mnt;

		if (dir_has_dio(dir)) {
			TH_LOG("%s opens O_DIRECT: not a case here", dir);
			ASSERT_EQ(1, pass) TH_LOG("ramfs did O_DIRECT");
			continue;
		}
		ASSERT_OK(lt_make_file_in(dir, file, sizeof(file), FILE_SIZE));
		bfd = lt_open(file, O_RDWR);
		ASSERT_NONNEG(bfd);
		attach_init(&a, bfd, LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO);
		snprintf(what, sizeof(what), "direct I/O on %s", pass ? "tmpfs" : "ramfs");
		fd = strict_refused(_metadata, self->ctl, &a, what);
		/* silently buffered without STRICT, as documented */
		check_dio(_metadata, self->ctl, a.index, false, what);
		close(fd);
		ASSERT_FALSE(lt_is_bound(a.index));
		close(bfd);
	}
}

/* direct I/O at an offset not aligned to the backing's 512-byte sectors */
TEST_F(ext, strict_dio_misaligned_offset_ext4)
{
	char file[PATH_MAX];
	struct aloop_attach a;
	int fd, bfd, dfd;

	attach_init(&a, -1, 0);
	fd = do_attach(self->ctl, &a);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	if (ext4_file(file, sizeof(file)))
		SKIP(return, "needs ALOOP_EXT_DIR on a filesystem with O_DIRECT");
	bfd = lt_open(file, O_RDWR);
	ASSERT_NONNEG(bfd);
	/* the proof that direct I/O works here at all */
	attach_init(&a, bfd, LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO);
	a.flags = ALOOP_ATTACH_STRICT;
	fd = do_attach(self->ctl, &a);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	check_dio(_metadata, self->ctl, a.index, true, "ext4, offset 0");
	close(fd);
	/* offset 256: no multiple of 512, the size (limit) is */
	attach_init(&a, bfd, LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO);
	a.config.info.lo_offset = 256;
	a.config.info.lo_sizelimit = FILE_SIZE - 4096;
	fd = strict_refused(_metadata, self->ctl, &a, "ext4 direct I/O at offset 256");
	check_dio(_metadata, self->ctl, a.index, false, "ext4 offset 256");
	close(fd);
	/* the same through an O_DIRECT backing descriptor */
	dfd = lt_open(file, O_RDWR | O_DIRECT);
	ASSERT_NONNEG(dfd);
	attach_init(&a, dfd, LO_FLAGS_AUTOCLEAR);
	a.config.info.lo_offset = 256;
	a.config.info.lo_sizelimit = FILE_SIZE - 4096;
	fd = strict_refused(_metadata, self->ctl, &a, "O_DIRECT backing fd, offset 256");
	check_dio(_metadata, self->ctl, a.index, false, "O_DIRECT fd offset 256");
	close(fd);
	attach_init(&a, dfd, LO_FLAGS_AUTOCLEAR);
	a.flags = ALOOP_ATTACH_STRICT;
	fd = do_attach(self->ctl, &a);
	ASSERT_NONNEG_M(fd, "O_DIRECT backing fd at offset 0");
	lt_track_dev(a.index, false);
	check_dio(_metadata, self->ctl, a.index, true, "O_DIRECT fd offset 0");
	close(fd);
}

/*
 * A backing device with 4096-byte logical blocks: a loop device bound with
 * block_size 4096.  Direct I/O on it needs a 4096-aligned offset and a loop
 * block size of at least 4096.
 */
TEST_F(ext, strict_dio_on_4k_backing)
{
	struct aloop_attach a;
	char path[64];
	int fd, lower, lower_idx, lfd, dlfd;

	attach_init(&a, -1, 0);
	fd = do_attach(self->ctl, &a);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	lower = classic_bind(self->bfd, 0, 4096, &lower_idx);
	ASSERT_NONNEG(lower);
	ASSERT_SYSFS_STR(lower_idx, "queue/logical_block_size", "4096");
	lt_dev_path(lower_idx, path, sizeof(path));
	lfd = lt_open(path, O_RDWR);
	ASSERT_NONNEG(lfd);
	/* proof: 4096-byte blocks at offset 0 and 8192 do direct I/O */
	attach_init(&a, lfd, LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO);
	a.flags = ALOOP_ATTACH_STRICT;
	a.config.block_size = 4096;
	fd = do_attach(self->ctl, &a);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	check_dio(_metadata, self->ctl, a.index, true, "4k backing, block_size 4096");
	close(fd);
	attach_init(&a, lfd, LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO);
	a.flags = ALOOP_ATTACH_STRICT;
	a.config.block_size = 4096;
	a.config.info.lo_offset = 8192;
	fd = do_attach(self->ctl, &a);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	check_dio(_metadata, self->ctl, a.index, true, "4k backing, offset 8192");
	close(fd);
	/* block size 512 below the backing's 4096 */
	attach_init(&a, lfd, LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO);
	a.config.block_size = 512;
	fd = strict_refused(_metadata, self->ctl, &a, "4k backing, block_size 512");
	check_dio(_metadata, self->ctl, a.index, false, "4k backing, block_size 512");
	close(fd);
	/* offset 512: a multiple of 512, not of 4096 (size kept a multiple) */
	attach_init(&a, lfd, LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO);
	a.config.block_size = 4096;
	a.config.info.lo_offset = 512;
	a.config.info.lo_sizelimit = FILE_SIZE - 8192;
	fd = strict_refused(_metadata, self->ctl, &a, "4k backing, offset 512");
	check_dio(_metadata, self->ctl, a.index, false, "4k backing, offset 512");
	close(fd);
	/* an O_DIRECT descriptor of the 4k device, block size 512 */
	dlfd = lt_open(path, O_RDWR | O_DIRECT);
	ASSERT_NONNEG(dlfd);
	attach_init(&a, dlfd, LO_FLAGS_AUTOCLEAR);
	a.config.block_size = 512;
	fd = strict_refused(_metadata, self->ctl, &a, "O_DIRECT 4k backing fd, block_size 512");
	check_dio(_metadata, self->ctl, a.index, false, "O_DIRECT 4k fd, block_size 512");
	close(fd);
	/* and without direct I/O, block size 512 on it is fine */
	attach_init(&a, lfd, LO_FLAGS_AUTOCLEAR);
	a.flags = ALOOP_ATTACH_STRICT;
	a.config.block_size = 512;
	fd = do_attach(self->ctl, &a);
	ASSERT_NONNEG_M(fd, "buffered, block_size 512 on the 4k backing");
	lt_track_dev(a.index, false);
	close(fd);
}

/* device sizes that are no multiple of the block size; sizelimit % 512 */
TEST_F(ext, strict_sizes)
{
	struct aloop_attach a;
	char file[PATH_MAX];
	uint64_t sz;
	int fd, bfd;

	attach_init(&a, -1, 0);
	fd = do_attach(self->ctl, &a);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	/* 1 MiB + 2048: a multiple of 512, not of 4096 */
	ASSERT_OK(lt_make_file(file, sizeof(file), FILE_SIZE + 2048));
	bfd = lt_open(file, O_RDWR);
	ASSERT_NONNEG(bfd);
	attach_init(&a, bfd, LO_FLAGS_AUTOCLEAR);
	a.config.block_size = 4096;
	fd = strict_refused(_metadata, self->ctl, &a, "size 1 MiB + 2048, block_size 4096");
	ASSERT_OK(lt_size64(fd, &sz));
	TH_LOG("without STRICT: %llu bytes", (unsigned long long)sz);
	ASSERT_GE((uint64_t)FILE_SIZE + 2048, sz);
	close(fd);
	close(bfd);
	/* 1 MiB + 100 and the default block size (512): the tail is dropped */
	ASSERT_OK(lt_make_file(file, sizeof(file), FILE_SIZE + 100));
	bfd = lt_open(file, O_RDWR);
	ASSERT_NONNEG(bfd);
	attach_init(&a, bfd, LO_FLAGS_AUTOCLEAR);
	fd = strict_refused(_metadata, self->ctl, &a, "size 1 MiB + 100, default block size");
	ASSERT_OK(lt_size64(fd, &sz));
	ASSERT_EQ((uint64_t)FILE_SIZE, sz);
	close(fd);
	close(bfd);
	/* an offset that leaves a partial sector */
	attach_init(&a, self->bfd, LO_FLAGS_AUTOCLEAR);
	a.config.info.lo_offset = 100;
	fd = strict_refused(_metadata, self->ctl, &a, "offset 100, size 1 MiB - 100");
	close(fd);
	/* a sizelimit that is a multiple of 512, not of the block size 4096 */
	attach_init(&a, self->bfd, LO_FLAGS_AUTOCLEAR);
	a.config.block_size = 4096;
	a.config.info.lo_sizelimit = FILE_SIZE - 512;
	fd = strict_refused(_metadata, self->ctl, &a, "sizelimit 1 MiB - 512, block_size 4096");
	close(fd);
	/* a sizelimit that is no multiple of 512: rounded down otherwise */
	attach_init(&a, self->bfd, LO_FLAGS_AUTOCLEAR);
	a.config.info.lo_sizelimit = 1000;
	fd = strict_refused(_metadata, self->ctl, &a, "sizelimit 1000");
	ASSERT_OK(lt_size64(fd, &sz));
	ASSERT_EQ(512u, sz);
	close(fd);
	attach_init(&a, self->bfd, LO_FLAGS_AUTOCLEAR);
	a.config.info.lo_sizelimit = 65536 + 4096 + 1;
	a.config.block_size = 4096;
	fd = strict_refused(_metadata, self->ctl, &a, "sizelimit 69633, block_size 4096");
	close(fd);
}

/* ------------------------------------------------------------- status ---- */

TEST_F(ext, status_unbound)
{
	struct aloop_status s;
	unsigned long long seq;
	int idx = lowest_unbound(&self->before), fd;
	long r;

	ASSERT_LE(0, idx);
	r = do_status(self->ctl, idx, &s);
	STOCK_ONLY_CHECK(r, STOCK_CTL_ERR, "ALOOP_CTL_STATUS", &self->before);
	ASSERT_OK(r);
	ASSERT_EQ((uint32_t)idx, s.index);
	ASSERT_EQ((uint32_t)ALOOP_STATE_UNBOUND, s.state);
	ASSERT_EQ(0u, s.openers);
	ASSERT_EQ(0u, s.flags);
	ASSERT_EQ(0u, s.offset);
	ASSERT_EQ(0u, s.sizelimit);
	ASSERT_EQ(0u, s.size);
	ASSERT_EQ(0u, s.__pad);
	if (!lt_sysfs_u64(idx, "diskseq", &seq))
		ASSERT_EQ(seq, s.diskseq);
	TH_LOG("unbound loop%d: block_size %u, diskseq %llu", idx, s.block_size,
	       (unsigned long long)s.diskseq);
	fd = lt_open_dev(idx, O_RDONLY);
	ASSERT_NONNEG(fd);
	ASSERT_OK(do_status(self->ctl, idx, &s));
	ASSERT_EQ(1u, s.openers);
	ASSERT_EQ((uint32_t)ALOOP_STATE_UNBOUND, s.state);
	close(fd);
}

TEST_F(ext, status_bound)
{
	struct aloop_attach a;
	struct aloop_status s;
	struct loop_info64 info;
	unsigned long long seq;
	uint64_t first_seq;
	int fd, fd2, cfd, cidx;

	attach_init(&a, self->bfd, LO_FLAGS_AUTOCLEAR);
	a.config.block_size = 4096;
	a.config.info.lo_offset = 4096;
	a.config.info.lo_sizelimit = 65536;
	fd = do_attach(self->ctl, &a);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	/* out fields hold junk on input: only index, __pad, __reserved are read */
	memset(&s, 0xff, sizeof(s));
	s.index = a.index;
	s.__pad = 0;
	memset(s.__reserved, 0, sizeof(s.__reserved));
	ASSERT_OK(lt_ioctlp(self->ctl, ALOOP_CTL_STATUS, &s));
	ASSERT_EQ((uint32_t)a.index, s.index);
	ASSERT_EQ((uint32_t)ALOOP_STATE_BOUND, s.state);
	ASSERT_EQ(1u, s.openers);
	ASSERT_EQ(4096u, s.block_size);
	ASSERT_EQ((uint32_t)LO_FLAGS_AUTOCLEAR, s.flags);
	ASSERT_EQ(0u, s.__pad);
	ASSERT_EQ(4096u, s.offset);
	ASSERT_EQ(65536u, s.sizelimit);
	ASSERT_EQ(65536u, s.size);
	ASSERT_EQ(0u, s.__reserved[0] | s.__reserved[1] | s.__reserved[2] | s.__reserved[3]);
	ASSERT_OK(lt_sysfs_u64(a.index, "diskseq", &seq));
	ASSERT_EQ(seq, s.diskseq);
	first_seq = s.diskseq;
	/* openers: a second descriptor counts, its close uncounts */
	fd2 = lt_open_dev(a.index, O_RDONLY);
	ASSERT_NONNEG(fd2);
	ASSERT_OK(do_status(self->ctl, a.index, &s));
	ASSERT_EQ(2u, s.openers);
	close(fd2);
	ASSERT_OK(do_status(self->ctl, a.index, &s));
	ASSERT_EQ(1u, s.openers);
	close(fd);
	ASSERT_OK(do_status(self->ctl, a.index, &s));
	ASSERT_EQ((uint32_t)ALOOP_STATE_UNBOUND, s.state);
	ASSERT_EQ(0u, s.openers);
	ASSERT_EQ(0u, s.size);
	ASSERT_NE(first_seq, s.diskseq) TH_LOG("diskseq did not move on with the detach");

	/* a classic binding reads the same as LOOP_GET_STATUS64 */
	cfd = classic_bind(self->bfd, LO_FLAGS_READ_ONLY, 0, &cidx);
	ASSERT_NONNEG(cfd);
	ASSERT_OK(lt_status64(cfd, &info));
	ASSERT_OK(do_status(self->ctl, cidx, &s));
	ASSERT_EQ((uint32_t)ALOOP_STATE_BOUND, s.state);
	ASSERT_EQ(info.lo_flags, s.flags);
	ASSERT_EQ(info.lo_offset, s.offset);
	ASSERT_EQ(512u, s.block_size);
	ASSERT_EQ((uint64_t)FILE_SIZE, s.size);
	ASSERT_EQ(1u, s.openers);
}

TEST_F(ext, status_errors)
{
	struct aloop_status s;
	int i, idx = lt_free_index(0);
	long r;

	ASSERT_LE(0, idx);
	r = do_status(self->ctl, idx, &s);
	STOCK_ONLY_CHECK(r, STOCK_CTL_ERR, "ALOOP_CTL_STATUS", &self->before);
	ASSERT_RET_M(-ENODEV, r, "loop%d does not exist", idx);
	ASSERT_RET(-ENODEV, do_status(self->ctl, 0x7fffffff, &s));
	ASSERT_RET(-ENODEV, do_status(self->ctl, 0xffffffffu, &s));
	for (i = 0; i < 4; i++) {
		memset(&s, 0, sizeof(s));
		s.index = lowest_unbound(&self->before);
		s.__reserved[i] = 1;
		ASSERT_RET_M(-EINVAL, lt_ioctlp(self->ctl, ALOOP_CTL_STATUS, &s), "__reserved[%d]", i);
	}
	ASSERT_RET(-EFAULT, lt_ioctl(self->ctl, ALOOP_CTL_STATUS, 0));
	/*
	 * "Reserved and padding fields must be zero on input (EINVAL
	 * otherwise)"; the header says __pad is "out: zero".
	 */
	memset(&s, 0, sizeof(s));
	s.index = lowest_unbound(&self->before);
	s.__pad = 0xdead;
	r = lt_ioctlp(self->ctl, ALOOP_CTL_STATUS, &s);
	EXPECT_RET_M(-EINVAL, r, "ALOOP_CTL_STATUS with __pad 0x%x on input (came back as 0x%x)",
		     0xdead, s.__pad);
}

/*
 * "openers: open descriptors of the device, partitions included": two
 * descriptors of one partition are two openers.
 */
TEST_F(ext, status_openers_partitions)
{
	static const uint32_t parts[][2] = { { 2048, 4096 } };
	struct aloop_attach a;
	struct aloop_status s;
	char file[PATH_MAX];
	int bfd, fd, p1, p1b;

	ASSERT_OK(lt_make_file(file, sizeof(file), 4 << 20));
	bfd = lt_open(file, O_RDWR);
	ASSERT_NONNEG(bfd);
	ASSERT_OK(lt_write_mbr(bfd, parts, 1));
	attach_init(&a, bfd, LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN);
	fd = do_attach(self->ctl, &a);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	ASSERT_EQ(1u, a.nr_partitions);
	p1 = open_part(a.index, 1, O_RDONLY);
	ASSERT_NONNEG(p1);
	ASSERT_OK(do_status(self->ctl, a.index, &s));
	ASSERT_EQ(2u, s.openers) TH_LOG("whole device + p1");
	p1b = open_part(a.index, 1, O_RDONLY);
	ASSERT_NONNEG(p1b);
	ASSERT_OK(do_status(self->ctl, a.index, &s));
	/* the whole device's count: 6.1 counts an open partition once */
	EXPECT_EQ(lt_kernel_at_least(6, 12) ? 3u : 2u, s.openers)
		TH_LOG("whole device + p1 twice: %u", s.openers);
	close(p1);
	close(p1b);
	ASSERT_OK(do_status(self->ctl, a.index, &s));
	ASSERT_EQ(1u, s.openers);
	close(fd);
}

/* --------------------------------------------------------------- wait ---- */

TEST_F(ext, wait_unbound_and_timeout_zero)
{
	struct aloop_attach a;
	int idx = lowest_unbound(&self->before), fd;
	double t0;
	long r;

	ASSERT_LE(0, idx);
	r = do_wait(self->ctl, idx, 0);
	STOCK_ONLY_CHECK(r, STOCK_CTL_ERR, "ALOOP_CTL_WAIT", &self->before);
	ASSERT_OK(r);
	t0 = now();
	ASSERT_OK(do_wait(self->ctl, idx, 5000));
	ASSERT_OK(do_wait(self->ctl, idx, ALOOP_WAIT_FOREVER));
	ASSERT_GT(0.5, now() - t0) TH_LOG("waits on an unbound device took %.3f s", now() - t0);
	/* bound: timeout 0 only tests */
	attach_init(&a, self->bfd, LO_FLAGS_AUTOCLEAR);
	fd = do_attach(self->ctl, &a);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	t0 = now();
	ASSERT_RET(-ETIMEDOUT, do_wait(self->ctl, a.index, 0));
	ASSERT_GT(0.2, now() - t0) TH_LOG("timeout 0 took %.3f s", now() - t0);
	ASSERT_TRUE(lt_is_bound(a.index));
	close(fd);
	ASSERT_OK(do_wait(self->ctl, a.index, 0));
}

TEST_F(ext, wait_times_out)
{
	struct aloop_attach a;
	double t0, dt;
	int fd;
	long r;

	attach_init(&a, self->bfd, LO_FLAGS_AUTOCLEAR);
	fd = do_attach(self->ctl, &a);
	if (fd >= 0)
		close(fd);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	fd = do_attach(self->ctl, &a);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	t0 = now();
	r = do_wait(self->ctl, a.index, 500);
	dt = now() - t0;
	ASSERT_RET(-ETIMEDOUT, r);
	ASSERT_LE(0.49, dt) TH_LOG("returned after %.3f s", dt);
	ASSERT_GT(1.5, dt) TH_LOG("returned after %.3f s", dt);
	TH_LOG("timeout 500 ms: ETIMEDOUT after %.0f ms", dt * 1000);
	ASSERT_TRUE(lt_is_bound(a.index));
	close(fd);
}

TEST_F(ext, wait_errors)
{
	struct aloop_wait w = { 0 };
	int idx = lt_free_index(0);
	long r;

	ASSERT_LE(0, idx);
	r = do_wait(self->ctl, idx, 0);
	STOCK_ONLY_CHECK(r, STOCK_CTL_ERR, "ALOOP_CTL_WAIT", &self->before);
	ASSERT_RET_M(-ENODEV, r, "loop%d does not exist", idx);
	ASSERT_RET(-ENODEV, do_wait(self->ctl, idx, ALOOP_WAIT_FOREVER));
	ASSERT_RET(-ENODEV, do_wait(self->ctl, 0xffffffffu, 10));
	w.index = lowest_unbound(&self->before);
	w.__pad = 1;
	ASSERT_RET(-EINVAL, lt_ioctlp(self->ctl, ALOOP_CTL_WAIT, &w));
	ASSERT_RET(-EFAULT, lt_ioctl(self->ctl, ALOOP_CTL_WAIT, 0));
}

struct wait_shared {
	int idx;
	double t_close;		/* the holder's close() started */
	double t_done;		/* the waiter's wait returned */
	long r;
	int usr1;
};

static struct wait_shared *shared_map(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* waitpid(@pid) within @secs: the status, or -1 (then it is killed) */
static int reap_within(pid_t pid, double secs)
{
	double end = now() + secs;
	int status;

	while (now() < end) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			return status;
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* another process's last close of an AUTOCLEAR device ends the wait */
TEST_F(ext, wait_returns_on_other_process_close)
{
	struct wait_shared *sh = shared_map();
	int pfd[2], status;
	double dt;
	pid_t pid;
	long r;

	ASSERT_NE(NULL, sh);
	r = do_wait(self->ctl, lowest_unbound(&self->before), 0);
	STOCK_ONLY_CHECK(r, STOCK_CTL_ERR, "ALOOP_CTL_WAIT", &self->before);
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int idx, fd = atomic_attach(self->ctl, self->bfd, LO_FLAGS_AUTOCLEAR, &idx);
		char c = 0;

		sh->idx = fd < 0 ? fd : idx;
		if (write(pfd[1], &c, 1) != 1 || fd < 0)
			_exit(1);
		usleep(300000);
		sh->t_close = now();
		close(fd);
		/* alive until the parent has seen the result */
		usleep(3000000);
		_exit(0);
	}
	close(pfd[1]);
	{
		char c;

		ASSERT_EQ(1, read(pfd[0], &c, 1));
	}
	ASSERT_LE(0, sh->idx) TH_LOG("attach in the child: %s", lt_errname(sh->idx));
	lt_track_dev(sh->idx, false);
	ASSERT_TRUE(lt_is_bound(sh->idx));
	r = do_wait(self->ctl, sh->idx, 10000);
	sh->t_done = now();
	ASSERT_OK(r);
	ASSERT_FALSE(lt_is_bound(sh->idx)) TH_LOG("wait returned, loop%d still bound", sh->idx);
	ASSERT_NE(0, sh->t_close) TH_LOG("wait returned before the close");
	dt = sh->t_done - sh->t_close;
	TH_LOG("wait returned %.1f ms after the holder's close()", dt * 1000);
	ASSERT_GT(1.0, dt);
	ASSERT_EQ(0, waitpid(pid, &status, WNOHANG)) TH_LOG("the holder exited: the close did not end the wait");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* "bound anew since" ends the wait too: detach + rebind under a waiter */
TEST_F(ext, wait_returns_on_rebind)
{
	struct wait_shared *sh = shared_map();
	struct aloop_attach a;
	int fd, fd2, status, idx;
	pid_t pid;

	ASSERT_NE(NULL, sh);
	attach_init(&a, self->bfd, 0);
	fd = do_attach(self->ctl, &a);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	sh->r = 1;
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		sh->r = do_wait(self->ctl, a.index, ALOOP_WAIT_FOREVER);
		sh->t_done = now();
		_exit(0);
	}
	usleep(200000);
	ASSERT_EQ(1, sh->r) TH_LOG("the waiter returned %s while loop%d was bound",
				   lt_errname(sh->r), a.index);
	ASSERT_OK(lt_ioctl(fd, ALOOP_DETACH, 0));
	idx = a.index;
	attach_init(&a, self->bfd, LO_FLAGS_AUTOCLEAR);
	a.flags = ALOOP_ATTACH_INDEX;
	a.index = idx;
	fd2 = do_attach(self->ctl, &a);
	ASSERT_NONNEG(fd2);
	status = reap_within(pid, 2.0);
	ASSERT_EQ(0, status) TH_LOG("the waiter did not return within 2 s of the rebind");
	ASSERT_OK(sh->r);
	ASSERT_TRUE(lt_is_bound(a.index));
	close(fd2);
	close(fd);
}

/*
 * LOOP_CHANGE_FD swaps the backing file of the same binding: a waiter
 * keeps waiting (the binding did not end).
 */
TEST_F(ext, wait_outlives_change_fd)
{
	struct wait_shared *sh = shared_map();
	struct aloop_attach a;
	char file2[PATH_MAX];
	int fd, bfd2, status;
	pid_t pid;

	ASSERT_NE(NULL, sh);
	attach_init(&a, self->bfd, LO_FLAGS_READ_ONLY);
	fd = do_attach(self->ctl, &a);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	ASSERT_OK(lt_make_file(file2, sizeof(file2), FILE_SIZE));
	bfd2 = lt_open(file2, O_RDONLY);
	ASSERT_NONNEG(bfd2);
	sh->r = 1;
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		sh->r = do_wait(self->ctl, a.index, 1500);
		_exit(0);
	}
	usleep(300000);
	ASSERT_OK(lt_ioctl(fd, LOOP_CHANGE_FD, bfd2));
	ASSERT_SYSFS_STR(a.index, "loop/backing_file", file2);
	ASSERT_RET(-ETIMEDOUT, do_wait(self->ctl, a.index, 0));
	status = reap_within(pid, 5.0);
	ASSERT_EQ(0, status);
	ASSERT_RET_M(-ETIMEDOUT, sh->r, "a waiter across LOOP_CHANGE_FD");
	ASSERT_OK(lt_ioctl(fd, ALOOP_DETACH, 0));
	close(fd);
}

/* SIGKILL ends a wait at once */
TEST_F(ext, wait_is_killable)
{
	struct wait_shared *sh = shared_map();
	struct aloop_attach a;
	int fd, status;
	double t0;
	pid_t pid;

	ASSERT_NE(NULL, sh);
	attach_init(&a, self->bfd, 0);
	fd = do_attach(self->ctl, &a);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	sh->r = 1;
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		sh->r = do_wait(self->ctl, a.index, ALOOP_WAIT_FOREVER);
		_exit(0);
	}
	usleep(300000);
	ASSERT_EQ(0, waitpid(pid, &status, WNOHANG)) TH_LOG("the waiter is gone: %s", lt_errname(sh->r));
	ASSERT_EQ(1, sh->r);
	t0 = now();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	status = reap_within(pid, 1.0);
	ASSERT_NE(-1, status) TH_LOG("a killed waiter still there after 1 s");
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	TH_LOG("killed waiter reaped after %.1f ms", (now() - t0) * 1000);
	ASSERT_TRUE(lt_is_bound(a.index));
	ASSERT_OK(lt_ioctl(fd, ALOOP_DETACH, 0));
	close(fd);
}

static struct wait_shared *usr1_sh;
static void on_usr1(int sig)
{
	(void)sig;
	usr1_sh->usr1++;
}

/* other signals do not interrupt it: ETIMEDOUT, not EINTR */
TEST_F(ext, wait_ignores_other_signals)
{
	struct wait_shared *sh = shared_map();
	struct aloop_attach a;
	int fd, status;
	pid_t pid;

	ASSERT_NE(NULL, sh);
	attach_init(&a, self->bfd, 0);
	fd = do_attach(self->ctl, &a);
	STOCK_ONLY_CHECK(fd, STOCK_CTL_ERR, "ALOOP_CTL_ATTACH", &self->before);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	sh->r = 1;
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct sigaction sa;
		double t0;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_usr1;	/* no SA_RESTART */
		usr1_sh = sh;
		sigaction(SIGUSR1, &sa, NULL);
		t0 = now();
		sh->r = do_wait(self->ctl, a.index, 1500);
		sh->t_done = now() - t0;
		_exit(0);
	}
	usleep(300000);
	kill(pid, SIGUSR1);
	usleep(300000);
	kill(pid, SIGUSR1);
	status = reap_within(pid, 5.0);
	ASSERT_EQ(0, status);
	ASSERT_RET(-ETIMEDOUT, sh->r);
	ASSERT_LE(1.45, sh->t_done) TH_LOG("returned after %.3f s", sh->t_done);
	ASSERT_LE(1, sh->usr1) TH_LOG("SIGUSR1 never handled");
	close(fd);
}

/* ------------------------------------------------------------- detach ---- */

/* stock: ALOOP_DETACH is an unknown command on /dev/loopN, the device stays */
#define STOCK_DETACH_CHECK(fd, idx) do {				\
	if (!ours()) {							\
		struct lt_state __d_st;					\
		lt_snapshot((idx), (fd), &__d_st);			\
		ASSERT_RET(STOCK_DEV_ERR, lt_ioctl((fd), ALOOP_DETACH, 0)); \
		ASSERT_UNCHANGED((idx), (fd), &__d_st);			\
		ASSERT_TRUE(lt_is_bound(idx));				\
		SKIP(return, "stock driver: ALOOP_DETACH on /dev/loopN answers %s like any unknown command (checked); the rest needs asyncloop", \
		     lt_errname(STOCK_DEV_ERR));			\
	}								\
} while (0)

TEST_F(ext, detach_unbound_is_enxio)
{
	struct aloop_attach a;
	int idx = lowest_unbound(&self->before), fd, ufd;

	ASSERT_LE(0, idx);
	ufd = lt_open_dev(idx, O_RDWR);
	ASSERT_NONNEG(ufd);
	if (!ours()) {
		ASSERT_RET(STOCK_DEV_ERR, lt_ioctl(ufd, ALOOP_DETACH, 0));
		SKIP(return, "stock driver: ALOOP_DETACH answers %s (checked)", lt_errname(STOCK_DEV_ERR));
	}
	ASSERT_RET(-ENXIO, lt_ioctl(ufd, ALOOP_DETACH, 0));
	close(ufd);
	/* detached once: the second is ENXIO, the descriptor stays usable */
	attach_init(&a, self->bfd, 0);
	fd = do_attach(self->ctl, &a);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	ASSERT_OK(lt_ioctl(fd, ALOOP_DETACH, 0));
	ASSERT_FALSE(lt_is_bound(a.index));
	ASSERT_RET(-ENXIO, lt_ioctl(fd, ALOOP_DETACH, 0));
	ASSERT_UNBOUND(a.index, fd);
	close(fd);
}

/* a read-only descriptor may detach (an open /dev/loopN is all it needs) */
TEST_F(ext, detach_through_read_only_fd)
{
	int fd, idx, rfd;

	fd = classic_bind(self->bfd, 0, 0, &idx);
	ASSERT_NONNEG(fd);
	close(fd);
	rfd = lt_open_dev(idx, O_RDONLY);
	ASSERT_NONNEG(rfd);
	STOCK_DETACH_CHECK(rfd, idx);
	ASSERT_OK(lt_ioctl(rfd, ALOOP_DETACH, 0));
	ASSERT_UNBOUND(idx, rfd);
	close(rfd);
}

/* other openers: EBUSY, and the device stays as it was, data and all */
TEST_F(ext, detach_busy_with_other_openers)
{
	static const uint32_t parts[][2] = { { 2048, 2048 } };
	struct aloop_attach a;
	struct lt_state st0;
	char file[PATH_MAX], why[256];
	uint8_t buf[4096], mark[4096];
	int bfd, fd, other, i, status, pfd[2];
	pid_t pid = -1;

	ASSERT_OK(lt_make_file(file, sizeof(file), 4 << 20));
	bfd = lt_open(file, O_RDWR);
	ASSERT_NONNEG(bfd);
	ASSERT_OK(lt_write_mbr(bfd, parts, 1));
	fd = classic_bind(bfd, LO_FLAGS_PARTSCAN, 0, &a.index);
	ASSERT_NONNEG(fd);
	STOCK_DETACH_CHECK(fd, a.index);
	/* take the classic binding down, attach atomically */
	ASSERT_OK(lt_ioctl(fd, ALOOP_DETACH, 0));
	close(fd);
	attach_init(&a, bfd, LO_FLAGS_PARTSCAN);
	fd = do_attach(self->ctl, &a);
	ASSERT_NONNEG(fd);
	lt_track_dev(a.index, false);
	memset(mark, 0xc3, sizeof(mark));
	ASSERT_EQ(4096, pwrite(fd, mark, 4096, 3 << 20));
	ASSERT_EQ(0, fsync(fd));
	lt_snapshot(a.index, fd, &st0);
	for (i = 0; i < 3; i++) {
		const char *who = i == 0 ? "a second descriptor" :
				  i == 1 ? "an open partition" : "another process";

		if (i == 0) {
			other = lt_open_dev(a.index, O_RDONLY);
		} else if (i == 1) {
			other = open_part(a.index, 1, O_RDONLY);
		} else {
			ASSERT_EQ(0, pipe(pfd));
			pid = fork();
			ASSERT_LE(0, pid);
			if (!pid) {
				int o = lt_open_dev(a.index, O_RDONLY);
				char c = o < 0 ? 'n' : 'y';

				if (write(pfd[1], &c, 1) != 1)
					_exit(1);
				pause();
				_exit(0);
			}
			{
				char c = 0;

				ASSERT_EQ(1, read(pfd[0], &c, 1));
				ASSERT_EQ('y', c);
			}
			other = dup(pfd[0]);
		}
		ASSERT_LE(0, other) TH_LOG("%s", who);
		ASSERT_RET_M(-EBUSY, lt_ioctl(fd, ALOOP_DETACH, 0), "%s", who);
		ASSERT_UNCHANGED(a.index, fd, &st0);
		ASSERT_EQ(4096, pread(fd, buf, 4096, 3 << 20));
		ASSERT_EQ(0, memcmp(buf, mark, 4096)) TH_LOG("data changed (%s)", who);
		ASSERT_EQ(4096, pread(fd, buf, 4096, 8192));
		ASSERT_EQ(0, lt_check_pattern(buf, 4096, 8192, why, sizeof(why))) TH_LOG("%s", why);
		if (i == 2) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(pfd[0]);
			close(pfd[1]);
		}
		close(other);
	}
	/* alone again: detached, partitions gone, our descriptor still open */
	ASSERT_OK(lt_ioctl(fd, ALOOP_DETACH, 0));
	ASSERT_UNBOUND(a.index, fd);
	ASSERT_FALSE(part_sysfs(a.index, 1));
	ASSERT_EQ(4096, pread(bfd, buf, 4096, 3 << 20));
	ASSERT_EQ(0, memcmp(buf, mark, 4096));
	close(fd);
}

/*
 * Synchronous detach: the filesystem holding the image unmounts as soon as
 * ALOOP_DETACH returned, while the caller still holds its descriptor.
 */
static void detach_then_umount(struct __test_metadata *_metadata, int ctl,
			       const char *outer, long rounds, bool autoclear)
{
	char img[PATH_MAX];
	uint8_t w[4096], r[4096];
	struct aloop_attach a;
	struct aloop_status s;
	long i, ebusy = 0;
	int fd, bfd;

	snprintf(img, sizeof(img), "%s/img", outer);
	for (i = 0; i < rounds; i++) {
		ASSERT_EQ(0, mount("tmpfs", outer, "tmpfs", 0, "size=8m"));
		bfd = open(img, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0644);
		ASSERT_LE(0, bfd);
		ASSERT_EQ(0, ftruncate(bfd, 2 << 20));
		attach_init(&a, bfd, autoclear ? LO_FLAGS_AUTOCLEAR : 0);
		fd = do_attach(ctl, &a);
		ASSERT_NONNEG_M(fd, "round %ld", i);
		close(bfd);
		memset(w, (int)(i & 0xff) | 1, sizeof(w));
		ASSERT_EQ(4096, pwrite(fd, w, 4096, 8192));
		ASSERT_EQ(0, fsync(fd));
		ASSERT_OK(lt_ioctl(fd, ALOOP_DETACH, 0));
		ASSERT_OK(do_status(ctl, a.index, &s));
		ASSERT_EQ((uint32_t)ALOOP_STATE_UNBOUND, s.state);
		bfd = open(img, O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, bfd);
		ASSERT_EQ(4096, pread(bfd, r, 4096, 8192));
		ASSERT_EQ(0, memcmp(w, r, 4096)) TH_LOG("round %ld: the write did not reach the image", i);
		close(bfd);
		/* our descriptor of the device is still open */
		if (umount(outer)) {
			ASSERT_EQ(EBUSY, errno) TH_LOG("umount %s: %s", outer, strerror(errno));
			ebusy++;
			umount2(outer, MNT_DETACH);
		}
		close(fd);
		ASSERT_FALSE(lt_is_bound(a.index));
	}
	EXPECT_EQ(0, ebusy) TH_LOG("%ld of %ld umounts EBUSY after ALOOP_DETACH%s",
				   ebusy, rounds, autoclear ? " (AUTOCLEAR)" : "");
}

TEST_F_TIMEOUT(ext, detach_then_umount_tmpfs, 300)
{
	const char *outer = EXT_TMP "/outer";
	long n = lt_env_long("ALOOP_EXT_DETACH_ROUNDS", 50);
	int fd, idx;

	fd = classic_bind(self->bfd, 0, 0, &idx);
	ASSERT_NONNEG(fd);
	STOCK_DETACH_CHECK(fd, idx);
	ASSERT_OK(lt_ioctl(fd, ALOOP_DETACH, 0));
	close(fd);
	mkdir(outer, 0755);
	lt_track_mount(outer);
	detach_then_umount(_metadata, self->ctl, outer, n, false);
	detach_then_umount(_metadata, self->ctl, outer, n / 5 + 1, true);
}

/*
 * The same with the image on ext4 (itself on a classic loop device over
 * tmpfs, released by its umount): umount of the ext4 right after
 * ALOOP_DETACH.
 */
TEST_F_TIMEOUT(ext, detach_then_umount_ext4, 300)
{
	const char *e4img = EXT_TMP "/e4.img", *e4 = EXT_TMP "/e4";
	long i, n = lt_env_long("ALOOP_EXT_DETACH_ROUNDS", 50) / 2 + 1, ebusy = 0;
	char dev[64], img[PATH_MAX];
	struct aloop_attach a;
	uint8_t w[4096];
	int fd, lfd, bfd, idx;

	fd = classic_bind(self->bfd, 0, 0, &idx);
	ASSERT_NONNEG(fd);
	STOCK_DETACH_CHECK(fd, idx);
	ASSERT_OK(lt_ioctl(fd, ALOOP_DETACH, 0));
	close(fd);
	mkdir(e4, 0755);
	lt_track_file(e4img);
	bfd = open(e4img, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_LE(0, bfd);
	ASSERT_EQ(0, ftruncate(bfd, 16 << 20));
	close(bfd);
	ASSERT_EQ(0, system("mkfs.ext4 -q -F " EXT_TMP "/e4.img >/dev/null 2>&1"));
	snprintf(img, sizeof(img), "%s/img", e4);
	for (i = 0; i < n; i++) {
		bfd = open(e4img, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, bfd);
		lfd = classic_bind(bfd, LO_FLAGS_AUTOCLEAR, 0, &idx);
		ASSERT_NONNEG(lfd);
		close(bfd);
		lt_dev_path(idx, dev, sizeof(dev));
		ASSERT_EQ(0, mount(dev, e4, "ext4", 0, NULL)) TH_LOG("mount %s: %s", dev, strerror(errno));
		close(lfd);
		bfd = open(img, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0644);
		ASSERT_LE(0, bfd);
		ASSERT_EQ(0, ftruncate(bfd, 1 << 20));
		attach_init(&a, bfd, LO_FLAGS_AUTOCLEAR);
		fd = do_attach(self->ctl, &a);
		ASSERT_NONNEG(fd);
		close(bfd);
		memset(w, 0x3c, sizeof(w));
		ASSERT_EQ(4096, pwrite(fd, w, 4096, 0));
		ASSERT_EQ(0, fsync(fd));
		ASSERT_OK(lt_ioctl(fd, ALOOP_DETACH, 0));
		if (umount(e4)) {
			ASSERT_EQ(EBUSY, errno) TH_LOG("umount ext4: %s", strerror(errno));
			ebusy++;
			close(fd);
			ASSERT_EQ(0, umount(e4));
		} else {
			close(fd);
		}
		ASSERT_FALSE(lt_is_bound(a.index));
		ASSERT_FALSE(lt_is_bound(idx)) TH_LOG("the ext4's loop device outlived its umount");
	}
	EXPECT_EQ(0, ebusy) TH_LOG("%ld of %ld ext4 umounts EBUSY after ALOOP_DETACH", ebusy, n);
}

#ifndef EXT_COMPAT32

/* ------------------------------------------------------------- stress ---- */

struct stress_res {
	long cycles, ebusy, retries, errors, collisions;
	int max_idx;
	double secs;
	char why[256];
};

enum { M_ATOMIC, M_FLOCK, M_NOLOCK };
static const char *const mode_name[] = {
	"ALOOP_CTL_ATTACH", "flock + GET_FREE + CONFIGURE", "GET_FREE + CONFIGURE, no lock" };

/*
 * One stress process: @n cycles of attach (@mode: atomic, the classic
 * path with or without the flock),
 * 4 KiB O_DIRECT write + read back through the descriptor, close.  While
 * it holds a device, owner[index] holds its pid and cycle number: finding
 * the slot taken means two callers got the device at once.
 */
static void stress_worker(int id, long n, int mode, uint64_t *owner,
			  struct stress_res *res)
{
	char path[64], bf[PATH_MAX], want[PATH_MAX];
	uint64_t *wbuf, *rbuf;
	int ctl, bfd, fd, idx, k;
	uint32_t pid = getpid();
	double t0;
	long i;

	snprintf(path, sizeof(path), "/tmp/ext-stress-%d", id);
	ctl = lt_ctl_open();
	bfd = open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0644);
	if (ctl < 0 || bfd < 0 || ftruncate(bfd, 1 << 20) ||
	    posix_memalign((void **)&wbuf, 4096, 4096) ||
	    posix_memalign((void **)&rbuf, 4096, 4096)) {
		snprintf(res->why, sizeof(res->why), "setup: %s", strerror(errno));
		res->errors++;
		return;
	}
	snprintf(want, sizeof(want), "%s", path);
	t0 = now();
	for (i = 0; i < n; i++) {
		uint64_t tok = ((uint64_t)pid << 32) | (uint32_t)(i + 1), zero = 0;
		off_t off = (off_t)((i * 7 + id) % 256) * 4096;

		fd = mode == M_ATOMIC ?
			atomic_attach(ctl, bfd, LO_FLAGS_AUTOCLEAR, &idx) :
			classic_attach(ctl, bfd, LO_FLAGS_AUTOCLEAR, &idx, &res->retries,
				       mode == M_FLOCK);
		if (fd < 0) {
			if (fd == -EBUSY)
				res->ebusy++;
			else
				res->errors++;
			snprintf(res->why, sizeof(res->why), "cycle %ld: attach: %s",
				 i, lt_errname(fd));
			continue;
		}
		if (idx < 0 || idx >= MAXDEV) {
			res->errors++;
			snprintf(res->why, sizeof(res->why), "index %d", idx);
			close(fd);
			continue;
		}
		if (idx > res->max_idx)
			res->max_idx = idx;
		if (!__atomic_compare_exchange_n(&owner[idx], &zero, tok, false,
						 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
			res->collisions++;
			snprintf(res->why, sizeof(res->why),
				 "cycle %ld: loop%d handed to pid %u while pid %u (cycle %u) held it",
				 i, idx, pid, (unsigned int)(zero >> 32), (unsigned int)zero);
		}
		if (lt_sysfs_read(idx, "loop/backing_file", bf, sizeof(bf)) || strcmp(bf, want)) {
			res->collisions++;
			snprintf(res->why, sizeof(res->why), "cycle %ld: loop%d bound to %.60s, not %.60s",
				 i, idx, bf, want);
		}
		for (k = 0; k < 512; k++)
			wbuf[k] = tok ^ ((uint64_t)k << 20);
		if (fcntl(fd, F_SETFL, O_DIRECT) ||
		    pwrite(fd, wbuf, 4096, off) != 4096 ||
		    pread(fd, rbuf, 4096, off) != 4096 ||
		    memcmp(wbuf, rbuf, 4096)) {
			res->errors++;
			snprintf(res->why, sizeof(res->why), "cycle %ld: I/O on loop%d at %lld: %s",
				 i, idx, (long long)off, strerror(errno));
		}
		if (!__atomic_compare_exchange_n(&owner[idx], &tok, 0, false,
						 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
			res->collisions++;
			snprintf(res->why, sizeof(res->why), "cycle %ld: loop%d's slot taken while held",
				 i, idx);
		}
		close(fd);
		res->cycles++;
	}
	res->secs = now() - t0;
	close(bfd);
	unlink(path);
}

/* @procs processes of @n cycles, process p in mode @modes[p] */
static void run_stress(struct __test_metadata *_metadata, const struct devset *before,
		       const int *modes, int procs, long n)
{
	long cycles = 0, ebusy = 0, errors = 0, collisions = 0;
	int max_devs = before->ndev, max_idx = 0, p, status, alive;
	bool all_flock = true;
	struct stress_res *res;
	uint64_t *owner;
	double t0 = now(), secs;
	pid_t pids[64];

	ASSERT_GE(64, procs);
	for (p = 0; p < procs; p++)
		all_flock &= modes[p] == M_FLOCK;
	res = mmap(NULL, sizeof(*res) * procs, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	owner = mmap(NULL, sizeof(*owner) * MAXDEV, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	ASSERT_NE(MAP_FAILED, owner);
	memset(res, 0, sizeof(*res) * procs);
	for (p = 0; p < procs; p++) {
		pids[p] = fork();
		ASSERT_LE(0, pids[p]);
		if (!pids[p]) {
			stress_worker(p, n, modes[p], owner, &res[p]);
			_exit(0);
		}
	}
	/* sample the device count while they run */
	for (alive = procs; alive > 0; ) {
		int nd = count_devices();

		if (nd > max_devs)
			max_devs = nd;
		usleep(20000);
		for (p = 0; p < procs; p++) {
			if (pids[p] && waitpid(pids[p], &status, WNOHANG) == pids[p]) {
				EXPECT_EQ(0, status) TH_LOG("worker %d: status 0x%x", p, status);
				pids[p] = 0;
				alive--;
			}
		}
	}
	secs = now() - t0;
	for (p = 0; p < procs; p++) {
		cycles += res[p].cycles;
		ebusy += res[p].ebusy;
		errors += res[p].errors;
		collisions += res[p].collisions;
		if (res[p].max_idx > max_idx)
			max_idx = res[p].max_idx;
		TH_LOG("process %d (%s): %ld cycles in %.1f s, %ld EBUSY, %ld retries%s%s",
		       p, mode_name[modes[p]], res[p].cycles, res[p].secs, res[p].ebusy,
		       res[p].retries, res[p].why[0] ? ": " : "", res[p].why);
		/* ALOOP_CTL_ATTACH never needs a retry */
		if (modes[p] == M_ATOMIC)
			EXPECT_EQ(0, res[p].retries);
		/* all behind the flock: nobody takes the device GET_FREE named */
		if (all_flock)
			EXPECT_EQ(0, res[p].retries);
	}
	TH_LOG("%d x %ld cycles in %.1f s (%.0f cycles/s), highest loop%d, at most %d devices (%d before)",
	       procs, n, secs, cycles / secs, max_idx, max_devs, before->ndev);
	EXPECT_EQ(procs * n, cycles);
	EXPECT_EQ(0, errors);
	EXPECT_EQ(0, collisions);
	EXPECT_EQ(0, ebusy);
	EXPECT_GE(before->ndev + procs + 1, max_devs);
	EXPECT_GE(before->ndev + procs + 1, count_devices());
	{
		struct devset after;

		devset_read(&after);
		EXPECT_EQ(0, after.nbound) TH_LOG("%d devices left bound", after.nbound);
	}
	munmap(res, sizeof(*res) * procs);
	munmap(owner, sizeof(*owner) * MAXDEV);
}

/*
 * Issue 13: 4 processes x 5,000 atomic attach + I/O + close cycles: no
 * EBUSY, no retry, never one device for two callers, no more devices than
 * processes + 1 beyond those that existed.  Stock runs the classic
 * systemd-style path (flock + GET_FREE + CONFIGURE).
 */
TEST_F_TIMEOUT(ext, stress_concurrent_attach, 1200)
{
	int procs = (int)lt_env_long("ALOOP_EXT_PROCS", 4), modes[64], p;

	ASSERT_GE(64, procs);
	for (p = 0; p < procs; p++)
		modes[p] = ours() ? M_ATOMIC : M_FLOCK;
	run_stress(_metadata, &self->before, modes, procs,
		   lt_env_long("ALOOP_EXT_ROUNDS", 5000));
}

/*
 * Atomic attachers beside classic clients that take no lock (util-linux
 * losetup: GET_FREE, open, CONFIGURE, retry on EBUSY): the classic ones may
 * lose races and retry, ALOOP_CTL_ATTACH never fails and no device is ever
 * held by two.  A classic client that opened the device before the atomic
 * bind and closes it after must not detach it (AUTOCLEAR is armed after
 * the attach's own open).  Stock: flock users beside lock-less ones.
 */
TEST_F_TIMEOUT(ext, stress_atomic_beside_classic_clients, 1200)
{
	int modes[4] = { M_ATOMIC, M_NOLOCK, M_ATOMIC, M_NOLOCK };

	if (!ours())
		modes[0] = modes[2] = M_FLOCK;
	run_stress(_metadata, &self->before, modes, 4,
		   lt_env_long("ALOOP_EXT_ROUNDS", 5000) / 2);
}

/* ---------------------------------------------------------- SIGKILL ---- */

struct kill_shared {
	volatile int phase;	/* KP_* of the child */
	volatile long attached;
	volatile long err;
};

enum { KP_START, KP_IN_CALL, KP_HOLDING, KP_CLOSED, KP_FAILED, KP_N };
static const char *const kp_name[KP_N] = {
	"before the first attach", "inside an attach", "holding a device",
	"after a close", "attach failed" };

static void kill_child(int bfd, bool loop, bool atomic, struct kill_shared *sh)
{
	long retries = 0;
	int ctl = lt_ctl_open(), fd, idx;

	if (ctl < 0) {
		sh->err = ctl;
		sh->phase = KP_FAILED;
		_exit(1);
	}
	for (;;) {
		sh->phase = KP_IN_CALL;
		fd = atomic ? atomic_attach(ctl, bfd, LO_FLAGS_AUTOCLEAR, &idx) :
			      classic_attach(ctl, bfd, LO_FLAGS_AUTOCLEAR, &idx, &retries, true);
		if (fd < 0) {
			sh->err = fd;
			sh->phase = KP_FAILED;
			_exit(1);
		}
		sh->phase = KP_HOLDING;
		sh->attached++;
		if (!loop)
			for (;;)
				pause();
		close(fd);
		sh->phase = KP_CLOSED;
	}
}

static int nbound_now(void)
{
	struct devset s;

	devset_read(&s);
	return s.nbound;
}

/*
 * Issue 13: SIGKILL at a random moment around an attach (the child loops
 * attach + close, or attaches once and holds; killed 0-2 ms after fork):
 * after waitpid nothing is bound, no rundown is pending, no device was
 * added; at the end the tmpfs holding the backing file unmounts (no file
 * reference leaked) and the module unloads (no module reference leaked).
 * Stock runs the classic systemd-style path.
 */
TEST_F_TIMEOUT(ext, sigkill_around_attach, 1200)
{
	const char *mnt = EXT_TMP "/kill";
	long n = lt_env_long("ALOOP_EXT_KILLS", 1000), i, late = 0, stuck = 0;
	long phases[KP_N] = { 0 }, attached = 0, failures = 0;
	unsigned int seed = (unsigned int)lt_env_long("ALOOP_EXT_SEED", (long)time(NULL));
	bool atomic = ours();
	struct kill_shared *sh;
	char file[PATH_MAX];
	double t0 = now(), tw;
	int bfd, status, r;

	ASSERT_TRUE(getenv("ASYNCLOOP_LOOP_KO") != NULL);
	mkdir(mnt, 0755);
	ASSERT_EQ(0, mount("tmpfs", mnt, "tmpfs", 0, "size=4m"));
	lt_track_mount(mnt);
	snprintf(file, sizeof(file), "%s/img", mnt);
	bfd = open(file, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	ASSERT_LE(0, bfd);
	ASSERT_EQ(0, ftruncate(bfd, 1 << 20));
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	srand(seed);
	TH_LOG("seed %u (ALOOP_EXT_SEED), %s", seed,
	       atomic ? "ALOOP_CTL_ATTACH" : "stock: flock + GET_FREE + CONFIGURE");
	for (i = 0; i < n; i++) {
		bool loop = i & 1;
		struct timespec d = { 0, (rand() % 2001) * 1000L };
		pid_t pid;

		memset(sh, 0, sizeof(*sh));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid)
			kill_child(bfd, loop, atomic, sh);
		if (d.tv_nsec)
			nanosleep(&d, NULL);
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		phases[sh->phase]++;
		attached += sh->attached;
		if (sh->phase == KP_FAILED) {
			failures++;
			TH_LOG("round %ld: attach failed: %s", i, lt_errname(sh->err));
		}
		/* the exit ran the rundown before the child was reaped */
		if (nbound_now()) {
			late++;
			if (late <= 5)
				TH_LOG("round %ld (%s, killed %s): bound after waitpid",
				       i, loop ? "loop" : "once", kp_name[sh->phase]);
		}
		tw = now();
		while ((atomic && lt_module_param("pending_rundowns") > 0) || nbound_now()) {
			if (now() - tw > 2.0) {
				stuck++;
				break;
			}
			usleep(1000);
		}
		ASSERT_EQ(0, stuck) TH_LOG("round %ld: still bound 2 s after the kill", i);
		ASSERT_EQ(self->before.ndev, count_devices()) TH_LOG("round %ld: a device was added", i);
	}
	TH_LOG("%ld rounds in %.1f s, %ld attaches; killed: %ld %s, %ld %s, %ld %s, %ld %s, %ld %s",
	       n, now() - t0, attached,
	       phases[0], kp_name[0], phases[1], kp_name[1], phases[2], kp_name[2],
	       phases[3], kp_name[3], phases[4], kp_name[4]);
	EXPECT_EQ(0, late) TH_LOG("%ld rounds with a device bound when waitpid returned", late);
	EXPECT_EQ(0, failures);
	EXPECT_LT(0, phases[KP_HOLDING] + phases[KP_CLOSED]) TH_LOG("no kill ever came after an attach");
	EXPECT_LT(0, attached);
	if (atomic)
		EXPECT_EQ(0, lt_module_param("pending_rundowns"));
	/* no file reference leaked: the tmpfs unmounts */
	close(bfd);
	ASSERT_EQ(0, umount(mnt)) TH_LOG("umount of the backing file's tmpfs: %s", strerror(errno));
	/* no module reference leaked: it unloads */
	close(self->ctl);
	tw = now();
	while ((r = lt_unload_driver()) == -EAGAIN || r == -EBUSY) {
		if (now() - tw > 2.0)
			break;
		usleep(10000);
	}
	ASSERT_RET_M(0, r, "rmmod loop after the kills");
	if (now() - tw > 0.05)
		TH_LOG("rmmod took %.0f ms", (now() - tw) * 1000);
	ASSERT_OK(lt_load_driver(""));
}

#endif /* !EXT_COMPAT32 */

TEST_HARNESS_MAIN
