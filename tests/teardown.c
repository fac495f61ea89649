// SPDX-License-Identifier: GPL-2.0
/*
 * The teardown contract (issue 3): an autoclear detach is invisible to the
 * caller even though asyncloop runs it outside the block layer's locks.
 *
 *  1. When umount()/close()/exit() returns, the backing file is released:
 *     the filesystem holding the image unmounts at once.  With the rundown
 *     forced onto a workqueue (the reverted upstream design) this fails,
 *     which proves the test can fail.
 *  2. GET_FREE -> CONFIGURE(AUTOCLEAR) -> I/O -> close churn never sees
 *     EBUSY and keeps reusing the same few devices, on both paths.
 *  3. LOOP_CTL_REMOVE and rmmod right after the last close: clean result,
 *     never a crash; on the task_work path they succeed at once.
 *  4. Workqueue path: the rundown finishes within 1 s and is observable.
 *
 * ALOOP_ROUNDS overrides the round counts (default: the numbers).
 * Tests of the workqueue path need our module parameter and SKIP on stock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "loopt.h"

#define TD_DIR		"/tmp/td"
#define TD_OUTER	TD_DIR "/outer"
#define TD_INNER	TD_DIR "/inner"
#define TD_TEMPLATE	"/tmp/td-template.img"
#define TD_IMG		TD_OUTER "/img"
#define TD_IMG_SIZE	(2 << 20)
#define PARAM_DIR	"/sys/module/loop/parameters/"

static long rounds(long dflt)
{
	return lt_env_long("ALOOP_ROUNDS", dflt);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Write a module parameter of the loaded loop driver; -errno on failure. */
static int param_write(const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	return lt_write_str(path, val);
}

/* Force (or stop forcing) the workqueue rundown path; -ENOENT on stock. */
static int force_workqueue(bool on)
{
	return param_write("rundown_workqueue", on ? "Y" : "N");
}

static int devpath_open(int idx, int flags)
{
	return lt_open_dev(idx, flags);
}

/* Bind @backfd to a free device with @flags; returns the device fd. */
static int attach(int ctl, int backfd, uint32_t flags, int *idx_out)
{
	int idx, fd, r;

	idx = ioctl(ctl, LOOP_CTL_GET_FREE);
	if (idx < 0)
		return -errno;
	fd = devpath_open(idx, O_RDWR);
	if (fd < 0)
		return fd;
	r = lt_configure(fd, backfd, 0, 0, flags, 0);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (idx_out)
		*idx_out = idx;
	return fd;
}

FIXTURE(td) {
	int ctl;
	void *image;	/* a small ext4 image, copied into the outer fs */
};

FIXTURE_SETUP(td)
{
	mkdir(TD_DIR, 0755);
	mkdir(TD_OUTER, 0755);
	mkdir(TD_INNER, 0755);
	self->ctl = lt_ctl_open();
	ASSERT_NONNEG(self->ctl);
	self->image = NULL;
}

FIXTURE_TEARDOWN(td)
{
	force_workqueue(false);
	umount2(TD_INNER, MNT_DETACH);
	umount2(TD_OUTER, MNT_DETACH);
	free(self->image);
	lt_cleanup();
}

static int load_image(void **image)
{
	int fd;

	unlink(TD_TEMPLATE);
	fd = open(TD_TEMPLATE, O_CREAT | O_RDWR, 0644);
	if (fd < 0 || ftruncate(fd, TD_IMG_SIZE))
		return -errno;
	close(fd);
	if (system("mkfs.ext4 -q -F -O ^has_journal " TD_TEMPLATE " >/dev/null 2>&1"))
		return -EIO;
	*image = malloc(TD_IMG_SIZE);
	fd = open(TD_TEMPLATE, O_RDONLY);
	if (!*image || fd < 0 || read(fd, *image, TD_IMG_SIZE) != TD_IMG_SIZE)
		return -EIO;
	close(fd);
	unlink(TD_TEMPLATE);
	return 0;
}

static int mount_outer(void)
{
	return mount("tmpfs", TD_OUTER, "tmpfs", 0, "size=8m") ? -errno : 0;
}

/* umount the outer fs; on EBUSY detach it so the next round can go on. */
static int umount_outer(void)
{
	if (!umount(TD_OUTER))
		return 0;
	if (errno != EBUSY)
		return -errno;
	umount2(TD_OUTER, MNT_DETACH);
	return -EBUSY;
}

