// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection (issue 11, item 3). Needs a debug kernel built with
 * vm/debug-kernel.config (failslab, fail_page_alloc, fail_make_request,
 * their debugfs knobs, kmemleak) booted with kmemleak=on, and an ext4 on the
 * VM's virtio disk: vm/faults runs it through tests/faults/faults.sh, never
 * make check (Debian's kernels have none of it).
 *
 * fault.<path>.nth: the per-task fail-nth (/proc/thread-self/fail-nth)
 * fails the Nth allocation of one control call, for N = 1, 2, ... until the
 * call completes without reaching its Nth allocation. After every N the
 * call either failed with -ENOMEM and left the device as it was (the
 * lt_snapshot() state plus the sysfs directory and the /dev node), or
 * succeeded and left exactly the state a fault-free call leaves (the fault
 * hit an allocation whose failure is allowed to go unnoticed, e.g. a
 * uevent). N = 1 must inject a fault (else the path is not covered at all),
 * and a kmemleak scan after the path must find nothing new.
 *
 * ioerr.<mode>.eio: with fail_make_request on the disk that holds the
 * backing file, reads and writes through the loop device return EIO to the
 * caller (for a buffered loop device the write error of the backing file
 * surfaces at fsync), nothing hangs, and no block outside the failed ones
 * changed.
 *
 * module.unloads: the driver still unloads after all of that, and leaves
 * nothing that kmemleak finds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <linux/asyncloop.h>

#include "kselftest_harness.h"
#include "loopt.h"

#define FSIZE (1024 * 1024)
#define NTH_MAX 5000
#define KMEMLEAK "/sys/kernel/debug/kmemleak"
/* kmemleak reports no object younger than this (MSECS_MIN_AGE) */
#define KMEMLEAK_MIN_AGE_S 5
#define FAILSLAB "/sys/kernel/debug/failslab/"
#define FAIL_PAGE_ALLOC "/sys/kernel/debug/fail_page_alloc/"
#define FAIL_MAKE_REQUEST "/sys/kernel/debug/fail_make_request/"

/* ---------------------------------------------------------- fail-nth --- */

/*
 * Opened by the task that injects: the file names the task that opened it,
 * and every test runs in its own child of the harness.
 */
static int nth_fd = -1;

static int nth_open(void)
{
	/*
	 * The default knobs skip every allocation that may sleep
	 * (ignore-gfp-wait) and order-0 pages (min-order 1), i.e. nearly every
	 * allocation of a control path; verbose 2 would dump a stack for each
	 * injected fault, which vm/run counts as a splat.
	 */
	static const char *const knobs[][2] = {
		{ FAILSLAB "ignore-gfp-wait", "N" },
		{ FAILSLAB "verbose", "1" },
		{ FAIL_PAGE_ALLOC "ignore-gfp-wait", "N" },
		{ FAIL_PAGE_ALLOC "ignore-gfp-highmem", "N" },
		{ FAIL_PAGE_ALLOC "min-order", "0" },
		{ FAIL_PAGE_ALLOC "verbose", "1" },
	};
	unsigned int i;
	int r;

	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		r = lt_write_str(knobs[i][0], knobs[i][1]);
		if (r)
			return r;
	}
	/*
	 * A page fault between arming and the call would take the fault
	 * instead: everything this task maps is populated up front.
	 */
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		return -errno;
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	return nth_fd < 0 ? -errno : 0;
}

static int nth_arm(unsigned int n)
{
	char b[16];
	int l = snprintf(b, sizeof(b), "%u", n);

	return pwrite(nth_fd, b, l, 0) == l ? 0 : -errno;
}

/*
 * Disarms and returns what was left of N: 0 when the Nth allocation was
 * reached (and failed), > 0 when the call made fewer than N allocations.
 */
static int nth_disarm(void)
{
	char b[16] = "";
	ssize_t n = pread(nth_fd, b, sizeof(b) - 1, 0);

	if (n <= 0 || pwrite(nth_fd, "0", 1, 0) != 1)
		return -EIO;
	return atoi(b);
}

/* ---------------------------------------------------------- kmemleak --- */

/*
 * Forgets the leaks reported so far. A leak is reported only once a scan
 * has seen it: the global test below scans once after boot, and every path
 * scans at its end, so nothing older is left to be blamed on the next one
 * (a scan takes ~15 s here; one per clear would double the run).
 */
