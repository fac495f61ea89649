// SPDX-License-Identifier: GPL-2.0
/*
 * 32-bit compat ioctls (built with -m32, run on the 64-bit kernel through
 * IA32_EMULATION): LOOP_SET_STATUS/LOOP_GET_STATUS with the 32-bit struct
 * loop_info layout (compat_loop_info: int offset, u16 dev_t, 32-bit inode),
 * and the compat_ptr() pass-through of LOOP_CONFIGURE, SET/GET_STATUS64,
 * SET_FD, CHANGE_FD, SET_CAPACITY, SET_BLOCK_SIZE, SET_DIRECT_IO, CLR_FD and
 * the loop-control ioctls.
 *
 * Deliberate difference (docs/compat.md): stock 6.1's compat LOOP_SET_STATUS
 * skips the FMODE_WRITE/CAP_SYS_ADMIN check that the native ioctl makes;
 * ours checks it (EPERM), the test expects 0 on stock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "fixture.h"

static int old_status(int fd, struct loop_info *i)
{
	memset(i, 0, sizeof(*i));
	return (int)lt_ioctlp(fd, LOOP_GET_STATUS, i);
}

TEST(is_32bit)
{
	ASSERT_EQ(4u, sizeof(long));
	ASSERT_EQ(4u, sizeof(void *));
	/* the i386 struct loop_info is the kernel's compat_loop_info */
	ASSERT_EQ(2u, sizeof(((struct loop_info *)0)->lo_device));
	ASSERT_EQ(4u, sizeof(((struct loop_info *)0)->lo_inode));
	ASSERT_EQ(4u, sizeof(((struct loop_info *)0)->lo_offset));
	ASSERT_EQ(140u, sizeof(struct loop_info));
	ASSERT_EQ(232u, sizeof(struct loop_info64));
	ASSERT_EQ(304u, sizeof(struct loop_config));
}

TEST_F(loopdev, configure_and_status64)
{
	struct loop_info64 info;
	uint64_t sz;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 4096, 65536, LO_FLAGS_AUTOCLEAR, 0));
	ASSERT_OK(lt_status64(self->fd, &info));
	ASSERT_EQ(4096u, info.lo_offset);
	ASSERT_EQ(65536u, info.lo_sizelimit);
	ASSERT_EQ((uint32_t)LO_FLAGS_AUTOCLEAR, info.lo_flags);
	ASSERT_EQ((uint32_t)self->idx, info.lo_number);
	ASSERT_OK(lt_size64(self->fd, &sz));
	ASSERT_EQ(65536u, sz);
	ASSERT_SYSFS_STR(self->idx, "loop/offset", "4096");
	ASSERT_SYSFS_STR(self->idx, "loop/backing_file", self->file);
	/* SET_STATUS64 through compat_ptr */
	info.lo_offset = 8192;
	info.lo_sizelimit = 0;
	info.lo_flags = 0;
	strcpy((char *)info.lo_file_name, "compat-name");
	ASSERT_OK(lt_set_status64(self->fd, &info));
	ASSERT_OK(lt_status64(self->fd, &info));
	ASSERT_EQ(8192u, info.lo_offset);
	ASSERT_EQ(0u, info.lo_flags);
	ASSERT_STREQ("compat-name", (char *)info.lo_file_name);
	ASSERT_OK(lt_size64(self->fd, &sz));
	ASSERT_EQ((uint64_t)LT_FILE_SIZE - 8192, sz);
	ASSERT_SYSFS_STR(self->idx, "loop/autoclear", "0");
}

TEST_F(loopdev, old_get_status_layout)
{
	struct loop_info i;
	struct stat st;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 1024, 0, LO_FLAGS_READ_ONLY, 0));
	ASSERT_OK(old_status(self->fd, &i));
	ASSERT_EQ(0, fstat(self->bfd, &st));
	ASSERT_EQ(self->idx, i.lo_number);
	ASSERT_EQ(1024, i.lo_offset);
	ASSERT_EQ(LO_FLAGS_READ_ONLY, i.lo_flags);
	ASSERT_EQ((unsigned long)st.st_ino, i.lo_inode);
	ASSERT_EQ((unsigned short)(((major(st.st_dev) & 0xfff) << 8) | (minor(st.st_dev) & 0xff)),
		  i.lo_device) TH_LOG("st_dev %llx", (unsigned long long)st.st_dev);
	ASSERT_EQ(0, i.lo_encrypt_type);
	ASSERT_EQ(0, i.lo_encrypt_key_size);
}

