// SPDX-License-Identifier: GPL-2.0
/*
 * Unprivileged users: a process with uid/gid 1000, in group "disk", no
 * capabilities, and the usual udev modes (root:disk 0660 on /dev/loopN and
 * /dev/loop-control).  Every loop ioctl, and the block-layer ioctls a loop
 * user meets, is tried through an O_RDWR and an O_RDONLY descriptor; what
 * the stock driver allows must be allowed and what it refuses must be
 * refused with its errno.  The expectations are the stock answers (both
 * kernels agree on all of them); a refused call must change nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/blkpg.h>

#include "kselftest_harness.h"
#include "loopt.h"

#define UP_UID		1000
#define UP_DISK_GID	6

/* Device state a case starts from. */
enum up_setup { UP_UNBOUND, UP_BOUND, UP_BOUND_RO };

struct up_case {
	const char *name;
	enum up_setup setup;
	int oflags;			/* how the user opens /dev/loopN */
	unsigned long cmd;
	long expected;			/* >= 0: success; < 0: -errno */
	bool changes;			/* a success changes the device */
};

FIXTURE(up) {
	int idx;
	char dev[64];
	char file[PATH_MAX];		/* owned by the user, 0600 */
	char file2[PATH_MAX];
};

FIXTURE_VARIANT(up) {
	struct up_case c;
};

