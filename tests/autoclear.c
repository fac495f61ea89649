// SPDX-License-Identifier: GPL-2.0
/*
 * AUTOCLEAR: the device is unbound by the time the last close() (or the
 * owner's exit, as seen by waitpid) returns.  No sleeping, no polling.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "fixture.h"

static void check_unbound_now(struct __test_metadata *_metadata, int idx)
{
	int fd;

	ASSERT_FALSE(lt_is_bound(idx))
		TH_LOG("/sys/block/loop%d/loop still present right after last close", idx);
	fd = lt_open_dev(idx, O_RDONLY);
	ASSERT_NONNEG(fd);
	ASSERT_UNBOUND(idx, fd);
	close(fd);
}

TEST_F(loopdev, last_close_unbinds)
{
	struct loop_info64 info;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_AUTOCLEAR, 0));
	ASSERT_OK(lt_status64(self->fd, &info));
	ASSERT_EQ((uint32_t)LO_FLAGS_AUTOCLEAR, info.lo_flags);
	ASSERT_SYSFS_STR(self->idx, "loop/autoclear", "1");
	ASSERT_EQ(0, close(self->bfd));
	ASSERT_EQ(0, close(self->fd));
	check_unbound_now(_metadata, self->idx);
}

TEST_F(loopdev, two_openers_last_close_unbinds)
{
	int fd2 = lt_open_dev(self->idx, O_RDONLY);
	int fd3;

	ASSERT_NONNEG(fd2);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_AUTOCLEAR, 0));
	/* an extra open/close in between does not detach */
	fd3 = lt_open_dev(self->idx, O_RDWR);
	ASSERT_NONNEG(fd3);
	ASSERT_EQ(0, close(fd3));
	ASSERT_BOUND(self->idx, self->fd);
	ASSERT_EQ(0, close(self->fd));
	ASSERT_BOUND(self->idx, fd2);
	ASSERT_EQ(0, close(fd2));
	check_unbound_now(_metadata, self->idx);
}

TEST_F(loopdev, owner_exit_unbinds)
{
	int status;
	pid_t pid;

	/* the child opens its own fd; the parent closes its own first */
	ASSERT_EQ(0, close(self->fd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = lt_open_dev(self->idx, O_RDWR);

		if (fd < 0)
			_exit(10);
		if (lt_configure(fd, self->bfd, 0, 0, LO_FLAGS_AUTOCLEAR, 0))
			_exit(11);
		if (!lt_is_bound(self->idx))
			_exit(12);
		_exit(0);	/* no close() */
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	check_unbound_now(_metadata, self->idx);
}

TEST_F(loopdev, owner_killed_unbinds)
{
	int status, p[2];
	pid_t pid;
	char c;

	ASSERT_EQ(0, close(self->fd));
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = lt_open_dev(self->idx, O_RDWR);

		close(p[0]);
		if (fd < 0 || lt_configure(fd, self->bfd, 0, 0, LO_FLAGS_AUTOCLEAR, 0))
			_exit(10);
		if (write(p[1], "x", 1) != 1)
			_exit(11);
		pause();
		_exit(12);
	}
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &c, 1));
	ASSERT_TRUE(lt_is_bound(self->idx));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	check_unbound_now(_metadata, self->idx);
}

TEST_F(loopdev, set_via_set_status_then_close)
{
	struct loop_info64 info;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_OK(lt_status64(self->fd, &info));
	info.lo_flags = LO_FLAGS_AUTOCLEAR;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	ASSERT_EQ(0, close(self->fd));
	check_unbound_now(_metadata, self->idx);
}

TEST_F(loopdev, cleared_autoclear_stays_bound)
{
	struct loop_info64 info;
	int fd;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_AUTOCLEAR, 0));
	ASSERT_OK(lt_status64(self->fd, &info));
	info.lo_flags = 0;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	ASSERT_EQ(0, close(self->fd));
	ASSERT_TRUE(lt_is_bound(self->idx));
	fd = lt_open_dev(self->idx, O_RDWR);
	ASSERT_NONNEG(fd);
	ASSERT_BOUND(self->idx, fd);
	ASSERT_OK(lt_clr_fd_now(self->idx, &fd));
	ASSERT_UNBOUND(self->idx, fd);
}

/* Once unbound, GET_FREE hands out the same device again. */
TEST_F(loopdev, get_free_reuses_after_autoclear)
{
	int i;

	for (i = 0; i < 20; i++) {
		int fd;
		long r = lt_ctl(LOOP_CTL_GET_FREE, 0);

		ASSERT_EQ(self->idx, r) TH_LOG("round %d: GET_FREE gave %s", i, lt_errname(r));
		fd = lt_open_dev(self->idx, O_RDWR);
		ASSERT_NONNEG(fd);
		ASSERT_OK(lt_configure(fd, self->bfd, 0, 0, LO_FLAGS_AUTOCLEAR, 0));
		if (i == 0)
			ASSERT_EQ(0, close(self->fd));
		ASSERT_EQ(0, close(fd));
		ASSERT_FALSE(lt_is_bound(self->idx)) TH_LOG("round %d", i);
	}
}

/*
 * The backing file is released before close() returns: the filesystem
 * holding it can be unmounted right away (xfstests xfs/049 pattern).
 */
TEST_F(loopdev, backing_fs_busy_while_bound_free_after_close)
{
	char dir[] = LT_TMPDIR "/asyncloop-mnt-XXXXXX";
	char path[PATH_MAX];
	int b;

	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, mount("tmpfs", dir, "tmpfs", 0, "size=8m"))
		TH_LOG("mount tmpfs: %s", strerrorname_np(errno));
	lt_track_mount(dir);
	snprintf(path, sizeof(path), "%s/img", dir);
	b = lt_open(path, O_RDWR | O_CREAT);
	ASSERT_NONNEG(b);
	ASSERT_EQ(0, ftruncate(b, 1 << 20));
	ASSERT_OK(lt_configure(self->fd, b, 0, 0, LO_FLAGS_AUTOCLEAR, 0));
	ASSERT_EQ(0, close(b));
	ASSERT_EQ(-1, umount2(dir, 0));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(0, close(self->fd));
	ASSERT_EQ(0, umount2(dir, 0))
		TH_LOG("umount right after the last close: %s", strerrorname_np(errno));
	rmdir(dir);
}

TEST_HARNESS_MAIN