static int kml_clear(void)
{
	return lt_write_str(KMEMLEAK, "clear");
}

/*
 * Leaks suspected since the last kml_clear(), printed as TAP comments.
 * Two scans: an object in flight during the first one (referenced from a
 * register only) is referenced again in the second and not shown.
 */
static int kml_new(void)
{
	char buf[4096];
	int fd, n = 0, lines = 0;
	FILE *f;
	int r;

	sleep(KMEMLEAK_MIN_AGE_S + 1);
	r = lt_write_str(KMEMLEAK, "scan");
	if (!r)
		r = lt_write_str(KMEMLEAK, "scan");
	if (r)
		return r;
	fd = open(KMEMLEAK, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while (fgets(buf, sizeof(buf), f)) {
		if (strstr(buf, "unreferenced object"))
			n++;
		if (lines++ < 80)
			printf("# kmemleak: %s", buf);
	}
	fclose(f);
	return n;
}

/* runs first (global tests precede the fixtures): boot's leaks are not ours */
TEST(kmemleak_on)
{
	ASSERT_EQ(0, lt_write_str(KMEMLEAK, "scan"))
		TH_LOG("no kmemleak: boot the debug kernel with kmemleak=on");
	ASSERT_EQ(0, kml_clear());
}

/* --------------------------------------------------------- the paths --- */

struct fctx {
	int idx, fd;		/* the device under test, O_RDWR; -1 while closed */
	int nidx;		/* add/remove: the index added and removed */
	char a[PATH_MAX], b[PATH_MAX];
	int afd, bfd;		/* two 1 MiB backing files */
	int nfd;		/* attach: the descriptor it returned, or -1 */
	struct loop_info64 orig;	/* status after prepare() */
};

/* what a path changes: one device, through c->fd or (ctl) by index */
struct fsnap {
	bool sysfs, node;
	int open_err;
	struct lt_state st;
};

struct fpath {
	const char *name;
	int (*prepare)(struct fctx *c);	/* once, faults off: the pre-state */
	int (*pre)(struct fctx *c);	/* before each call, faults off */
	long (*call)(struct fctx *c);	/* the call under fail-nth */
	int (*after)(struct fctx *c);	/* after each call, faults off */
	int (*undo)(struct fctx *c);	/* after a success: back to the pre-state */
	bool ctl;		/* the state is that of c->nidx, opened by snap() */
	bool ours_only;		/* an asyncloop extension (stock: ENOSYS) */
	bool must_fail;		/* some allocation cannot be done without */
	bool cannot_fail;	/* a close(): the rundown has to complete */
	int alt_errno;		/* what the kernel returns for some -ENOMEM */
};

static void snap(const struct fpath *p, struct fctx *c, struct fsnap *s)
{
	int idx = p->ctl ? c->nidx : c->idx, fd;
	char dev[64];

	memset(s, 0, sizeof(*s));
	s->sysfs = lt_dev_exists(idx);
	lt_dev_path(idx, dev, sizeof(dev));
	s->node = !access(dev, F_OK);
	if (!p->ctl) {
		lt_snapshot(idx, c->fd, &s->st);
		return;
	}
	/* never open a missing device: stock would create it on open */
	if (!s->sysfs || !s->node)
		return;
	fd = lt_open_dev(idx, O_RDONLY);
	s->open_err = fd < 0 ? fd : 0;
	if (fd >= 0) {
		lt_snapshot(idx, fd, &s->st);
		close(fd);
	}
}

static int snap_diff(const struct fsnap *a, const struct fsnap *b, char *why,
		     size_t len)
{
	if (a->sysfs != b->sysfs) {
		snprintf(why, len, "/sys/block/loopN: %s -> %s",
			 a->sysfs ? "present" : "absent",
			 b->sysfs ? "present" : "absent");
		return 1;
	}
	if (a->node != b->node) {
		snprintf(why, len, "/dev/loopN: %s -> %s",
			 a->node ? "present" : "absent",
			 b->node ? "present" : "absent");
		return 1;
	}
	if (a->open_err != b->open_err) {
		snprintf(why, len, "open: %s -> %s", lt_errname(a->open_err),
			 lt_errname(b->open_err));
		return 1;
	}
	return lt_state_diff(&a->st, &b->st, why, len);
}

/*
 * Bound, and exactly as a fault-free call leaves it, except that the loop/
 * attribute group is missing from sysfs: stock's loop_sysfs_init() ignores
 * a failed sysfs_create_group() (the ioctls still report everything), so a
 * fault there is one the kernel absorbs.
 */
static bool no_loop_group(const struct fsnap *done, const struct fsnap *now)
{
	struct fsnap fixed = *now;
	char why[8];

	if (!done->st.loopdir || now->st.loopdir)
		return false;
	fixed.st.loopdir = true;
	memcpy(fixed.st.backing_file, done->st.backing_file, sizeof(fixed.st.backing_file));
	memcpy(fixed.st.offset, done->st.offset, sizeof(fixed.st.offset));
	memcpy(fixed.st.sizelimit, done->st.sizelimit, sizeof(fixed.st.sizelimit));
	memcpy(fixed.st.autoclear, done->st.autoclear, sizeof(fixed.st.autoclear));
	memcpy(fixed.st.partscan, done->st.partscan, sizeof(fixed.st.partscan));
	memcpy(fixed.st.dio, done->st.dio, sizeof(fixed.st.dio));
	return !snap_diff(done, &fixed, why, sizeof(why));
}

static int clr(struct fctx *c)
{
	return lt_clr_fd_now(c->idx, &c->fd);
}

static int bind_a(struct fctx *c)
{
	int r = lt_configure(c->fd, c->afd, 0, 0, 0, 0);

	return r ? r : lt_status64(c->fd, &c->orig);
}

static int unbound(struct fctx *c)
{
	(void)c;
	return 0;
}

static long do_configure(struct fctx *c)
{
	return lt_configure(c->fd, c->afd, 0, 0, 0, 0);
}

static long do_configure_partscan(struct fctx *c)
{
	return lt_configure(c->fd, c->afd, 0, FSIZE / 2, LO_FLAGS_PARTSCAN, 4096);
}

static long do_set_fd(struct fctx *c)
{
	return lt_ioctl(c->fd, LOOP_SET_FD, c->afd);
}

static int bind_a_ro(struct fctx *c)
{
	int r = lt_configure(c->fd, c->afd, 0, 0, LO_FLAGS_READ_ONLY, 0);

	return r ? r : lt_status64(c->fd, &c->orig);
}

static long do_change_fd(struct fctx *c)
{
	return lt_ioctl(c->fd, LOOP_CHANGE_FD, c->bfd);
}

static int change_back(struct fctx *c)
{
	return (int)lt_ioctl(c->fd, LOOP_CHANGE_FD, c->afd);
}

static long do_status64(struct fctx *c)
{
	struct loop_info64 i = c->orig;

	i.lo_offset = 4096;
	i.lo_sizelimit = FSIZE / 4;
	i.lo_flags |= LO_FLAGS_AUTOCLEAR;
	snprintf((char *)i.lo_file_name, LO_NAME_SIZE, "fault-status64");
	return lt_set_status64(c->fd, &i);
}

static long do_status(struct fctx *c)
{
	struct loop_info i;

	memset(&i, 0, sizeof(i));
	i.lo_offset = 8192;
	i.lo_flags = LO_FLAGS_AUTOCLEAR;
	snprintf(i.lo_name, LO_NAME_SIZE, "fault-status");
	return lt_ioctlp(c->fd, LOOP_SET_STATUS, &i);
}

static int status_back(struct fctx *c)
{
	return lt_set_status64(c->fd, &c->orig);
}

/*
 * A dirty page in the device's cache: the block size change has to write
 * it back (sync_blockdev()) before the queue is frozen, the case where a
 * lost allocation would lose data. Its content is the file's own.
 */
static int dirty_page(struct fctx *c)
{
	uint8_t buf[4096];
	unsigned int i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = lt_pattern(i);
	return pwrite(c->fd, buf, sizeof(buf), 0) == sizeof(buf) ? 0 : -EIO;
}

static long do_block_size(struct fctx *c)
{
	return lt_ioctl(c->fd, LOOP_SET_BLOCK_SIZE, 4096);
}

static int block_size_back(struct fctx *c)
{
	return (int)lt_ioctl(c->fd, LOOP_SET_BLOCK_SIZE, 512);
}

static long do_add(struct fctx *c)
{
	return lt_ctl(LOOP_CTL_ADD, c->nidx);
}

static int do_remove_undo(struct fctx *c)
{
	long r = lt_ctl(LOOP_CTL_REMOVE, c->nidx);

	return r < 0 ? (int)r : 0;
}

static int add_undo(struct fctx *c)
{
	long r = lt_ctl(LOOP_CTL_ADD, c->nidx);

	return r < 0 ? (int)r : 0;
}

static long do_remove(struct fctx *c)
{
	return lt_ctl(LOOP_CTL_REMOVE, c->nidx);
}

static int bind_autoclear(struct fctx *c)
{
	return lt_configure(c->fd, c->afd, 0, 0, LO_FLAGS_AUTOCLEAR, 0);
}

/* the last close of an AUTOCLEAR device: the rundown runs in this task */
static long do_last_close(struct fctx *c)
{
	int r = close(c->fd);

	c->fd = -1;
	return r ? -errno : 0;
}

static int reopen(struct fctx *c)
{
	if (c->fd >= 0)
		return 0;
	c->fd = lt_open_dev(c->idx, O_RDWR);
	return c->fd < 0 ? c->fd : 0;
}

/*
 * LOOP_CLR_FD and the close after it: stock 6.11+ only marks the device
 * AUTOCLEAR in the ioctl and runs the rundown in that close.
 */
static long do_clr_fd(struct fctx *c)
{
	long r = lt_ioctl(c->fd, LOOP_CLR_FD, 0);

	if (r)
		return r;
	return do_last_close(c);
}

/* ALOOP_CTL_ATTACH of c->nidx with AUTOCLEAR; c->nfd holds the device */
static long do_attach(struct fctx *c)
{
	struct aloop_attach a = {
		.config.fd = c->afd,
		.config.info.lo_flags = LO_FLAGS_AUTOCLEAR,
		.flags = ALOOP_ATTACH_INDEX,
		.index = c->nidx,
	};
	long r = lt_ctl(ALOOP_CTL_ATTACH, (long)&a);

	if (r >= 0)
		c->nfd = (int)r;
	return r;
}

/* the last close detaches it (AUTOCLEAR) */
static int attach_undo(struct fctx *c)
{
	int r = close(c->nfd);

	c->nfd = -1;
	return r ? -errno : 0;
}

#define FPATH(n, prep, c, und, ...) { .name = n, .prepare = prep, .call = c, \
					    .undo = und, __VA_ARGS__ }