TEST_F(loopdev, old_set_status)
{
	struct loop_info i;
	struct loop_info64 info;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 65536, 0, 0));
	ASSERT_OK(old_status(self->fd, &i));
	i.lo_offset = 4096;
	i.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_READ_ONLY; /* RO not settable: ignored */
	strcpy(i.lo_name, "old-compat");
	ASSERT_OK(lt_ioctlp(self->fd, LOOP_SET_STATUS, &i));
	ASSERT_OK(lt_status64(self->fd, &info));
	ASSERT_EQ(4096u, info.lo_offset);
	ASSERT_EQ(0u, info.lo_sizelimit);	/* the old struct has none: reset */
	ASSERT_EQ((uint32_t)LO_FLAGS_AUTOCLEAR, info.lo_flags);
	ASSERT_STREQ("old-compat", (char *)info.lo_file_name);
	ASSERT_SYSFS_STR(self->idx, "loop/offset", "4096");
	ASSERT_SYSFS_STR(self->idx, "loop/sizelimit", "0");
	ASSERT_SYSFS_STR(self->idx, "loop/autoclear", "1");
	ASSERT_OK(old_status(self->fd, &i));
	ASSERT_EQ(4096, i.lo_offset);
	ASSERT_STREQ("old-compat", i.lo_name);
}

TEST_F(loopdev, old_status_errors)
{
	struct lt_state before;
	struct loop_info i;
	void *bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, bad);
	memset(&i, 0, sizeof(i));
	ASSERT_RET(-ENXIO, old_status(self->fd, &i));
	ASSERT_RET(-ENXIO, lt_ioctlp(self->fd, LOOP_SET_STATUS, &i));
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EINVAL, lt_ioctlp(self->fd, LOOP_GET_STATUS, NULL));
	ASSERT_RET(-EFAULT, lt_ioctlp(self->fd, LOOP_GET_STATUS, bad));
	ASSERT_RET(-EFAULT, lt_ioctlp(self->fd, LOOP_SET_STATUS, NULL));
	ASSERT_RET(-EFAULT, lt_ioctlp(self->fd, LOOP_SET_STATUS, bad));
	ASSERT_RET(-EINVAL, lt_ioctlp(self->fd, LOOP_GET_STATUS64, NULL));
	ASSERT_RET(-EFAULT, lt_ioctlp(self->fd, LOOP_SET_STATUS64, bad));
	ASSERT_RET(-EFAULT, lt_ioctlp(self->fd, LOOP_CONFIGURE, bad));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, old_get_status_offset_overflow)
{
	char big[PATH_MAX];
	struct loop_info i;
	struct loop_info64 info;
	int fd;

	snprintf(big, sizeof(big), LT_TMPDIR "/asyncloop-big32-XXXXXX");
	fd = mkstemp(big);
	ASSERT_LE(0, fd);
	lt_track_file(big);
	ASSERT_EQ(0, ftruncate64(fd, 4LL << 30));
	ASSERT_OK(lt_configure(self->fd, fd, 3LL << 30, 0, 0, 0));
	ASSERT_RET(-EOVERFLOW, old_status(self->fd, &i));
	ASSERT_OK(lt_status64(self->fd, &info));
	ASSERT_EQ(3ull << 30, info.lo_offset);
}

TEST_F(loopdev, simple_ioctls_pass_through)
{
	char f2[PATH_MAX];
	uint64_t sz;
	int ro, b2;

	ro = lt_open(self->file, O_RDONLY);
	ASSERT_NONNEG(ro);
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_FD, ro));
	ASSERT_SYSFS_STR(self->idx, "ro", "1");
	ASSERT_OK(lt_make_file(f2, sizeof(f2), LT_FILE_SIZE));
	b2 = lt_open(f2, O_RDONLY);
	ASSERT_NONNEG(b2);
	ASSERT_OK(lt_ioctl(self->fd, LOOP_CHANGE_FD, b2));
	ASSERT_SYSFS_STR(self->idx, "loop/backing_file", f2);
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_BLOCK_SIZE, 4096));
	ASSERT_SYSFS_STR(self->idx, "queue/logical_block_size", "4096");
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LOOP_SET_BLOCK_SIZE, 1000));
	/* tmpfs: direct I/O from 6.6 on */
	ASSERT_RET(lt_tmpfs_has_dio() ? 0 : -EINVAL,
		   lt_ioctl(self->fd, LOOP_SET_DIRECT_IO, 1));
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_DIRECT_IO, 0));
	ASSERT_EQ(0, truncate(f2, 2 * LT_FILE_SIZE));
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_CAPACITY, 0));
	ASSERT_OK(lt_size64(self->fd, &sz));
	ASSERT_EQ(2ull * LT_FILE_SIZE, sz);
	ASSERT_OK(lt_clr_fd_now(self->idx, &self->fd));
	ASSERT_UNBOUND(self->idx, self->fd);
	ASSERT_RET(-ENXIO, lt_ioctl(self->fd, LOOP_CLR_FD, 0));
}