/* umount the outer fs, counting EBUSY; anything else fails the test */
static void umount_outer_count(struct __test_metadata *_metadata, long *ebusy)
{
	int r = umount_outer();

	if (r == -EBUSY)
		(*ebusy)++;
	else
		ASSERT_OK(r);
}

/*
 * mount -o loop as util-linux does it (LOOP_CONFIGURE with AUTOCLEAR, then
 * mount(2) by path), umount, and at once umount the fs holding the image.
 * EBUSY from the second umount is counted in @ebusy.
 */
static void round_loop_mount(struct __test_metadata *_metadata, int ctl,
			     const void *image, long *ebusy)
{
	char dev[32];
	int fd, lfd, idx;

	ASSERT_OK(mount_outer());
	fd = open(TD_IMG, O_CREAT | O_RDWR, 0644);
	ASSERT_NONNEG(fd);
	ASSERT_EQ(TD_IMG_SIZE, write(fd, image, TD_IMG_SIZE));
	lfd = attach(ctl, fd, LO_FLAGS_AUTOCLEAR, &idx);
	ASSERT_NONNEG(lfd);
	close(fd);
	lt_dev_path(idx, dev, sizeof(dev));
	ASSERT_EQ(0, mount(dev, TD_INNER, "ext4", 0, NULL))
		TH_LOG("mount %s: %s", dev, strerror(errno));
	close(lfd);
	ASSERT_EQ(0, umount(TD_INNER)) TH_LOG("umount inner: %s", strerror(errno));
	umount_outer_count(_metadata, ebusy);
}

static long count_loop_mount_ebusy(struct __test_metadata *_metadata,
				   FIXTURE_DATA(td) *self, long n)
{
	long i, ebusy = 0;
	double t0 = now();

	ASSERT_OK(load_image(&self->image));
	for (i = 0; i < n; i++)
		round_loop_mount(_metadata, self->ctl, self->image, &ebusy);
	TH_LOG("%ld rounds, %ld EBUSY, %.0f rounds/s", n, ebusy,
	       n / (now() - t0));
	return ebusy;
}

/* Guarantee 1: umount of the image's fs right after umount of the image. */
TEST_F_TIMEOUT(td, umount_outer_after_loop_umount, 900)
{
	EXPECT_EQ(0, count_loop_mount_ebusy(_metadata, self, rounds(1000)));
}

/*
 * The same test with the rundown forced onto a workqueue, the design that
 * upstream reverted: it must see EBUSY.  This is the proof that the test
 * above can fail.
 */
TEST_F_TIMEOUT(td, workqueue_path_breaks_umount_guarantee, 900)
{
	long n = rounds(1000) < 200 ? rounds(1000) : 200;

	if (force_workqueue(true))
		SKIP(return, "stock driver: no workqueue rundown path");
	EXPECT_LT(0, count_loop_mount_ebusy(_metadata, self, n));
}

/* Guarantee 1, lazy LOOP_CLR_FD: the last close() releases the file. */
TEST_F_TIMEOUT(td, umount_outer_after_lazy_clr_close, 900)
{
	long i, n = rounds(1000), ebusy = 0;
	struct loop_info64 info;
	int fd, d1, d2, idx;

	for (i = 0; i < n; i++) {
		ASSERT_OK(mount_outer());
		fd = open(TD_IMG, O_CREAT | O_RDWR, 0644);
		ASSERT_NONNEG(fd);
		ASSERT_EQ(0, ftruncate(fd, 1 << 20));
		d1 = attach(self->ctl, fd, 0, &idx);
		ASSERT_NONNEG(d1);
		close(fd);
		d2 = devpath_open(idx, O_RDONLY);
		ASSERT_NONNEG(d2);
		ASSERT_OK(lt_ioctl(d1, LOOP_CLR_FD, 0));
		ASSERT_OK(lt_status64(d2, &info));
		ASSERT_TRUE(info.lo_flags & LO_FLAGS_AUTOCLEAR);
		close(d1);
		close(d2);
		umount_outer_count(_metadata, &ebusy);
	}
	EXPECT_EQ(0, ebusy) TH_LOG("%ld of %ld rounds EBUSY", ebusy, n);
}

