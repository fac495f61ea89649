// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/loopN binding ioctls: LOOP_CONFIGURE, LOOP_SET_FD, LOOP_CLR_FD,
 * LOOP_CHANGE_FD, LOOP_SET_CAPACITY, LOOP_SET_BLOCK_SIZE,
 * LOOP_SET_DIRECT_IO and unknown ioctls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <dirent.h>

#include "kselftest_harness.h"
#include "fixture.h"

#define SIZE_STR(b) ({ static char __s[32]; snprintf(__s, sizeof(__s), "%llu", (unsigned long long)(b)); __s; })

static void check_bound_to(struct __test_metadata *_metadata, int idx, int fd,
			   const char *file, uint64_t off, uint64_t limit,
			   uint32_t flags, uint64_t size)
{
	struct loop_info64 info;
	struct stat st;
	uint64_t sz;
	char b[64];

	ASSERT_OK(lt_status64(fd, &info));
	ASSERT_EQ((uint32_t)idx, info.lo_number);
	ASSERT_EQ(off, info.lo_offset);
	ASSERT_EQ(limit, info.lo_sizelimit);
	ASSERT_EQ(flags, info.lo_flags) TH_LOG("lo_flags 0x%x, expected 0x%x", info.lo_flags, flags);
	ASSERT_EQ(0, stat(file, &st));
	ASSERT_EQ((uint64_t)st.st_ino, info.lo_inode);
	ASSERT_EQ((uint64_t)st.st_dev, info.lo_device);
	ASSERT_OK(lt_size64(fd, &sz));
	ASSERT_EQ(size, sz);
	ASSERT_SYSFS_STR(idx, "loop/backing_file", file);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)(size / 512));
	ASSERT_SYSFS_STR(idx, "size", b);
}

TEST_F(loopdev, configure_success)
{
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	check_bound_to(_metadata, self->idx, self->fd, self->file, 0, 0, 0, LT_FILE_SIZE);
	ASSERT_SYSFS_STR(self->idx, "queue/logical_block_size", "512");
	ASSERT_SYSFS_STR(self->idx, "ro", "0");
}

TEST_F(loopdev, configure_offset_sizelimit)
{
	ASSERT_OK(lt_configure(self->fd, self->bfd, 4096, 65536, 0, 0));
	check_bound_to(_metadata, self->idx, self->fd, self->file, 4096, 65536, 0, 65536);
}

