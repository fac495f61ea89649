// SPDX-License-Identifier: GPL-2.0
/* /sys/block/loopN/loop/ attributes and /sys/block/loopN/size. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "fixture.h"

static const char *const attrs[] = {
	"loop/backing_file", "loop/offset", "loop/sizelimit",
	"loop/autoclear", "loop/partscan", "loop/dio",
};

TEST_F(loopdev, absent_while_unbound)
{
	char b[64];
	unsigned int i;

	ASSERT_FALSE(lt_is_bound(self->idx));
	for (i = 0; i < ARRAY_SIZE(attrs); i++)
		ASSERT_RET(-ENOENT, lt_sysfs_read(self->idx, attrs[i], b, sizeof(b)));
	ASSERT_SYSFS_STR(self->idx, "size", "0");
}

TEST_F(loopdev, default_values)
{
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_SYSFS_STR(self->idx, "loop/backing_file", self->file);
	ASSERT_SYSFS_STR(self->idx, "loop/offset", "0");
	ASSERT_SYSFS_STR(self->idx, "loop/sizelimit", "0");
	ASSERT_SYSFS_STR(self->idx, "loop/autoclear", "0");
	ASSERT_SYSFS_STR(self->idx, "loop/partscan", "0");
	ASSERT_SYSFS_STR(self->idx, "loop/dio", "0");
	ASSERT_SYSFS_STR(self->idx, "size", "2048");
	ASSERT_SYSFS_STR(self->idx, "ro", "0");
}

TEST_F(loopdev, configured_values)
{
	ASSERT_OK(lt_configure(self->fd, self->bfd, 4096, 65536,
			       LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN | LO_FLAGS_READ_ONLY, 0));
	ASSERT_SYSFS_STR(self->idx, "loop/backing_file", self->file);
	ASSERT_SYSFS_STR(self->idx, "loop/offset", "4096");
	ASSERT_SYSFS_STR(self->idx, "loop/sizelimit", "65536");
	ASSERT_SYSFS_STR(self->idx, "loop/autoclear", "1");
	ASSERT_SYSFS_STR(self->idx, "loop/partscan", "1");
	ASSERT_SYSFS_STR(self->idx, "loop/dio", "0");
	ASSERT_SYSFS_STR(self->idx, "size", "128");
	ASSERT_SYSFS_STR(self->idx, "ro", "1");
}

TEST_F(loopdev, gone_after_clr_fd)
{
	char b[64];
	unsigned int i;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 512, 0, 0, 0));
	ASSERT_TRUE(lt_is_bound(self->idx));
	ASSERT_OK(lt_clr_fd_now(self->idx, &self->fd));
	ASSERT_FALSE(lt_is_bound(self->idx));
	for (i = 0; i < ARRAY_SIZE(attrs); i++)
		ASSERT_RET(-ENOENT, lt_sysfs_read(self->idx, attrs[i], b, sizeof(b)));
	ASSERT_SYSFS_STR(self->idx, "size", "0");
	ASSERT_SYSFS_STR(self->idx, "ro", "0");
}

TEST_F(loopdev, attrs_are_read_only)
{
	char p[128];
	unsigned int i;
	int fd;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	for (i = 0; i < ARRAY_SIZE(attrs); i++) {
		snprintf(p, sizeof(p), "/sys/block/loop%d/%s", self->idx, attrs[i]);
		fd = open(p, O_WRONLY);
		ASSERT_EQ(-1, fd) TH_LOG("%s opened for writing", p);
		ASSERT_EQ(EACCES, errno) TH_LOG("%s: %s", p, strerrorname_np(errno));
	}
}

TEST_F(loopdev, backing_file_deleted)
{
	char exp[PATH_MAX + 16];

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_EQ(0, unlink(self->file));
	snprintf(exp, sizeof(exp), "%s (deleted)", self->file);
	ASSERT_SYSFS_STR(self->idx, "loop/backing_file", exp);
}

TEST_F(loopdev, size_follows_changes)
{
	struct loop_info64 info;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_SYSFS_STR(self->idx, "size", "2048");
	ASSERT_OK(lt_status64(self->fd, &info));
	info.lo_sizelimit = 4096;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	ASSERT_SYSFS_STR(self->idx, "size", "8");
	ASSERT_SYSFS_STR(self->idx, "loop/sizelimit", "4096");
	info.lo_sizelimit = 0;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	ASSERT_EQ(0, ftruncate(self->bfd, 2 * LT_FILE_SIZE));
	ASSERT_SYSFS_STR(self->idx, "size", "2048");
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_CAPACITY, 0));
	ASSERT_SYSFS_STR(self->idx, "size", "4096");
}

TEST_F(loopdev, partscan_after_set_status)
{
	struct loop_info64 info;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_AUTOCLEAR, 0));
	ASSERT_SYSFS_STR(self->idx, "loop/partscan", "0");
	ASSERT_OK(lt_status64(self->fd, &info));
	info.lo_flags |= LO_FLAGS_PARTSCAN;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	ASSERT_SYSFS_STR(self->idx, "loop/partscan", "1");
	ASSERT_SYSFS_STR(self->idx, "loop/autoclear", "1");
}

/*
 * Queue limits of a tmpfs-backed binding (write cache: tmpfs has fsync;
 * discard: punch hole) and what detach leaves: ours restores a new
 * device's defaults; stock 6.1 resets only the write cache, stock 6.12
 * neither (docs/compat.md, difference n).
 */
TEST_F(loopdev, queue_limits_follow_binding)
{
	bool ours = lt_driver_is_ours(), new_stock = lt_kernel_at_least(6, 11);
	unsigned long long discard;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_SYSFS_STR(self->idx, "queue/write_cache", "write back");
	ASSERT_OK(lt_sysfs_u64(self->idx, "queue/discard_max_bytes", &discard));
	ASSERT_LT(0ULL, discard);
	ASSERT_SYSFS_STR(self->idx, "queue/logical_block_size", "512");
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_BLOCK_SIZE, 4096));
	ASSERT_SYSFS_STR(self->idx, "queue/logical_block_size", "4096");

	ASSERT_OK(lt_clr_fd_now(self->idx, &self->fd));
	ASSERT_FALSE(lt_is_bound(self->idx));
	ASSERT_SYSFS_STR(self->idx, "queue/logical_block_size", "512");
	ASSERT_SYSFS_STR(self->idx, "queue/write_cache",
			 !ours && new_stock ? "write back" : "write through");
	ASSERT_OK(lt_sysfs_u64(self->idx, "queue/discard_max_bytes", &discard));
	if (ours) {
		ASSERT_EQ(0ULL, discard);
	} else {
		ASSERT_LT(0ULL, discard);
	}
}

TEST_HARNESS_MAIN
