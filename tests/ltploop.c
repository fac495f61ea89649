// SPDX-License-Identifier: GPL-2.0
/*
 * Peer suite: the checks of LTP's loop ioctl tests
 * (linux-test-project/ltp, testcases/kernel/syscalls/ioctl/ioctl_loop01.c
 * .. ioctl_loop07.c), written anew for the kselftest harness.  One TEST_F
 * per LTP test, or per entry of its tcases[] where it has several; the
 * comment above each names the LTP test and what it asserts.  Where LTP
 * only logs a value, these tests assert the value both Debian kernels give.
 *
 * LTP's branches on the kernel or on behaviour, and the one kept here:
 * - LOOP_CONFIGURE (5.8) and LOOP_SET_BLOCK_SIZE (4.14) are probed (fd -1,
 *   a block size on an unbound device) and the cases skipped without them:
 *   6.1 and 6.12 have both, so the probes must answer EBADF and ENXIO.
 * - tst_detach_device_by_fd() waits out the lazy LOOP_CLR_FD of 6.11+:
 *   lt_clr_fd_now() (immediate on 6.1 and on ours, lazy on stock 6.12).
 * - ioctl_loop01 checks the partition nodes only if parted is installed:
 *   the MBR is written here, so they are always checked.
 * - ioctl_loop05 accepts a LOOP_SET_DIRECT_IO that succeeds with an offset
 *   below the backing logical block size, for filesystems without s_bdev
 *   (btrfs): on ext4 both kernels check the alignment, so EINVAL.
 * - ioctl_loop06's sizes are 256, 2 * PAGE_SIZE and PAGE_SIZE - 1: EINVAL
 *   from blk_validate_block_size() on 6.1, from the queue-limits commit on
 *   6.12 (large block sizes only came in 6.15).
 *
 * The ioctl_loop06 cases also catch a hang: LOOP_SET_BLOCK_SIZE and
 * LOOP_CONFIGURE take a temporary claim on the device (bd_prepare_to_claim,
 * stock since the 6.17 fix "loop: don't change loop device under exclusive
 * opener", backported to Debian's 6.1.192 and 6.12.117, and ours), and an
 * error path that returns without bd_abort_claiming() leaves every later
 * claimer (the next ioctl, an O_EXCL open, mount) waiting uninterruptibly:
 * what a 6.6.y backport did to ioctl_loop06.  Each such call runs in a
 * child with a deadline (lp_within()), every invalid call is made twice,
 * and an O_EXCL open and a valid change must go through afterwards.
 *
 * $ALOOP_LTP_DIR: a filesystem with direct I/O and a backing block device
 * (ext4 on the virtio disk, from the suite) for ioctl_loop05.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "fixture.h"

/* a claim call that has not answered by then hangs */
#define LP_DEADLINE_MS	5000

/* ioctl_loop01: what LTP sets through LOOP_SET_STATUS, what may come back */
#define LP_SET_FLAGS	(LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN | \
			 LO_FLAGS_READ_ONLY | LO_FLAGS_DIRECT_IO)
#define LP_GET_FLAGS	(LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN)

/* ioctl_loop01's image: parted's "mklabel msdos mkpart primary 1M 10M" */
#define LP_IMG01_SIZE	(10 << 20)
#define LP_PART1_START	2048		/* sectors */
#define LP_PART1_LEN	18432
/* an MBR with one Linux partition [1 MiB, 10 MiB) */
static const uint32_t lp_part1[1][2] = { { LP_PART1_START, LP_PART1_LEN } };

/* ioctl_loop02..04: 10 KiB images, 20 KiB for the wrong size */
#define LP_SMALL	10240

/*
 * A patterned backing file of @size bytes on /tmp, opened with @flags:
 * fd or -errno.  Closed and unlinked by lt_cleanup().
 */
static int lp_file(char *path, size_t len, off_t size, int flags)
{
	int err = lt_make_file(path, len, size);

	return err ? err : lt_open(path, flags);
}

