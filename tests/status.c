// SPDX-License-Identifier: GPL-2.0
/* LOOP_GET_STATUS(64) and LOOP_SET_STATUS(64). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "fixture.h"

static void get_info(struct __test_metadata *_metadata, int fd,
		     struct loop_info64 *info)
{
	ASSERT_OK(lt_status64(fd, info));
}

TEST_F(loopdev, get_status_unbound_enxio)
{
	struct loop_info64 i64;
	struct loop_info i;
	struct lt_state before;

	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-ENXIO, lt_status64(self->fd, &i64));
	ASSERT_RET(-ENXIO, lt_ioctlp(self->fd, LOOP_GET_STATUS, &i));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, get_status_null_einval)
{
	struct lt_state before;

	/* NULL is checked before the state */
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LOOP_GET_STATUS64, 0));
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LOOP_GET_STATUS, 0));
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LOOP_GET_STATUS64, 0));
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LOOP_GET_STATUS, 0));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	/* a bad non-NULL pointer faults */
	ASSERT_RET(-EFAULT, lt_ioctl(self->fd, LOOP_GET_STATUS64, 8));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, get_status64_fields)
{
	struct loop_config c;
	struct loop_info64 info;
	struct stat st;

	memset(&c, 0, sizeof(c));
	c.fd = self->bfd;
	c.info.lo_offset = 8192;
	c.info.lo_sizelimit = 131072;
	c.info.lo_flags = LO_FLAGS_PARTSCAN;
	strcpy((char *)c.info.lo_file_name, "fields-name");
	strcpy((char *)c.info.lo_crypt_name, "crypt-name-ignored");
	ASSERT_OK(lt_ioctlp(self->fd, LOOP_CONFIGURE, &c));
	memset(&info, 0xa5, sizeof(info));
	ASSERT_OK(lt_ioctlp(self->fd, LOOP_GET_STATUS64, &info));
	ASSERT_EQ(0, stat(self->file, &st));
	EXPECT_EQ((uint32_t)self->idx, info.lo_number);
	EXPECT_EQ((uint64_t)st.st_dev, info.lo_device);
	EXPECT_EQ((uint64_t)st.st_ino, info.lo_inode);
	EXPECT_EQ(0u, info.lo_rdevice);
	EXPECT_EQ(8192u, info.lo_offset);
	EXPECT_EQ(131072u, info.lo_sizelimit);
	EXPECT_EQ((uint32_t)LO_FLAGS_PARTSCAN, info.lo_flags);
	EXPECT_EQ(0u, info.lo_encrypt_type);
	EXPECT_EQ(0u, info.lo_encrypt_key_size);
	EXPECT_STREQ("fields-name", (char *)info.lo_file_name);
	/* the rest is zeroed by the driver */
	EXPECT_EQ(0, info.lo_crypt_name[0]);
	EXPECT_EQ(0, info.lo_encrypt_key[0]);
	EXPECT_EQ(0u, info.lo_init[0]);
	EXPECT_EQ(0u, info.lo_init[1]);
}

TEST_F(loopdev, get_status_old_fields)
{
	struct loop_info info;
	struct stat st;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 4096, 0, LO_FLAGS_AUTOCLEAR, 0));
	memset(&info, 0x5a, sizeof(info));
	ASSERT_OK(lt_ioctlp(self->fd, LOOP_GET_STATUS, &info));
	ASSERT_EQ(0, stat(self->file, &st));
	EXPECT_EQ(self->idx, info.lo_number);
	EXPECT_EQ((unsigned long)st.st_dev, (unsigned long)info.lo_device);
	EXPECT_EQ((unsigned long)st.st_ino, info.lo_inode);
	EXPECT_EQ(4096, info.lo_offset);
	EXPECT_EQ(LO_FLAGS_AUTOCLEAR, info.lo_flags);
	EXPECT_EQ(0, info.lo_encrypt_type);
	EXPECT_EQ(0, info.lo_name[0]);
}