static const struct fpath p_configure =
	FPATH("configure", unbound, do_configure, clr);
static const struct fpath p_configure_partscan =
	FPATH("configure partscan bs=4096 sizelimit", unbound,
	      do_configure_partscan, clr);
static const struct fpath p_set_fd = FPATH("set-fd", unbound, do_set_fd, clr);
static const struct fpath p_change_fd =
	FPATH("change-fd", bind_a_ro, do_change_fd, change_back);
static const struct fpath p_status64 =
	FPATH("set-status64", bind_a, do_status64, status_back);
static const struct fpath p_status =
	FPATH("set-status", bind_a, do_status, status_back);
static const struct fpath p_block_size =
	FPATH("set-block-size", bind_a, do_block_size, block_size_back,
	      .pre = dirty_page);
/*
 * device_add_disk() ignores dev_set_name() failing (6.1 and 6.12), and
 * device_add() then refuses the nameless device with -EINVAL: the block
 * layer's answer to that one allocation, for stock as for ours.
 */
static const struct fpath p_add =
	FPATH("ctl-add", unbound, do_add, do_remove_undo, .ctl = true,
	      .must_fail = true, .alt_errno = -EINVAL);
static const struct fpath p_remove =
	FPATH("ctl-remove", add_undo, do_remove, add_undo, .ctl = true);
