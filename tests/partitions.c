// SPDX-License-Identifier: GPL-2.0
/*
 * Partitions on loop devices: LO_FLAGS_PARTSCAN through LOOP_CONFIGURE and
 * LOOP_SET_STATUS64, BLKRRPART, partitions removed on LOOP_CLR_FD and on
 * autoclear, LOOP_SET_CAPACITY after the file grew, I/O through a partition.
 * With max_part (module parameter) partition scanning is always on: the
 * tests read /sys/module/loop/parameters/max_part and expect that.
 *
 * The image: an MBR (written here, same layout as `sfdisk` produces for
 * "2048,4096 / 6144,4096") in an 8 MiB file, p1 = sectors 2048..6143,
 * p2 = 6144..10239; the optional p3 = 16384..20479 lies past the end of the
 * 8 MiB file until the file grows to 12 MiB.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "loopt.h"

#define IMG_SIZE (8 << 20)
#define P1_START 2048
#define P2_START 6144
#define P3_START 16384
#define P_SECTORS 4096

#ifndef BLKRRPART
#define BLKRRPART _IO(0x12, 95)
#endif

static int max_part(void)
{
	char b[32];
	int fd = open("/sys/module/loop/parameters/max_part", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	b[n] = 0;
	return atoi(b);
}

static const uint32_t two_parts[][2] = {
	{ P1_START, P_SECTORS }, { P2_START, P_SECTORS } };
static const uint32_t three_parts[][2] = {
	{ P1_START, P_SECTORS }, { P2_START, P_SECTORS }, { P3_START, P_SECTORS } };
static const uint32_t only_p1[][2] = { { P1_START, P_SECTORS } };

static bool part_sysfs(int idx, int p)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "loop%dp%d", idx, p);
	return lt_sysfs_exists(idx, rel);
}

static bool part_dev(int idx, int p)
{
	char d[64];

	snprintf(d, sizeof(d), "/dev/loop%dp%d", idx, p);
	return access(d, F_OK) == 0;
}

static int part_u64(int idx, int p, const char *attr, unsigned long long *v)
{
	char rel[96];

	snprintf(rel, sizeof(rel), "loop%dp%d/%s", idx, p, attr);
	return lt_sysfs_u64(idx, rel, v);
}

FIXTURE(parts) {
	int idx;
	int fd;
	char file[PATH_MAX];
	int bfd;
	int max_part;
};

FIXTURE_SETUP(parts)
{
	self->max_part = max_part();
	self->idx = lt_get_free();
	ASSERT_NONNEG(self->idx);
	self->fd = lt_open_dev(self->idx, O_RDWR);
	ASSERT_NONNEG(self->fd);
	ASSERT_OK(lt_make_file(self->file, sizeof(self->file), IMG_SIZE));
	self->bfd = lt_open(self->file, O_RDWR);
	ASSERT_NONNEG(self->bfd);
	ASSERT_OK(lt_write_mbr(self->bfd, two_parts, 2));
}

FIXTURE_TEARDOWN(parts)
{
	lt_cleanup();
}

#define ASSERT_PARTS(idx, p1, p2) do {					\
	ASSERT_EQ((p1), part_sysfs((idx), 1)) TH_LOG("sysfs loop%dp1", (idx)); \
	ASSERT_EQ((p2), part_sysfs((idx), 2)) TH_LOG("sysfs loop%dp2", (idx)); \
	ASSERT_EQ((p1), part_dev((idx), 1)) TH_LOG("/dev/loop%dp1", (idx));   \
	ASSERT_EQ((p2), part_dev((idx), 2)) TH_LOG("/dev/loop%dp2", (idx));   \
} while (0)

TEST_F(parts, configure_partscan_creates_partitions)
{
	unsigned long long v;
	struct stat st;
	char d[64];

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_PARTSCAN, 0));
	ASSERT_PARTS(self->idx, true, true);
	ASSERT_OK(part_u64(self->idx, 1, "start", &v));
	ASSERT_EQ(P1_START, v);
	ASSERT_OK(part_u64(self->idx, 2, "start", &v));
	ASSERT_EQ(P2_START, v);
	ASSERT_OK(part_u64(self->idx, 2, "size", &v));
	ASSERT_EQ(P_SECTORS, v);
	ASSERT_SYSFS_STR(self->idx, "loop/partscan", "1");
	/* partition minors follow the whole disk (ext. devt or +1 with max_part) */
	snprintf(d, sizeof(d), "/dev/loop%dp1", self->idx);
	ASSERT_EQ(0, stat(d, &st));
	ASSERT_TRUE(S_ISBLK(st.st_mode));
	if (self->max_part) {
		ASSERT_EQ(7u, major(st.st_rdev));
		ASSERT_EQ((unsigned int)(self->idx << 4) + 1, minor(st.st_rdev));
	}
}

