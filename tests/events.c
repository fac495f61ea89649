// SPDX-License-Identifier: GPL-2.0
/*
 * Events: KOBJ_CHANGE uevents on bind, clear and autoclear (ACTION=change,
 * DEVNAME=loopN, MAJOR=7, MINOR=N << part_shift), the capacity-change event
 * of LOOP_SET_CAPACITY (RESIZE=1 when the size changed), and the disk
 * sequence number (/sys/block/loopN/diskseq and BLKGETDISKSEQ) bumped by the
 * media change of bind and clear.
 * The number of change events per operation is printed and checked
 * against the counts measured on stock 6.1 (docs/compat.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include "kselftest_harness.h"
#include "fixture.h"

#ifndef BLKGETDISKSEQ
#define BLKGETDISKSEQ _IOR(0x12, 128, uint64_t)
#endif

struct ev_summary {
	int change;		/* ACTION=change for DEVNAME=loopN */
	int other;		/* other actions for loopN */
	int resize;		/* ... with RESIZE=1 */
	int media;		/* ... with DISK_MEDIA_CHANGE=1 */
	int good_ids;		/* ... with MAJOR=7, the right MINOR, DEVTYPE=disk */
};

static int uev_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	int sz = 4 << 20;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* the lockdep debug kernel is built without networking: no uevent socket */
#define UEV_OPEN_OR_SKIP(u) do {					\
	if ((u) == -ENOSYS || (u) == -EAFNOSUPPORT)			\
		SKIP(return, "kernel without netlink sockets");	\
	ASSERT_NONNEG(u);						\
} while (0)

static const char *uev_get(const char *buf, ssize_t len, const char *key)
{
	size_t kl = strlen(key);
	const char *p = buf;

	while (p < buf + len) {
		if (!strncmp(p, key, kl) && p[kl] == '=')
			return p + kl + 1;
		p += strlen(p) + 1;
	}
	return NULL;
}

static int part_shift(void)
{
	char b[32] = "0";
	int fd = open("/sys/module/loop/parameters/max_part", O_RDONLY), mp, s = 0;

	if (fd >= 0) {
		if (read(fd, b, sizeof(b) - 1) < 0)
			b[0] = '0';
		close(fd);
	}
	mp = atoi(b);
	while (mp && (1 << s) <= mp)
		s++;
	return s;
}

/* Drain events for loop<idx> until 300 ms pass without one. */
static void uev_collect(int fd, int idx, struct ev_summary *s)
{
	char buf[8192], name[32], minor[16];
	struct pollfd p = { .fd = fd, .events = POLLIN };

	memset(s, 0, sizeof(*s));
	snprintf(name, sizeof(name), "loop%d", idx);
	snprintf(minor, sizeof(minor), "%d", idx << part_shift());
	while (poll(&p, 1, 300) > 0) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		const char *v;

		if (n <= 0)
			break;
		buf[n] = 0;
		v = uev_get(buf, n, "DEVNAME");
		if (!v || strcmp(v, name))
			continue;
		v = uev_get(buf, n, "ACTION");
		if (!v || strcmp(v, "change")) {
			s->other++;
			continue;
		}
		s->change++;
		v = uev_get(buf, n, "RESIZE");
		if (v && !strcmp(v, "1"))
			s->resize++;
		v = uev_get(buf, n, "DISK_MEDIA_CHANGE");
		if (v && !strcmp(v, "1"))
			s->media++;
		if ((v = uev_get(buf, n, "MAJOR")) && !strcmp(v, "7") &&
		    (v = uev_get(buf, n, "MINOR")) && !strcmp(v, minor) &&
		    (v = uev_get(buf, n, "SUBSYSTEM")) && !strcmp(v, "block") &&
		    (v = uev_get(buf, n, "DEVTYPE")) && !strcmp(v, "disk"))
			s->good_ids++;
	}
}

