// SPDX-License-Identifier: GPL-2.0
/*
 * Per-cgroup isolation of the I/O path (cgroup v2, io + memory).
 *
 * Cgroup A is throttled on the disk holding the backing file (io.max
 * 1 MiB/s) and reads or writes 64 KiB - 1 MiB blocks at queue depth 4
 * through the loop device.  Cgroup B does 4 KiB O_DIRECT random reads at
 * queue depth 1 on another part of the same device.  B must keep at least
 * half of the IOPS it has alone, and its p99 latency must stay under ten
 * times its p99 alone: requests of different cgroups must not queue
 * behind each other in one worker.  The I/O of each must be charged to
 * its own cgroup (io.stat on the backing disk, memory.stat for the page
 * cache of a buffered device).
 *
 * The backing file lives in $ALOOP_CGROUP_DIR (ext4 on the virtio disk);
 * $ALOOP_CGROUP_SECS sets B's measuring time under load (default 4 s).
 *
 * A worker holds its cgroup: once the cgroup is removed and the worker
 * idle, the driver must let go of it (stock: after 60 s), while the device
 * stays bound and in use.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "loopt.h"

#define CG_ROOT		"/sys/fs/cgroup"
#define CG_A		CG_ROOT "/aloop-test-a"
#define CG_B		CG_ROOT "/aloop-test-b"
#define CG_MAGIC	0x63677270	/* CGROUP2_SUPER_MAGIC */

#define CG_MIB		(1024 * 1024)
#define CG_A_SPAN	(64LL * CG_MIB)		/* device [0, 64 MiB): A */
#define CG_B_START	(80LL * CG_MIB)		/* [80 MiB, 96 MiB): B */
#define CG_B_SPAN	(16LL * CG_MIB)
#define CG_FILE_SIZE	(96LL * CG_MIB)
#define CG_A_THREADS	4
#define CG_A_BPS	"1048576"
#define CG_SOLO_SECS	2
#define CG_MAX_LAT	(1 << 18)

/* shared between the test and its A and B children (B: solo or load) */
struct cg_shared {
	int stop;		/* A: finish the current block, exit (atomic) */
	long a_ops, a_errs, a_bytes;
	long b_ops, b_errs;
	long nlat;
	unsigned int lat_us[CG_MAX_LAT];	/* B's latencies */
};

static double cg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* write @val to @dir/@file: 0 or -errno */
static int cg_write(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return lt_write_str(path, val);
}

/*
 * A number from a cgroup file: the value after "@key " on the line that
 * starts with @line ("file" in memory.stat), or after "@key=" on that line
 * (io.stat: "MAJ:MIN rbytes=N wbytes=N ...").  -1 if absent.
 */
static long long cg_stat(const char *dir, const char *file, const char *line,
			 const char *key)
{
	char path[PATH_MAX], buf[4096], field[64];
	size_t n = strlen(line);
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	snprintf(field, sizeof(field), " %s=", key);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (v < 0 && fgets(buf, sizeof(buf), f)) {
		if (strncmp(buf, line, n) || buf[n] != ' ')
			continue;
		if (!key)
			v = strtoll(buf + n + 1, NULL, 10);
		else if (strstr(buf, field))
			v = strtoll(strstr(buf, field) + strlen(field), NULL,
				    10);
	}
	fclose(f);
	return v;
}

static int cg_mkdir(const char *dir)
{
	return mkdir(dir, 0755) && errno != EEXIST ? -errno : 0;
}

static int cg_enter(const char *dir)
{
	return cg_write(dir, "cgroup.procs", "0");
}