/*
 * tst_attach_device(): LOOP_SET_FD, then LOOP_SET_STATUS for lo_name (old
 * kernels had no other way to set it).  0 or -errno.
 */
static int lp_attach(int devfd, int bfd, const char *path)
{
	struct loop_info info;
	long r = lt_ioctl(devfd, LOOP_SET_FD, bfd);

	if (r)
		return (int)r;
	memset(&info, 0, sizeof(info));
	snprintf(info.lo_name, sizeof(info.lo_name), "%s", path);
	return (int)lt_ioctlp(devfd, LOOP_SET_STATUS, &info);
}

/*
 * LOOP_SET_STATUS{,64} retried while it answers EAGAIN (6.1 does when the
 * page cache could not be dropped), as LTP's TST_RETRY_FUNC.
 */
static int lp_set_status(int devfd, unsigned long cmd, const void *info)
{
	long r = -EAGAIN;
	int i;

	for (i = 0; i < 50 && r == -EAGAIN; i++) {
		r = lt_ioctlp(devfd, cmd, info);
		if (r == -EAGAIN)
			usleep(20000);
	}
	return (int)r;
}

/* an ioctl on @fd, or with @fd < 0 an open of loop@idx with @flags */
struct lp_op {
	int fd;
	unsigned long cmd, arg;
	int idx, flags;
};