#define LOG_EV(what, s)							\
	TH_LOG("%s: %d change event(s) (%d with RESIZE=1, %d with DISK_MEDIA_CHANGE=1), %d other", \
	       (what), (s).change, (s).resize, (s).media, (s).other)

static unsigned long long diskseq(struct __test_metadata *_metadata, int idx, int fd)
{
	unsigned long long sys = 0;
	uint64_t ioc = 0;

	EXPECT_RET(0, lt_sysfs_u64(idx, "diskseq", &sys));
	EXPECT_RET(0, lt_ioctlp(fd, BLKGETDISKSEQ, &ioc));
	EXPECT_EQ(sys, ioc) TH_LOG("sysfs diskseq %llu, BLKGETDISKSEQ %llu",
				   sys, (unsigned long long)ioc);
	return sys;
}

TEST_F(loopdev, uevent_change_on_bind_and_clear)
{
	struct ev_summary s;
	int u = uev_open();

	UEV_OPEN_OR_SKIP(u);
	uev_collect(u, self->idx, &s);	/* drain */
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	uev_collect(u, self->idx, &s);
	LOG_EV("LOOP_CONFIGURE", s);
	ASSERT_EQ(1, s.change);		/* as stock 6.1 */
	ASSERT_EQ(s.change, s.good_ids) TH_LOG("MAJOR/MINOR/DEVTYPE wrong");
	/* stock 6.11+: lazy, the events come with the close */
	ASSERT_OK(lt_clr_fd_now(self->idx, &self->fd));
	uev_collect(u, self->idx, &s);
	LOG_EV("LOOP_CLR_FD", s);
	ASSERT_EQ(2, s.change);		/* plain + media change, as stock 6.1 */
	ASSERT_EQ(1, s.media);
	ASSERT_EQ(s.change, s.good_ids);
	close(u);
}

TEST_F(loopdev, uevent_change_on_set_fd)
{
	struct ev_summary s;
	int u = uev_open();

	UEV_OPEN_OR_SKIP(u);
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_FD, self->bfd));
	uev_collect(u, self->idx, &s);
	LOG_EV("LOOP_SET_FD", s);
	ASSERT_LE(1, s.change);
	ASSERT_EQ(s.change, s.good_ids);
	close(u);
}

TEST_F(loopdev, uevent_change_on_autoclear)
{
	struct ev_summary s;
	int u = uev_open();

	UEV_OPEN_OR_SKIP(u);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_AUTOCLEAR, 0));
	uev_collect(u, self->idx, &s);
	close(self->fd);
	self->fd = -1;
	uev_collect(u, self->idx, &s);
	LOG_EV("autoclear (last close)", s);
	ASSERT_EQ(2, s.change);
	ASSERT_EQ(1, s.media);
	ASSERT_EQ(s.change, s.good_ids);
	ASSERT_FALSE(lt_is_bound(self->idx));
	close(u);
}

TEST_F(loopdev, uevent_resize_on_set_capacity)
{
	struct ev_summary s;
	uint64_t sz;
	int u = uev_open();

	UEV_OPEN_OR_SKIP(u);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	uev_collect(u, self->idx, &s);
	ASSERT_EQ(0, ftruncate(self->bfd, 2 * LT_FILE_SIZE));
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_CAPACITY, 0));
	uev_collect(u, self->idx, &s);
	LOG_EV("LOOP_SET_CAPACITY (grown)", s);
	ASSERT_LE(1, s.resize);
	ASSERT_EQ(s.change, s.good_ids);
	ASSERT_OK(lt_size64(self->fd, &sz));
	ASSERT_EQ(2ull * LT_FILE_SIZE, sz);
	/* unchanged size: still a change event, without RESIZE */
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_CAPACITY, 0));
	uev_collect(u, self->idx, &s);
	LOG_EV("LOOP_SET_CAPACITY (same size)", s);
	ASSERT_LE(1, s.change);
	ASSERT_EQ(0, s.resize);
	close(u);
}

