// SPDX-License-Identifier: GPL-2.0
/*
 * Stress: several processes do random loop operations at once for a set
 * time, in slices; between slices every device is unbound and the driver
 * is unloaded and loaded again.  Meant for the lockdep + KASAN kernel,
 * where any splat fails the run (vm/run watches the log); here a crashed
 * or hung worker, an errno no stock driver gives for the operation, or a
 * driver that cannot be unloaded at the end of a slice fails the test.
 *
 * ALOOP_STRESS_SECS (default 60) sets the duration, ALOOP_STRESS_PROCS
 * (default 4) the number of workers.  Our driver also flips between the
 * task_work and the workqueue rundown path from slice to slice.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "loopt.h"

#define NDEV	12	/* devices loop0..loop11 take part */
#define NFILE	4
#define SLICE	20	/* seconds between driver reloads */

enum op {
	OP_OPEN_CLOSE, OP_CONFIGURE, OP_SET_FD, OP_CLR_FD, OP_SET_STATUS,
	OP_GET_STATUS, OP_CHANGE_FD, OP_CAPACITY, OP_BLOCK_SIZE, OP_DIO,
	OP_GET_FREE, OP_ADD, OP_REMOVE, OP_IO, OP_AUTOCLEAR_CYCLE, NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"open/close", "configure", "set_fd", "clr_fd", "set_status",
	"get_status", "change_fd", "set_capacity", "set_block_size",
	"set_direct_io", "get_free", "add", "remove", "io", "autoclear_cycle",
};