static long lp_run(const struct lp_op *op)
{
	int fd;

	if (op->fd >= 0)
		return lt_ioctl(op->fd, op->cmd, op->arg);
	fd = lt_open_dev(op->idx, op->flags);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/*
 * @op in a child, its result back through a pipe: the result, or
 * -ETIMEDOUT when the child has not answered within LP_DEADLINE_MS (it is
 * sent SIGKILL, which ends a killable wait; an uninterruptible one stays,
 * and the kernel's hung-task report then fails the run as well).
 */
static long lp_within(const struct lp_op *op)
{
	struct pollfd pfd;
	long r;
	int p[2];
	pid_t pid;

	if (pipe(p))
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (!pid) {
		close(p[0]);
		r = lp_run(op);
		_exit(write(p[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, LP_DEADLINE_MS) != 1) {
		kill(pid, SIGKILL);
		close(p[0]);
		return -ETIMEDOUT;
	}
	if (read(p[0], &r, sizeof(r)) != sizeof(r))
		r = -EPIPE;
	close(p[0]);
	waitpid(pid, NULL, 0);
	return r;
}

static long lp_ioctl_within(int fd, unsigned long cmd, unsigned long arg)
{
	struct lp_op op = { .fd = fd, .cmd = cmd, .arg = arg };

	return lp_within(&op);
}

static long lp_open_within(int idx, int flags)
{
	struct lp_op op = { .fd = -1, .idx = idx, .flags = flags };

	return lp_within(&op);
}

/* LOOP_GET_STATUS (the old struct, as LTP reads the flags) */
static int lp_flags(int devfd, int *flags)
{
	struct loop_info info;
	long r;

	memset(&info, 0, sizeof(info));
	r = lt_ioctlp(devfd, LOOP_GET_STATUS, &info);
	if (!r)
		*flags = info.lo_flags;
	return (int)r;
}

/* poll for a path for up to 3 s (LTP: TST_RETRY_FN_EXP_BACKOFF) */
static bool lp_appears(const char *path)
{
	int i;

	for (i = 0; i < 300; i++) {
		if (!access(path, F_OK))
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * ioctl_loop01's check_loop_value(): LOOP_SET_STATUS with @set, then
 * LOOP_GET_STATUS shows @get (LTP: nothing outside it), sysfs partscan 1,
 * autoclear @autoclear, and partition 1 in /dev and sysfs.
 */
static void lp_check_flags01(struct __test_metadata *_metadata, int idx,
			     int devfd, int set, int get, const char *autoclear)
{
	char dev[64], sys[96];
	struct loop_info info;
	int flags = 0;

	memset(&info, 0, sizeof(info));
	info.lo_flags = set;
	ASSERT_OK(lp_set_status(devfd, LOOP_SET_STATUS, &info));
	ASSERT_OK(lp_flags(devfd, &flags));
	ASSERT_EQ(get, flags) TH_LOG("set 0x%x: lo_flags 0x%x", set, flags);
	ASSERT_SYSFS_STR(idx, "loop/partscan", "1");
	ASSERT_SYSFS_STR(idx, "loop/autoclear", autoclear);

	snprintf(dev, sizeof(dev), "/dev/loop%dp1", idx);
	snprintf(sys, sizeof(sys), "/sys/block/loop%d/loop%dp1", idx, idx);
	ASSERT_TRUE(lp_appears(dev)) TH_LOG("%s missing", dev);
	ASSERT_TRUE(lp_appears(sys)) TH_LOG("%s missing", sys);
}

/*
 * LTP ioctl_loop01: after attach, sysfs partscan and autoclear read 0 and
 * backing_file names the image; LOOP_SET_STATUS with AUTOCLEAR, PARTSCAN,
 * READ_ONLY and DIRECT_IO keeps only AUTOCLEAR and PARTSCAN (the other two
 * are not settable), sysfs shows both and the partition table is scanned
 * (/dev/loopNp1, /sys/block/loopN/loopNp1); LOOP_SET_STATUS with no flags
 * clears AUTOCLEAR but not PARTSCAN, and the partition stays.
 */
TEST_F(loopdev, ioctl_loop01_autoclear_partscan)
{
	char img[PATH_MAX], sys[96];
	int bfd;

	bfd = lp_file(img, sizeof(img), LP_IMG01_SIZE, O_RDWR);
	ASSERT_NONNEG(bfd);
	ASSERT_OK(lt_write_mbr(bfd, lp_part1, 1));
	ASSERT_OK(lp_attach(self->fd, bfd, img));
	ASSERT_SYSFS_STR(self->idx, "loop/partscan", "0");
	ASSERT_SYSFS_STR(self->idx, "loop/autoclear", "0");
	ASSERT_SYSFS_STR(self->idx, "loop/backing_file", img);

	lp_check_flags01(_metadata, self->idx, self->fd, LP_SET_FLAGS,
			 LP_GET_FLAGS, "1");
	lp_check_flags01(_metadata, self->idx, self->fd, 0,
			 LO_FLAGS_PARTSCAN, "0");

	/* LTP's detach (not asserted there): unbound, partition gone */
	ASSERT_OK(lt_clr_fd_now(self->idx, &self->fd));
	ASSERT_UNBOUND(self->idx, self->fd);
	snprintf(sys, sizeof(sys), "/sys/block/loop%d/loop%dp1", self->idx,
		 self->idx);
	ASSERT_NE(0, access(sys, F_OK)) TH_LOG("%s still there", sys);
}

/*
 * ioctl_loop02's verify_ioctl_loop(): a read-only device (sysfs ro 1,
 * lo_flags READ_ONLY and nothing else, write() refused: EPERM on both
 * kernels, LTP only requires a failure) takes LOOP_CHANGE_FD to a file of
 * the same size (still ro, backing_file follows) and refuses one of
 * another size with EINVAL.
 */
static void lp_check_ro_change_fd(struct __test_metadata *_metadata,
				  FIXTURE_DATA(loopdev) *self, bool configure)
{
	char img[PATH_MAX], img1[PATH_MAX], img2[PATH_MAX];
	int fd0, fd1, fd2, flags = 0;

	fd0 = lp_file(img, sizeof(img), LP_SMALL,
		      configure ? O_RDWR : O_RDONLY);
	ASSERT_NONNEG(fd0);
	fd1 = lp_file(img1, sizeof(img1), LP_SMALL, O_RDWR);
	ASSERT_NONNEG(fd1);
	fd2 = lp_file(img2, sizeof(img2), 2 * LP_SMALL, O_RDWR);
	ASSERT_NONNEG(fd2);

	if (configure) {
		struct loop_config cfg;

		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = -1;
		/* LTP's probe for LOOP_CONFIGURE */
		ASSERT_RET(-EBADF, lt_ioctlp(self->fd, LOOP_CONFIGURE, &cfg));
		cfg.fd = fd0;
		cfg.info.lo_flags = LO_FLAGS_READ_ONLY;
		ASSERT_OK(lt_ioctlp(self->fd, LOOP_CONFIGURE, &cfg));
	} else {
		ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_FD, fd0));
	}
	ASSERT_SYSFS_STR(self->idx, "ro", "1");
	ASSERT_SYSFS_STR(self->idx, "loop/backing_file", img);
	ASSERT_OK(lp_flags(self->fd, &flags));
	ASSERT_EQ(LO_FLAGS_READ_ONLY, flags);
	ASSERT_EQ(-1, write(self->fd, "xx", 2));
	ASSERT_EQ(EPERM, errno);

	ASSERT_OK(lt_ioctl(self->fd, LOOP_CHANGE_FD, fd1));
	ASSERT_SYSFS_STR(self->idx, "ro", "1");
	ASSERT_SYSFS_STR(self->idx, "loop/backing_file", img1);
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LOOP_CHANGE_FD, fd2));
	ASSERT_SYSFS_STR(self->idx, "loop/backing_file", img1);

	ASSERT_OK(lt_clr_fd_now(self->idx, &self->fd));
	ASSERT_UNBOUND(self->idx, self->fd);
}

/*
 * LTP ioctl_loop02, tcase 0: LOOP_SET_FD with a file opened O_RDONLY makes
 * a read-only device; LOOP_CHANGE_FD to a same-size file works, to a file
 * of another size fails with EINVAL.
 */
TEST_F(loopdev, ioctl_loop02_set_fd_read_only_change_fd)
{
	lp_check_ro_change_fd(_metadata, self, false);
}

/*
 * LTP ioctl_loop02, tcase 1: LOOP_CONFIGURE with LO_FLAGS_READ_ONLY makes
 * a read-only device although the file is open O_RDWR; the same
 * LOOP_CHANGE_FD rules.
 */
TEST_F(loopdev, ioctl_loop02_configure_read_only_change_fd)
{
	lp_check_ro_change_fd(_metadata, self, true);
}

/*
 * LTP ioctl_loop03: LOOP_CHANGE_FD on a device that is not read-only fails
 * with EINVAL (even to the very same file); the binding stays.
 */
TEST_F(loopdev, ioctl_loop03_change_fd_needs_read_only)
{
	char img[PATH_MAX];
	int bfd, fd, flags = 0;

	bfd = lp_file(img, sizeof(img), LP_SMALL, O_RDWR);
	ASSERT_NONNEG(bfd);
	ASSERT_OK(lp_attach(self->fd, bfd, img));
	fd = lt_open(img, O_RDWR);
	ASSERT_NONNEG(fd);
	ASSERT_OK(lp_flags(self->fd, &flags));
	/* LTP: TCONF if the device came up read-only */
	ASSERT_EQ(0, flags & LO_FLAGS_READ_ONLY);

	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LOOP_CHANGE_FD, fd));
	ASSERT_SYSFS_STR(self->idx, "loop/backing_file", img);
	ASSERT_SYSFS_STR(self->idx, "ro", "0");
}