TEST_F(loopdev, get_status_old_eoverflow)
{
	struct loop_info info;
	struct loop_info64 i64;

	ASSERT_EQ(0, ftruncate(self->bfd, (1LL << 31) + LT_FILE_SIZE));
	ASSERT_OK(lt_configure(self->fd, self->bfd, 1ULL << 31, 0, 0, 0));
	ASSERT_RET(-EOVERFLOW, lt_ioctlp(self->fd, LOOP_GET_STATUS, &info));
	get_info(_metadata, self->fd, &i64);
	ASSERT_EQ(1ULL << 31, i64.lo_offset);
	check_size(_metadata, self->idx, self->fd, LT_FILE_SIZE);
}

TEST_F(loopdev, set_status_unbound_enxio)
{
	struct loop_info64 i64;
	struct loop_info i;
	struct lt_state before;

	memset(&i64, 0, sizeof(i64));
	memset(&i, 0, sizeof(i));
	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-ENXIO, lt_set_status64(self->fd, &i64));
	ASSERT_RET(-ENXIO, lt_ioctlp(self->fd, LOOP_SET_STATUS, &i));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, set_status_efault)
{
	struct lt_state before;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EFAULT, lt_ioctl(self->fd, LOOP_SET_STATUS64, 0));
	ASSERT_RET(-EFAULT, lt_ioctl(self->fd, LOOP_SET_STATUS, 8));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

/* Without FMODE_WRITE, SET_STATUS needs CAP_SYS_ADMIN. */
TEST_F(loopdev, set_status_eperm_without_cap)
{
	struct lt_state before;
	int status;
	pid_t pid;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	lt_snapshot(self->idx, self->fd, &before);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct loop_info64 i64;
		struct loop_info i;
		int ro = lt_open_dev(self->idx, O_RDONLY);

		if (ro < 0 || lt_drop_cap_sys_admin())
			_exit(10);
		if (lt_status64(ro, &i64))
			_exit(11);
		i64.lo_offset = 4096;
		i64.lo_flags |= LO_FLAGS_AUTOCLEAR;
		if (lt_set_status64(ro, &i64) != -EPERM)
			_exit(12);
		if (lt_ioctlp(ro, LOOP_GET_STATUS, &i))
			_exit(13);
		i.lo_offset = 4096;
		if (lt_ioctlp(ro, LOOP_SET_STATUS, &i) != -EPERM)
			_exit(14);
		/* the other "simple" ioctls need the same */
		if (lt_ioctl(ro, LOOP_SET_CAPACITY, 0) != -EPERM)
			_exit(15);
		if (lt_ioctl(ro, LOOP_SET_BLOCK_SIZE, 4096) != -EPERM)
			_exit(16);
		if (lt_ioctl(ro, LOOP_SET_DIRECT_IO, 0) != -EPERM)
			_exit(17);
		/* a writable open is enough without the capability */
		close(ro);
		ro = lt_open_dev(self->idx, O_RDWR);
		if (ro < 0)
			_exit(18);
		if (lt_set_status64(ro, &i64) != 0)
			_exit(19);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child step %d failed (10 setup, 12/14 SET_STATUS not EPERM, 15-17 simple ioctls not EPERM, 19 rw SET_STATUS64 failed)",
		       WEXITSTATUS(status));
	/* the last, permitted call applied offset + AUTOCLEAR */
	{
		struct loop_info64 info;

		get_info(_metadata, self->fd, &info);
		ASSERT_EQ(4096u, info.lo_offset);
		ASSERT_EQ((uint32_t)LO_FLAGS_AUTOCLEAR, info.lo_flags);
	}
}

TEST_F(loopdev, set_status_readonly_open_with_cap)
{
	struct loop_info64 info;
	int ro = lt_open_dev(self->idx, O_RDONLY);

	ASSERT_NONNEG(ro);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	get_info(_metadata, ro, &info);
	info.lo_offset = 4096;
	ASSERT_OK(lt_set_status64(ro, &info));
	get_info(_metadata, self->fd, &info);
	ASSERT_EQ(4096u, info.lo_offset);
	check_size(_metadata, self->idx, self->fd, LT_FILE_SIZE - 4096);
}

