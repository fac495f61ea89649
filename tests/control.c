// SPDX-License-Identifier: GPL-2.0
/* /dev/loop-control: LOOP_CTL_ADD, LOOP_CTL_REMOVE, LOOP_CTL_GET_FREE. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "fixture.h"

#define SCAN_MAX 1024

FIXTURE(ctl) {
	int cfd;
};

FIXTURE_SETUP(ctl)
{
	self->cfd = lt_ctl_open();
	ASSERT_NONNEG(self->cfd);
}

FIXTURE_TEARDOWN(ctl)
{
	lt_cleanup();
}

/* add a device at a free index >= 64 and track it */
static int add_fresh(struct __test_metadata *_metadata, int cfd)
{
	int idx = lt_free_index(64);
	long r;

	ASSERT_NONNEG(idx);
	r = lt_ioctl(cfd, LOOP_CTL_ADD, idx);
	if (r >= 0)
		lt_track_dev((int)r, true);
	ASSERT_RET(idx, r);
	return idx;
}

TEST_F(ctl, add_new_index)
{
	int idx = add_fresh(_metadata, self->cfd);
	int fd;

	ASSERT_TRUE(lt_dev_exists(idx)) TH_LOG("/sys/block/loop%d missing", idx);
	ASSERT_FALSE(lt_is_bound(idx));
	fd = lt_open_dev(idx, O_RDWR);
	ASSERT_NONNEG(fd);
	ASSERT_UNBOUND(idx, fd);
}

TEST_F(ctl, add_existing_eexist)
{
	int idx = add_fresh(_metadata, self->cfd);

	ASSERT_RET(-EEXIST, lt_ioctl(self->cfd, LOOP_CTL_ADD, idx));
	ASSERT_TRUE(lt_dev_exists(idx));
	ASSERT_FALSE(lt_is_bound(idx));
	/* an index from the module's initial set (loop0) also exists */
	ASSERT_TRUE(lt_dev_exists(0));
	ASSERT_RET(-EEXIST, lt_ioctl(self->cfd, LOOP_CTL_ADD, 0));
}

TEST_F(ctl, add_bound_eexist_unchanged)
{
	char file[PATH_MAX];
	struct lt_state before;
	int idx = add_fresh(_metadata, self->cfd);
	int fd, bfd;

	fd = lt_open_dev(idx, O_RDWR);
	ASSERT_NONNEG(fd);
	ASSERT_OK(lt_make_file(file, sizeof(file), 65536));
	bfd = lt_open(file, O_RDWR);
	ASSERT_NONNEG(bfd);
	ASSERT_OK(lt_configure(fd, bfd, 0, 0, 0, 0));
	lt_snapshot(idx, fd, &before);
	ASSERT_RET(-EEXIST, lt_ioctl(self->cfd, LOOP_CTL_ADD, idx));
	ASSERT_UNCHANGED(idx, fd, &before);
}

TEST_F(ctl, add_negative_allocates_new)
{
	static char existed[SCAN_MAX];
	long r;
	int i;

	for (i = 0; i < SCAN_MAX; i++)
		existed[i] = lt_dev_exists(i);
	r = lt_ioctl(self->cfd, LOOP_CTL_ADD, -1);
	if (r >= 0)
		lt_track_dev((int)r, true);
	ASSERT_NONNEG(r);
	ASSERT_LT(r, SCAN_MAX);
	ASSERT_FALSE(existed[r]) TH_LOG("LOOP_CTL_ADD(-1) returned existing loop%ld", r);
	ASSERT_TRUE(lt_dev_exists((int)r));
	ASSERT_FALSE(lt_is_bound((int)r));
}

TEST_F(ctl, remove_unknown_enodev)
{
	int idx = lt_free_index(64);

	ASSERT_NONNEG(idx);
	ASSERT_RET(-ENODEV, lt_ioctl(self->cfd, LOOP_CTL_REMOVE, idx));
	ASSERT_FALSE(lt_dev_exists(idx));
}

TEST_F(ctl, remove_negative_einval)
{
	ASSERT_RET(-EINVAL, lt_ioctl(self->cfd, LOOP_CTL_REMOVE, -1));
	ASSERT_RET(-EINVAL, lt_ioctl(self->cfd, LOOP_CTL_REMOVE, -100));
	ASSERT_TRUE(lt_dev_exists(0));
}

TEST_F(ctl, remove_success)
{
	int idx = add_fresh(_metadata, self->cfd);

	ASSERT_RET(0, lt_ioctl(self->cfd, LOOP_CTL_REMOVE, idx));
	ASSERT_FALSE(lt_dev_exists(idx)) TH_LOG("/sys/block/loop%d still present after remove", idx);
	ASSERT_RET(-ENODEV, lt_ioctl(self->cfd, LOOP_CTL_REMOVE, idx));
	/* the index can be reused */
	ASSERT_RET(idx, lt_ioctl(self->cfd, LOOP_CTL_ADD, idx));
	ASSERT_TRUE(lt_dev_exists(idx));
}