TEST_F(loopdev, unknown_ioctl_enotty)
{
	/* lo_compat_ioctl has no default case for it: -ENOIOCTLCMD -> ENOTTY */
	ASSERT_RET(-ENOTTY, lt_ioctl(self->fd, LT_UNKNOWN_LOOP_IOCTL, 0));
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_RET(-ENOTTY, lt_ioctl(self->fd, LT_UNKNOWN_LOOP_IOCTL, 0));
	ASSERT_RET(-ENOTTY, lt_ioctl(self->fd, 0x4C0B, 0));
}

TEST(control_ioctls)
{
	int idx = lt_free_index(50), ctl;

	ASSERT_NONNEG(idx);
	ctl = lt_ctl_open();
	ASSERT_NONNEG(ctl);
	ASSERT_RET(idx, lt_ioctl(ctl, LOOP_CTL_ADD, idx));
	lt_track_dev(idx, true);
	ASSERT_TRUE(lt_dev_exists(idx));
	ASSERT_RET(-EEXIST, lt_ioctl(ctl, LOOP_CTL_ADD, idx));
	ASSERT_NONNEG(lt_ioctl(ctl, LOOP_CTL_GET_FREE, 0));
	ASSERT_RET(-EINVAL, lt_ioctl(ctl, LOOP_CTL_REMOVE, (unsigned long)-1));
	ASSERT_RET(-ENOSYS, lt_ioctl(ctl, LT_UNKNOWN_CTL_IOCTL, 0));
	ASSERT_OK(lt_ioctl(ctl, LOOP_CTL_REMOVE, idx));
	ASSERT_FALSE(lt_dev_exists(idx));
	ASSERT_RET(-ENODEV, lt_ioctl(ctl, LOOP_CTL_REMOVE, idx));
	close(ctl);
	lt_cleanup();
}

/* status ioctls from a process without CAP_SYS_ADMIN on an O_RDONLY fd */
static int nocap_call(int idx, unsigned long cmd)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct loop_info i;
		struct loop_info64 i64;
		int fd;
		long r;

		if (lt_drop_cap_sys_admin())
			_exit(254);
		fd = lt_open_dev(idx, O_RDONLY);
		if (fd < 0)
			_exit(253);
		if (cmd == LOOP_SET_STATUS) {
			if (old_status(fd, &i))
				_exit(252);
			i.lo_flags |= LO_FLAGS_AUTOCLEAR;
			r = lt_ioctlp(fd, cmd, &i);
		} else if (cmd == LOOP_SET_STATUS64) {
			if (lt_status64(fd, &i64))
				_exit(252);
			i64.lo_flags |= LO_FLAGS_AUTOCLEAR;
			r = lt_ioctlp(fd, cmd, &i64);
		} else {
			r = lt_ioctl(fd, cmd, cmd == LOOP_SET_BLOCK_SIZE ? 4096 : 0);
		}
		_exit(r < 0 ? (int)-r : 0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1000;
	return -WEXITSTATUS(st);
}

TEST_F(loopdev, permission_checks)
{
	struct lt_state before;
	int r;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EPERM, nocap_call(self->idx, LOOP_SET_STATUS64));
	ASSERT_RET(-EPERM, nocap_call(self->idx, LOOP_SET_BLOCK_SIZE));
	ASSERT_RET(-EPERM, nocap_call(self->idx, LOOP_SET_CAPACITY));
	ASSERT_RET(-EPERM, nocap_call(self->idx, LOOP_SET_DIRECT_IO));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	r = nocap_call(self->idx, LOOP_SET_STATUS);
	if (lt_driver_is_ours() || lt_kernel_at_least(6, 12)) {
		/* the compat LOOP_SET_STATUS checks like the native one (stock 6.12 too) */
		ASSERT_RET(-EPERM, r);
		ASSERT_UNCHANGED(self->idx, self->fd, &before);
	} else {
		/* stock 6.1 forgets the check: the unprivileged call succeeds */
		ASSERT_RET(0, r);
		ASSERT_SYSFS_STR(self->idx, "loop/autoclear", "1");
	}
}

TEST_HARNESS_MAIN