/* Guarantee 1, exit without close: exit() releases the file. */
TEST_F_TIMEOUT(td, umount_outer_after_exit_without_close, 900)
{
	long i, n = rounds(1000), ebusy = 0;
	int status;
	pid_t pid;

	for (i = 0; i < n; i++) {
		ASSERT_OK(mount_outer());
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			int fd = open(TD_IMG, O_CREAT | O_RDWR, 0644);

			if (fd < 0 || ftruncate(fd, 1 << 20))
				_exit(2);
			if (attach(self->ctl, fd, LO_FLAGS_AUTOCLEAR, NULL) < 0)
				_exit(3);
			close(fd);
			_exit(0);	/* the loop fd is still open */
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_EQ(0, status);
		umount_outer_count(_metadata, &ebusy);
	}
	EXPECT_EQ(0, ebusy) TH_LOG("%ld of %ld rounds EBUSY", ebusy, n);
}

struct churn_result {
	long cycles, ebusy, errors;
	int max_idx;
	double secs;
	char why[96];
};

/*
 * One churn worker: GET_FREE + open + CONFIGURE(AUTOCLEAR) under an flock
 * on /dev/loop-control (as systemd does, so that two processes do not pick
 * the same index), then 4 KiB of direct I/O written and read back, close.
 */
static void churn(long n, int id, struct churn_result *res)
{
	char path[64];
	void *wbuf, *rbuf;
	int ctl, bfd, dev, idx, r;
	double t0;
	long i;

	memset(res, 0, sizeof(*res));
	snprintf(path, sizeof(path), "/tmp/td-churn-%d", id);
	ctl = lt_ctl_open();
	bfd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (ctl < 0 || bfd < 0 || ftruncate(bfd, 1 << 20) ||
	    posix_memalign(&wbuf, 4096, 4096) || posix_memalign(&rbuf, 4096, 4096)) {
		snprintf(res->why, sizeof(res->why), "setup: %s", strerror(errno));
		res->errors = 1;
		return;
	}
	t0 = now();
	for (i = 0; i < n; i++) {
		off_t off = (off_t)((i * 7 + id) % 256) * 4096;

		flock(ctl, LOCK_EX);
		dev = attach(ctl, bfd, LO_FLAGS_AUTOCLEAR, &idx);
		flock(ctl, LOCK_UN);
		if (dev < 0) {
			if (dev == -EBUSY)
				res->ebusy++;
			else
				res->errors++;
			snprintf(res->why, sizeof(res->why), "attach: %s",
				 lt_errname(dev));
			continue;
		}
		if (idx > res->max_idx)
			res->max_idx = idx;
		r = fcntl(dev, F_SETFL, O_DIRECT);
		memset(wbuf, (int)(i & 0xff), 4096);
		if (r || pwrite(dev, wbuf, 4096, off) != 4096 ||
		    pread(dev, rbuf, 4096, off) != 4096 ||
		    memcmp(wbuf, rbuf, 4096)) {
			res->errors++;
			snprintf(res->why, sizeof(res->why),
				 "I/O on loop%d at %lld failed", idx,
				 (long long)off);
		}
		close(dev);
		res->cycles++;
	}
	res->secs = now() - t0;
	close(bfd);
	unlink(path);
}