/*
 * Allocations of the descriptor, the inode and dentry it is opened
 * through, and the open itself, after the binding: each must undo it.
 */
static const struct fpath p_attach =
	FPATH("aloop-attach", add_undo, do_attach, attach_undo, .ctl = true,
	      .must_fail = true, .ours_only = true);
static const struct fpath p_autoclear =
	FPATH("rundown autoclear last close", bind_autoclear, do_last_close,
	      bind_autoclear, .after = reopen, .cannot_fail = true);
static const struct fpath p_clr_fd =
	FPATH("rundown LOOP_CLR_FD", bind_a, do_clr_fd, bind_a, .after = reopen);

FIXTURE(fault) {
	struct fctx c;
};

FIXTURE_VARIANT(fault) {
	const struct fpath *p;
};

FIXTURE_VARIANT_ADD(fault, configure) { .p = &p_configure };
FIXTURE_VARIANT_ADD(fault, configure_partscan) { .p = &p_configure_partscan };
FIXTURE_VARIANT_ADD(fault, set_fd) { .p = &p_set_fd };
FIXTURE_VARIANT_ADD(fault, change_fd) { .p = &p_change_fd };
FIXTURE_VARIANT_ADD(fault, set_status64) { .p = &p_status64 };
FIXTURE_VARIANT_ADD(fault, set_status) { .p = &p_status };
FIXTURE_VARIANT_ADD(fault, set_block_size) { .p = &p_block_size };
FIXTURE_VARIANT_ADD(fault, ctl_add) { .p = &p_add };
FIXTURE_VARIANT_ADD(fault, ctl_remove) { .p = &p_remove };
FIXTURE_VARIANT_ADD(fault, aloop_attach) { .p = &p_attach };
FIXTURE_VARIANT_ADD(fault, rundown_autoclear) { .p = &p_autoclear };
FIXTURE_VARIANT_ADD(fault, rundown_clr_fd) { .p = &p_clr_fd };

