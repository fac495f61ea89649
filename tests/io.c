// SPDX-License-Identifier: GPL-2.0
/* Data path: device <-> backing file mapping, sizes, read-only, flush, O_DIRECT. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "fixture.h"

static void *aligned(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len))
		return NULL;
	return p;
}

TEST_F(loopdev, read_maps_to_file_offset)
{
	uint8_t *buf = malloc(LT_FILE_SIZE);
	char why[256];

	ASSERT_NE(NULL, buf);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 12288, 0, 0, 0));
	ASSERT_EQ(LT_FILE_SIZE - 12288, pread(self->fd, buf, LT_FILE_SIZE, 0));
	ASSERT_EQ(0, lt_check_pattern(buf, LT_FILE_SIZE - 12288, 12288, why, sizeof(why)))
		TH_LOG("%s", why);
}

TEST_F(loopdev, write_device_lands_in_file)
{
	uint8_t w[8192], r[8192];
	char why[256];
	size_t i;

	for (i = 0; i < sizeof(w); i++)
		w[i] = (uint8_t)(i * 13 + 5);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 4096, 65536, 0, 0));
	ASSERT_EQ((ssize_t)sizeof(w), pwrite(self->fd, w, sizeof(w), 16384));
	ASSERT_EQ(0, fsync(self->fd));
	ASSERT_EQ((ssize_t)sizeof(r), pread(self->bfd, r, sizeof(r), 4096 + 16384));
	ASSERT_EQ(0, memcmp(w, r, sizeof(w)));
	/* neighbours untouched */
	ASSERT_EQ(4096, pread(self->bfd, r, 4096, 4096 + 16384 - 4096));
	ASSERT_EQ(0, lt_check_pattern(r, 4096, 4096 + 16384 - 4096, why, sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ(4096, pread(self->bfd, r, 4096, 4096 + 16384 + 8192));
	ASSERT_EQ(0, lt_check_pattern(r, 4096, 4096 + 16384 + 8192, why, sizeof(why))) TH_LOG("%s", why);
}

TEST_F(loopdev, write_file_visible_on_device)
{
	uint8_t w[4096];
	uint8_t *r = aligned(4096);
	int dfd;

	ASSERT_NE(NULL, r);
	memset(w, 0x3c, sizeof(w));
	ASSERT_OK(lt_configure(self->fd, self->bfd, 8192, 0, 0, 0));
	ASSERT_EQ(4096, pwrite(self->bfd, w, sizeof(w), 8192 + 65536));
	ASSERT_EQ(4096, pread(self->fd, r, 4096, 65536));
	ASSERT_EQ(0, memcmp(w, r, 4096));
	dfd = lt_open_dev(self->idx, O_RDONLY | O_DIRECT);
	ASSERT_NONNEG(dfd);
	memset(r, 0, 4096);
	ASSERT_EQ(4096, pread(dfd, r, 4096, 65536));
	ASSERT_EQ(0, memcmp(w, r, 4096));
}

TEST_F(loopdev, size_is_min_of_file_minus_offset_and_sizelimit)
{
	static const struct { uint64_t off, limit, size; } c[] = {
		{ 0, 0, LT_FILE_SIZE },
		{ 4096, 0, LT_FILE_SIZE - 4096 },
		{ 4096, 65536, 65536 },
		{ 0, 2 * LT_FILE_SIZE, LT_FILE_SIZE },
		{ 1000, 0, (LT_FILE_SIZE - 1000) & ~511ULL },
		{ 0, 1000, 512 },
		{ 0, 100, 0 },
		{ LT_FILE_SIZE, 0, 0 },
		{ 2 * LT_FILE_SIZE, 0, 0 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		TH_LOG("offset %llu sizelimit %llu", (unsigned long long)c[i].off,
		       (unsigned long long)c[i].limit);
		ASSERT_OK(lt_configure(self->fd, self->bfd, c[i].off, c[i].limit, 0, 0));
		check_size(_metadata, self->idx, self->fd, c[i].size);
		ASSERT_OK(lt_clr_fd_now(self->idx, &self->fd));
	}
}

TEST_F(loopdev, unaligned_offset_io)
{
	uint8_t buf[1024], w[512];
	char why[256];

	ASSERT_OK(lt_configure(self->fd, self->bfd, 1000, 0, 0, 0));
	ASSERT_EQ(1024, pread(self->fd, buf, sizeof(buf), 512));
	ASSERT_EQ(0, lt_check_pattern(buf, sizeof(buf), 1512, why, sizeof(why))) TH_LOG("%s", why);
	memset(w, 0xe7, sizeof(w));
	ASSERT_EQ(512, pwrite(self->fd, w, sizeof(w), 0));
	ASSERT_EQ(0, fsync(self->fd));
	ASSERT_EQ(512, pread(self->bfd, buf, 512, 1000));
	ASSERT_EQ(0, memcmp(w, buf, 512));
	ASSERT_EQ(1000, pread(self->bfd, buf, 1000, 0));
	ASSERT_EQ(0, lt_check_pattern(buf, 1000, 0, why, sizeof(why))) TH_LOG("%s", why);
}

TEST_F(loopdev, io_beyond_end)
{
	uint8_t buf[512];
	char why[256];

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 65536, 0, 0));
	ASSERT_EQ(0, pread(self->fd, buf, sizeof(buf), 65536));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(-1, pwrite(self->fd, buf, sizeof(buf), 65536));
	ASSERT_EQ(ENOSPC, errno) TH_LOG("write at end: %s", strerrorname_np(errno));
	ASSERT_EQ(0, fsync(self->fd));
	ASSERT_EQ(512, pread(self->bfd, buf, sizeof(buf), 65536));
	ASSERT_EQ(0, lt_check_pattern(buf, sizeof(buf), 65536, why, sizeof(why))) TH_LOG("%s", why);
}