/*
 * LTP ioctl_loop04: a 10 KiB file reads as 20 sectors in sysfs; after the
 * file is truncated to 5 KiB, LOOP_SET_CAPACITY makes the device 10
 * sectors: a 10 KiB write() from offset 0 writes 5120 bytes.
 */
TEST_F(loopdev, ioctl_loop04_set_capacity)
{
	char img[PATH_MAX], buf[LP_SMALL];
	unsigned long long sectors;
	int bfd, dfd, flags = 0;

	bfd = lp_file(img, sizeof(img), LP_SMALL, O_RDWR);
	ASSERT_NONNEG(bfd);
	ASSERT_OK(lp_attach(self->fd, bfd, img));
	ASSERT_OK(lt_sysfs_u64(self->idx, "size", &sectors));
	ASSERT_EQ(LP_SMALL / 512, sectors);
	dfd = lt_open_dev(self->idx, O_RDWR);
	ASSERT_NONNEG(dfd);
	ASSERT_OK(lp_flags(dfd, &flags));
	ASSERT_EQ(0, flags & LO_FLAGS_READ_ONLY);

	ASSERT_EQ(0, truncate(img, LP_SMALL / 2));
	ASSERT_OK(lt_ioctl(dfd, LOOP_SET_CAPACITY, 0));
	memset(buf, 'x', sizeof(buf));
	ASSERT_EQ(LP_SMALL / 2, write(dfd, buf, sizeof(buf)));
	ASSERT_OK(lt_sysfs_u64(self->idx, "size", &sectors));
	ASSERT_EQ(LP_SMALL / 2 / 512, sectors);
	close(dfd);
	ASSERT_OK(lt_clr_fd_now(self->idx, &self->fd));
	ASSERT_UNBOUND(self->idx, self->fd);
}