FIXTURE_SETUP(fault)
{
	struct fctx *c = &self->c;

	c->idx = lt_get_free();
	ASSERT_NONNEG(c->idx);
	c->fd = lt_open_dev(c->idx, O_RDWR);
	ASSERT_NONNEG(c->fd);
	ASSERT_OK(lt_make_file(c->a, sizeof(c->a), FSIZE));
	ASSERT_OK(lt_make_file(c->b, sizeof(c->b), FSIZE));
	c->afd = lt_open(c->a, O_RDWR);
	ASSERT_NONNEG(c->afd);
	c->bfd = lt_open(c->b, O_RDWR);
	ASSERT_NONNEG(c->bfd);
	c->nfd = -1;
	c->nidx = lt_free_index(c->idx + 100);
	ASSERT_NONNEG(c->nidx);
	lt_track_dev(c->nidx, true);
	ASSERT_OK(nth_open());
}

FIXTURE_TEARDOWN(fault)
{
	if (self->c.nfd >= 0)
		close(self->c.nfd);
	lt_cleanup();
}

TEST_F_TIMEOUT(fault, nth, 1800)
{
	const struct fpath *p = variant->p;
	struct fctx *c = &self->c;
	struct fsnap before, done, now;
	unsigned int n, errors = 0, absorbed = 0, nogroup = 0, bad = 0;
	time_t t0 = time(NULL);
	char why[512];
	long ret;
	int left, leaks;

	if (p->ours_only && !lt_driver_is_ours())
		SKIP(return, "%s: an asyncloop extension", p->name);
	ASSERT_EQ(0, kml_clear()) TH_LOG("kmemleak off? boot with kmemleak=on");
	ASSERT_OK(p->prepare(c));
	snap(p, c, &before);
	/* the fault-free call: the state a successful call must leave */
	if (p->pre)
		ASSERT_OK(p->pre(c));
	ret = p->call(c);
	ASSERT_LE(0, ret) TH_LOG("%s without fault: %s", p->name, lt_errname(ret));
	if (p->after)
		ASSERT_OK(p->after(c));
	snap(p, c, &done);
	ASSERT_NE(0, snap_diff(&before, &done, why, sizeof(why)))
		TH_LOG("%s changes nothing: it could not show a half-done call",
		       p->name);
	ASSERT_OK(p->undo(c));
	snap(p, c, &now);
	ASSERT_EQ(0, snap_diff(&before, &now, why, sizeof(why)))
		TH_LOG("undo of %s: %s", p->name, why);

	for (n = 1; n <= NTH_MAX; n++) {
		if (p->pre)
			ASSERT_OK(p->pre(c));
		ASSERT_OK(nth_arm(n));
		ret = p->call(c);
		left = nth_disarm();
		ASSERT_LE(0, left);
		if (p->after)
			ASSERT_OK(p->after(c));
		snap(p, c, &now);
		if (left > 0) {
			/* the call made fewer than n allocations: done */
			ASSERT_LE(0, ret) TH_LOG("%s, no fault at N=%u: %s",
						 p->name, n, lt_errname(ret));
			ASSERT_EQ(0, snap_diff(&done, &now, why, sizeof(why)))
				TH_LOG("%s, no fault at N=%u: %s", p->name, n, why);
			ASSERT_OK(p->undo(c));
			break;
		}
		if (ret < 0 && !p->cannot_fail) {
			errors++;
			if (p->alt_errno && ret == p->alt_errno) {
				printf("# %s N=%u: %s (the block layer's, see p_add)\n",
				       p->name, n, lt_errname(ret));
			} else if (ret != -ENOMEM) {
				printf("# %s N=%u: %s, expected -ENOMEM\n",
				       p->name, n, lt_errname(ret));
				bad++;
			}
			/* a state changed half-way cannot be tested further */
			ASSERT_EQ(0, snap_diff(&before, &now, why, sizeof(why)))
				TH_LOG("%s N=%u failed with %s but changed the device: %s",
				       p->name, n, lt_errname(ret), why);
			continue;
		}
		absorbed++;
		if (no_loop_group(&done, &now)) {
			nogroup++;
		} else if (snap_diff(&done, &now, why, sizeof(why))) {
			printf("# %s N=%u: returned %s, state differs from a fault-free call: %s\n",
			       p->name, n, lt_errname(ret), why);
			bad++;
		}
		ret = p->undo(c);
		ASSERT_EQ(0, ret) TH_LOG("%s N=%u: undo: %s", p->name, n,
					 lt_errname(ret));
		snap(p, c, &now);
		ASSERT_EQ(0, snap_diff(&before, &now, why, sizeof(why)))
			TH_LOG("%s N=%u: undo: %s", p->name, n, why);
	}
	ASSERT_GE(NTH_MAX, n) TH_LOG("%s: still faulting at N=%u", p->name, n);
	leaks = kml_new();
	printf("# %s: N=1..%u faulted (%u returned an error, %u absorbed, %u of them without loop/ in sysfs), N=%u clean; %u wrong; kmemleak: %d new; %lds\n",
	       p->name, n - 1, errors, absorbed, nogroup, n, bad, leaks,
	       (long)(time(NULL) - t0));
	/* N = 1 reached no allocation: the path is not exercised at all */
	ASSERT_LT(1u, n) TH_LOG("%s: fail-nth injected nothing", p->name);
	if (p->must_fail)
		ASSERT_LT(0u, errors) TH_LOG("%s: no fault made it fail", p->name);
	EXPECT_EQ(0u, bad);
	EXPECT_EQ(0, leaks) TH_LOG("%s: kmemleak: %s", p->name,
				   leaks < 0 ? lt_errname(leaks) : "new leaks");
}

