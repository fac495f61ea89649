// SPDX-License-Identifier: GPL-2.0
/*
 * Hardening beyond stock (docs/compat.md, differences (r), (s), (t)):
 *
 * - Backing I/O never leaves the window [offset, offset + size): BLKPG
 *   accepts partitions past the end of the disk before 6.12 (6.12 refuses
 *   them with EINVAL, which the tests expect there) and the block layer checks
 *   their requests against the partition only, so stock reads and writes
 *   the backing file beyond the sizelimit through such a partition, and
 *   with an offset near LLONG_MAX the backing position wraps (an iomap
 *   WARNING on ext4, then I/O beyond the end of the disk under it).
 * - The offset and sizelimit do not change under an exclusive opener
 *   (a mounted filesystem): EBUSY, as mainline since 6.19.
 * - One file bound with direct I/O on one device and buffered on another
 *   is reported when it happens, naming both devices (difference (t)).
 *
 * $ALOOP_HARDENING_DIR: a filesystem with direct I/O (ext4 on the virtio
 * disk, from the suite).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/blkpg.h>

#include "kselftest_harness.h"
#include "fixture.h"

#define HD_WINDOW	65536

static int hd_blkpg(int fd, int op, int pno, long long start, long long len)
{
	struct blkpg_partition p = {
		.start = start, .length = len, .pno = pno,
	};
	struct blkpg_ioctl_arg a = {
		.op = op, .datalen = sizeof(p), .data = &p,
	};

	return lt_ioctlp(fd, BLKPG, &a);
}

/*
 * Add partition 1 past the end of the disk: 0, or -EINVAL where the block
 * layer itself refuses (6.12 checks BLKPG against the capacity).
 */
static int hd_add_past_end(struct __test_metadata *_metadata, int fd,
			   long long start, long long len)
{
	int r = hd_blkpg(fd, BLKPG_ADD_PARTITION, 1, start, len);

	if (lt_kernel_at_least(6, 12))
		EXPECT_RET(-EINVAL, r);
	else
		EXPECT_RET(0, r);
	return r;
}

static int hd_open_part(int idx, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/loop%dp1", idx);
	return lt_open(path, flags);
}

static void *hd_buffer(void)
{
	void *p = NULL;

	return posix_memalign(&p, 4096, 4096) ? NULL : p;
}

/*
 * A 64 KiB window on a 1 MiB file, a partition right behind it: its
 * reads and writes must fail, and the file behind the window must stay
 * as it was.
 */
TEST_F(loopdev, partition_past_the_end_does_no_io)
{
	uint8_t *buf = hd_buffer();
	char why[256];
	ssize_t n;
	int pfd;

	ASSERT_NE(NULL, buf);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, HD_WINDOW, 0, 0));
	if (hd_add_past_end(_metadata, self->fd, HD_WINDOW, HD_WINDOW))
		return;
	pfd = hd_open_part(self->idx, O_RDWR | O_DIRECT);
	ASSERT_NONNEG(pfd);

	n = pread(pfd, buf, 4096, 0);
	if (!lt_driver_is_ours()) {
		/* stock: the partition reads the file past the sizelimit */
		ASSERT_EQ(4096, n);
		ASSERT_EQ(0, lt_check_pattern(buf, 4096, HD_WINDOW, why,
					      sizeof(why))) TH_LOG("%s", why);
		close(pfd);
		ASSERT_OK(hd_blkpg(self->fd, BLKPG_DEL_PARTITION, 1, 0, 0));
		return;
	}
	ASSERT_EQ(-1, n);
	ASSERT_EQ(EIO, errno);
	memset(buf, 0xee, 4096);
	ASSERT_EQ(-1, pwrite(pfd, buf, 4096, 0));
	ASSERT_EQ(EIO, errno);
	close(pfd);
	ASSERT_OK(hd_blkpg(self->fd, BLKPG_DEL_PARTITION, 1, 0, 0));
	ASSERT_EQ(4096, pread(self->bfd, buf, 4096, HD_WINDOW));
	ASSERT_EQ(0, lt_check_pattern(buf, 4096, HD_WINDOW, why, sizeof(why)))
		TH_LOG("file behind the window: %s", why);
}

/*
 * The issue-11 reproducer: direct I/O, an offset near LLONG_MAX (an empty
 * device) and a partition on it.  Stock sends the wrapped position to
 * ext4 (WARNING in iomap_iter, "attempt to access beyond end of device"):
 * it would fail the run on its splat, so only ours runs it.
 */