struct counts {
	unsigned long ops[NR_OPS];
	unsigned long errs[NR_OPS];
	unsigned long unexpected;
	char why[128];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *file_path(int i)
{
	static char path[NFILE][32];

	snprintf(path[i], sizeof(path[i]), "/tmp/stress-%d", i);
	return path[i];
}

/*
 * errnos a loop driver may legitimately answer to a racing operation;
 * ENOSPC: a write to a device that was just unbound (capacity 0)
 */
static bool expected_errno(long r)
{
	switch (-r) {
	case EBUSY: case ENXIO: case EINVAL: case ENODEV: case EEXIST:
	case EAGAIN: case EIO: case EPERM: case EROFS: case ENOENT:
	case ENOSPC:
		return true;
	default:
		return false;
	}
}

static void note(struct counts *c, enum op op, long r)
{
	c->ops[op]++;
	if (r >= 0)
		return;
	c->errs[op]++;
	if (!expected_errno(r)) {
		c->unexpected++;
		snprintf(c->why, sizeof(c->why), "%s: %s", op_names[op],
			 lt_errname(r));
	}
}

static long do_io(int fd, bool rdonly, unsigned int seed)
{
	static char buf[8192] __attribute__((aligned(4096)));
	off_t off = (off_t)(seed % 64) * 4096;
	ssize_t n;

	if ((seed & 1) && !rdonly) {
		memset(buf, seed & 0xff, sizeof(buf));
		n = pwrite(fd, buf, sizeof(buf), off);
	} else {
		n = pread(fd, buf, sizeof(buf), off);
	}
	if (n < 0)
		return -errno;
	if (seed & 2)
		return fdatasync(fd) ? -errno : 0;
	return 0;
}

static void worker(int id, double until, struct counts *c)
{
	unsigned int seed = (unsigned int)getpid() * 2654435761u;
	int files[NFILE], i;

	for (i = 0; i < NFILE; i++)
		files[i] = open(file_path(i), (i == NFILE - 1 ? O_RDONLY : O_RDWR));
	while (now() < until) {
		unsigned int r = rand_r(&seed);
		int idx = r % NDEV, f = (r >> 8) % NFILE;
		enum op op = (r >> 12) % NR_OPS;
		bool rdonly = r & (1 << 20);
		struct loop_info64 info;
		long ret = 0;
		int fd = -1;

		if (op != OP_GET_FREE && op != OP_ADD && op != OP_REMOVE) {
			fd = lt_open_dev(idx, rdonly ? O_RDONLY : O_RDWR);
			if (fd < 0) {
				note(c, OP_OPEN_CLOSE, fd);
				continue;
			}
		}
		switch (op) {
		case OP_OPEN_CLOSE:
			break;
		case OP_CONFIGURE:
			ret = lt_configure(fd, files[f], (r >> 16) % 2 * 4096, 0,
					   (r >> 17) & (LO_FLAGS_AUTOCLEAR |
							LO_FLAGS_READ_ONLY |
							LO_FLAGS_DIRECT_IO), 0);
			break;
		case OP_SET_FD:
			ret = lt_ioctl(fd, LOOP_SET_FD, files[f]);
			break;
		case OP_CLR_FD:
			ret = lt_ioctl(fd, LOOP_CLR_FD, 0);
			break;
		case OP_SET_STATUS:
			ret = lt_status64(fd, &info);
			if (!ret) {
				info.lo_flags ^= LO_FLAGS_AUTOCLEAR;
				info.lo_offset = (r >> 16) % 2 * 512;
				ret = lt_set_status64(fd, &info);
			}
			break;
		case OP_GET_STATUS:
			ret = lt_status64(fd, &info);
			break;
		case OP_CHANGE_FD:
			ret = lt_ioctl(fd, LOOP_CHANGE_FD, files[f]);
			break;
		case OP_CAPACITY:
			ret = lt_ioctl(fd, LOOP_SET_CAPACITY, 0);
			break;
		case OP_BLOCK_SIZE:
			ret = lt_ioctl(fd, LOOP_SET_BLOCK_SIZE, 512u << ((r >> 16) % 4));
			break;
		case OP_DIO:
			ret = lt_ioctl(fd, LOOP_SET_DIRECT_IO, (r >> 16) & 1);
			break;
		case OP_GET_FREE:
			ret = lt_ctl(LOOP_CTL_GET_FREE, 0);
			break;
		case OP_ADD:
			ret = lt_ctl(LOOP_CTL_ADD, idx);
			break;
		case OP_REMOVE:
			/* keep loop0..7 so the suite's devices survive */
			ret = idx >= 8 ? lt_ctl(LOOP_CTL_REMOVE, idx) : 0;
			break;
		case OP_IO:
			ret = do_io(fd, rdonly, r >> 16);
			break;
		case OP_AUTOCLEAR_CYCLE:
			ret = lt_configure(fd, files[f], 0, 0, LO_FLAGS_AUTOCLEAR, 0);
			if (!ret)
				ret = do_io(fd, rdonly, r >> 16);
			break;
		case NR_OPS:
			break;
		}
		note(c, op, ret);
		if (fd >= 0)
			close(fd);
	}
	(void)id;
}

/* Unbind every device the workers may have left bound; -errno on trouble. */
static int unbind_all(void)
{
	int i, fd;
	long r;

	for (i = 0; i < NDEV; i++) {
		fd = lt_open_dev(i, O_RDONLY);
		if (fd < 0)
			continue;
		r = lt_ioctl(fd, LOOP_CLR_FD, 0);
		close(fd);
		if (r && r != -ENXIO)
			return (int)r;
		if (lt_is_bound(i))
			return -EBUSY;
	}
	return 0;
}

FIXTURE(stress) {
	int unused;
};

FIXTURE_SETUP(stress)
{
}

FIXTURE_TEARDOWN(stress)
{
	lt_cleanup();
}

TEST_F_TIMEOUT(stress, random_ops, 3600)
{
	long secs = lt_env_long("ALOOP_STRESS_SECS", 60);
	int procs = (int)lt_env_long("ALOOP_STRESS_PROCS", 4);
	bool ours = lt_driver_is_ours();
	struct counts *c, total;
	unsigned long all_ops = 0;
	double end = now() + secs;
	int p, i, slice = 0, reloads = 0, status;

	ASSERT_TRUE(getenv("ASYNCLOOP_LOOP_KO") != NULL);
	for (i = 0; i < NFILE; i++) {
		int fd = open(file_path(i), O_CREAT | O_RDWR | O_TRUNC, 0644);

		ASSERT_LE(0, fd);
		ASSERT_EQ(0, ftruncate(fd, 1 << 20));
		close(fd);
		lt_track_file(file_path(i));
	}
	c = mmap(NULL, sizeof(*c) * procs, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, c);
	memset(c, 0, sizeof(*c) * procs);

	while (now() < end) {
		double until = now() + SLICE < end ? now() + SLICE : end;

		for (p = 0; p < procs; p++) {
			pid_t pid = fork();

			ASSERT_LE(0, pid);
			if (!pid) {
				worker(p, until, &c[p]);
				_exit(0);
			}
		}
		for (p = 0; p < procs; p++) {
			ASSERT_LT(0, wait(&status));
			ASSERT_EQ(0, status) TH_LOG("worker died: status 0x%x", status);
		}
		ASSERT_EQ(0, unbind_all());
		/*
		 * A rundown on the workqueue (rundown_workqueue=1, or a
		 * worker's last close after its exit_task_work()) holds a
		 * module reference until it finished: wait for it.
		 */
		for (i = 0; ours && lt_module_param("pending_rundowns") > 0 &&
		     i < 1000; i++)
			usleep(10000);
		ASSERT_EQ(0, lt_unload_driver())
			TH_LOG("rmmod after slice %d: %s", slice, strerror(errno));
		slice++;
		ASSERT_EQ(0, lt_load_driver(ours && (slice & 1) ?
					 "rundown_workqueue=1" : ""));
		reloads++;
	}

	memset(&total, 0, sizeof(total));
	for (p = 0; p < procs; p++) {
		for (i = 0; i < NR_OPS; i++) {
			total.ops[i] += c[p].ops[i];
			total.errs[i] += c[p].errs[i];
		}
		total.unexpected += c[p].unexpected;
		if (c[p].why[0])
			TH_LOG("worker %d: unexpected %s", p, c[p].why);
	}
	for (i = 0; i < NR_OPS; i++) {
		TH_LOG("%-16s %8lu ops %8lu errors", op_names[i], total.ops[i],
		       total.errs[i]);
		all_ops += total.ops[i];
	}
	TH_LOG("%ld s, %d processes, %lu operations, %d rmmod/insmod cycles",
	       secs, procs, all_ops, reloads);
	EXPECT_EQ(0, total.unexpected);
	munmap(c, sizeof(*c) * procs);
}

TEST_HARNESS_MAIN