/* the whole disk under @path, as "MAJ:MIN" (io.max takes no partitions) */
static int cg_disk_of(const char *path, char *buf, size_t len)
{
	char sys[PATH_MAX], dev[32];
	struct stat st;
	FILE *f;

	if (stat(path, &st))
		return -errno;
	snprintf(buf, len, "%u:%u", major(st.st_dev), minor(st.st_dev));
	snprintf(sys, sizeof(sys), "/sys/dev/block/%s/partition", buf);
	if (access(sys, F_OK))
		return 0;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%s/../dev", buf);
	f = fopen(sys, "r");
	if (!f)
		return -errno;
	if (!fgets(dev, sizeof(dev), f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	dev[strcspn(dev, "\n")] = 0;
	snprintf(buf, len, "%s", dev);
	return 0;
}

/*
 * A file of @size with data on disk (a hole or unwritten extent reads
 * without I/O, and A's reads must reach the throttled disk).
 */
static int cg_make_image(const char *dir, char *path, size_t len, off_t size)
{
	static char buf[CG_MIB];
	off_t done;
	size_t i;
	int fd;

	snprintf(path, len, "%s/asyncloop-cg-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	lt_track_file(path);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 31 + 7);
	for (done = 0; done < size; done += sizeof(buf)) {
		if (pwrite(fd, buf, sizeof(buf), done) != sizeof(buf)) {
			close(fd);
			return -EIO;
		}
	}
	if (fsync(fd)) {
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

static void cg_drop_caches(void)
{
	sync();
	cg_write("/proc/sys/vm", "drop_caches", "3");
}

struct cg_a_arg {
	struct cg_shared *sh;
	int fd;
	bool write;
	unsigned int seed;
};

/* One of A's queue slots: random 64 KiB - 1 MiB blocks in A's span. */
static void *cg_a_thread(void *p)
{
	struct cg_a_arg *a = p;
	size_t max = CG_MIB;
	void *buf;

	if (posix_memalign(&buf, 4096, max))
		return NULL;
	memset(buf, 0x5a, max);
	while (!__atomic_load_n(&a->sh->stop, __ATOMIC_RELAXED)) {
		size_t sz = (64 * 1024) << (rand_r(&a->seed) % 5);
		off_t off = (off_t)(rand_r(&a->seed) %
				    ((CG_A_SPAN - sz) / 65536 + 1)) * 65536;
		ssize_t r = a->write ? pwrite(a->fd, buf, sz, off) :
				       pread(a->fd, buf, sz, off);

		if (r == (ssize_t)sz) {
			__atomic_add_fetch(&a->sh->a_ops, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&a->sh->a_bytes, sz,
					   __ATOMIC_RELAXED);
		} else {
			__atomic_add_fetch(&a->sh->a_errs, 1, __ATOMIC_RELAXED);
		}
	}
	free(buf);
	return NULL;
}

static void cg_run_a(struct cg_shared *sh, const char *dev, bool write)
{
	struct cg_a_arg arg[CG_A_THREADS];
	pthread_t t[CG_A_THREADS];
	int i, fd;

	if (cg_enter(CG_A))
		_exit(2);
	fd = open(dev, O_RDWR | O_DIRECT);
	if (fd < 0)
		_exit(3);
	for (i = 0; i < CG_A_THREADS; i++) {
		arg[i] = (struct cg_a_arg){ sh, fd, write, 1234u + i };
		if (pthread_create(&t[i], NULL, cg_a_thread, &arg[i]))
			_exit(4);
	}
	for (i = 0; i < CG_A_THREADS; i++)
		pthread_join(t[i], NULL);
	_exit(0);
}

/*
 * B: reads all of its span once (@warm: fills the backing page cache,
 * charged to B), then 4 KiB random reads for @secs, one at a time.
 */
static void cg_run_b(struct cg_shared *sh, const char *dev, bool warm,
		     double secs)
{
	unsigned int seed = 42;
	double end, t0, t1;
	void *buf;
	off_t off;
	int fd;

	if (cg_enter(CG_B))
		_exit(2);
	fd = open(dev, O_RDONLY | O_DIRECT);
	if (fd < 0 || posix_memalign(&buf, 4096, CG_MIB))
		_exit(3);
	for (off = 0; warm && off < CG_B_SPAN; off += CG_MIB)
		if (pread(fd, buf, CG_MIB, CG_B_START + off) != CG_MIB)
			_exit(4);
	end = cg_now() + secs;
	while ((t0 = cg_now()) < end) {
		off = CG_B_START +
			(off_t)(rand_r(&seed) % (CG_B_SPAN / 4096)) * 4096;
		if (pread(fd, buf, 4096, off) != 4096) {
			sh->b_errs++;
			continue;
		}
		t1 = cg_now();
		sh->b_ops++;
		if (sh->nlat < CG_MAX_LAT)
			sh->lat_us[sh->nlat++] = (unsigned int)((t1 - t0) * 1e6);
	}
	_exit(0);
}

static int cg_cmp_uint(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

struct cg_result {
	double iops;
	unsigned int p50_us, p99_us;
	long errs;
};

/*
 * Fork B for @secs, wait for it, and sum up what it measured in @sh since
 * the last reset (@append false), over @total seconds.
 */
static int cg_measure_b(struct cg_shared *sh, const char *dev, bool warm,
			double secs, bool append, double total,
			struct cg_result *res)
{
	int status;
	pid_t pid;

	if (!append)
		memset(sh, 0, offsetof(struct cg_shared, lat_us));
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid)
		cg_run_b(sh, dev, warm, secs);
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return -ECHILD;
	if (!sh->nlat)
		return -EIO;
	qsort(sh->lat_us, sh->nlat, sizeof(sh->lat_us[0]), cg_cmp_uint);
	res->iops = sh->b_ops / total;
	res->p50_us = sh->lat_us[sh->nlat / 2];
	res->p99_us = sh->lat_us[sh->nlat * 99 / 100];
	res->errs = sh->b_errs;
	return 0;
}

#define CG_P		CG_ROOT "/aloop-test-p"
#define CG_C		CG_P "/c"
#define CG_RELEASE_SECS	90
#define CG_STOCK_SECS	10
/* the device of the release tests, from the first to the last */
#define CG_RELEASE_IDX	"/tmp/aloop-cg-release"

static long long cg_dying(const char *dir)
{
	return cg_stat(dir, "cgroup.stat", "nr_dying_descendants", NULL);
}

/* O_DIRECT reads from cgroup @cg, in a child; 0 or -errno */
static int cg_read_from(const char *cg, const char *dev, int n)
{
	int status, fd, i;
	void *buf;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		if (cg_enter(cg))
			_exit(2);
		fd = open(dev, O_RDONLY | O_DIRECT);
		if (fd < 0 || posix_memalign(&buf, 4096, 4096))
			_exit(3);
		for (i = 0; i < n; i++)
			if (pread(fd, buf, 4096, (off_t)i * 4096) != 4096)
				_exit(4);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
}

static int cg_mount(void)
{
	struct statfs sfs;

	if (!statfs(CG_ROOT, &sfs) && sfs.f_type == CG_MAGIC)
		return 0;
	return mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL) ? -errno : 0;
}

/*
 * The worker of a removed cgroup must go once idle (ours: 60 s after its
 * last request; stock keeps it, difference (u)), while the device stays
 * bound.  The first test leaves cgroup C removed behind a bound device;
 * the last one, after the isolation tests (their minute counts towards
 * the wait), checks that C stopped being "dying".  Only the io controller
 * is enabled for P's children and the I/O is direct: nothing but the
 * driver (no page cache, no memcg) pins C.
 */
FIXTURE(pin) {
	int unused;
};

FIXTURE_SETUP(pin)
{
}

FIXTURE_TEARDOWN(pin)
{
	lt_cleanup();
}

TEST_F(pin, removed_cgroup_left_behind_a_bound_device)
{
	const char *dir = lt_env_dir("ALOOP_CGROUP_DIR");
	char file[PATH_MAX], dev[64], buf[16];
	int idx, ctl, fd, bfd;
	FILE *f;

	ASSERT_OK(cg_mount());
	ASSERT_OK(cg_write(CG_ROOT, "cgroup.subtree_control", "+io"));
	ASSERT_OK(cg_mkdir(CG_P));
	ASSERT_OK(cg_write(CG_P, "cgroup.subtree_control", "+io"));
	ASSERT_OK(cg_mkdir(CG_C));
	ASSERT_EQ(0, cg_dying(CG_P));

	/* not tracked: it outlives this test; the release test cleans up */
	ctl = lt_ctl_open();
	ASSERT_NONNEG(ctl);
	idx = lt_ioctl(ctl, LOOP_CTL_GET_FREE, 0);
	ASSERT_NONNEG(idx);
	snprintf(buf, sizeof(buf), "%d\n", idx);
	f = fopen(CG_RELEASE_IDX, "w");
	ASSERT_NE(NULL, f);
	fputs(buf, f);
	fclose(f);
	ASSERT_OK(lt_make_file_in(dir, file, sizeof(file), 1 << 20));
	lt_dev_path(idx, dev, sizeof(dev));
	fd = open(dev, O_RDWR);
	ASSERT_LE(0, fd);
	bfd = lt_open(file, O_RDWR);
	ASSERT_NONNEG(bfd);
	ASSERT_OK(lt_configure(fd, bfd, 0, 0, LO_FLAGS_DIRECT_IO, 0));

	ASSERT_OK(cg_read_from(CG_C, dev, 64));
	ASSERT_EQ(0, rmdir(CG_C)) TH_LOG("rmdir: %s", strerror(errno));
	ksft_print_msg("%s: cgroup removed, %lld dying below its parent\n",
		       lt_driver_is_ours() ? "ours" : "stock", cg_dying(CG_P));
}

FIXTURE(cg) {
	int idx;
	int fd;
	char dev[64];
	char file[PATH_MAX];
	char disk[32];
	struct cg_shared *sh;		/* A, and B alone */
	struct cg_shared *lsh;		/* B beside A */
	pid_t a_pid;
};

FIXTURE_VARIANT(cg) {
	bool direct;		/* the loop device does direct I/O */
	bool write;		/* A writes (else reads) */
};

FIXTURE_VARIANT_ADD(cg, buffered_read) { .direct = false, .write = false };
FIXTURE_VARIANT_ADD(cg, buffered_write) { .direct = false, .write = true };
FIXTURE_VARIANT_ADD(cg, direct_read) { .direct = true, .write = false };
FIXTURE_VARIANT_ADD(cg, direct_write) { .direct = true, .write = true };

FIXTURE_SETUP(cg)
{
	const char *dir = lt_env_dir("ALOOP_CGROUP_DIR");
	struct loop_info64 info;
	int bfd;

	self->a_pid = 0;
	self->sh = mmap(NULL, sizeof(*self->sh), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sh);
	self->lsh = mmap(NULL, sizeof(*self->lsh), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->lsh);

	ASSERT_OK(cg_mount());
	ASSERT_OK(cg_write(CG_ROOT, "cgroup.subtree_control", "+io +memory"));
	ASSERT_OK(cg_mkdir(CG_A));
	ASSERT_OK(cg_mkdir(CG_B));

	ASSERT_OK(cg_make_image(dir, self->file, sizeof(self->file),
				CG_FILE_SIZE));
	ASSERT_OK(cg_disk_of(self->file, self->disk, sizeof(self->disk)));

	self->idx = lt_get_free();
	ASSERT_NONNEG(self->idx);
	lt_dev_path(self->idx, self->dev, sizeof(self->dev));
	self->fd = lt_open_dev(self->idx, O_RDWR);
	ASSERT_NONNEG(self->fd);
	bfd = lt_open(self->file, O_RDWR);
	ASSERT_NONNEG(bfd);
	ASSERT_OK(lt_configure(self->fd, bfd, 0, 0,
			       variant->direct ? LO_FLAGS_DIRECT_IO : 0, 0));
	close(bfd);
	ASSERT_OK(lt_status64(self->fd, &info));
	ASSERT_EQ(variant->direct ? LO_FLAGS_DIRECT_IO : 0,
		  info.lo_flags & LO_FLAGS_DIRECT_IO)
		TH_LOG("direct I/O not in effect as asked");
}

FIXTURE_TEARDOWN(cg)
{
	char lift[64];

	snprintf(lift, sizeof(lift), "%s rbps=max wbps=max", self->disk);
	cg_write(CG_A, "io.max", lift);
	if (self->a_pid > 0) {
		__atomic_store_n(&self->sh->stop, 1, __ATOMIC_RELAXED);
		waitpid(self->a_pid, NULL, 0);
	}
	lt_cleanup();
	/* dirty pages of A go now, unthrottled, before the cgroups */
	sync();
	rmdir(CG_A);
	rmdir(CG_B);
}

TEST_F_TIMEOUT(cg, b_keeps_its_iops_beside_throttled_a, 180)
{
	double secs = lt_env_long("ALOOP_CGROUP_SECS", 4);
	struct cg_result solo, load;
	const char *what = variant->write ? "wbytes" : "rbytes";
	long long a_io, a_file, b_io, b_file;
	char limit[96];
	int status;

	/* Debian's kernels have it; the debug kernels' minimal config not */
	if (access(CG_A "/io.max", F_OK))
		SKIP(return, "no io.max (a kernel without CONFIG_BLK_DEV_THROTTLING)");

	/*
	 * B alone, after its span was read once from B (warm for buffered),
	 * before and after A's run: one sample of TCG's noise is too few.
	 */
	cg_drop_caches();
	ASSERT_OK(cg_measure_b(self->sh, self->dev, true, CG_SOLO_SECS, false,
			       CG_SOLO_SECS, &solo));

	snprintf(limit, sizeof(limit), "%s rbps=%s wbps=%s", self->disk,
		 CG_A_BPS, CG_A_BPS);
	ASSERT_OK(cg_write(CG_A, "io.max", limit));
	self->a_pid = fork();
	ASSERT_LE(0, self->a_pid);
	if (!self->a_pid)
		cg_run_a(self->sh, self->dev, variant->write);
	/* let A fill its queue slots and hit the throttle */
	sleep(1);
	ASSERT_OK(cg_measure_b(self->lsh, self->dev, false, secs, false, secs,
			       &load));

	/* lift the limit so that A's blocks in flight finish at once */
	snprintf(limit, sizeof(limit), "%s rbps=max wbps=max", self->disk);
	ASSERT_OK(cg_write(CG_A, "io.max", limit));
	__atomic_store_n(&self->sh->stop, 1, __ATOMIC_RELAXED);
	ASSERT_EQ(self->a_pid, waitpid(self->a_pid, &status, 0));
	self->a_pid = 0;
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	/* buffered writes reach the disk (and A's io.stat) at writeback */
	sync();
	ASSERT_OK(cg_measure_b(self->sh, self->dev, false, CG_SOLO_SECS, true,
			       2 * CG_SOLO_SECS, &solo));

	ksft_print_msg("%s: B solo %.0f IOPS p50 %u us p99 %u us\n",
		       lt_driver_is_ours() ? "ours" : "stock", solo.iops,
		       solo.p50_us, solo.p99_us);
	ksft_print_msg("B beside A %.0f IOPS (%.2fx) p50 %u us p99 %u us (%.1fx); A %ld blocks, %ld MiB\n",
		       load.iops, load.iops / solo.iops, load.p50_us,
		       load.p99_us, (double)load.p99_us / solo.p99_us,
		       self->sh->a_ops, self->sh->a_bytes / CG_MIB);

	EXPECT_EQ(0, solo.errs);
	EXPECT_EQ(0, load.errs);
	EXPECT_EQ(0, self->sh->a_errs);
	EXPECT_LT(0, self->sh->a_ops);
	EXPECT_LE(0.5 * solo.iops, load.iops)
		TH_LOG("B kept %.2fx of its solo IOPS", load.iops / solo.iops);
	EXPECT_GE(10.0 * solo.p99_us, (double)load.p99_us)
		TH_LOG("B's p99 %u us vs %u us alone", load.p99_us,
		       solo.p99_us);

	/*
	 * Each cgroup paid for its own I/O on the backing disk, except for
	 * A's buffered writes: writeback is charged to the cgroup that owns
	 * the inode's writeback context (here the test's, which wrote the
	 * image), whoever dirtied the pages.
	 */
	a_io = cg_stat(CG_A, "io.stat", self->disk, what);
	b_io = cg_stat(CG_B, "io.stat", self->disk, "rbytes");
	ksft_print_msg("io.stat on %s: A %s=%lld, B rbytes=%lld\n", self->disk,
		       what, a_io, b_io);
	if (variant->direct || !variant->write)
		EXPECT_LE(CG_MIB / 2, a_io);
	/* B's span came from the disk once: when warmed, or read direct */
	EXPECT_LE(CG_B_SPAN / 2, b_io);
	if (!variant->direct) {
		/* the backing page cache is charged to whoever filled it */
		a_file = cg_stat(CG_A, "memory.stat", "file", NULL);
		b_file = cg_stat(CG_B, "memory.stat", "file", NULL);
		ksft_print_msg("memory.stat file: A %lld, B %lld\n", a_file,
			       b_file);
		EXPECT_LE(CG_MIB / 2, a_file);
		EXPECT_LE(CG_B_SPAN / 2, b_file);
	}
}

FIXTURE(release) {
	int idx;
};

FIXTURE_SETUP(release)
{
	FILE *f = fopen(CG_RELEASE_IDX, "r");

	self->idx = -1;
	ASSERT_NE(NULL, f) TH_LOG("no device from the first test");
	ASSERT_EQ(1, fscanf(f, "%d", &self->idx));
	fclose(f);
	/* unbound and removed at teardown, with the other tracked ones */
	lt_track_dev(self->idx, false);
}

FIXTURE_TEARDOWN(release)
{
	lt_cleanup();
	unlink(CG_RELEASE_IDX);
	rmdir(CG_C);
	rmdir(CG_P);
}

TEST_F_TIMEOUT(release, idle_worker_let_go_of_the_removed_cgroup,
	       CG_RELEASE_SECS + 30)
{
	/*
	 * Stock lets go from a deferrable timer that an idle CPU never runs
	 * (difference (u)): measured, it kept the cgroup for 200 s and more.
	 * Its reference run only gives it a short chance, and checks that
	 * the device still works.
	 */
	int secs = lt_driver_is_ours() ? CG_RELEASE_SECS : CG_STOCK_SECS;
	long long dying = -1;
	char dev[64];
	double t0;

	ASSERT_TRUE(lt_is_bound(self->idx));
	t0 = cg_now();
	while (cg_now() - t0 < secs) {
		dying = cg_dying(CG_P);
		if (!dying)
			break;
		sleep(1);
	}
	ksft_print_msg("dying count %lld after %.0f s more\n", dying,
		       cg_now() - t0);
	/* and the device still works (P has children: no tasks there) */
	lt_dev_path(self->idx, dev, sizeof(dev));
	ASSERT_RET(0, cg_read_from(CG_ROOT, dev, 16));
	if (dying && !lt_driver_is_ours())
		SKIP(return, "stock keeps the removed cgroup: difference (u)");
	EXPECT_EQ(0, dying);
}

TEST_HARNESS_MAIN