TEST_F(loopdev, configure_ebusy_when_bound)
{
	char f2[PATH_MAX];
	struct lt_state before;
	int b2;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_OK(lt_make_file(f2, sizeof(f2), 65536));
	b2 = lt_open(f2, O_RDWR);
	ASSERT_NONNEG(b2);
	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EBUSY, lt_configure(self->fd, b2, 0, 0, 0, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	ASSERT_RET(-EBUSY, lt_configure(self->fd, self->bfd, 512, 0, LO_FLAGS_AUTOCLEAR, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, configure_bad_fd_ebadf)
{
	struct lt_state before;
	int cl;

	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EBADF, lt_configure(self->fd, -1, 0, 0, 0, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	cl = dup(self->bfd);
	ASSERT_LE(0, cl);
	close(cl);
	ASSERT_RET(-EBADF, lt_configure(self->fd, cl, 0, 0, 0, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	ASSERT_UNBOUND(self->idx, self->fd);
}

TEST_F(loopdev, configure_unsettable_flags_einval)
{
	static const uint32_t bad[] = { 2, 32, 64, 0x100, 0x80000000u,
					LO_FLAGS_AUTOCLEAR | 2 };
	struct lt_state before;
	unsigned int i;

	lt_snapshot(self->idx, self->fd, &before);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_RET(-EINVAL, lt_configure(self->fd, self->bfd, 0, 0, bad[i], 0));
		ASSERT_UNCHANGED(self->idx, self->fd, &before);
	}
}

TEST_F(loopdev, configure_directory_einval)
{
	struct lt_state before;
	int d = lt_open(LT_TMPDIR, O_RDONLY | O_DIRECTORY);

	ASSERT_NONNEG(d);
	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EINVAL, lt_configure(self->fd, d, 0, 0, 0, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LOOP_SET_FD, d));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, configure_fifo_einval)
{
	char fifo[PATH_MAX + 16];
	struct lt_state before;
	int f;

	snprintf(fifo, sizeof(fifo), "%s.fifo", self->file);
	ASSERT_EQ(0, mkfifo(fifo, 0600));
	lt_track_file(fifo);
	f = lt_open(fifo, O_RDWR | O_NONBLOCK);
	ASSERT_NONNEG(f);
	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EINVAL, lt_configure(self->fd, f, 0, 0, 0, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

/* First regular debugfs file under @dir that opens read-only, or -ENOENT. */
static int open_debugfs_file(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int fd = -ENOENT;

	if (!d)
		return -ENOENT;
	while (fd < 0 && (e = readdir(d))) {
		char p[PATH_MAX];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (lstat(p, &st))
			continue;
		if (S_ISREG(st.st_mode))
			fd = lt_open(p, O_RDONLY);
		else if (S_ISDIR(st.st_mode) && depth < 3)
			fd = open_debugfs_file(p, depth + 1);
	}
	closedir(d);
	return fd;
}

/*
 * Block I/O goes through ->read_iter: a regular file without it (every
 * debugfs file) is refused with EINVAL, as stock does since 6.11; stock
 * 6.1 bound it and failed every read.
 */
TEST_F(loopdev, configure_without_read_iter_einval)
{
	struct lt_state before;
	int f = open_debugfs_file("/sys/kernel/debug", 0);

	if (f < 0)
		SKIP(return, "no debugfs file in this kernel");
	lt_snapshot(self->idx, self->fd, &before);
	if (!lt_driver_is_ours() && !lt_kernel_at_least(6, 11)) {
		ASSERT_OK(lt_configure(self->fd, f, 0, 0, 0, 0));
		ASSERT_OK(lt_ioctl(self->fd, LOOP_CLR_FD, 0));
		return;
	}
	ASSERT_RET(-EINVAL, lt_configure(self->fd, f, 0, 0, 0, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LOOP_SET_FD, f));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, configure_chardev_einval)
{
	struct lt_state before;
	int f = lt_open("/dev/null", O_RDWR);

	ASSERT_NONNEG(f);
	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EINVAL, lt_configure(self->fd, f, 0, 0, 0, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	f = lt_open("/dev/loop-control", O_RDWR);
	ASSERT_NONNEG(f);
	ASSERT_RET(-EINVAL, lt_configure(self->fd, f, 0, 0, 0, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, configure_block_sizes)
{
	static const uint32_t good[] = { 0, 512, 1024, 2048, 4096 };
	unsigned int i;
	char b[16];

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, good[i]));
		snprintf(b, sizeof(b), "%u", good[i] ? good[i] : 512);
		ASSERT_SYSFS_STR(self->idx, "queue/logical_block_size", b);
		ASSERT_OK(lt_clr_fd_now(self->idx, &self->fd));
		ASSERT_UNBOUND(self->idx, self->fd);
	}
}

TEST_F(loopdev, configure_bad_block_size_einval)
{
	const uint32_t bad[] = { 1, 256, 511, 513, 1000, 3072,
				 2 * lt_max_block_size(),
				 16 * lt_max_block_size() };
	struct lt_state before;
	unsigned int i;

	lt_snapshot(self->idx, self->fd, &before);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_RET(-EINVAL, lt_configure(self->fd, self->bfd, 0, 0, 0, bad[i]));
		ASSERT_UNCHANGED(self->idx, self->fd, &before);
	}
}

TEST_F(loopdev, configure_eoverflow)
{
	struct lt_state before;

	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EOVERFLOW, lt_configure(self->fd, self->bfd,
					    (uint64_t)LLONG_MAX + 1, 0, 0, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	ASSERT_RET(-EOVERFLOW, lt_configure(self->fd, self->bfd, 0, ~0ULL, 0, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	/* LLONG_MAX itself is accepted (device size 0) */
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, LLONG_MAX, 0, 0));
	check_bound_to(_metadata, self->idx, self->fd, self->file, 0, LLONG_MAX, 0, LT_FILE_SIZE);
}

TEST_F(loopdev, configure_encryption_einval)
{
	struct loop_config c;
	struct lt_state before;
	static const uint32_t types[] = { 1 /* XOR */, 18 /* CRYPTOAPI */, 7 };
	unsigned int i;

	lt_snapshot(self->idx, self->fd, &before);
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		memset(&c, 0, sizeof(c));
		c.fd = self->bfd;
		c.info.lo_encrypt_type = types[i];
		EXPECT_RET(-EINVAL, lt_ioctlp(self->fd, LOOP_CONFIGURE, &c));
		ASSERT_UNCHANGED(self->idx, self->fd, &before);
	}
	memset(&c, 0, sizeof(c));
	c.fd = self->bfd;
	c.info.lo_encrypt_key_size = LO_KEY_SIZE + 1;
	ASSERT_RET(-EINVAL, lt_ioctlp(self->fd, LOOP_CONFIGURE, &c));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, configure_self_ebadf)
{
	struct lt_state before;
	int fd2 = lt_open_dev(self->idx, O_RDWR);

	ASSERT_NONNEG(fd2);
	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EBADF, lt_configure(self->fd, self->fd, 0, 0, 0, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	ASSERT_RET(-EBADF, lt_configure(self->fd, fd2, 0, 0, 0, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	ASSERT_RET(-EBADF, lt_ioctl(self->fd, LOOP_SET_FD, fd2));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, configure_on_unbound_loop_einval)
{
	struct lt_state before;
	int other, ofd;

	/* bind ourselves to nothing; take a second free device */
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	other = lt_get_free();
	ASSERT_NONNEG(other);
	ASSERT_NE(self->idx, other);
	ASSERT_OK(lt_clr_fd_now(self->idx, &self->fd));
	ofd = lt_open_dev(other, O_RDWR);
	ASSERT_NONNEG(ofd);
	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EINVAL, lt_configure(self->fd, ofd, 0, 0, 0, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, configure_stacked_on_bound_loop)
{
	char lower_path[64];
	struct loop_info64 info;
	struct stat st;
	uint8_t buf[4096];
	char why[256];
	int lower, lfd, lfd2, top_fd, top;

	/* lower device: self->idx on the file */
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	lower = self->idx;
	lt_dev_path(lower, lower_path, sizeof(lower_path));
	top = lt_get_free();
	ASSERT_NONNEG(top);
	ASSERT_NE(top, lower);
	top_fd = lt_open_dev(top, O_RDWR);
	ASSERT_NONNEG(top_fd);
	lfd = lt_open_dev(lower, O_RDWR);
	ASSERT_NONNEG(lfd);
	ASSERT_OK(lt_configure(top_fd, lfd, 4096, 0, 0, 0));
	ASSERT_OK(lt_status64(top_fd, &info));
	ASSERT_EQ(0, stat(lower_path, &st));
	ASSERT_EQ((uint64_t)st.st_rdev, info.lo_rdevice);
	ASSERT_SYSFS_STR(top, "loop/backing_file", lower_path);
	ASSERT_EQ(4096, pread(top_fd, buf, sizeof(buf), 0));
	ASSERT_EQ(0, lt_check_pattern(buf, sizeof(buf), 4096, why, sizeof(why)))
		TH_LOG("%s", why);
	/* the lower device cannot be used as backing of itself through top */
	lfd2 = lt_open_dev(top, O_RDWR);
	ASSERT_NONNEG(lfd2);
	ASSERT_RET(-EBUSY, lt_configure(self->fd, lfd2, 0, 0, 0, 0));
	ASSERT_OK(lt_ioctl(top_fd, LOOP_CLR_FD, 0));
}

TEST_F(loopdev, configure_efault)
{
	struct lt_state before;

	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EFAULT, lt_ioctl(self->fd, LOOP_CONFIGURE, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	ASSERT_RET(-EFAULT, lt_ioctl(self->fd, LOOP_CONFIGURE, 8));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, configure_readonly_file)
{
	int ro = lt_open(self->file, O_RDONLY);
	int v = -1;

	ASSERT_NONNEG(ro);
	ASSERT_OK(lt_configure(self->fd, ro, 0, 0, 0, 0));
	check_bound_to(_metadata, self->idx, self->fd, self->file, 0, 0,
		       LO_FLAGS_READ_ONLY, LT_FILE_SIZE);
	ASSERT_OK(lt_ioctlp(self->fd, BLKROGET, &v));
	ASSERT_EQ(1, v);
	ASSERT_SYSFS_STR(self->idx, "ro", "1");
}

TEST_F(loopdev, configure_readonly_flag)
{
	int v = -1;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_READ_ONLY, 0));
	check_bound_to(_metadata, self->idx, self->fd, self->file, 0, 0,
		       LO_FLAGS_READ_ONLY, LT_FILE_SIZE);
	ASSERT_OK(lt_ioctlp(self->fd, BLKROGET, &v));
	ASSERT_EQ(1, v);
}

TEST_F(loopdev, configure_via_readonly_open_device)
{
	int rofd = lt_open_dev(self->idx, O_RDONLY);

	ASSERT_NONNEG(rofd);
	ASSERT_OK(lt_configure(rofd, self->bfd, 0, 0, 0, 0));
	check_bound_to(_metadata, self->idx, self->fd, self->file, 0, 0,
		       LO_FLAGS_READ_ONLY, LT_FILE_SIZE);
}

TEST_F(loopdev, configure_all_settable_flags)
{
	struct loop_info64 info;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0,
			       LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN, 0));
	ASSERT_OK(lt_status64(self->fd, &info));
	ASSERT_EQ((uint32_t)(LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN),
		  info.lo_flags);
	ASSERT_SYSFS_STR(self->idx, "loop/autoclear", "1");
	ASSERT_SYSFS_STR(self->idx, "loop/partscan", "1");
}

/*
 * DIRECT_IO on a backing file without O_DIRECT support (tmpfs before 6.6):
 * stock accepts the flag and falls back to buffered I/O, clearing it.
 * From 6.6 tmpfs does direct I/O and the flag stays.
 */
TEST_F(loopdev, configure_dio_on_tmpfs_falls_back)
{
	bool dio = lt_tmpfs_has_dio();
	struct loop_info64 info;
	uint8_t buf[512];
	char why[256];

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_DIRECT_IO, 0));
	ASSERT_OK(lt_status64(self->fd, &info));
	ASSERT_EQ(dio ? LO_FLAGS_DIRECT_IO : 0u, info.lo_flags & LO_FLAGS_DIRECT_IO);
	ASSERT_SYSFS_STR(self->idx, "loop/dio", dio ? "1" : "0");
	ASSERT_EQ(512, pread(self->fd, buf, sizeof(buf), 512));
	ASSERT_EQ(0, lt_check_pattern(buf, sizeof(buf), 512, why, sizeof(why))) TH_LOG("%s", why);
}

TEST_F(loopdev, configure_file_name)
{
	struct loop_config c;
	struct loop_info64 info;

	memset(&c, 0, sizeof(c));
	c.fd = self->bfd;
	strcpy((char *)c.info.lo_file_name, "asyncloop-name");
	ASSERT_OK(lt_ioctlp(self->fd, LOOP_CONFIGURE, &c));
	ASSERT_OK(lt_status64(self->fd, &info));
	ASSERT_STREQ("asyncloop-name", (char *)info.lo_file_name);
	/* the sysfs attribute shows the real path, not lo_file_name */
	ASSERT_SYSFS_STR(self->idx, "loop/backing_file", self->file);
	/* a name without NUL is truncated to 63 bytes */
	ASSERT_OK(lt_clr_fd_now(self->idx, &self->fd));
	memset(c.info.lo_file_name, 'x', LO_NAME_SIZE);
	ASSERT_OK(lt_ioctlp(self->fd, LOOP_CONFIGURE, &c));
	ASSERT_OK(lt_status64(self->fd, &info));
	ASSERT_EQ(LO_NAME_SIZE - 1, (int)strnlen((char *)info.lo_file_name, LO_NAME_SIZE));
}

/* ---- LOOP_SET_FD ---- */

TEST_F(loopdev, set_fd_success)
{
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_FD, self->bfd));
	check_bound_to(_metadata, self->idx, self->fd, self->file, 0, 0, 0, LT_FILE_SIZE);
}

TEST_F(loopdev, set_fd_ebusy_when_bound)
{
	char f2[PATH_MAX];
	struct lt_state before;
	int b2;

	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_FD, self->bfd));
	ASSERT_OK(lt_make_file(f2, sizeof(f2), 65536));
	b2 = lt_open(f2, O_RDWR);
	ASSERT_NONNEG(b2);
	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EBUSY, lt_ioctl(self->fd, LOOP_SET_FD, b2));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, set_fd_ebadf)
{
	struct lt_state before;

	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EBADF, lt_ioctl(self->fd, LOOP_SET_FD, (unsigned long)-1));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	ASSERT_RET(-EBADF, lt_ioctl(self->fd, LOOP_SET_FD, 1000));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, set_fd_readonly_file)
{
	int ro = lt_open(self->file, O_RDONLY);

	ASSERT_NONNEG(ro);
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_FD, ro));
	check_bound_to(_metadata, self->idx, self->fd, self->file, 0, 0,
		       LO_FLAGS_READ_ONLY, LT_FILE_SIZE);
}