/* ioctl_loop05's check_dio_value(): lo_flags and sysfs loop/dio agree */
static void lp_check_dio(struct __test_metadata *_metadata, int idx,
			 int devfd, bool on)
{
	int flags = 0;

	ASSERT_OK(lp_flags(devfd, &flags));
	ASSERT_EQ(on, !!(flags & LO_FLAGS_DIRECT_IO))
		TH_LOG("lo_flags 0x%x, expected direct I/O %s", flags,
		       on ? "on" : "off");
	ASSERT_SYSFS_STR(idx, "loop/dio", on ? "1" : "0");
}

/*
 * The logical block size of the block device under @fd's filesystem
 * (LTP: tst_find_backing_dev() + BLKSSZGET), from sysfs: the queue of the
 * device, or of its disk for a partition.
 */
static int lp_backing_lbs(int fd, unsigned int *lbs)
{
	static const char *const rel[] = {
		"queue/logical_block_size", "../queue/logical_block_size",
	};
	char path[128];
	struct stat st;
	unsigned int i;
	FILE *f;
	int n;

	if (fstat(fd, &st))
		return -errno;
	for (i = 0; i < ARRAY_SIZE(rel); i++) {
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s",
			 major(st.st_dev), minor(st.st_dev), rel[i]);
		f = fopen(path, "r");
		if (!f)
			continue;
		n = fscanf(f, "%u", lbs);
		fclose(f);
		if (n == 1)
			return 0;
	}
	return -ENOENT;
}

/*
 * LTP ioctl_loop05: on a file of a filesystem with direct I/O (not tmpfs),
 * with the device's block size at least the backing logical block size:
 * LOOP_SET_DIRECT_IO 1 and 0 switch lo_flags DIRECT_IO and sysfs dio, with
 * offset 0 and with offset = logical block size; with a nonzero offset
 * below it, LOOP_SET_DIRECT_IO 1 fails with EINVAL (see the top: LTP also
 * accepts success there, for filesystems without s_bdev) and dio stays off.
 */
TEST_F(loopdev, ioctl_loop05_set_direct_io)
{
	const char *dir = getenv("ALOOP_LTP_DIR");
	struct loop_info info;
	char img[PATH_MAX];
	unsigned int lbs;
	int bfd;

	ASSERT_NE(NULL, dir) TH_LOG("ALOOP_LTP_DIR is not set");
	ASSERT_OK(lt_make_file_in(dir, img, sizeof(img), 1 << 20));
	bfd = lt_open(img, O_RDWR);
	ASSERT_NONNEG(bfd);
	ASSERT_OK(lp_attach(self->fd, bfd, img));
	/* LTP's probe for LOOP_SET_DIRECT_IO */
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_DIRECT_IO, 0));
	ASSERT_OK(lp_backing_lbs(bfd, &lbs));
	TH_LOG("backing logical block size %u", lbs);
	if (lbs > 512)
		ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_BLOCK_SIZE, lbs));

	/* without offset or sizelimit */
	memset(&info, 0, sizeof(info));
	ASSERT_OK(lp_set_status(self->fd, LOOP_SET_STATUS, &info));
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_DIRECT_IO, 1));
	lp_check_dio(_metadata, self->idx, self->fd, true);
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_DIRECT_IO, 0));
	lp_check_dio(_metadata, self->idx, self->fd, false);

	/* offset = logical block size */
	info.lo_offset = lbs;
	ASSERT_OK(lp_set_status(self->fd, LOOP_SET_STATUS, &info));
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_DIRECT_IO, 1));
	lp_check_dio(_metadata, self->idx, self->fd, true);
	ASSERT_OK(lt_ioctl(self->fd, LOOP_SET_DIRECT_IO, 0));
	lp_check_dio(_metadata, self->idx, self->fd, false);

	/* nonzero offset below the logical block size */
	info.lo_offset = lbs / 2;
	ASSERT_OK(lp_set_status(self->fd, LOOP_SET_STATUS, &info));
	ASSERT_RET(-EINVAL, lt_ioctl(self->fd, LOOP_SET_DIRECT_IO, 1));
	lp_check_dio(_metadata, self->idx, self->fd, false);
}