/* ------------------------------------------------------- I/O errors --- */

#define IO_BS 4096
#define IO_BLOCKS 1024		/* 4 MiB backing file */
#define HIT_READ 100		/* block read while the disk fails */
#define HIT_WRITE 200		/* first of the HIT_NW blocks written */
#define HIT_NW 4
#define HIT(b) ((b) >= HIT_WRITE && (b) < HIT_WRITE + HIT_NW)

/* what the failed write tried to put there */
static uint8_t new_pattern(uint64_t off)
{
	return (uint8_t)~lt_pattern(off);
}

static int fmr_arm(const char *disk, bool on)
{
	static const char *const knobs[][2] = {
		/* one line per failed bio, no stack (see nth_open()) */
		{ FAIL_MAKE_REQUEST "verbose", "1" },
		{ FAIL_MAKE_REQUEST "interval", "1" },
		{ FAIL_MAKE_REQUEST "times", "-1" },
		{ FAIL_MAKE_REQUEST "space", "0" },
		{ FAIL_MAKE_REQUEST "task-filter", "N" },
	};
	char p[128];
	unsigned int i;
	int r;

	for (i = 0; on && i < ARRAY_SIZE(knobs); i++) {
		r = lt_write_str(knobs[i][0], knobs[i][1]);
		if (r)
			return r;
	}
	r = lt_write_str(FAIL_MAKE_REQUEST "probability", on ? "100" : "0");
	if (r)
		return r;
	snprintf(p, sizeof(p), "/sys/block/%s/make-it-fail", disk);
	return lt_write_str(p, on ? "1" : "0");
}