TEST_F(ctl, remove_bound_ebusy)
{
	char file[PATH_MAX];
	struct lt_state before;
	int idx = add_fresh(_metadata, self->cfd);
	int fd, bfd;

	fd = lt_open_dev(idx, O_RDWR);
	ASSERT_NONNEG(fd);
	ASSERT_OK(lt_make_file(file, sizeof(file), 65536));
	bfd = lt_open(file, O_RDWR);
	ASSERT_NONNEG(bfd);
	ASSERT_OK(lt_configure(fd, bfd, 0, 0, 0, 0));
	close(bfd);
	/* bound but not open */
	close(fd);
	ASSERT_TRUE(lt_is_bound(idx));
	ASSERT_RET(-EBUSY, lt_ioctl(self->cfd, LOOP_CTL_REMOVE, idx));
	ASSERT_TRUE(lt_dev_exists(idx));
	fd = lt_open_dev(idx, O_RDWR);
	ASSERT_NONNEG(fd);
	ASSERT_BOUND(idx, fd);
	/* bound and open */
	lt_snapshot(idx, fd, &before);
	ASSERT_RET(-EBUSY, lt_ioctl(self->cfd, LOOP_CTL_REMOVE, idx));
	ASSERT_UNCHANGED(idx, fd, &before);
	/* after unbinding and closing it can go */
	ASSERT_OK(lt_ioctl(fd, LOOP_CLR_FD, 0));
	close(fd);
	ASSERT_RET(0, lt_ioctl(self->cfd, LOOP_CTL_REMOVE, idx));
	ASSERT_FALSE(lt_dev_exists(idx));
}

TEST_F(ctl, remove_open_unbound_ebusy)
{
	int idx = add_fresh(_metadata, self->cfd);
	int fd = lt_open_dev(idx, O_RDONLY);

	ASSERT_NONNEG(fd);
	ASSERT_RET(-EBUSY, lt_ioctl(self->cfd, LOOP_CTL_REMOVE, idx));
	ASSERT_TRUE(lt_dev_exists(idx));
	ASSERT_UNBOUND(idx, fd);
	close(fd);
	ASSERT_RET(0, lt_ioctl(self->cfd, LOOP_CTL_REMOVE, idx));
	ASSERT_FALSE(lt_dev_exists(idx));
}

TEST_F(ctl, get_free_returns_unbound)
{
	long r = lt_ioctl(self->cfd, LOOP_CTL_GET_FREE, 0);
	int fd;

	ASSERT_NONNEG(r);
	lt_track_dev((int)r, false);
	ASSERT_TRUE(lt_dev_exists((int)r));
	fd = lt_open_dev((int)r, O_RDWR);
	ASSERT_NONNEG(fd);
	ASSERT_UNBOUND((int)r, fd);
	close(fd);
	/* nothing changed: the same device again */
	ASSERT_RET(r, lt_ioctl(self->cfd, LOOP_CTL_GET_FREE, 0));
}

TEST_F(ctl, get_free_skips_bound)
{
	char file[PATH_MAX];
	long a, b;
	int fd, bfd;

	a = lt_ioctl(self->cfd, LOOP_CTL_GET_FREE, 0);
	ASSERT_NONNEG(a);
	lt_track_dev((int)a, false);
	fd = lt_open_dev((int)a, O_RDWR);
	ASSERT_NONNEG(fd);
	ASSERT_OK(lt_make_file(file, sizeof(file), 65536));
	bfd = lt_open(file, O_RDWR);
	ASSERT_NONNEG(bfd);
	ASSERT_OK(lt_configure(fd, bfd, 0, 0, 0, 0));
	b = lt_ioctl(self->cfd, LOOP_CTL_GET_FREE, 0);
	ASSERT_NONNEG(b);
	lt_track_dev((int)b, false);
	ASSERT_NE(a, b) TH_LOG("GET_FREE returned bound loop%ld", a);
	ASSERT_FALSE(lt_is_bound((int)b));
	/* unbind: it is free again and the lowest free one */
	ASSERT_OK(lt_clr_fd_now((int)a, &fd));
	ASSERT_RET(a < b ? a : b, lt_ioctl(self->cfd, LOOP_CTL_GET_FREE, 0));
}

TEST_F_TIMEOUT(ctl, get_free_creates_when_all_bound, 120)
{
	static char existed[SCAN_MAX];
	static int fds[SCAN_MAX];
	char file[PATH_MAX];
	int i, n = 0, bfd;
	long r = -1;

	for (i = 0; i < SCAN_MAX; i++)
		existed[i] = lt_dev_exists(i);
	ASSERT_OK(lt_make_file(file, sizeof(file), 65536));
	bfd = lt_open(file, O_RDONLY);
	ASSERT_NONNEG(bfd);
	for (n = 0; n < 256; n++) {
		r = lt_ioctl(self->cfd, LOOP_CTL_GET_FREE, 0);
		ASSERT_NONNEG(r);
		ASSERT_LT(r, SCAN_MAX);
		if (!existed[r])
			break;
		lt_track_dev((int)r, false);
		ASSERT_FALSE(lt_is_bound((int)r))
			TH_LOG("GET_FREE returned bound loop%ld", r);
		fds[n] = lt_open_dev((int)r, O_RDONLY);
		ASSERT_NONNEG(fds[n]);
		ASSERT_OK(lt_configure(fds[n], bfd, 0, 0, 0, 0));
	}
	ASSERT_LT(n, 256) TH_LOG("GET_FREE never created a new device");
	/* r did not exist before: GET_FREE created it, unbound */
	lt_track_dev((int)r, true);
	ASSERT_TRUE(lt_dev_exists((int)r));
	ASSERT_FALSE(lt_is_bound((int)r));
	/* all pre-existing devices are bound now */
	for (i = 0; i < SCAN_MAX; i++)
		if (existed[i])
			ASSERT_TRUE(lt_is_bound(i)) TH_LOG("loop%d left unbound", i);
}

TEST_F(ctl, unknown_ioctl_enosys)
{
	ASSERT_RET(-ENOSYS, lt_ioctl(self->cfd, LT_UNKNOWN_CTL_IOCTL, 0));
	ASSERT_RET(-ENOSYS, lt_ioctl(self->cfd, LOOP_GET_STATUS64, 0));
}

TEST_HARNESS_MAIN
