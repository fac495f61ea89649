// SPDX-License-Identifier: GPL-2.0
/*
 * Backing-file behaviours on tmpfs: BLKZEROOUT zeroes although tmpfs has no
 * FALLOC_FL_ZERO_RANGE (the block layer falls back to writing zeroes),
 * BLKDISCARD punches holes, and the errno of a failed write to a full
 * backing filesystem.
 * Deliberate differences (docs/compat.md): after the first EOPNOTSUPP ours
 * stops advertising write-zeroes (queue/write_zeroes_max_bytes 0) and logs
 * nothing; a buffered write that fails with ENOSPC reaches the submitter
 * as ENOSPC with ours, EIO with stock (which maps every error to EIO).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "fixture.h"

static void check_zero(struct __test_metadata *_metadata, int fd, off_t off, size_t len)
{
	static uint8_t buf[1 << 16];
	size_t i;

	ASSERT_GE(sizeof(buf), len);
	ASSERT_EQ((ssize_t)len, pread(fd, buf, len, off));
	for (i = 0; i < len; i++)
		ASSERT_EQ(0, buf[i]) TH_LOG("byte %zu at %lld not zero", i, (long long)off);
}

static void check_pat(struct __test_metadata *_metadata, int fd, off_t off, size_t len)
{
	static uint8_t buf[1 << 16];
	char why[256];

	ASSERT_EQ((ssize_t)len, pread(fd, buf, len, off));
	ASSERT_EQ(0, lt_check_pattern(buf, len, off, why, sizeof(why))) TH_LOG("%s", why);
}

TEST_F(loopdev, zeroout_on_tmpfs_zeroes)
{
	unsigned long long wz0 = 0, wz1 = 0;
	uint64_t r1[2] = { 65536, 65536 }, r2[2] = { 262144, 65536 };

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	lt_sysfs_u64(self->idx, "queue/write_zeroes_max_bytes", &wz0);
	ASSERT_OK(lt_ioctlp(self->fd, BLKZEROOUT, r1));
	lt_sysfs_u64(self->idx, "queue/write_zeroes_max_bytes", &wz1);
	TH_LOG("write_zeroes_max_bytes: %llu before, %llu after the first BLKZEROOUT", wz0, wz1);
	ASSERT_OK(lt_ioctlp(self->fd, BLKZEROOUT, r2));
	ASSERT_EQ(0, fsync(self->fd));
	check_zero(_metadata, self->fd, 65536, 65536);
	check_zero(_metadata, self->fd, 262144, 65536);
	check_zero(_metadata, self->bfd, 65536, 65536);
	check_zero(_metadata, self->bfd, 262144, 65536);
	check_pat(_metadata, self->bfd, 0, 65536);
	check_pat(_metadata, self->bfd, 131072, 65536);
	check_pat(_metadata, self->bfd, 327680, 65536);
	if (lt_driver_is_ours())
		ASSERT_EQ(0ull, wz1) TH_LOG("ours stops advertising write-zeroes on tmpfs");
}

TEST_F(loopdev, discard_on_tmpfs_punches)
{
	uint64_t r[2] = { 131072, 131072 };
	struct stat a, b;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_EQ(0, fstat(self->bfd, &a));
	ASSERT_OK(lt_ioctlp(self->fd, BLKDISCARD, r));
	ASSERT_EQ(0, fstat(self->bfd, &b));
	TH_LOG("backing st_blocks %lld -> %lld", (long long)a.st_blocks, (long long)b.st_blocks);
	ASSERT_EQ(a.st_blocks - 256, b.st_blocks);
	ASSERT_EQ(a.st_size, b.st_size);
	check_zero(_metadata, self->bfd, 131072, 65536);
	check_zero(_metadata, self->bfd, 196608, 65536);
	check_zero(_metadata, self->fd, 131072, 65536);
	check_pat(_metadata, self->bfd, 65536, 65536);
	check_pat(_metadata, self->bfd, 262144, 65536);
}

TEST_F(loopdev, write_to_full_backing_fs)
{
	char dir[] = LT_TMPDIR "/asyncloop-small-XXXXXX", path[PATH_MAX];
	void *buf;
	int bfd, dfd, err = 0;
	off_t off;

	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, mount("tmpfs", dir, "tmpfs", 0, "size=256k"));
	lt_track_mount(dir);
	snprintf(path, sizeof(path), "%s/img", dir);
	bfd = lt_open(path, O_RDWR | O_CREAT);
	ASSERT_NONNEG(bfd);
	ASSERT_EQ(0, ftruncate(bfd, 1 << 20));
	ASSERT_OK(lt_configure(self->fd, bfd, 0, 0, 0, 0));
	dfd = lt_open_dev(self->idx, O_RDWR | O_DIRECT);
	ASSERT_NONNEG(dfd);
	ASSERT_EQ(0, posix_memalign(&buf, 4096, 4096));
	memset(buf, 0x5a, 4096);
	for (off = 0; off < (1 << 20); off += 4096) {
		if (pwrite(dfd, buf, 4096, off) != 4096) {
			err = errno;
			break;
		}
	}
	free(buf);
	TH_LOG("first failing 4 KiB O_DIRECT write at %lld: %s", (long long)off,
	       err ? strerrorname_np(err) : "none");
	ASSERT_NE(0, err);
	ASSERT_LE(off, 256 << 10);
	if (lt_driver_is_ours() || lt_kernel_at_least(6, 12)) {
		ASSERT_EQ(ENOSPC, err);	/* passed through (stock 6.12 too) */
	} else {
		ASSERT_EQ(EIO, err);	/* stock 6.1 maps every error to EIO */
	}
	close(dfd);
	ASSERT_OK(lt_ioctl(self->fd, LOOP_CLR_FD, 0));
	close(bfd);
}

TEST_HARNESS_MAIN