TEST_F(loopdev, uevent_resize_on_set_status_sizelimit)
{
	struct loop_info64 info;
	struct ev_summary s;
	int u = uev_open();

	UEV_OPEN_OR_SKIP(u);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	uev_collect(u, self->idx, &s);
	ASSERT_OK(lt_status64(self->fd, &info));
	info.lo_sizelimit = LT_FILE_SIZE / 2;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	uev_collect(u, self->idx, &s);
	LOG_EV("LOOP_SET_STATUS64 sizelimit", s);
	ASSERT_LE(1, s.resize);
	close(u);
}

TEST_F(loopdev, diskseq_bumps_on_bind_and_clear)
{
	unsigned long long s0, s1, s2, s3;

	ASSERT_TRUE(lt_sysfs_exists(self->idx, "diskseq"));
	s0 = diskseq(_metadata, self->idx, self->fd);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	s1 = diskseq(_metadata, self->idx, self->fd);
	TH_LOG("diskseq: unbound %llu, bound %llu", s0, s1);
	/* the next value of the kernel's global sequence: larger, not s0 + 1 */
	ASSERT_LT(s0, s1);
	/* capacity change and status change are no media change */
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_CAPACITY, 0));
	s2 = diskseq(_metadata, self->idx, self->fd);
	ASSERT_EQ(s1, s2);
	ASSERT_OK(lt_clr_fd_now(self->idx, &self->fd));
	s3 = diskseq(_metadata, self->idx, self->fd);
	TH_LOG("diskseq: cleared %llu", s3);
	ASSERT_LT(s2, s3);
}

TEST_F(loopdev, diskseq_bumps_on_change_fd_and_autoclear)
{
	unsigned long long s0, s1, s2;
	char f2[PATH_MAX];
	int b2, fd2;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_READ_ONLY, 0));
	s0 = diskseq(_metadata, self->idx, self->fd);
	ASSERT_OK(lt_make_file(f2, sizeof(f2), LT_FILE_SIZE));
	b2 = lt_open(f2, O_RDONLY);
	ASSERT_NONNEG(b2);
	ASSERT_OK(lt_ioctl(self->fd, LOOP_CHANGE_FD, b2));
	s1 = diskseq(_metadata, self->idx, self->fd);
	TH_LOG("diskseq: before CHANGE_FD %llu, after %llu", s0, s1);
	ASSERT_LT(s0, s1);
	/* autoclear through the last close */
	{
		struct loop_info64 info;

		ASSERT_OK(lt_status64(self->fd, &info));
		info.lo_flags |= LO_FLAGS_AUTOCLEAR;
		ASSERT_OK(lt_set_status64(self->fd, &info));
	}
	ASSERT_EQ(s1, diskseq(_metadata, self->idx, self->fd));
	close(self->fd);
	self->fd = -1;
	ASSERT_FALSE(lt_is_bound(self->idx));
	fd2 = lt_open_dev(self->idx, O_RDONLY);
	ASSERT_NONNEG(fd2);
	s2 = diskseq(_metadata, self->idx, fd2);
	ASSERT_LT(s1, s2);
	close(fd2);
}

TEST_F(loopdev, diskseq_distinct_across_devices)
{
	unsigned long long a, b;
	int idx2 = lt_free_index(self->idx + 1), fd2;

	ASSERT_NONNEG(idx2);
	ASSERT_RET(idx2, lt_ctl(LOOP_CTL_ADD, idx2));
	lt_track_dev(idx2, true);
	fd2 = lt_open_dev(idx2, O_RDONLY);
	ASSERT_NONNEG(fd2);
	a = diskseq(_metadata, self->idx, self->fd);
	b = diskseq(_metadata, idx2, fd2);
	TH_LOG("diskseq loop%d %llu, loop%d %llu", self->idx, a, idx2, b);
	ASSERT_NE(a, b);
	ASSERT_LT(a, b);	/* later disk, larger sequence number */
	close(fd2);
}

TEST_HARNESS_MAIN