TEST_F(parts, configure_without_partscan)
{
	struct loop_info64 info;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_OK(lt_status64(self->fd, &info));
	if (self->max_part) {
		/* max_part turns PARTSCAN on for every bind */
		ASSERT_EQ(LO_FLAGS_PARTSCAN, info.lo_flags & LO_FLAGS_PARTSCAN);
		ASSERT_SYSFS_STR(self->idx, "loop/partscan", "1");
		ASSERT_PARTS(self->idx, true, true);
	} else {
		ASSERT_EQ(0u, info.lo_flags & LO_FLAGS_PARTSCAN);
		ASSERT_SYSFS_STR(self->idx, "loop/partscan", "0");
		ASSERT_PARTS(self->idx, false, false);
	}
}

TEST_F(parts, set_status_partscan_scans)
{
	struct loop_info64 info;

	if (self->max_part)
		SKIP(return, "max_part: PARTSCAN is always on");
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_PARTS(self->idx, false, false);
	ASSERT_OK(lt_status64(self->fd, &info));
	info.lo_flags |= LO_FLAGS_PARTSCAN;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	ASSERT_SYSFS_STR(self->idx, "loop/partscan", "1");
	ASSERT_PARTS(self->idx, true, true);
	/* and PARTSCAN cannot be cleared again */
	info.lo_flags &= ~LO_FLAGS_PARTSCAN;
	ASSERT_OK(lt_set_status64(self->fd, &info));
	ASSERT_OK(lt_status64(self->fd, &info));
	ASSERT_EQ(LO_FLAGS_PARTSCAN, info.lo_flags & LO_FLAGS_PARTSCAN);
	ASSERT_PARTS(self->idx, true, true);
}

TEST_F(parts, blkrrpart_rereads_table)
{
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_PARTSCAN, 0));
	ASSERT_PARTS(self->idx, true, true);
	/* drop p2 from the table, through the device as sfdisk does */
	ASSERT_OK(lt_write_mbr(self->fd, only_p1, 1));
	ASSERT_OK(lt_ioctl(self->fd, BLKRRPART, 0));
	ASSERT_PARTS(self->idx, true, false);
	/* and put it back */
	ASSERT_OK(lt_write_mbr(self->fd, two_parts, 2));
	ASSERT_OK(lt_ioctl(self->fd, BLKRRPART, 0));
	ASSERT_PARTS(self->idx, true, true);
}

TEST_F(parts, blkrrpart_without_partscan_einval)
{
	if (self->max_part)
		SKIP(return, "max_part: PARTSCAN is always on");
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, BLKRRPART, 0));
	ASSERT_PARTS(self->idx, false, false);
}

/*
 * Reopen the device after a close that may have started a rundown: open
 * answers ENXIO until it finished (ours, stock 6.11+) or waits (stock 6.1).
 */
static int reopen_unbound(int idx)
{
	struct timespec ms = { 0, 1000000 };
	int fd, i;

	for (i = 0; i < 5000; i++) {
		fd = lt_open_dev(idx, O_RDWR);
		if (fd != -ENXIO)
			return fd;
		nanosleep(&ms, NULL);
	}
	return -ETIMEDOUT;
}