static int drop_caches(void)
{
	sync();
	return lt_write_str("/proc/sys/vm/drop_caches", "1");
}

FIXTURE(ioerr) {
	int idx, fd, bfd, dfd;
	const char *disk;
	char file[PATH_MAX];
	uint8_t *buf;
};

FIXTURE_VARIANT(ioerr) {
	bool dio;
};

FIXTURE_VARIANT_ADD(ioerr, buffered) { .dio = false };
FIXTURE_VARIANT_ADD(ioerr, direct_io) { .dio = true };

FIXTURE_SETUP(ioerr)
{
	const char *dir = getenv("ALOOP_FAULTS_DIR");
	uint64_t off;
	int fd;

	self->disk = getenv("ALOOP_FAULTS_DISK");
	ASSERT_TRUE(dir && self->disk)
		TH_LOG("needs ALOOP_FAULTS_DIR (ext4 on the disk) and ALOOP_FAULTS_DISK");
	self->buf = aligned_alloc(IO_BS, IO_BLOCKS * IO_BS);
	ASSERT_NE(NULL, self->buf);
	snprintf(self->file, sizeof(self->file), "%s/backing-XXXXXX", dir);
	fd = mkstemp(self->file);
	ASSERT_LE(0, fd);
	lt_track_file(self->file);
	for (off = 0; off < IO_BLOCKS * IO_BS; off++)
		self->buf[off] = lt_pattern(off);
	ASSERT_EQ(IO_BLOCKS * IO_BS, pwrite(fd, self->buf, IO_BLOCKS * IO_BS, 0));
	ASSERT_EQ(0, fsync(fd));
	close(fd);
	self->bfd = lt_open(self->file, O_RDWR);
	ASSERT_NONNEG(self->bfd);
	self->idx = lt_get_free();
	ASSERT_NONNEG(self->idx);
	self->fd = lt_open_dev(self->idx, O_RDWR);
	ASSERT_NONNEG(self->fd);
	ASSERT_OK(lt_configure(self->fd, self->bfd, 0, 0,
			       variant->dio ? LO_FLAGS_DIRECT_IO : 0, 0));
	ASSERT_SYSFS_STR(self->idx, "loop/dio", variant->dio ? "1" : "0");
	/* the device's own cache would hide the backing file's errors */
	self->dfd = lt_open_dev(self->idx, O_RDWR | O_DIRECT);
	ASSERT_NONNEG(self->dfd);
	/* every read below has to reach the disk */
	ASSERT_OK(drop_caches());
}

FIXTURE_TEARDOWN(ioerr)
{
	if (self->disk)
		fmr_arm(self->disk, false);
	lt_cleanup();
	free(self->buf);
}

/* sector by sector: the file's pattern, or (may_be_new) the failed write's */
static int check_blocks(const uint8_t *buf, uint64_t first, uint64_t count,
			bool may_be_new, char *why, size_t len)
{
	uint64_t s, i, base;

	for (s = 0; s < count * IO_BS / 512; s++) {
		base = first * IO_BS + s * 512;
		for (i = 0; i < 512; i++)
			if (buf[s * 512 + i] != lt_pattern(base + i))
				break;
		if (i == 512)
			continue;
		for (i = 0; may_be_new && i < 512; i++)
			if (buf[s * 512 + i] != new_pattern(base + i))
				break;
		if (may_be_new && i == 512)
			continue;
		snprintf(why, len, "sector at byte %llu is neither old nor new data",
			 (unsigned long long)base);
		return -1;
	}
	return 0;
}

