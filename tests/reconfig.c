// SPDX-License-Identifier: GPL-2.0
/*
 * Reconfiguration never fails I/O.  Each ioctl that changes the I/O path
 * (SET_STATUS/STATUS64, SET_DIRECT_IO, SET_BLOCK_SIZE, SET_CAPACITY,
 * CHANGE_FD) is issued in a loop while readers (buffered and O_DIRECT)
 * verify a region that never changes and, where the device is writable,
 * writers (buffered and O_DIRECT) rewrite and read back another region.
 * A request must complete under the old configuration or under the new
 * one: no errors, no wrong bytes, through the device and in the backing
 * file afterwards.
 *
 * The backing files are created in $ALOOP_RECONFIG_DIR (the suite mounts
 * ext4 on the virtio disk there), where direct I/O really happens; a test
 * that asks for direct I/O fails if the device does not report it.
 * $ALOOP_RECONFIG_SECS sets the seconds per test (default 4).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "loopt.h"

#define RC_FILE_SIZE	(16 << 20)
#define RC_BLK		4096
#define RC_READ_SPAN	(4 << 20)		/* device [0, 4 MiB): readers */
#define RC_WRITE_START	RC_READ_SPAN		/* [4 MiB, 8 MiB): writers */
#define RC_WRITE_BLKS	((4 << 20) / RC_BLK)
#define RC_MAX_IO	(16 * RC_BLK)
#define RC_WORKERS	4
#define RC_MAX_OFFS	3

struct rc_worker {
	unsigned long ops;
	unsigned long errors;
	unsigned long mismatches;
	char why[256];			/* the first error or mismatch */
};

/* Shared with the worker processes (MAP_SHARED). */
struct rc_shared {
	volatile int stop;
	struct rc_worker w[RC_WORKERS];
	/* last generation written to each write-region block, 0 = original */
	uint32_t gen[RC_WRITE_BLKS];
};

FIXTURE(rc) {
	int idx;
	int fd;				/* /dev/loopN, O_RDWR */
	char dev[64];
	char file[PATH_MAX];
	char copy[PATH_MAX];		/* same content, for CHANGE_FD */
	struct rc_shared *sh;
	pid_t pid[RC_WORKERS];
	int nworkers;
	/* file offsets at which the device may start during the test */
	uint64_t offs[RC_MAX_OFFS];
	int noffs;
};

static const char *rc_dir(void)
{
	const char *d = getenv("ALOOP_RECONFIG_DIR");

	return d && *d ? d : LT_TMPDIR;
}

static int rc_secs(void)
{
	const char *s = getenv("ALOOP_RECONFIG_SECS");

	return s && atoi(s) > 0 ? atoi(s) : 4;
}

FIXTURE_SETUP(rc)
{
	self->sh = mmap(NULL, sizeof(*self->sh), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sh);
	memset(self->sh, 0, sizeof(*self->sh));
	self->nworkers = 0;
	self->offs[0] = 0;
	self->noffs = 1;
	self->idx = lt_get_free();
	ASSERT_NONNEG(self->idx);
	lt_dev_path(self->idx, self->dev, sizeof(self->dev));
	self->fd = lt_open_dev(self->idx, O_RDWR);
	ASSERT_NONNEG(self->fd);
	ASSERT_OK(lt_make_file_in(rc_dir(), self->file, sizeof(self->file),
				  RC_FILE_SIZE));
	ASSERT_OK(lt_make_file_in(rc_dir(), self->copy, sizeof(self->copy),
				  RC_FILE_SIZE));
}

FIXTURE_TEARDOWN(rc)
{
	int i;

	self->sh->stop = 1;
	for (i = 0; i < self->nworkers; i++)
		waitpid(self->pid[i], NULL, 0);
	lt_cleanup();
}

/* The content of write-region block @blk after generation @gen. */
static void rc_stamp(uint8_t *p, uint32_t blk, uint32_t gen)
{
	uint64_t *w = (uint64_t *)p;
	size_t i;

	for (i = 0; i < RC_BLK / sizeof(*w); i++)
		w[i] = ((uint64_t)blk << 40) ^ ((uint64_t)gen << 12) ^ i ^
		       0x5a5a000000000000ULL;
}

