/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The common fixture: a free, unbound loop device (from LOOP_CTL_GET_FREE)
 * opened O_RDWR, and a 1 MiB patterned backing file on /tmp opened O_RDWR.
 * Teardown closes every fd and unbinds/removes every tracked device, also
 * when an assertion failed.  Include after kselftest_harness.h.
 */
#ifndef ASYNCLOOP_FIXTURE_H
#define ASYNCLOOP_FIXTURE_H

#include "loopt.h"

#define LT_FILE_SIZE (1024 * 1024)

FIXTURE(loopdev) {
	int idx;
	int fd;			/* /dev/loopN, O_RDWR */
	char file[PATH_MAX];
	int bfd;		/* backing file, O_RDWR */
};

FIXTURE_SETUP(loopdev)
{
	self->idx = lt_get_free();
	ASSERT_NONNEG(self->idx);
	self->fd = lt_open_dev(self->idx, O_RDWR);
	ASSERT_NONNEG(self->fd);
	ASSERT_OK(lt_make_file(self->file, sizeof(self->file), LT_FILE_SIZE));
	self->bfd = lt_open(self->file, O_RDWR);
	ASSERT_NONNEG(self->bfd);
}

FIXTURE_TEARDOWN(loopdev)
{
	lt_cleanup();
}

/* The device's size, through BLKGETSIZE64 and /sys/block/loopN/size. */
static inline void check_size(struct __test_metadata *_metadata, int idx,
			      int fd, uint64_t expected)
{
	uint64_t sz;
	unsigned long long sec;

	ASSERT_OK(lt_size64(fd, &sz));
	ASSERT_EQ(expected, sz);
	ASSERT_OK(lt_sysfs_u64(idx, "size", &sec));
	ASSERT_EQ(expected / 512, sec);
}

#endif