#define UP_CASE(id, ...)						\
	FIXTURE_VARIANT_ADD(up, id) { .c = { #id, __VA_ARGS__ } }

UP_CASE(configure_rw, UP_UNBOUND, O_RDWR, LOOP_CONFIGURE, 0, true);
/* a read-only opener binds read-only, as stock */
UP_CASE(configure_ro, UP_UNBOUND, O_RDONLY, LOOP_CONFIGURE, 0, true);
UP_CASE(set_fd_rw, UP_UNBOUND, O_RDWR, LOOP_SET_FD, 0, true);
UP_CASE(clr_fd_rw, UP_BOUND, O_RDWR, LOOP_CLR_FD, 0, true);
/* stock checks nothing beyond the open for CLR_FD and CHANGE_FD */
UP_CASE(clr_fd_ro, UP_BOUND, O_RDONLY, LOOP_CLR_FD, 0, true);
UP_CASE(change_fd_ro, UP_BOUND_RO, O_RDONLY, LOOP_CHANGE_FD, 0, true);
UP_CASE(set_status64_rw, UP_BOUND, O_RDWR, LOOP_SET_STATUS64, 0, true);
UP_CASE(set_status64_ro, UP_BOUND, O_RDONLY, LOOP_SET_STATUS64, -EPERM, true);
UP_CASE(set_status_rw, UP_BOUND, O_RDWR, LOOP_SET_STATUS, 0, true);
UP_CASE(set_status_ro, UP_BOUND, O_RDONLY, LOOP_SET_STATUS, -EPERM, true);
UP_CASE(get_status64_ro, UP_BOUND, O_RDONLY, LOOP_GET_STATUS64, 0, false);
UP_CASE(get_status_ro, UP_BOUND, O_RDONLY, LOOP_GET_STATUS, 0, false);
UP_CASE(set_capacity_rw, UP_BOUND, O_RDWR, LOOP_SET_CAPACITY, 0, false);
UP_CASE(set_capacity_ro, UP_BOUND, O_RDONLY, LOOP_SET_CAPACITY, -EPERM, false);
UP_CASE(set_direct_io_ro, UP_BOUND, O_RDONLY, LOOP_SET_DIRECT_IO, -EPERM,
	false);
/* tmpfs has no O_DIRECT before 6.6: 0 or EINVAL, as stock (checked below) */
UP_CASE(set_direct_io_rw, UP_BOUND, O_RDWR, LOOP_SET_DIRECT_IO, 0, true);
UP_CASE(set_block_size_rw, UP_BOUND, O_RDWR, LOOP_SET_BLOCK_SIZE, 0, true);
UP_CASE(set_block_size_ro, UP_BOUND, O_RDONLY, LOOP_SET_BLOCK_SIZE, -EPERM,
	true);
/* block-layer ioctls on a loop device: CAP_SYS_ADMIN or a writable open */
UP_CASE(blkrrpart_rw, UP_BOUND, O_RDWR, BLKRRPART, -EACCES, false);
UP_CASE(blkpg_rw, UP_BOUND, O_RDWR, BLKPG, -EACCES, true);
UP_CASE(blkflsbuf_rw, UP_BOUND, O_RDWR, BLKFLSBUF, -EACCES, false);
UP_CASE(blkdiscard_ro, UP_BOUND, O_RDONLY, BLKDISCARD, -EBADF, true);
UP_CASE(blkdiscard_rw, UP_BOUND, O_RDWR, BLKDISCARD, 0, false);

static int up_make_user_file(char *path, size_t len)
{
	int err = lt_make_file(path, len, 1 << 20);

	if (!err && chown(path, UP_UID, UP_UID))
		err = -errno;
	return err;
}

static int up_node_modes(int idx)
{
	char path[64];

	lt_dev_path(idx, path, sizeof(path));
	if (chown(path, 0, UP_DISK_GID) || chmod(path, 0660))
		return -errno;
	if (chown(LT_CTL_PATH, 0, UP_DISK_GID) || chmod(LT_CTL_PATH, 0660))
		return -errno;
	return 0;
}

/* In a child: become the user; 0 or -errno. */
static int up_become_user(void)
{
	gid_t groups[] = { UP_DISK_GID };

	if (setgroups(1, groups) || setresgid(UP_UID, UP_UID, UP_UID) ||
	    setresuid(UP_UID, UP_UID, UP_UID))
		return -errno;
	return 0;
}

/* Run @fn(@arg) as the user in a child; its long result, or -errno. */
static long up_as_user(long (*fn)(void *), void *arg)
{
	long res = -EPIPE;
	int p[2];
	pid_t pid;

	if (pipe(p))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		long r = up_become_user();

		if (!r)
			r = fn(arg);
		if (write(p[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &res, sizeof(res)) != sizeof(res))
		res = -EPIPE;
	close(p[0]);
	waitpid(pid, NULL, 0);
	return res;
}

struct up_call {
	FIXTURE_DATA(up) *self;
	const struct up_case *c;
};

/* The case's call, with a well-formed argument. */
static long up_do_call(void *arg)
{
	struct up_call *uc = arg;
	const struct up_case *c = uc->c;
	struct loop_config cfg = { 0 };
	struct loop_info64 info = { 0 };
	struct loop_info old = { 0 };
	struct blkpg_partition part = { .start = 0, .length = 4096, .pno = 1 };
	struct blkpg_ioctl_arg pg = {
		.op = BLKPG_ADD_PARTITION, .datalen = sizeof(part), .data = &part,
	};
	uint64_t range[2] = { 0, 65536 };
	int fd, bfd = -1;
	long r;

	fd = lt_open(uc->self->dev, c->oflags);
	if (fd < 0)
		return fd;
	switch (c->cmd) {
	case LOOP_CONFIGURE:
	case LOOP_SET_FD:
	case LOOP_CHANGE_FD:
		bfd = lt_open(c->cmd == LOOP_CHANGE_FD ? uc->self->file2 :
			      uc->self->file,
			      c->oflags == O_RDONLY ? O_RDONLY : O_RDWR);
		if (bfd < 0) {
			r = bfd;
			break;
		}
		cfg.fd = bfd;
		r = c->cmd == LOOP_CONFIGURE ?
			lt_ioctlp(fd, c->cmd, &cfg) : lt_ioctl(fd, c->cmd, bfd);
		break;
	case LOOP_SET_STATUS64:
		info.lo_offset = 4096;
		r = lt_ioctlp(fd, c->cmd, &info);
		break;
	case LOOP_SET_STATUS:
		old.lo_offset = 4096;
		r = lt_ioctlp(fd, c->cmd, &old);
		break;
	case LOOP_GET_STATUS64:
		r = lt_ioctlp(fd, c->cmd, &info);
		break;
	case LOOP_GET_STATUS:
		r = lt_ioctlp(fd, c->cmd, &old);
		break;
	case LOOP_SET_DIRECT_IO:
		r = lt_ioctl(fd, c->cmd, 1);
		break;
	case LOOP_SET_BLOCK_SIZE:
		r = lt_ioctl(fd, c->cmd, 4096);
		break;
	case BLKPG:
		r = lt_ioctlp(fd, c->cmd, &pg);
		break;
	case BLKDISCARD:
		r = lt_ioctlp(fd, c->cmd, range);
		break;
	default:
		r = lt_ioctl(fd, c->cmd, 0);
		break;
	}
	if (bfd >= 0)
		close(bfd);
	close(fd);
	return r;
}

FIXTURE_SETUP(up)
{
	const struct up_case *c = &variant->c;
	int fd, bfd;

	self->idx = lt_get_free();
	ASSERT_NONNEG(self->idx);
	lt_dev_path(self->idx, self->dev, sizeof(self->dev));
	ASSERT_OK(up_node_modes(self->idx));
	ASSERT_OK(up_make_user_file(self->file, sizeof(self->file)));
	ASSERT_OK(up_make_user_file(self->file2, sizeof(self->file2)));
	if (c->setup == UP_UNBOUND)
		return;
	fd = lt_open_dev(self->idx, O_RDWR);
	ASSERT_NONNEG(fd);
	bfd = lt_open(self->file, O_RDWR);
	ASSERT_NONNEG(bfd);
	ASSERT_OK(lt_configure(fd, bfd, 0, 0, c->setup == UP_BOUND_RO ?
			       LO_FLAGS_READ_ONLY : 0, 0));
	close(bfd);
	close(fd);
}

FIXTURE_TEARDOWN(up)
{
	lt_cleanup();
}

TEST_F(up, call)
{
	const struct up_case *c = &variant->c;
	struct up_call uc = { .self = self, .c = c };
	struct lt_state before, after;
	char why[512];
	long expected = c->expected, r;
	int fd;

	fd = lt_open_dev(self->idx, O_RDONLY);
	ASSERT_NONNEG(fd);
	lt_snapshot(self->idx, fd, &before);
	if (c->cmd == LOOP_SET_DIRECT_IO && c->oflags == O_RDWR &&
	    !lt_tmpfs_has_dio())
		expected = -EINVAL;

	r = up_as_user(up_do_call, &uc);
	TH_LOG("%s as uid %d (group disk): %s", c->name, UP_UID,
	       lt_errname(r));
	if (expected >= 0) {
		ASSERT_LE(0, r) TH_LOG("expected success, got %s",
				      lt_errname(r));
	} else {
		ASSERT_RET(expected, r);
	}

	lt_snapshot(self->idx, fd, &after);
	if (expected < 0 || !c->changes)
		ASSERT_EQ(0, lt_state_diff(&before, &after, why, sizeof(why)))
			TH_LOG("state changed: %s", why);
	if (c->cmd == LOOP_CONFIGURE && c->oflags == O_RDONLY)
		ASSERT_EQ(LO_FLAGS_READ_ONLY,
			  after.info.lo_flags & LO_FLAGS_READ_ONLY);
	close(fd);
}

static long up_ctl_get_free(void *arg)
{
	(void)arg;
	return lt_ctl(LOOP_CTL_GET_FREE, 0);
}

static long up_ctl_add(void *arg)
{
	return lt_ctl(LOOP_CTL_ADD, *(int *)arg);
}

static long up_ctl_remove(void *arg)
{
	return lt_ctl(LOOP_CTL_REMOVE, *(int *)arg);
}

static long up_ctl_unknown(void *arg)
{
	(void)arg;
	return lt_ctl(LT_UNKNOWN_CTL_IOCTL, 0);
}

/* /dev/loop-control checks nothing beyond the open, in stock. */
TEST(control_as_disk_group)
{
	int idx = lt_free_index(100);

	ASSERT_NONNEG(idx);
	ASSERT_OK(up_node_modes(0));
	ASSERT_LE(0, up_as_user(up_ctl_get_free, NULL));
	lt_track_dev(idx, true);
	ASSERT_RET(idx, up_as_user(up_ctl_add, &idx));
	ASSERT_TRUE(lt_dev_exists(idx));
	ASSERT_RET(-EEXIST, up_as_user(up_ctl_add, &idx));
	ASSERT_RET(-ENOSYS, up_as_user(up_ctl_unknown, NULL));
	ASSERT_OK(up_as_user(up_ctl_remove, &idx));
	ASSERT_FALSE(lt_dev_exists(idx));
	lt_cleanup();
}

TEST_HARNESS_MAIN