/* @p holds write-region block @blk as of @gen, at file offset @file_off. */
static bool rc_block_is(const uint8_t *p, uint32_t blk, uint32_t gen,
			uint64_t file_off)
{
	uint8_t want[RC_BLK];
	char why[8];

	if (!gen)
		return !lt_check_pattern(p, RC_BLK, file_off, why, sizeof(why));
	rc_stamp(want, blk, gen);
	return !memcmp(p, want, RC_BLK);
}

/* One block read from device offset @pos matches one of the offsets. */
static bool rc_match_any(FIXTURE_DATA(rc) *self, const uint8_t *p,
			 uint64_t pos)
{
	char why[8];
	int i;

	for (i = 0; i < self->noffs; i++)
		if (!lt_check_pattern(p, RC_BLK, pos + self->offs[i], why,
				      sizeof(why)))
			return true;
	return false;
}

static void __attribute__((format(printf, 3, 4)))
rc_fail(struct rc_worker *w, bool mismatch, const char *fmt, ...)
{
	va_list ap;

	if (!w->errors && !w->mismatches) {
		va_start(ap, fmt);
		vsnprintf(w->why, sizeof(w->why), fmt, ap);
		va_end(ap);
	}
	if (mismatch)
		w->mismatches++;
	else
		w->errors++;
}

static void *rc_buffer(void)
{
	void *p = NULL;

	return posix_memalign(&p, RC_BLK, RC_MAX_IO) ? NULL : p;
}

static void rc_reader(FIXTURE_DATA(rc) *self, struct rc_worker *w,
		      bool direct)
{
	uint8_t *buf = rc_buffer();
	unsigned int seed = getpid();
	int fd;

	fd = open(self->dev, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
	if (fd < 0 || !buf) {
		rc_fail(w, false, "open: %s", strerror(errno));
		return;
	}
	while (!self->sh->stop) {
		size_t len = RC_BLK * (1 + rand_r(&seed) % (RC_MAX_IO / RC_BLK));
		off_t pos = RC_BLK * (rand_r(&seed) %
				      ((RC_READ_SPAN - len) / RC_BLK + 1));
		ssize_t n = pread(fd, buf, len, pos);
		size_t i;

		w->ops++;
		if (n != (ssize_t)len) {
			rc_fail(w, false, "read of %zu at %lld: %s", len,
				(long long)pos, n < 0 ? strerror(errno) : "short");
			continue;
		}
		for (i = 0; i < len; i += RC_BLK)
			if (!rc_match_any(self, buf + i, pos + i))
				rc_fail(w, true, "read at %lld: block at %lld matches no configuration",
					(long long)pos, (long long)(pos + i));
	}
	close(fd);
}

static void rc_writer(FIXTURE_DATA(rc) *self, struct rc_worker *w,
		      bool direct, uint32_t first, uint32_t nblk)
{
	uint8_t *buf = rc_buffer(), *rbuf = rc_buffer();
	unsigned int seed = getpid();
	int fd;

	fd = open(self->dev, O_RDWR | O_CLOEXEC | (direct ? O_DIRECT : 0));
	if (fd < 0 || !buf || !rbuf) {
		rc_fail(w, false, "open: %s", strerror(errno));
		return;
	}
	while (!self->sh->stop) {
		uint32_t blk = first + rand_r(&seed) % nblk;
		uint32_t gen = self->sh->gen[blk] + 1;
		off_t pos = RC_WRITE_START + (off_t)blk * RC_BLK;
		ssize_t n;

		w->ops++;
		rc_stamp(buf, blk, gen);
		n = pwrite(fd, buf, RC_BLK, pos);
		if (n != RC_BLK) {
			rc_fail(w, false, "write at %lld: %s", (long long)pos,
				n < 0 ? strerror(errno) : "short");
			continue;
		}
		self->sh->gen[blk] = gen;
		n = pread(fd, rbuf, RC_BLK, pos);
		if (n != RC_BLK)
			rc_fail(w, false, "read back at %lld: %s",
				(long long)pos,
				n < 0 ? strerror(errno) : "short");
		else if (memcmp(buf, rbuf, RC_BLK))
			rc_fail(w, true, "read back at %lld: generation %u lost",
				(long long)pos, gen);
	}
	if (fsync(fd))
		rc_fail(w, false, "fsync: %s", strerror(errno));
	close(fd);
}

/* Fork the readers and, if @writers, the writers. */
static void rc_start(struct __test_metadata *_metadata,
		     FIXTURE_DATA(rc) *self, bool writers)
{
	int n = writers ? RC_WORKERS : 2, i;

	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (!pid) {
			struct rc_worker *w = &self->sh->w[i];
			uint32_t half = RC_WRITE_BLKS / 2;

			if (i < 2)
				rc_reader(self, w, i == 1);
			else
				rc_writer(self, w, i == 3, (i - 2) * half,
					  half);
			_exit(0);
		}
		self->pid[self->nworkers++] = pid;
	}
}