/*
 * ioctl_loop06, LOOP_SET_BLOCK_SIZE cases: on a bound device @bsize fails
 * with EINVAL (twice, nothing changed), within the deadline; then no claim
 * is left: an O_EXCL open and a valid block size go through.
 */
static void lp_check_bad_block_size(struct __test_metadata *_metadata,
				    FIXTURE_DATA(loopdev) *self,
				    unsigned long bsize)
{
	struct lt_state before;

	/* LTP's probe for LOOP_SET_BLOCK_SIZE, on the unbound device */
	ASSERT_RET(-ENXIO, lp_ioctl_within(self->fd, LOOP_SET_BLOCK_SIZE,
					   512));
	ASSERT_OK(lp_attach(self->fd, self->bfd, self->file));
	lt_snapshot(self->idx, self->fd, &before);
	ASSERT_RET(-EINVAL, lp_ioctl_within(self->fd, LOOP_SET_BLOCK_SIZE,
					    bsize));
	ASSERT_RET(-EINVAL, lp_ioctl_within(self->fd, LOOP_SET_BLOCK_SIZE,
					    bsize));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);

	ASSERT_RET(0, lp_open_within(self->idx, O_RDWR | O_EXCL));
	ASSERT_RET(0, lp_ioctl_within(self->fd, LOOP_SET_BLOCK_SIZE, 4096));
	ASSERT_SYSFS_STR(self->idx, "queue/logical_block_size", "4096");
}

/*
 * ioctl_loop06, LOOP_CONFIGURE cases: on an unbound device, block_size
 * @bsize fails with EINVAL (twice) within the deadline and leaves the
 * device unbound and unclaimed: an O_EXCL open and a LOOP_CONFIGURE with
 * a valid block size go through.
 */
static void lp_check_bad_configure(struct __test_metadata *_metadata,
				   FIXTURE_DATA(loopdev) *self,
				   unsigned int bsize)
{
	struct loop_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = -1;
	/* LTP's probes for LOOP_SET_BLOCK_SIZE and LOOP_CONFIGURE */
	ASSERT_RET(-ENXIO, lp_ioctl_within(self->fd, LOOP_SET_BLOCK_SIZE,
					   512));
	ASSERT_RET(-EBADF, lp_ioctl_within(self->fd, LOOP_CONFIGURE,
					   (unsigned long)&cfg));
	cfg.fd = self->bfd;
	cfg.block_size = bsize;
	ASSERT_RET(-EINVAL, lp_ioctl_within(self->fd, LOOP_CONFIGURE,
					    (unsigned long)&cfg));
	ASSERT_RET(-EINVAL, lp_ioctl_within(self->fd, LOOP_CONFIGURE,
					    (unsigned long)&cfg));
	ASSERT_UNBOUND(self->idx, self->fd);

	ASSERT_RET(0, lp_open_within(self->idx, O_RDWR | O_EXCL));
	cfg.block_size = 4096;
	ASSERT_RET(0, lp_ioctl_within(self->fd, LOOP_CONFIGURE,
				      (unsigned long)&cfg));
	ASSERT_SYSFS_STR(self->idx, "queue/logical_block_size", "4096");
}