TEST_F(parts, clr_fd_removes_partitions)
{
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_PARTSCAN, 0));
	ASSERT_PARTS(self->idx, true, true);
	ASSERT_OK(lt_ioctl(self->fd, LOOP_CLR_FD, 0));
	if (lt_clr_fd_is_lazy()) {
		/* stock 6.11+: the last close finishes the detach */
		ASSERT_TRUE(lt_is_bound(self->idx));
		close(self->fd);
		self->fd = reopen_unbound(self->idx);
		ASSERT_NONNEG(self->fd);
	}
	ASSERT_UNBOUND(self->idx, self->fd);
	ASSERT_PARTS(self->idx, false, false);
	/* a rebind without PARTSCAN does not bring them back */
	if (!self->max_part) {
		ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, 0, 0));
		ASSERT_PARTS(self->idx, false, false);
	}
}

TEST_F(parts, autoclear_removes_partitions)
{
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0,
			       LO_FLAGS_PARTSCAN | LO_FLAGS_AUTOCLEAR, 0));
	ASSERT_PARTS(self->idx, true, true);
	close(self->fd);
	self->fd = -1;
	/* synchronous contract (docs/teardown.md): gone when close() returned */
	ASSERT_FALSE(lt_is_bound(self->idx));
	ASSERT_PARTS(self->idx, false, false);
}

TEST_F(parts, set_capacity_after_grow)
{
	unsigned long long v;
	uint64_t sz;

	ASSERT_OK(lt_write_mbr(self->bfd, three_parts, 3));
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_PARTSCAN, 0));
	ASSERT_PARTS(self->idx, true, true);
	/* p3 starts past the end of the device: not created */
	ASSERT_FALSE(part_sysfs(self->idx, 3));
	ASSERT_EQ(0, ftruncate(self->bfd, 12 << 20));
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_CAPACITY, 0));
	ASSERT_OK(lt_size64(self->fd, &sz));
	ASSERT_EQ(12ull << 20, sz);
	ASSERT_OK(lt_sysfs_u64(self->idx, "size", &v));
	ASSERT_EQ((12ull << 20) / 512, v);
	/* 6.1 does not rescan on a capacity change; BLKRRPART does */
	TH_LOG("p3 right after LOOP_SET_CAPACITY: %s",
	       part_sysfs(self->idx, 3) ? "present" : "absent");
	ASSERT_FALSE(part_sysfs(self->idx, 3));
	ASSERT_OK(lt_ioctl(self->fd, BLKRRPART, 0));
	ASSERT_TRUE(part_sysfs(self->idx, 3));
	ASSERT_OK(part_u64(self->idx, 3, "start", &v));
	ASSERT_EQ(P3_START, v);
	ASSERT_PARTS(self->idx, true, true);
}

TEST_F(parts, partition_io_maps_to_file)
{
	char d[64], why[256];
	uint8_t buf[8192], wr[4096];
	int pfd;

	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_PARTSCAN, 0));
	snprintf(d, sizeof(d), "/dev/loop%dp2", self->idx);
	pfd = open(d, O_RDWR | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, pfd) TH_LOG("open %s: %s", d, strerror(errno));
	{
		void *al;

		ASSERT_EQ(0, posix_memalign(&al, 4096, sizeof(buf)));
		ASSERT_EQ((ssize_t)sizeof(buf), pread(pfd, al, sizeof(buf), 4096));
		memcpy(buf, al, sizeof(buf));
		ASSERT_EQ(0, lt_check_pattern(buf, sizeof(buf),
					      P2_START * 512ull + 4096, why, sizeof(why)))
			TH_LOG("%s", why);
		memset(wr, 0xa5, sizeof(wr));
		memcpy(al, wr, sizeof(wr));
		ASSERT_EQ((ssize_t)sizeof(wr), pwrite(pfd, al, sizeof(wr), 0));
		free(al);
	}
	ASSERT_EQ(0, fsync(pfd));
	close(pfd);
	ASSERT_EQ((ssize_t)sizeof(wr), pread(self->bfd, buf, sizeof(wr), P2_START * 512ull));
	ASSERT_EQ(0, memcmp(buf, wr, sizeof(wr)));
	/* p1 is untouched */
	ASSERT_EQ((ssize_t)sizeof(wr), pread(self->bfd, buf, sizeof(wr), P2_START * 512ull - 4096));
	ASSERT_EQ(0, lt_check_pattern(buf, sizeof(wr), P2_START * 512ull - 4096, why, sizeof(why)))
		TH_LOG("%s", why);
}