TEST_F(loopdev, file_size_not_multiple_of_512)
{
	uint8_t buf[512];
	char why[256];

	ASSERT_EQ(0, ftruncate(self->bfd, 65536 + 300));
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	check_size(_metadata, self->idx, self->fd, 65536);
	ASSERT_EQ(512, pread(self->fd, buf, sizeof(buf), 65536 - 512));
	ASSERT_EQ(0, lt_check_pattern(buf, sizeof(buf), 65536 - 512, why, sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ(0, pread(self->fd, buf, sizeof(buf), 65536));
}

/* The file shrinks under the device: reads past its EOF are zero-filled. */
TEST_F(loopdev, shrunk_file_reads_zero_filled)
{
	uint8_t *buf = aligned(8192);
	char why[256];
	int dfd, i;

	ASSERT_NE(NULL, buf);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_EQ(0, ftruncate(self->bfd, 10000));
	check_size(_metadata, self->idx, self->fd, LT_FILE_SIZE);
	dfd = lt_open_dev(self->idx, O_RDONLY | O_DIRECT);
	ASSERT_NONNEG(dfd);
	/*
	 * 8192..16383 straddles EOF: the part past EOF reads as zeros.  The
	 * part before EOF is data on a driver that zero-fills only the tail;
	 * stock 6.1 (lo_read_simple) zero-fills the whole request on a short
	 * read, so either all-data or all-zero is accepted for that prefix.
	 */
	memset(buf, 0xff, 8192);
	ASSERT_EQ(8192, pread(dfd, buf, 8192, 8192));
	if (lt_check_pattern(buf, 10000 - 8192, 8192, why, sizeof(why))) {
		for (i = 0; i < 10000 - 8192; i++)
			ASSERT_EQ(0, buf[i]) TH_LOG("prefix before EOF neither data nor zero-filled: %s", why);
	}
	for (i = 10000 - 8192; i < 8192 && !buf[i]; i++)
		;
	if (!lt_driver_is_ours() && lt_kernel_at_least(6, 11)) {
		/*
		 * Stock 6.12 (measured): the bytes past EOF of this request
		 * are not zero-filled (docs/compat.md, difference a).
		 */
		TH_LOG("stock: first non-zero byte past EOF at %d", 8192 + i);
		return;
	}
	ASSERT_EQ(8192, i) TH_LOG("byte %d not zero-filled", 8192 + i);
	/* entirely past EOF */
	memset(buf, 0xff, 8192);
	ASSERT_EQ(8192, pread(dfd, buf, 8192, 65536));
	for (i = 0; i < 8192; i++)
		ASSERT_EQ(0, buf[i]) TH_LOG("byte %d not zero", 65536 + i);
	/* buffered path too (page cache never populated for this range) */
	memset(buf, 0xff, 4096);
	ASSERT_EQ(4096, pread(self->fd, buf, 4096, 131072));
	for (i = 0; i < 4096; i++)
		ASSERT_EQ(0, buf[i]);
}

static void check_ro_write(struct __test_metadata *_metadata, int idx, int backfd)
{
	uint8_t buf[512];
	char why[256];
	int v = -1, fd;

	fd = lt_open_dev(idx, O_RDWR);
	ASSERT_NONNEG(fd);
	ASSERT_OK(lt_ioctlp(fd, BLKROGET, &v));
	ASSERT_EQ(1, v);
	memset(buf, 0x11, sizeof(buf));
	ASSERT_EQ(-1, pwrite(fd, buf, sizeof(buf), 0));
	ASSERT_EQ(EPERM, errno) TH_LOG("write to read-only device: %s", strerrorname_np(errno));
	close(fd);
	ASSERT_EQ(512, pread(backfd, buf, sizeof(buf), 0));
	ASSERT_EQ(0, lt_check_pattern(buf, sizeof(buf), 0, why, sizeof(why))) TH_LOG("%s", why);
}

TEST_F(loopdev, readonly_file_write_eperm)
{
	int ro = lt_open(self->file, O_RDONLY);

	ASSERT_NONNEG(ro);
	ASSERT_OK(lt_configure(self->fd, ro, 0, 0, 0, 0));
	check_ro_write(_metadata, self->idx, self->bfd);
}

TEST_F(loopdev, readonly_flag_write_eperm)
{
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_READ_ONLY, 0));
	check_ro_write(_metadata, self->idx, self->bfd);
}

