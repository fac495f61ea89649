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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "loopt.h"
#include "verify.h"

#define RC_FILE_SIZE	(16 << 20)
#define RC_READ_SPAN	(4 << 20)		/* device [0, 4 MiB): readers */
#define RC_WRITE_BLKS	((4 << 20) / LT_V_BLK)	/* [4 MiB, 8 MiB): writers */

FIXTURE(rc) {
	int idx;
	int fd;				/* /dev/loopN, O_RDWR */
	char dev[64];
	char file[PATH_MAX];
	char copy[PATH_MAX];		/* same content, for CHANGE_FD */
	struct lt_vdev *v;
	pid_t pid[LT_V_ROLES];
	int nworkers;
};

#define rc_dir()	lt_env_dir("ALOOP_RECONFIG_DIR")
#define rc_secs()	lt_env_long("ALOOP_RECONFIG_SECS", 4)

FIXTURE_SETUP(rc)
{
	self->nworkers = 0;
	self->idx = lt_get_free();
	ASSERT_NONNEG(self->idx);
	lt_dev_path(self->idx, self->dev, sizeof(self->dev));
	self->v = lt_vdev_new(self->dev, RC_READ_SPAN, RC_READ_SPAN,
			      RC_WRITE_BLKS);
	ASSERT_NE(NULL, self->v);
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

	self->v->stop = 1;
	for (i = 0; i < self->nworkers; i++)
		waitpid(self->pid[i], NULL, 0);
	lt_cleanup();
}

/* Fork the readers and, if @writers, the writers. */
static void rc_start(struct __test_metadata *_metadata,
		     FIXTURE_DATA(rc) *self, bool writers)
{
	int n = writers ? LT_V_ROLES : LT_V_WRITE_BUFFERED, i;

	for (i = 0; i < n; i++) {
		pid_t pid = lt_vdev_spawn(self->v, i);

		ASSERT_LE(0, pid);
		self->pid[self->nworkers++] = pid;
	}
}

/* Stop the workers and check what they saw. */
static void rc_stop(struct __test_metadata *_metadata,
		    FIXTURE_DATA(rc) *self, unsigned long reconfigs)
{
	int i, n = self->nworkers;

	self->v->stop = 1;
	for (i = 0; i < n; i++)
		ASSERT_EQ(self->pid[i], waitpid(self->pid[i], NULL, 0));
	self->nworkers = 0;
	TH_LOG("%lu reconfigurations", reconfigs);
	for (i = 0; i < n; i++) {
		struct lt_vstats *st = &self->v->st[i];

		TH_LOG("%s: %lu I/Os, %lu errors, %lu wrong",
		       lt_vrole_name(i), st->ops, st->errors, st->mismatches);
		EXPECT_EQ(0, st->errors)
			TH_LOG("%s: %s", lt_vrole_name(i), st->why);
		EXPECT_EQ(0, st->mismatches)
			TH_LOG("%s: %s", lt_vrole_name(i), st->why);
		EXPECT_LT(0, st->ops);
	}
	/* a few round trips at least, or nothing was tested */
	EXPECT_LE(10, reconfigs);
}

/* Every write block as last written, through @path at @base. */
static void rc_verify_writes(struct __test_metadata *_metadata,
			     FIXTURE_DATA(rc) *self, const char *path,
			     uint64_t base)
{
	char why[256] = "";
	long bad = lt_vdev_check(self->v, path, base, why, sizeof(why));

	EXPECT_EQ(0, bad) TH_LOG("%s: %s", path, bad < 0 ?
				 lt_errname(bad) : why);
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

	self->v->offs[1] = 1;
	self->v->offs[2] = LT_V_BLK;
	self->v->noffs = 3;
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
			ASSERT_OK(rc_set_offset_old(self->fd, LT_V_BLK));
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

/*
 * A direct-I/O device under readers and writers while @cmd is issued in a
 * loop, its argument alternating between @even and @odd.
 */
static void rc_hammer_writable(struct __test_metadata *_metadata,
			       FIXTURE_DATA(rc) *self, unsigned long cmd,
			       unsigned long even, unsigned long odd)
{
	struct timespec end;
	unsigned long i;

	rc_configure(_metadata, self, LO_FLAGS_DIRECT_IO);
	rc_start(_metadata, self, true);
	rc_deadline(&end);
	for (i = 0; rc_running(&end); i++)
		ASSERT_OK(lt_ioctl(self->fd, cmd, i & 1 ? odd : even));
	rc_stop(_metadata, self, i);
	rc_verify_writes(_metadata, self, self->dev, 0);
	rc_verify_writes(_metadata, self, self->file, 0);
}

TEST_F_TIMEOUT(rc, set_direct_io, 120)
{
	rc_hammer_writable(_metadata, self, LOOP_SET_DIRECT_IO, 0, 1);
}

TEST_F_TIMEOUT(rc, set_block_size, 120)
{
	rc_hammer_writable(_metadata, self, LOOP_SET_BLOCK_SIZE, LT_V_BLK, 512);
}

TEST_F_TIMEOUT(rc, set_capacity, 120)
{
	rc_hammer_writable(_metadata, self, LOOP_SET_CAPACITY, 0, 0);
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