/* ---- LOOP_CLR_FD ---- */

TEST_F(loopdev, clr_fd_unbound_enxio)
{
	struct lt_state before;

	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-ENXIO, lt_ioctl(self->fd, LOOP_CLR_FD, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, clr_fd_sole_opener_immediate)
{
	char b[32];

	ASSERT_OK(lt_configure(self->fd, self->bfd, 4096, 0, 0, 0));
	ASSERT_BOUND(self->idx, self->fd);
	ASSERT_OK(lt_ioctl(self->fd, LOOP_CLR_FD, 0));
	if (lt_clr_fd_is_lazy()) {
		struct loop_info64 i;

		/*
		 * Stock 6.11+: in rundown until this fd closes; the fd answers
		 * ENXIO, and EBUSY to a new bind (LTP's ioctl_loop tests had
		 * to adapt).  Ours keeps the synchronous detach.
		 */
		ASSERT_RET(-ENXIO, lt_status64(self->fd, &i));
		ASSERT_RET(-EBUSY, lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
		return;
	}
	ASSERT_UNBOUND(self->idx, self->fd);
	ASSERT_OK(lt_sysfs_read(self->idx, "size", b, sizeof(b)));
	ASSERT_STREQ("0", b);
	ASSERT_RET(-ENXIO, lt_ioctl(self->fd, LOOP_CLR_FD, 0));
	/* the same fd can bind again at once */
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_BOUND(self->idx, self->fd);
}

TEST_F(loopdev, clr_fd_lazy_with_second_opener)
{
	struct loop_info64 info;
	int fd2 = lt_open_dev(self->idx, O_RDONLY);
	int fd3;

	ASSERT_NONNEG(fd2);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_SYSFS_STR(self->idx, "loop/autoclear", "0");
	ASSERT_OK(lt_ioctl(self->fd, LOOP_CLR_FD, 0));
	/* still bound, AUTOCLEAR set */
	ASSERT_OK(lt_status64(self->fd, &info));
	ASSERT_EQ((uint32_t)LO_FLAGS_AUTOCLEAR, info.lo_flags);
	ASSERT_SYSFS_STR(self->idx, "loop/autoclear", "1");
	ASSERT_OK(lt_status64(fd2, &info));
	/* the first close leaves it bound */
	ASSERT_EQ(0, close(self->fd));
	ASSERT_TRUE(lt_is_bound(self->idx));
	ASSERT_OK(lt_status64(fd2, &info));
	/* the last close detaches it, before close() returns */
	ASSERT_EQ(0, close(fd2));
	ASSERT_FALSE(lt_is_bound(self->idx)) TH_LOG("still bound after last close");
	fd3 = lt_open_dev(self->idx, O_RDWR);
	ASSERT_NONNEG(fd3);
	ASSERT_UNBOUND(self->idx, fd3);
}

/* ---- LOOP_CHANGE_FD ---- */

TEST_F(loopdev, change_fd_unbound_enxio)
{
	struct lt_state before;

	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-ENXIO, lt_ioctl(self->fd, LOOP_CHANGE_FD, self->bfd));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, change_fd_rw_device_einval)
{
	char f2[PATH_MAX];
	struct lt_state before;
	int b2;

	ASSERT_OK(lt_make_file(f2, sizeof(f2), LT_FILE_SIZE));
	b2 = lt_open(f2, O_RDWR);
	ASSERT_NONNEG(b2);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LOOP_CHANGE_FD, b2));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	ASSERT_RET(-EBADF, lt_ioctl(self->fd, LOOP_CHANGE_FD, 1000));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, change_fd_readonly)
{
	char f2[PATH_MAX], f3[PATH_MAX];
	struct lt_state before;
	uint8_t buf[512];
	int b2, b3;

	ASSERT_OK(lt_make_file(f2, sizeof(f2), LT_FILE_SIZE));
	ASSERT_OK(lt_make_file(f3, sizeof(f3), LT_FILE_SIZE / 2));
	b2 = lt_open(f2, O_RDONLY);
	b3 = lt_open(f3, O_RDONLY);
	ASSERT_NONNEG(b2);
	ASSERT_NONNEG(b3);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_READ_ONLY, 0));
	lt_snapshot(self->idx, self->fd, &before);
	/* different size */
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LOOP_CHANGE_FD, b3));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	/* not a regular file */
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LOOP_CHANGE_FD, lt_open("/dev/null", O_RDONLY)));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	/* itself */
	ASSERT_RET(-EBADF, lt_ioctl(self->fd, LOOP_CHANGE_FD, self->fd));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	/* same size: switches */
	ASSERT_EQ(0, pwrite(b2 >= 0 ? lt_open(f2, O_RDWR) : -1, "NEWFILE!", 8, 0) == 8 ? 0 : -1);
	ASSERT_OK(lt_ioctl(self->fd, LOOP_CHANGE_FD, b2));
	check_bound_to(_metadata, self->idx, self->fd, f2, 0, 0,
		       LO_FLAGS_READ_ONLY, LT_FILE_SIZE);
	ASSERT_OK(lt_ioctl(self->fd, BLKFLSBUF, 0));
	ASSERT_EQ(512, pread(self->fd, buf, sizeof(buf), 0));
	ASSERT_EQ(0, memcmp(buf, "NEWFILE!", 8));
}