TEST_F(loopdev, fsync_and_fdatasync)
{
	uint8_t w[4096], r[4096];

	memset(w, 0x42, sizeof(w));
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_EQ(4096, pwrite(self->fd, w, sizeof(w), 0));
	ASSERT_EQ(0, fsync(self->fd)) TH_LOG("fsync: %s", strerrorname_np(errno));
	ASSERT_EQ(4096, pread(self->bfd, r, sizeof(r), 0));
	ASSERT_EQ(0, memcmp(w, r, sizeof(w)));
	ASSERT_EQ(4096, pwrite(self->fd, w, sizeof(w), 4096));
	ASSERT_EQ(0, fdatasync(self->fd)) TH_LOG("fdatasync: %s", strerrorname_np(errno));
	ASSERT_EQ(4096, pread(self->bfd, r, sizeof(r), 4096));
	ASSERT_EQ(0, memcmp(w, r, sizeof(w)));
	ASSERT_OK(lt_ioctl(self->fd, BLKFLSBUF, 0));
}

TEST_F(loopdev, odirect_io)
{
	uint8_t *w = aligned(65536), *r = aligned(65536);
	int dfd, i;

	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, r);
	for (i = 0; i < 65536; i++)
		w[i] = (uint8_t)(i * 7 + 3);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 4096, 0, 0, 0));
	dfd = lt_open_dev(self->idx, O_RDWR | O_DIRECT);
	ASSERT_NONNEG(dfd);
	ASSERT_EQ(65536, pwrite(dfd, w, 65536, 131072));
	memset(r, 0, 65536);
	ASSERT_EQ(65536, pread(dfd, r, 65536, 131072));
	ASSERT_EQ(0, memcmp(w, r, 65536));
	/* it reached the file without any flush */
	memset(r, 0, 65536);
	ASSERT_EQ(65536, pread(self->bfd, r, 65536, 4096 + 131072));
	ASSERT_EQ(0, memcmp(w, r, 65536));
	/* 512-byte granularity works with the default block size */
	ASSERT_EQ(512, pread(dfd, r, 512, 512));
}

TEST_F(loopdev, discard_punches_hole)
{
	uint64_t range[2] = { 65536, 65536 };
	uint8_t buf[65536];
	char why[256];
	int i;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_OK(lt_ioctlp(self->fd, BLKDISCARD, range));
	ASSERT_EQ(65536, pread(self->bfd, buf, sizeof(buf), 65536));
	for (i = 0; i < 65536; i++)
		ASSERT_EQ(0, buf[i]) TH_LOG("file byte %d not zero after discard", 65536 + i);
	ASSERT_EQ(65536, pread(self->fd, buf, sizeof(buf), 65536));
	for (i = 0; i < 65536; i++)
		ASSERT_EQ(0, buf[i]) TH_LOG("device byte %d not zero after discard", 65536 + i);
	ASSERT_EQ(4096, pread(self->bfd, buf, 4096, 131072));
	ASSERT_EQ(0, lt_check_pattern(buf, 4096, 131072, why, sizeof(why))) TH_LOG("%s", why);
}

TEST_F(loopdev, zeroout)
{
	uint64_t range[2] = { 8192, 8192 };
	uint8_t buf[8192];
	int i;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_OK(lt_ioctlp(self->fd, BLKZEROOUT, range));
	ASSERT_EQ(0, fsync(self->fd));
	ASSERT_EQ(8192, pread(self->bfd, buf, sizeof(buf), 8192));
	for (i = 0; i < 8192; i++)
		ASSERT_EQ(0, buf[i]) TH_LOG("file byte %d not zero", 8192 + i);
}

TEST_F(loopdev, large_write_roundtrip)
{
	uint8_t *w = malloc(LT_FILE_SIZE), *r = malloc(LT_FILE_SIZE);
	int i;

	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, r);
	srandom(42);
	for (i = 0; i < LT_FILE_SIZE; i++)
		w[i] = (uint8_t)random();
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_EQ(LT_FILE_SIZE, pwrite(self->fd, w, LT_FILE_SIZE, 0));
	ASSERT_EQ(0, fsync(self->fd));
	ASSERT_EQ(LT_FILE_SIZE, pread(self->bfd, r, LT_FILE_SIZE, 0));
	ASSERT_EQ(0, memcmp(w, r, LT_FILE_SIZE));
	ASSERT_OK(lt_ioctl(self->fd, BLKFLSBUF, 0));
	memset(r, 0, LT_FILE_SIZE);
	ASSERT_EQ(LT_FILE_SIZE, pread(self->fd, r, LT_FILE_SIZE, 0));
	ASSERT_EQ(0, memcmp(w, r, LT_FILE_SIZE));
}

TEST_HARNESS_MAIN