TEST_F(loopdev, wrapped_offset_stays_out_of_the_backing_fs)
{
	const char *dir = getenv("ALOOP_HARDENING_DIR");
	uint8_t *buf = hd_buffer();
	char file[PATH_MAX];
	int bfd, pfd, beyond;
	uint64_t size;

	if (!lt_driver_is_ours())
		SKIP(return, "stock sends the wrapped position to the backing fs (iomap WARNING), docs/compat.md (r)");
	ASSERT_NE(NULL, dir) TH_LOG("ALOOP_HARDENING_DIR is not set");
	ASSERT_NE(NULL, buf);
	ASSERT_OK(lt_make_file_in(dir, file, sizeof(file), 1 << 20));
	bfd = lt_open(file, O_RDWR);
	ASSERT_NONNEG(bfd);
	beyond = lt_kmsg_count("beyond end of device");
	ASSERT_NONNEG(beyond);

	ASSERT_OK(lt_configure(self->fd, bfd, 0x7ffffffffffffe00ULL, 0,
			       LO_FLAGS_DIRECT_IO, 0));
	ASSERT_OK(lt_size64(self->fd, &size));
	ASSERT_EQ(0, size);
	if (hd_add_past_end(_metadata, self->fd, 0, 1 << 20))
		return;
	pfd = hd_open_part(self->idx, O_RDWR | O_DIRECT);
	ASSERT_NONNEG(pfd);
	ASSERT_EQ(-1, pread(pfd, buf, 4096, 0));
	ASSERT_EQ(EIO, errno);
	ASSERT_EQ(-1, pwrite(pfd, buf, 4096, 4096));
	ASSERT_EQ(EIO, errno);
	close(pfd);
	ASSERT_OK(hd_blkpg(self->fd, BLKPG_DEL_PARTITION, 1, 0, 0));
	ASSERT_EQ(beyond, lt_kmsg_count("beyond end of device"));
}

static int hd_set_geometry(int fd, uint64_t off, uint64_t sizelimit,
			   uint32_t set_flags)
{
	struct loop_info64 info;
	int err = lt_status64(fd, &info);

	if (err)
		return err;
	info.lo_offset = off;
	info.lo_sizelimit = sizelimit;
	info.lo_flags |= set_flags;
	return lt_set_status64(fd, &info);
}

/*
 * An O_EXCL opener stands for a mounted filesystem.  Ours refuses to move
 * or cut the device under it, from any other opener; flag changes and the
 * holder's own changes go through.  Stock 6.1 and 6.12 allow all of it.
 */
TEST_F(loopdev, geometry_fixed_under_exclusive_opener)
{
	struct lt_state before;
	uint64_t size;
	int excl;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	excl = lt_open_dev(self->idx, O_RDWR | O_EXCL);
	ASSERT_NONNEG(excl);
	lt_snapshot(self->idx, self->fd, &before);

	if (lt_driver_is_ours()) {
		ASSERT_RET(-EBUSY, hd_set_geometry(self->fd, 4096, 0, 0));
		ASSERT_RET(-EBUSY, hd_set_geometry(self->fd, 0, HD_WINDOW, 0));
		ASSERT_RET(-EBUSY, lt_ioctl(self->fd, LOOP_SET_BLOCK_SIZE,
					    4096));
		ASSERT_UNCHANGED(self->idx, self->fd, &before);
	} else {
		ASSERT_OK(hd_set_geometry(self->fd, 4096, 0, 0));
		ASSERT_OK(hd_set_geometry(self->fd, 0, 0, 0));
	}
	/* the same geometry with a new flag is not a geometry change */
	ASSERT_OK(hd_set_geometry(self->fd, 0, 0, LO_FLAGS_AUTOCLEAR));
	/* the exclusive opener itself may */
	ASSERT_OK(hd_set_geometry(excl, 0, HD_WINDOW, 0));
	ASSERT_OK(lt_size64(self->fd, &size));
	ASSERT_EQ(HD_WINDOW, size);
	close(excl);
	/* nobody holds it any more */
	ASSERT_OK(hd_set_geometry(self->fd, 4096, 0, 0));
	ASSERT_OK(lt_size64(self->fd, &size));
	ASSERT_EQ(LT_FILE_SIZE - 4096, size);
}

/*
 * The same file on two devices, one with direct I/O: ours says so in the
 * kernel log once, when the mix arises; stock says nothing until a direct
 * write fails to invalidate the other device's page cache.
 */
TEST_F(loopdev, mixed_modes_on_one_file_reported)
{
	const char *dir = getenv("ALOOP_HARDENING_DIR");
	const char *needle = "backing file also bound to loop";
	int seen = lt_driver_is_ours() ? 1 : 0;
	char file[PATH_MAX], dio[8];
	int b, fb, bfd, before;

	ASSERT_NE(NULL, dir) TH_LOG("ALOOP_HARDENING_DIR is not set");
	ASSERT_OK(lt_make_file_in(dir, file, sizeof(file), 1 << 20));
	bfd = lt_open(file, O_RDWR);
	ASSERT_NONNEG(bfd);
	ASSERT_OK(lt_configure(self->fd, bfd, 0, 0, LO_FLAGS_DIRECT_IO, 0));
	ASSERT_OK(lt_sysfs_read(self->idx, "loop/dio", dio, sizeof(dio)));
	ASSERT_STREQ("1", dio);
	b = lt_get_free();
	ASSERT_NONNEG(b);
	fb = lt_open_dev(b, O_RDWR);
	ASSERT_NONNEG(fb);
	before = lt_kmsg_count(needle);
	ASSERT_NONNEG(before);
	ASSERT_OK(lt_configure(fb, bfd, 0, 0, 0, 0));
	ASSERT_EQ(before + seen, lt_kmsg_count(needle));
	/* both with direct I/O: no mix, nothing new */
	ASSERT_OK(lt_ioctl(fb, LOOP_SET_DIRECT_IO, 1));
	ASSERT_EQ(before + seen, lt_kmsg_count(needle));
}

TEST_HARNESS_MAIN