TEST_F_TIMEOUT(ioerr, eio, 600)
{
	uint8_t *rb = self->buf, *wb = self->buf + IO_BS;
	ssize_t n;
	uint64_t off, b;
	char why[256];
	int e;

	for (off = 0; off < HIT_NW * IO_BS; off++)
		wb[off] = new_pattern(HIT_WRITE * IO_BS + off);

	ASSERT_OK(fmr_arm(self->disk, true));
	n = pread(self->dfd, rb, IO_BS, HIT_READ * IO_BS);
	e = errno;
	EXPECT_EQ(-1, n) TH_LOG("read while the disk fails: %zd", n);
	if (n < 0)
		EXPECT_EQ(EIO, e) TH_LOG("read: %s", strerror(e));
	n = pwrite(self->dfd, wb, HIT_NW * IO_BS, HIT_WRITE * IO_BS);
	e = errno;
	if (variant->dio) {
		EXPECT_EQ(-1, n) TH_LOG("direct write while the disk fails: %zd", n);
	} else if (n == HIT_NW * IO_BS) {
		/* it went to the backing file's page cache: the error is fsync's */
		n = fsync(self->dfd);
		e = errno;
		EXPECT_EQ(-1, n) TH_LOG("fsync of a write that failed on the disk: %zd", n);
	}
	if (n < 0)
		EXPECT_EQ(EIO, e) TH_LOG("write: %s", strerror(e));
	ASSERT_OK(fmr_arm(self->disk, false));

	/* the errors are not sticky: the failed block reads fine now */
	ASSERT_EQ(IO_BS, pread(self->dfd, rb, IO_BS, HIT_READ * IO_BS));
	ASSERT_EQ(0, check_blocks(rb, HIT_READ, 1, false, why, sizeof(why)))
		TH_LOG("block %d: %s", HIT_READ, why);

	/* every other block is the file's data, from the disk */
	ASSERT_OK(drop_caches());
	ASSERT_EQ(IO_BLOCKS * IO_BS, pread(self->dfd, self->buf, IO_BLOCKS * IO_BS, 0));
	for (b = 0; b < IO_BLOCKS; b++)
		ASSERT_EQ(0, check_blocks(self->buf + b * IO_BS, b, 1, HIT(b),
					  why, sizeof(why)))
			TH_LOG("loop device block %llu: %s", (unsigned long long)b, why);
	ASSERT_EQ(IO_BLOCKS * IO_BS, pread(self->bfd, self->buf, IO_BLOCKS * IO_BS, 0));
	for (b = 0; b < IO_BLOCKS; b++)
		ASSERT_EQ(0, check_blocks(self->buf + b * IO_BS, b, 1, HIT(b),
					  why, sizeof(why)))
			TH_LOG("backing file block %llu: %s", (unsigned long long)b, why);

	/* and the device writes again: the error was reported once */
	for (off = 0; off < HIT_NW * IO_BS; off++)
		wb[off] = new_pattern(HIT_WRITE * IO_BS + off);
	ASSERT_EQ(HIT_NW * IO_BS, pwrite(self->dfd, wb, HIT_NW * IO_BS, HIT_WRITE * IO_BS));
	ASSERT_EQ(0, fsync(self->dfd));
	ASSERT_OK(drop_caches());
	ASSERT_EQ(HIT_NW * IO_BS, pread(self->dfd, rb, HIT_NW * IO_BS, HIT_WRITE * IO_BS));
	for (off = 0; off < HIT_NW * IO_BS; off++)
		ASSERT_EQ(new_pattern(HIT_WRITE * IO_BS + off), rb[off])
			TH_LOG("rewritten byte %llu", (unsigned long long)off);
}

/* ----------------------------------------------------------- unload --- */

/* last fixture: the harness runs fixtures in the order they are defined */
FIXTURE(module) {
};

FIXTURE_SETUP(module)
{
}

FIXTURE_TEARDOWN(module)
{
}

TEST_F_TIMEOUT(module, unloads, 300)
{
	int r, leaks;

	ASSERT_OK(kml_clear());
	r = lt_unload_driver();
	ASSERT_OK(r);
	/* what only the module's own data still pointed to is unreferenced now */
	leaks = kml_new();
	EXPECT_EQ(0, leaks) TH_LOG("kmemleak after unload: %s",
				   leaks < 0 ? lt_errname(leaks) : "new leaks");
	ASSERT_OK(lt_load_driver(""));
}

TEST_HARNESS_MAIN