TEST_F(loopdev, set_status_encryption_einval)
{
	struct loop_info64 info;
	struct loop_info old;
	struct lt_state before;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	lt_snapshot(self->idx, self->fd, &before);
	get_info(_metadata, self->fd, &info);
	info.lo_offset = 4096;		/* must not be applied */
	info.lo_encrypt_type = 1;	/* XOR */
	ASSERT_RET(-EINVAL, lt_set_status64(self->fd, &info));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	info.lo_encrypt_type = 18;	/* CRYPTOAPI */
	ASSERT_RET(-EINVAL, lt_set_status64(self->fd, &info));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	info.lo_encrypt_type = 0;
	info.lo_encrypt_key_size = LO_KEY_SIZE + 1;
	ASSERT_RET(-EINVAL, lt_set_status64(self->fd, &info));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	ASSERT_OK(lt_ioctlp(self->fd, LOOP_GET_STATUS, &old));
	/* the old struct's lo_encrypt_type is not even read ("obsolete, ignored") */
	old.lo_encrypt_type = 1;
	ASSERT_RET(0, lt_ioctlp(self->fd, LOOP_SET_STATUS, &old));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, set_status_eoverflow)
{
	struct loop_info64 info;
	struct lt_state before;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	lt_snapshot(self->idx, self->fd, &before);
	get_info(_metadata, self->fd, &info);
	info.lo_offset = (uint64_t)LLONG_MAX + 1;
	ASSERT_RET(-EOVERFLOW, lt_set_status64(self->fd, &info));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	info.lo_offset = 0;
	info.lo_sizelimit = ~0ULL;
	ASSERT_RET(-EOVERFLOW, lt_set_status64(self->fd, &info));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
}

TEST_F(loopdev, set_status_autoclear_set_and_clear)
{
	struct loop_info64 info;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	get_info(_metadata, self->fd, &info);
	info.lo_flags = LO_FLAGS_AUTOCLEAR;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	get_info(_metadata, self->fd, &info);
	ASSERT_EQ((uint32_t)LO_FLAGS_AUTOCLEAR, info.lo_flags);
	ASSERT_SYSFS_STR(self->idx, "loop/autoclear", "1");
	info.lo_flags = 0;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	get_info(_metadata, self->fd, &info);
	ASSERT_EQ(0u, info.lo_flags);
	ASSERT_SYSFS_STR(self->idx, "loop/autoclear", "0");
	/* and through the old ioctl */
	{
		struct loop_info old;

		ASSERT_OK(lt_ioctlp(self->fd, LOOP_GET_STATUS, &old));
		old.lo_flags = LO_FLAGS_AUTOCLEAR;
		ASSERT_OK(lt_ioctlp(self->fd, LOOP_SET_STATUS, &old));
		ASSERT_SYSFS_STR(self->idx, "loop/autoclear", "1");
	}
}

TEST_F(loopdev, set_status_partscan_not_clearable)
{
	struct loop_info64 info;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_SYSFS_STR(self->idx, "loop/partscan", "0");
	get_info(_metadata, self->fd, &info);
	info.lo_flags = LO_FLAGS_PARTSCAN;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	get_info(_metadata, self->fd, &info);
	ASSERT_EQ((uint32_t)LO_FLAGS_PARTSCAN, info.lo_flags);
	ASSERT_SYSFS_STR(self->idx, "loop/partscan", "1");
	info.lo_flags = 0;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	get_info(_metadata, self->fd, &info);
	ASSERT_EQ((uint32_t)LO_FLAGS_PARTSCAN, info.lo_flags);
	ASSERT_SYSFS_STR(self->idx, "loop/partscan", "1");
}