/* Guarantee 2 with @procs processes of @n cycles each. */
static void run_churn(struct __test_metadata *_metadata, int procs, long n)
{
	struct churn_result *res;
	long total = 0, ebusy = 0, errors = 0;
	double secs = 0;
	int p, max_idx = 0, status;

	res = mmap(NULL, sizeof(*res) * procs, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	for (p = 0; p < procs; p++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (!pid) {
			churn(n, p, &res[p]);
			_exit(0);
		}
	}
	for (p = 0; p < procs; p++) {
		ASSERT_LT(0, wait(&status));
		ASSERT_EQ(0, status);
	}
	for (p = 0; p < procs; p++) {
		total += res[p].cycles;
		ebusy += res[p].ebusy;
		errors += res[p].errors;
		if (res[p].max_idx > max_idx)
			max_idx = res[p].max_idx;
		if (res[p].secs > secs)
			secs = res[p].secs;
		if (res[p].why[0])
			TH_LOG("process %d: %s", p, res[p].why);
	}
	TH_LOG("%d process(es): %ld cycles in %.2f s (%.0f cycles/s), highest index loop%d",
	       procs, total, secs, total / secs, max_idx);
	EXPECT_EQ(0, ebusy);
	EXPECT_EQ(0, errors);
	/* indices 0..procs: each process holds one, one may be closing */
	EXPECT_GE(procs, max_idx) TH_LOG("churn spread over loop0..loop%d", max_idx);
	munmap(res, sizeof(*res) * procs);
}

TEST_F_TIMEOUT(td, churn_one_process, 900)
{
	run_churn(_metadata, 1, rounds(10000));
}

TEST_F_TIMEOUT(td, churn_two_processes, 900)
{
	run_churn(_metadata, 2, rounds(10000));
}

TEST_F_TIMEOUT(td, churn_one_process_workqueue_path, 900)
{
	if (force_workqueue(true))
		SKIP(return, "stock driver: no workqueue rundown path");
	run_churn(_metadata, 1, rounds(10000));
}

TEST_F_TIMEOUT(td, churn_two_processes_workqueue_path, 900)
{
	if (force_workqueue(true))
		SKIP(return, "stock driver: no workqueue rundown path");
	run_churn(_metadata, 2, rounds(10000));
}

/*
 * While a rundown is pending, opening the device answers ENXIO (as stock
 * 6.11+: an opener must not see a device losing its backing file), and
 * once it is done LOOP_CONFIGURE succeeds at once: never EBUSY.
 */
TEST_F_TIMEOUT(td, configure_after_pending_rundown, 300)
{
	long i, n = rounds(1000) < 300 ? rounds(1000) : 300, enxio = 0;
	int bfd, dev, idx, r;

	if (force_workqueue(true))
		SKIP(return, "stock driver: no workqueue rundown path");
	bfd = open("/tmp/td-wait", O_CREAT | O_RDWR | O_TRUNC, 0644);
	ASSERT_NONNEG(bfd);
	lt_track_file("/tmp/td-wait");
	ASSERT_EQ(0, ftruncate(bfd, 1 << 20));
	dev = attach(self->ctl, bfd, LO_FLAGS_AUTOCLEAR, &idx);
	ASSERT_NONNEG(dev);
	lt_track_dev(idx, false);
	for (i = 0; i < n; i++) {
		close(dev);	/* rundown queued on the workqueue */
		while ((dev = devpath_open(idx, O_RDWR)) == -ENXIO)
			enxio++;
		ASSERT_NONNEG(dev);
		r = lt_configure(dev, bfd, 0, 0, LO_FLAGS_AUTOCLEAR, 0);
		ASSERT_EQ(0, r) TH_LOG("round %ld: %s", i, lt_errname(r));
	}
	close(dev);
	TH_LOG("%ld rounds, %ld ENXIO answers to open during rundown", n, enxio);
}

/* Guarantee 4: the workqueue rundown ends within 1 s, visibly. */
TEST_F_TIMEOUT(td, workqueue_rundown_within_one_second, 120)
{
	int bfd, dev, idx, i;
	double t0, worst = 0;

	if (force_workqueue(true))
		SKIP(return, "stock driver: no workqueue rundown path");
	ASSERT_LE(0, lt_module_param("pending_rundowns"));
	bfd = open("/tmp/td-wq", O_CREAT | O_RDWR | O_TRUNC, 0644);
	ASSERT_NONNEG(bfd);
	lt_track_file("/tmp/td-wq");
	ASSERT_EQ(0, ftruncate(bfd, 1 << 20));
	for (i = 0; i < 50; i++) {
		dev = attach(self->ctl, bfd, LO_FLAGS_AUTOCLEAR, &idx);
		ASSERT_NONNEG(dev);
		lt_track_dev(idx, false);
		t0 = now();
		close(dev);
		while (lt_module_param("pending_rundowns") > 0 || lt_is_bound(idx)) {
			ASSERT_GT(1.0, now() - t0)
				TH_LOG("loop%d still in rundown after 1 s", idx);
			usleep(1000);
		}
		if (now() - t0 > worst)
			worst = now() - t0;
	}
	TH_LOG("slowest workqueue rundown: %.1f ms", worst * 1000);
}

/*
 * Guarantee 3: LOOP_CTL_REMOVE right after the last close.  Synchronous
 * teardown (stock, our task_work path) lets it succeed at once; with a
 * pending workqueue rundown it may say EBUSY, never anything worse.
 */
static void remove_after_close(struct __test_metadata *_metadata, int ctl,
			       bool wq)
{
	long i, n = rounds(1000) < 200 ? rounds(1000) : 200, busy = 0;
	int bfd, dev, idx;
	long r;
	double t0;

	bfd = open("/tmp/td-rm", O_CREAT | O_RDWR | O_TRUNC, 0644);
	ASSERT_NONNEG(bfd);
	lt_track_file("/tmp/td-rm");
	ASSERT_EQ(0, ftruncate(bfd, 1 << 20));
	for (i = 0; i < n; i++) {
		idx = ioctl(ctl, LOOP_CTL_ADD, -1);
		ASSERT_LE(0, idx) TH_LOG("LOOP_CTL_ADD: %s", strerror(errno));
		lt_track_dev(idx, true);
		dev = devpath_open(idx, O_RDWR);
		ASSERT_NONNEG(dev);
		ASSERT_OK(lt_configure(dev, bfd, 0, 0, LO_FLAGS_AUTOCLEAR, 0));
		close(dev);
		t0 = now();
		while ((r = lt_ioctl(ctl, LOOP_CTL_REMOVE, idx)) == -EBUSY && wq) {
			busy++;
			ASSERT_GT(1.0, now() - t0);
		}
		ASSERT_OK(r);
		ASSERT_FALSE(lt_dev_exists(idx));
	}
	TH_LOG("%ld rounds, %ld EBUSY answers", n, busy);
}

TEST_F_TIMEOUT(td, remove_right_after_close, 300)
{
	remove_after_close(_metadata, self->ctl, false);
}

TEST_F_TIMEOUT(td, remove_racing_workqueue_rundown, 300)
{
	if (force_workqueue(true))
		SKIP(return, "stock driver: no workqueue rundown path");
	remove_after_close(_metadata, self->ctl, true);
}

/*
 * Guarantee 3: rmmod right after the last close of an autoclear device.
 * Synchronous-looking teardown: it succeeds at once.  With a workqueue
 * rundown pending it may fail with EAGAIN/EBUSY (the rundown holds a
 * module reference), never crash.  The driver is loaded again after each
 * round, and with the suite's parameters at the end.
 */
static void rmmod_after_close(struct __test_metadata *_metadata, bool wq)
{
	long i, n = rounds(1000) < 30 ? rounds(1000) : 30, busy = 0;
	int bfd, ctl, dev, idx, r;
	double t0;

	ASSERT_TRUE(getenv("ASYNCLOOP_LOOP_KO") != NULL);
	bfd = open("/tmp/td-rmmod", O_CREAT | O_RDWR | O_TRUNC, 0644);
	ASSERT_NONNEG(bfd);
	lt_track_file("/tmp/td-rmmod");
	ASSERT_EQ(0, ftruncate(bfd, 1 << 20));
	for (i = 0; i < n; i++) {
		ctl = lt_ctl_open();
		ASSERT_NONNEG(ctl);
		dev = attach(ctl, bfd, LO_FLAGS_AUTOCLEAR, &idx);
		ASSERT_NONNEG(dev);
		close(ctl);
		close(dev);
		t0 = now();
		while ((r = lt_unload_driver()) == -EAGAIN || r == -EBUSY) {
			ASSERT_TRUE(wq)
				TH_LOG("rmmod right after close: %s", lt_errname(r));
			busy++;
			ASSERT_GT(2.0, now() - t0);
		}
		ASSERT_OK(r);
		ASSERT_OK(lt_load_driver(wq ? "rundown_workqueue=1" : ""));
	}
	TH_LOG("%ld rounds, %ld busy answers", n, busy);
	ASSERT_OK(lt_unload_driver());
	ASSERT_OK(lt_load_driver(""));
}

TEST_F_TIMEOUT(td, rmmod_right_after_close, 300)
{
	close(self->ctl);
	rmmod_after_close(_metadata, false);
}

TEST_F_TIMEOUT(td, rmmod_racing_workqueue_rundown, 300)
{
	if (force_workqueue(true))
		SKIP(return, "stock driver: no workqueue rundown path");
	close(self->ctl);
	rmmod_after_close(_metadata, true);
}

TEST_HARNESS_MAIN