static const char *const rc_names[RC_WORKERS] = {
	"buffered reader", "direct reader", "buffered writer", "direct writer",
};

/* Stop the workers and check what they saw. */
static void rc_stop(struct __test_metadata *_metadata,
		    FIXTURE_DATA(rc) *self, unsigned long reconfigs)
{
	int i, n = self->nworkers;

	self->sh->stop = 1;
	for (i = 0; i < n; i++)
		ASSERT_EQ(self->pid[i], waitpid(self->pid[i], NULL, 0));
	self->nworkers = 0;
	TH_LOG("%lu reconfigurations", reconfigs);
	for (i = 0; i < n; i++) {
		struct rc_worker *w = &self->sh->w[i];

		TH_LOG("%s: %lu I/Os, %lu errors, %lu wrong", rc_names[i],
		       w->ops, w->errors, w->mismatches);
		EXPECT_EQ(0, w->errors) TH_LOG("%s: %s", rc_names[i], w->why);
		EXPECT_EQ(0, w->mismatches)
			TH_LOG("%s: %s", rc_names[i], w->why);
		EXPECT_LT(0, w->ops);
	}
	/* a few round trips at least, or nothing was tested */
	EXPECT_LE(10, reconfigs);
}

/* Every write-region block as last written, via @fd at @base. */
static void rc_verify_writes(struct __test_metadata *_metadata,
			     FIXTURE_DATA(rc) *self, const char *path,
			     uint64_t base)
{
	uint8_t *buf = rc_buffer();
	uint32_t blk, bad = 0;
	int fd;

	ASSERT_NE(NULL, buf);
	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
	for (blk = 0; blk < RC_WRITE_BLKS; blk++) {
		off_t pos = base + RC_WRITE_START + (off_t)blk * RC_BLK;

		ASSERT_EQ(RC_BLK, pread(fd, buf, RC_BLK, pos));
		if (!rc_block_is(buf, blk, self->sh->gen[blk], pos) && !bad++)
			TH_LOG("%s: block %u is not generation %u", path, blk,
			       self->sh->gen[blk]);
	}
	close(fd);
	free(buf);
	EXPECT_EQ(0, bad) TH_LOG("%s: %u blocks wrong", path, bad);
}

static void rc_configure(struct __test_metadata *_metadata,
			 FIXTURE_DATA(rc) *self, uint32_t flags)
{
	int bfd = lt_open(self->file, flags & LO_FLAGS_READ_ONLY ?
			  O_RDONLY : O_RDWR);
	char dio[8];

	ASSERT_NONNEG(bfd);
	ASSERT_OK(lt_configure(self->fd, bfd, 0, 0, flags, 0));
	close(bfd);
	if (flags & LO_FLAGS_DIRECT_IO) {
		ASSERT_OK(lt_sysfs_read(self->idx, "loop/dio", dio, sizeof(dio)));
		ASSERT_STREQ("1", dio)
			TH_LOG("no direct I/O on %s: ALOOP_RECONFIG_DIR must be a filesystem with O_DIRECT",
			       rc_dir());
	}
}

static bool rc_running(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec < end->tv_sec ||
	       (now.tv_sec == end->tv_sec && now.tv_nsec < end->tv_nsec);
}

static void rc_deadline(struct timespec *end)
{
	clock_gettime(CLOCK_MONOTONIC, end);
	end->tv_sec += rc_secs();
}