/* ---- LOOP_SET_CAPACITY ---- */

TEST_F(loopdev, set_capacity)
{
	struct lt_state before;
	uint64_t sz;

	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-ENXIO, lt_ioctl(self->fd, LOOP_SET_CAPACITY, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_EQ(0, ftruncate(self->bfd, 2 * LT_FILE_SIZE + 100));
	ASSERT_OK(lt_size64(self->fd, &sz));
	ASSERT_EQ((uint64_t)LT_FILE_SIZE, sz);
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_CAPACITY, 0));
	ASSERT_OK(lt_size64(self->fd, &sz));
	ASSERT_EQ((uint64_t)2 * LT_FILE_SIZE, sz);
	ASSERT_SYSFS_STR(self->idx, "size", SIZE_STR(2 * LT_FILE_SIZE / 512));
}

/* ---- LOOP_SET_BLOCK_SIZE ---- */

TEST_F(loopdev, set_block_size)
{
	struct lt_state before;

	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-ENXIO, lt_ioctl(self->fd, LOOP_SET_BLOCK_SIZE, 4096));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LOOP_SET_BLOCK_SIZE, 513));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LOOP_SET_BLOCK_SIZE,
				     2 * lt_max_block_size()));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_BLOCK_SIZE, 4096));
	ASSERT_SYSFS_STR(self->idx, "queue/logical_block_size", "4096");
	ASSERT_SYSFS_STR(self->idx, "queue/physical_block_size", "4096");
}

/* ---- LOOP_SET_DIRECT_IO ---- */

TEST_F(loopdev, set_direct_io)
{
	struct lt_state before;

	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-ENXIO, lt_ioctl(self->fd, LOOP_SET_DIRECT_IO, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_DIRECT_IO, 0));
	lt_snapshot(self->idx, self->fd, &before);
	if (lt_tmpfs_has_dio()) {
		/* 6.6+: tmpfs does direct I/O */
		ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_DIRECT_IO, 1));
		ASSERT_SYSFS_STR(self->idx, "loop/dio", "1");
		ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_DIRECT_IO, 0));
		ASSERT_SYSFS_STR(self->idx, "loop/dio", "0");
		return;
	}
	/* tmpfs before 6.6 has no O_DIRECT: refused */
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LOOP_SET_DIRECT_IO, 1));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

/* ---- unknown ioctls ---- */

TEST_F(loopdev, unknown_ioctl_einval)
{
	struct lt_state before;

	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LT_UNKNOWN_LOOP_IOCTL, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LT_UNKNOWN_LOOP_IOCTL, 0));
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LOOP_CTL_GET_FREE, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_HARNESS_MAIN