/* LTP ioctl_loop06, tcase 0: LOOP_SET_BLOCK_SIZE 256 (< 512): EINVAL */
TEST_F(loopdev, ioctl_loop06_set_block_size_below_512)
{
	lp_check_bad_block_size(_metadata, self, 256);
}

/* LTP ioctl_loop06, tcase 1: LOOP_SET_BLOCK_SIZE 2 * PAGE_SIZE: EINVAL */
TEST_F(loopdev, ioctl_loop06_set_block_size_above_page_size)
{
	lp_check_bad_block_size(_metadata, self, 2 * getpagesize());
}

/* LTP ioctl_loop06, tcase 2: LOOP_SET_BLOCK_SIZE PAGE_SIZE - 1: EINVAL */
TEST_F(loopdev, ioctl_loop06_set_block_size_not_power_of_2)
{
	lp_check_bad_block_size(_metadata, self, getpagesize() - 1);
}

/* LTP ioctl_loop06, tcase 3: LOOP_CONFIGURE block_size 256: EINVAL */
TEST_F(loopdev, ioctl_loop06_configure_block_size_below_512)
{
	lp_check_bad_configure(_metadata, self, 256);
}

/* LTP ioctl_loop06, tcase 4: LOOP_CONFIGURE block_size 2 * PAGE_SIZE */
TEST_F(loopdev, ioctl_loop06_configure_block_size_above_page_size)
{
	lp_check_bad_configure(_metadata, self, 2 * getpagesize());
}

/* LTP ioctl_loop06, tcase 5: LOOP_CONFIGURE block_size PAGE_SIZE - 1 */
TEST_F(loopdev, ioctl_loop06_configure_block_size_not_power_of_2)
{
	lp_check_bad_configure(_metadata, self, getpagesize() - 1);
}

/*
 * Not an LTP case: ioctl_loop06's calls while another opener holds the
 * device O_EXCL (a mounted filesystem).  LOOP_SET_BLOCK_SIZE from a
 * non-exclusive fd cannot claim it: EBUSY for invalid and valid sizes
 * alike (the claim comes before the validation), on both stocks (the 6.17
 * fix is in Debian's 6.1.192 and 6.12.117) and ours (docs/compat.md (s)).
 * The holder itself takes no claim and gets EINVAL.  Once it is gone,
 * nothing is left claimed.
 */
TEST_F(loopdev, ioctl_loop06_extra_under_exclusive_opener)
{
	struct lt_state before;
	int excl;

	ASSERT_OK(lp_attach(self->fd, self->bfd, self->file));
	excl = lt_open_dev(self->idx, O_RDWR | O_EXCL);
	ASSERT_NONNEG(excl);
	lt_snapshot(self->idx, self->fd, &before);

	ASSERT_RET(-EBUSY, lp_ioctl_within(self->fd, LOOP_SET_BLOCK_SIZE,
					   256));
	ASSERT_RET(-EBUSY, lp_ioctl_within(self->fd, LOOP_SET_BLOCK_SIZE,
					   2 * getpagesize()));
	ASSERT_RET(-EBUSY, lp_ioctl_within(self->fd, LOOP_SET_BLOCK_SIZE,
					   4096));
	ASSERT_RET(-EINVAL, lp_ioctl_within(excl, LOOP_SET_BLOCK_SIZE,
					    getpagesize() - 1));
	ASSERT_UNCHANGED(self->idx, self->fd, &before);
	close(excl);

	ASSERT_RET(0, lp_open_within(self->idx, O_RDWR | O_EXCL));
	ASSERT_RET(0, lp_ioctl_within(self->fd, LOOP_SET_BLOCK_SIZE, 4096));
	ASSERT_SYSFS_STR(self->idx, "queue/logical_block_size", "4096");
}