TEST_F(parts, open_partition_blocks_nothing_on_clr_fd)
{
	char d[64];
	int pfd;

	/* a partition held open: LOOP_CLR_FD is lazy (sets AUTOCLEAR) as in 6.1 */
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_PARTSCAN, 0));
	snprintf(d, sizeof(d), "/dev/loop%dp1", self->idx);
	pfd = open(d, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, pfd);
	ASSERT_OK(lt_ioctl(self->fd, LOOP_CLR_FD, 0));
	ASSERT_SYSFS_STR(self->idx, "loop/autoclear", "1");
	close(pfd);
	ASSERT_TRUE(lt_is_bound(self->idx));	/* our fd still holds it */
	close(self->fd);
	self->fd = -1;
	ASSERT_FALSE(lt_is_bound(self->idx));
	ASSERT_PARTS(self->idx, false, false);
}

/*
 * blktests loop/010: openers racing with the detach (as udev's blkid does
 * after every change event) must leave no partitions behind and the
 * rundown's rescan must not fail.  Stock 6.11 closed this race by refusing
 * opens during rundown; the rounds below detach both through LOOP_CLR_FD
 * by the only opener and lazily, when the racing opener closes last.
 */
TEST_F(parts, concurrent_open_during_detach)
{
	int before = lt_kmsg_count("partition scan");
	char dev[64];
	pid_t child;
	int i, st;

	ASSERT_LE(0, before);
	lt_dev_path(self->idx, dev, sizeof(dev));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		/* an inherited descriptor would keep the device open for good */
		close(self->fd);
		for (;;) {
			int fd = open(dev, O_RDONLY | O_CLOEXEC);

			if (fd >= 0)
				close(fd);
		}
	}
	for (i = 0; i < 200; i++) {
		ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0,
				       LO_FLAGS_PARTSCAN, 0));
		ASSERT_OK(lt_ioctl(self->fd, LOOP_CLR_FD, 0));
		/*
		 * Lazy if the child held it (and always on stock 6.11+): the
		 * last close detaches, ours or the child's.
		 */
		close(self->fd);
		for (st = 0; st < 5000 && lt_is_bound(self->idx); st++)
			usleep(1000);
		self->fd = reopen_unbound(self->idx);
		ASSERT_NONNEG(self->fd);
		ASSERT_UNBOUND(self->idx, self->fd);
		ASSERT_PARTS(self->idx, false, false);
	}
	kill(child, SIGKILL);
	ASSERT_EQ(child, waitpid(child, &st, 0));
	ASSERT_EQ(before, lt_kmsg_count("partition scan"))
		TH_LOG("the kernel log has new 'partition scan' failures");
}

TEST(ctl_add_minor_follows_max_part)
{
	int shift = 0, mp = max_part(), idx = lt_free_index(40);
	char want[32], got[32];
	long r;

	while (mp && (1 << shift) <= mp)
		shift++;
	ASSERT_NONNEG(idx);
	r = lt_ctl(LOOP_CTL_ADD, idx);
	ASSERT_RET(idx, r);
	lt_track_dev(idx, true);
	snprintf(want, sizeof(want), "7:%d", idx << shift);
	r = lt_sysfs_read(idx, "dev", got, sizeof(got));
	lt_cleanup();
	ASSERT_OK(r);
	ASSERT_STREQ(want, got);
	ASSERT_FALSE(lt_dev_exists(idx));
}

TEST_HARNESS_MAIN