static int rc_set_offset64(int fd, uint64_t off)
{
	struct loop_info64 info;
	int err = lt_status64(fd, &info);

	if (err)
		return err;
	info.lo_offset = off;
	return lt_set_status64(fd, &info);
}

static int rc_set_offset_old(int fd, int off)
{
	struct loop_info info;
	long err = lt_ioctlp(fd, LOOP_GET_STATUS, &info);

	if (err)
		return err;
	info.lo_offset = off;
	return lt_ioctlp(fd, LOOP_SET_STATUS, &info);
}

/*
 * Offsets 0, 1 and 4096 through both status ioctls, and direct I/O asked
 * for again at offset 0: an unaligned offset rules direct I/O out, so the
 * mode changes with the offset.
 */
TEST_F_TIMEOUT(rc, set_status, 120)
{
	struct timespec end;
	unsigned long i;

	self->offs[1] = 1;
	self->offs[2] = RC_BLK;
	self->noffs = 3;
	rc_configure(_metadata, self, LO_FLAGS_DIRECT_IO);
	rc_start(_metadata, self, false);
	rc_deadline(&end);
	for (i = 0; rc_running(&end); i++) {
		switch (i % 6) {
		case 0:
			ASSERT_OK(rc_set_offset64(self->fd, 1));
			break;
		case 1:
			ASSERT_OK(rc_set_offset64(self->fd, 0));
			break;
		case 3:
			ASSERT_OK(rc_set_offset_old(self->fd, RC_BLK));
			break;
		case 4:
			ASSERT_OK(rc_set_offset_old(self->fd, 0));
			break;
		default:
			ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_DIRECT_IO, 1));
			break;
		}
	}
	rc_stop(_metadata, self, i);
}

TEST_F_TIMEOUT(rc, set_direct_io, 120)
{
	struct timespec end;
	unsigned long i;

	rc_configure(_metadata, self, LO_FLAGS_DIRECT_IO);
	rc_start(_metadata, self, true);
	rc_deadline(&end);
	for (i = 0; rc_running(&end); i++)
		ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_DIRECT_IO, i & 1));
	rc_stop(_metadata, self, i);
	rc_verify_writes(_metadata, self, self->dev, 0);
	rc_verify_writes(_metadata, self, self->file, 0);
}

TEST_F_TIMEOUT(rc, set_block_size, 120)
{
	struct timespec end;
	unsigned long i;

	rc_configure(_metadata, self, LO_FLAGS_DIRECT_IO);
	rc_start(_metadata, self, true);
	rc_deadline(&end);
	for (i = 0; rc_running(&end); i++)
		ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_BLOCK_SIZE,
				   i & 1 ? 512 : RC_BLK));
	rc_stop(_metadata, self, i);
	rc_verify_writes(_metadata, self, self->dev, 0);
	rc_verify_writes(_metadata, self, self->file, 0);
}

TEST_F_TIMEOUT(rc, set_capacity, 120)
{
	struct timespec end;
	unsigned long i;

	rc_configure(_metadata, self, LO_FLAGS_DIRECT_IO);
	rc_start(_metadata, self, true);
	rc_deadline(&end);
	for (i = 0; rc_running(&end); i++)
		ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_CAPACITY, 0));
	rc_stop(_metadata, self, i);
	rc_verify_writes(_metadata, self, self->dev, 0);
	rc_verify_writes(_metadata, self, self->file, 0);
}

/*
 * A read-only device swapped between two files of the same content, one
 * of them opened O_DIRECT (which turns direct I/O on).
 */
TEST_F_TIMEOUT(rc, change_fd, 120)
{
	int a, b;
	struct timespec end;
	unsigned long i;

	a = lt_open(self->file, O_RDONLY);
	ASSERT_NONNEG(a);
	b = lt_open(self->copy, O_RDONLY | O_DIRECT);
	ASSERT_NONNEG(b);
	rc_configure(_metadata, self, LO_FLAGS_READ_ONLY);
	rc_start(_metadata, self, false);
	rc_deadline(&end);
	for (i = 0; rc_running(&end); i++)
		ASSERT_OK(lt_ioctl(self->fd, LOOP_CHANGE_FD, i & 1 ? a : b));
	rc_stop(_metadata, self, i);
	close(a);
	close(b);
}

TEST_HARNESS_MAIN