TEST_F(loopdev, set_status_readonly_not_changeable)
{
	struct loop_info64 info;
	int v = -1;

	/* cannot be set on a writable device */
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	get_info(_metadata, self->fd, &info);
	info.lo_flags = LO_FLAGS_READ_ONLY;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	get_info(_metadata, self->fd, &info);
	ASSERT_EQ(0u, info.lo_flags);
	ASSERT_OK(lt_ioctlp(self->fd, BLKROGET, &v));
	ASSERT_EQ(0, v);
	ASSERT_OK(lt_clr_fd_now(self->idx, &self->fd));
	/* cannot be cleared on a read-only device */
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_READ_ONLY, 0));
	get_info(_metadata, self->fd, &info);
	info.lo_flags = 0;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	get_info(_metadata, self->fd, &info);
	ASSERT_EQ((uint32_t)LO_FLAGS_READ_ONLY, info.lo_flags);
	ASSERT_OK(lt_ioctlp(self->fd, BLKROGET, &v));
	ASSERT_EQ(1, v);
	ASSERT_SYSFS_STR(self->idx, "ro", "1");
}

TEST_F(loopdev, set_status_dio_not_settable)
{
	struct loop_info64 info;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	get_info(_metadata, self->fd, &info);
	info.lo_flags = LO_FLAGS_DIRECT_IO | 0x100;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	get_info(_metadata, self->fd, &info);
	ASSERT_EQ(0u, info.lo_flags);
	ASSERT_SYSFS_STR(self->idx, "loop/dio", "0");
}

TEST_F(loopdev, set_status_offset_sizelimit_resize)
{
	struct loop_info64 info;
	uint8_t buf[512];
	char why[256];

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	check_size(_metadata, self->idx, self->fd, LT_FILE_SIZE);
	get_info(_metadata, self->fd, &info);
	info.lo_offset = 4096;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	check_size(_metadata, self->idx, self->fd, LT_FILE_SIZE - 4096);
	ASSERT_SYSFS_STR(self->idx, "loop/offset", "4096");
	/* data now comes from the new offset */
	ASSERT_EQ(512, pread(self->fd, buf, sizeof(buf), 0));
	ASSERT_EQ(0, lt_check_pattern(buf, sizeof(buf), 4096, why, sizeof(why))) TH_LOG("%s", why);
	info.lo_sizelimit = 65536;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	check_size(_metadata, self->idx, self->fd, 65536);
	ASSERT_SYSFS_STR(self->idx, "loop/sizelimit", "65536");
	info.lo_sizelimit = 0;
	info.lo_offset = 0;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	check_size(_metadata, self->idx, self->fd, LT_FILE_SIZE);
	ASSERT_SYSFS_STR(self->idx, "loop/offset", "0");
	ASSERT_SYSFS_STR(self->idx, "loop/sizelimit", "0");
	/* offset past EOF: size 0 */
	info.lo_offset = 2 * LT_FILE_SIZE;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	check_size(_metadata, self->idx, self->fd, 0);
}

TEST_F(loopdev, set_status_file_name)
{
	struct loop_info64 info;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	get_info(_metadata, self->fd, &info);
	strcpy((char *)info.lo_file_name, "renamed");
	ASSERT_OK(lt_set_status64(self->fd, &info));
	get_info(_metadata, self->fd, &info);
	ASSERT_STREQ("renamed", (char *)info.lo_file_name);
	ASSERT_SYSFS_STR(self->idx, "loop/backing_file", self->file);
}

TEST_F(loopdev, set_status_old_resets_sizelimit)
{
	struct loop_info old;
	struct loop_info64 info;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 65536, 0, 0));
	ASSERT_OK(lt_ioctlp(self->fd, LOOP_GET_STATUS, &old));
	old.lo_offset = 8192;
	ASSERT_OK(lt_ioctlp(self->fd, LOOP_SET_STATUS, &old));
	get_info(_metadata, self->fd, &info);
	ASSERT_EQ(8192u, info.lo_offset);
	ASSERT_EQ(0u, info.lo_sizelimit);
	check_size(_metadata, self->idx, self->fd, LT_FILE_SIZE - 8192);
}

TEST_HARNESS_MAIN