/* ioctl_loop07: sysfs size and sizelimit, LOOP_GET_STATUS64's sizelimit */
static void lp_check_sizelimit(struct __test_metadata *_metadata, int idx,
			       int devfd, uint64_t limit,
			       unsigned long long sectors)
{
	struct loop_info64 info;
	unsigned long long v;

	ASSERT_OK(lt_sysfs_u64(idx, "size", &v));
	ASSERT_EQ(sectors, v);
	ASSERT_OK(lt_sysfs_u64(idx, "loop/sizelimit", &v));
	ASSERT_EQ(limit, v);
	ASSERT_OK(lt_status64(devfd, &info));
	ASSERT_EQ(limit, info.lo_sizelimit);
}

/*
 * ioctl_loop07, LOOP_SET_STATUS64 cases: on a 1 MiB (2048-sector) device,
 * sizelimit @limit gives @sectors; LTP's reset through the old
 * LOOP_SET_STATUS, which has no sizelimit field, sets it back to 0.
 */
static void lp_check_status64_sizelimit(struct __test_metadata *_metadata,
					FIXTURE_DATA(loopdev) *self,
					uint64_t limit,
					unsigned long long sectors)
{
	struct loop_info64 info;
	struct loop_info old;

	ASSERT_OK(lp_attach(self->fd, self->bfd, self->file));
	memset(&info, 0, sizeof(info));
	info.lo_sizelimit = limit;
	ASSERT_OK(lp_set_status(self->fd, LOOP_SET_STATUS64, &info));
	lp_check_sizelimit(_metadata, self->idx, self->fd, limit, sectors);

	memset(&old, 0, sizeof(old));
	ASSERT_OK(lp_set_status(self->fd, LOOP_SET_STATUS, &old));
	lp_check_sizelimit(_metadata, self->idx, self->fd, 0,
			   LT_FILE_SIZE / 512);
}

/* ioctl_loop07, LOOP_CONFIGURE cases: the same through loop_config.info */
static void lp_check_configure_sizelimit(struct __test_metadata *_metadata,
					 FIXTURE_DATA(loopdev) *self,
					 uint64_t limit,
					 unsigned long long sectors)
{
	struct loop_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = -1;
	/* LTP's probe for LOOP_CONFIGURE */
	ASSERT_RET(-EBADF, lt_ioctlp(self->fd, LOOP_CONFIGURE, &cfg));
	cfg.fd = self->bfd;
	cfg.info.lo_sizelimit = limit;
	ASSERT_OK(lt_ioctlp(self->fd, LOOP_CONFIGURE, &cfg));
	lp_check_sizelimit(_metadata, self->idx, self->fd, limit, sectors);
	ASSERT_OK(lt_clr_fd_now(self->idx, &self->fd));
	ASSERT_UNBOUND(self->idx, self->fd);
}

/*
 * LTP ioctl_loop07, tcase 0: LOOP_SET_STATUS64 sizelimit 4 MiB, above the
 * file size: the device keeps 2048 sectors, sizelimit reads 4 MiB.
 */
TEST_F(loopdev, ioctl_loop07_status64_sizelimit_above_size)
{
	lp_check_status64_sizelimit(_metadata, self, 4 << 20, 2048);
}

/*
 * LTP ioctl_loop07, tcase 1: LOOP_SET_STATUS64 sizelimit 512 KiB cuts the
 * device to 1024 sectors.
 */
TEST_F(loopdev, ioctl_loop07_status64_sizelimit_below_size)
{
	lp_check_status64_sizelimit(_metadata, self, 512 << 10, 1024);
}

/* LTP ioctl_loop07, tcase 2: LOOP_CONFIGURE sizelimit 4 MiB: 2048 sectors */
TEST_F(loopdev, ioctl_loop07_configure_sizelimit_above_size)
{
	lp_check_configure_sizelimit(_metadata, self, 4 << 20, 2048);
}

/* LTP ioctl_loop07, tcase 3: LOOP_CONFIGURE sizelimit 512 KiB: 1024 */
TEST_F(loopdev, ioctl_loop07_configure_sizelimit_below_size)
{
	lp_check_configure_sizelimit(_metadata, self, 512 << 10, 1024);
}

TEST_HARNESS_MAIN
