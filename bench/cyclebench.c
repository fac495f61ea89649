// SPDX-License-Identifier: GPL-2.0
/*
 * cyclebench - control-path micro-benchmarks for a loop driver (guest side of
 * `make bench`, see bench/bench.sh).  Every result is printed as one line
 *   BENCHRAW <metric> <value>
 * that bench.sh prefixes with the driver and round.
 *
 *   cyclebench cycle FILE SECONDS NPROC
 *       attach + autoclear-detach cycles: flock(/dev/loop-control) +
 *       LOOP_CTL_GET_FREE, open /dev/loopN, LOOP_CONFIGURE(AUTOCLEAR), unlock,
 *       4 KiB O_DIRECT pwrite + pread, close (the last close detaches).
 *       NPROC processes in parallel for SECONDS; cycles/s over all of them,
 *       the mean time of every phase (us) and p50/p99 of the attach
 *       (flock to unlock, retries included: the time a client waits for a
 *       device).
 *   cyclebench acycle FILE SECONDS NPROC
 *       the same cycle with asyncloop's atomic attach: ALOOP_CTL_ATTACH
 *       (AUTOCLEAR) returns the open device, 4 KiB O_DIRECT pwrite + pread,
 *       close.  No lock, no retry.  Cycles/s, mean attach/io/close (us),
 *       p50/p99 of the attach call; fails on a driver without it.
 *   cyclebench closelat FILE N
 *       N sequential cycles; p50/p99/mean of the last close() (us).
 *   cyclebench mem N
 *       memory per idle device: /proc/meminfo before and after adding N
 *       unbound devices (LOOP_CTL_ADD -1, caches dropped before each
 *       reading); the MemFree drop per device, and the Slab, Percpu and
 *       VmallocUsed parts of it (KiB).  The devices stay.
 *   cyclebench scale FILE [keep]
 *       time of LOOP_CTL_GET_FREE with 8, 512, 4096 devices existing, all but
 *       the highest index bound (expects the 8 default devices of a fresh
 *       module load, none bound); then unbinds and removes what it added and
 *       reports how long that took (not with "keep": for the last module
 *       loaded before poweroff).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/loop.h>
#include <linux/asyncloop.h>

#define CTL "/dev/loop-control"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "cyclebench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int open_dev(int idx, int flags)
{
	char p[64];
	int fd, tries;

	snprintf(p, sizeof(p), "/dev/loop%d", idx);
	/* devtmpfs creates the node asynchronously after LOOP_CTL_ADD */
	for (tries = 0; tries < 2000; tries++) {
		fd = open(p, flags | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			return fd;
		usleep(1000);
	}
	return -1;
}

enum { P_GETFREE, P_OPEN, P_CONF, P_IO, P_CLOSE, NPH };
static const char *const phname[NPH] = { "getfree", "open", "configure", "io", "close" };

struct stats {
	long cycles, retries;
	double ph[NPH];
};

/* attach latencies of one process (us), in memory shared with the parent */
#define MAX_LAT (1 << 18)
struct lat {
	long n;
	float us[MAX_LAT];
};

static struct lat *lat_map(int nproc)
{
	void *p = mmap(NULL, sizeof(struct lat) * nproc, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static void lat_add(struct lat *l, double secs)
{
	if (l && l->n < MAX_LAT)
		l->us[l->n++] = (float)(secs * 1e6);
}

static int fcmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

/* p50 and p99 over every process's samples */
static void lat_report(const char *prefix, struct lat *l, int nproc)
{
	long n = 0, i;
	float *all;
	int p;

	for (p = 0; p < nproc; p++)
		n += l[p].n;
	if (!n)
		return;
	all = malloc(sizeof(*all) * n);
	if (!all)
		die("malloc");
	for (p = 0, i = 0; p < nproc; p++) {
		memcpy(all + i, l[p].us, sizeof(*all) * l[p].n);
		i += l[p].n;
	}
	qsort(all, n, sizeof(*all), fcmp);
	printf("BENCHRAW %s_attach_p50_us %.1f\n", prefix, all[n / 2]);
	printf("BENCHRAW %s_attach_p99_us %.1f\n", prefix, all[(long)(n * 0.99)]);
	free(all);
}

/*
 * one cycle; returns 0, or 1 when the device was taken (retry).  *@t_start
 * is when the attach began: the caller keeps it over retries.
 */
static int cycle(int ctl, int back, void *buf, struct stats *st, double *close_us,
		 double *t_start, struct lat *lat)
{
	struct loop_config cfg;
	double t0, t1, t2, t3, t4, t5;
	int idx, fd;

	t0 = now();
	if (*t_start == 0)
		*t_start = t0;
	if (flock(ctl, LOCK_EX))
		die("flock");
	idx = ioctl(ctl, LOOP_CTL_GET_FREE);
	if (idx < 0)
		die("LOOP_CTL_GET_FREE");
	t1 = now();
	fd = open_dev(idx, O_RDWR | O_DIRECT);
	if (fd < 0)
		die("open loop device");
	t2 = now();
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = back;
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	if (ioctl(fd, LOOP_CONFIGURE, &cfg)) {
		/* EBUSY: a detach still in flight; count and retry */
		if (errno != EBUSY)
			die("LOOP_CONFIGURE");
		flock(ctl, LOCK_UN);
		close(fd);
		st->retries++;
		return 1;
	}
	flock(ctl, LOCK_UN);
	t3 = now();
	lat_add(lat, t3 - *t_start);
	*t_start = 0;
	if (pwrite(fd, buf, 4096, 0) != 4096)
		die("pwrite");
	if (pread(fd, buf, 4096, 0) != 4096)
		die("pread");
	t4 = now();
	close(fd);
	t5 = now();
	st->ph[P_GETFREE] += t1 - t0;
	st->ph[P_OPEN] += t2 - t1;
	st->ph[P_CONF] += t3 - t2;
	st->ph[P_IO] += t4 - t3;
	st->ph[P_CLOSE] += t5 - t4;
	st->cycles++;
	if (close_us)
		*close_us = (t5 - t4) * 1e6;
	return 0;
}

static void setup(const char *file, int *ctl, int *back, void **buf)
{
	*ctl = open(CTL, O_RDWR | O_CLOEXEC);
	if (*ctl < 0)
		die(CTL);
	*back = open(file, O_RDWR | O_CLOEXEC);
	if (*back < 0)
		die(file);
	if (posix_memalign(buf, 4096, 4096))
		die("posix_memalign");
	memset(*buf, 0x5a, 4096);
}

static int cmd_cycle(const char *file, double secs, int nproc)
{
	struct stats tot = { 0 };
	struct lat *lat = lat_map(nproc);
	char prefix[32];
	int pfd[2], i;
	double t0, t1;

	if (pipe(pfd))
		die("pipe");
	t0 = now();
	for (i = 0; i < nproc; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			struct stats st = { 0 };
			int ctl, back;
			void *buf;
			double end, t_start = 0;

			close(pfd[0]);
			setup(file, &ctl, &back, &buf);
			end = now() + secs;
			while (now() < end)
				cycle(ctl, back, buf, &st, NULL, &t_start, &lat[i]);
			if (write(pfd[1], &st, sizeof(st)) != sizeof(st))
				die("write pipe");
			_exit(0);
		}
	}
	close(pfd[1]);
	for (i = 0; i < nproc; i++) {
		struct stats st;
		int k;

		if (read(pfd[0], &st, sizeof(st)) != sizeof(st)) {
			fprintf(stderr, "cyclebench: a child failed\n");
			return 1;
		}
		tot.cycles += st.cycles;
		tot.retries += st.retries;
		for (k = 0; k < NPH; k++)
			tot.ph[k] += st.ph[k];
	}
	while (wait(NULL) > 0)
		;
	t1 = now();
	printf("BENCHRAW cycles_%dp %.1f\n", nproc, tot.cycles / (t1 - t0));
	for (i = 0; i < NPH; i++)
		printf("BENCHRAW cycle_%dp_%s_us %.1f\n", nproc, phname[i],
		       tot.cycles ? tot.ph[i] / tot.cycles * 1e6 : 0);
	printf("BENCHRAW cycles_%dp_retries %ld\n", nproc, tot.retries);
	snprintf(prefix, sizeof(prefix), "cycle_%dp", nproc);
	lat_report(prefix, lat, nproc);
	return 0;
}

/* ------------------------------------------------------------- acycle -- */
enum { A_ATTACH, A_IO, A_CLOSE, NAPH };
static const char *const aphname[NAPH] = { "attach", "io", "close" };

struct astats {
	long cycles, errors;
	double ph[NAPH];
};

/* one atomic cycle: ALOOP_CTL_ATTACH, 4 KiB direct write + read, close */
static void acycle(int ctl, int back, void *buf, struct astats *st, struct lat *lat)
{
	struct aloop_attach a;
	double t0, t1, t2, t3;
	int fd;

	memset(&a, 0, sizeof(a));
	a.config.fd = back;
	a.config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	t0 = now();
	fd = ioctl(ctl, ALOOP_CTL_ATTACH, &a);
	t1 = now();
	if (fd < 0)
		die("ALOOP_CTL_ATTACH");
	if (fcntl(fd, F_SETFL, O_DIRECT))
		die("fcntl O_DIRECT");
	if (pwrite(fd, buf, 4096, 0) != 4096)
		die("pwrite");
	if (pread(fd, buf, 4096, 0) != 4096)
		die("pread");
	t2 = now();
	close(fd);
	t3 = now();
	st->ph[A_ATTACH] += t1 - t0;
	st->ph[A_IO] += t2 - t1;
	st->ph[A_CLOSE] += t3 - t2;
	st->cycles++;
	lat_add(lat, t1 - t0);
}

static int cmd_acycle(const char *file, double secs, int nproc)
{
	struct astats tot = { 0 };
	struct lat *lat = lat_map(nproc);
	struct aloop_features f = { 0 };
	char prefix[32];
	int pfd[2], i, ctl;
	double t0, t1;

	ctl = open(CTL, O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		die(CTL);
	if (ioctl(ctl, ALOOP_CTL_GET_FEATURES, &f) || !(f.features & ALOOP_FEAT_ATTACH))
		die("ALOOP_CTL_GET_FEATURES (no atomic attach on this driver)");
	close(ctl);
	if (pipe(pfd))
		die("pipe");
	t0 = now();
	for (i = 0; i < nproc; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			struct astats st = { 0 };
			int back;
			void *buf;
			double end;

			close(pfd[0]);
			setup(file, &ctl, &back, &buf);
			end = now() + secs;
			while (now() < end)
				acycle(ctl, back, buf, &st, &lat[i]);
			if (write(pfd[1], &st, sizeof(st)) != sizeof(st))
				die("write pipe");
			_exit(0);
		}
	}
	close(pfd[1]);
	for (i = 0; i < nproc; i++) {
		struct astats st;
		int k;

		if (read(pfd[0], &st, sizeof(st)) != sizeof(st)) {
			fprintf(stderr, "cyclebench: a child failed\n");
			return 1;
		}
		tot.cycles += st.cycles;
		tot.errors += st.errors;
		for (k = 0; k < NAPH; k++)
			tot.ph[k] += st.ph[k];
	}
	while (wait(NULL) > 0)
		;
	t1 = now();
	printf("BENCHRAW acycles_%dp %.1f\n", nproc, tot.cycles / (t1 - t0));
	for (i = 0; i < NAPH; i++)
		printf("BENCHRAW acycle_%dp_%s_us %.1f\n", nproc, aphname[i],
		       tot.cycles ? tot.ph[i] / tot.cycles * 1e6 : 0);
	snprintf(prefix, sizeof(prefix), "acycle_%dp", nproc);
	lat_report(prefix, lat, nproc);
	return 0;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmd_closelat(const char *file, int n)
{
	struct stats st = { 0 };
	double *lat, sum = 0;
	int ctl, back, i;
	void *buf;

	lat = calloc(n, sizeof(*lat));
	if (!lat)
		die("calloc");
	setup(file, &ctl, &back, &buf);
	for (i = 0; i < n; ) {
		double t_start = 0;

		while (cycle(ctl, back, buf, &st, &lat[i], &t_start, NULL))
			;
		sum += lat[i++];
	}
	qsort(lat, n, sizeof(*lat), dcmp);
	printf("BENCHRAW close_p50_us %.1f\n", lat[n / 2]);
	printf("BENCHRAW close_p99_us %.1f\n", lat[(int)(n * 0.99)]);
	printf("BENCHRAW close_mean_us %.1f\n", sum / n);
	return 0;
}

/* ---------------------------------------------------------------- scale -- */
static int ctl_fd;

static void add_to(int *have, int want)
{
	for (; *have < want; (*have)++) {
		int r = ioctl(ctl_fd, LOOP_CTL_ADD, *have);

		if (r < 0 && errno != EEXIST)
			die("LOOP_CTL_ADD");
	}
}

static void bind_to(int *bound, int upto, int back)
{
	for (; *bound < upto; (*bound)++) {
		struct loop_config cfg;
		int fd = open_dev(*bound, O_RDWR);

		if (fd < 0)
			die("open for bind");
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = back;
		if (ioctl(fd, LOOP_CONFIGURE, &cfg))
			die("LOOP_CONFIGURE (bind)");
		close(fd);
	}
}

static void time_getfree(int ndev)
{
	int i, n = 0, idx = -1;
	double t0 = now(), t;

	/* at least 200 calls and 0.3 s */
	do {
		for (i = 0; i < 100; i++, n++)
			idx = ioctl(ctl_fd, LOOP_CTL_GET_FREE);
		t = now() - t0;
	} while (n < 200 || t < 0.3);
	if (idx != ndev - 1)
		fprintf(stderr, "cyclebench: GET_FREE with %d devices returned %d (expected %d)\n",
			ndev, idx, ndev - 1);
	printf("BENCHRAW getfree_%d_us %.2f\n", ndev, t / n * 1e6);
}

static long meminfo(const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		die("/proc/meminfo");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = atol(line + kl + 1);
			break;
		}
	fclose(f);
	return v;
}

static void settle(void)
{
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "3", 1) != 1)
			perror("drop_caches");
		close(fd);
	}
	usleep(200000);
}

static int cmd_mem(int ndev)
{
	/* the first is the MemFree drop, the others the parts of it that grow */
	static const struct {
		const char *key, *metric;
	} parts[] = {
		{ "MemFree", "mem_per_dev_kib" },
		{ "Slab", "slab_per_dev_kib" },
		{ "Percpu", "percpu_per_dev_kib" },
		{ "VmallocUsed", "vmalloc_per_dev_kib" },
	};
	enum { NPARTS = sizeof(parts) / sizeof(parts[0]) };
	long before[NPARTS];
	int i;

	ctl_fd = open(CTL, O_RDWR | O_CLOEXEC);
	if (ctl_fd < 0)
		die(CTL);
	settle();
	for (i = 0; i < NPARTS; i++)
		before[i] = meminfo(parts[i].key);
	for (i = 0; i < ndev; i++)
		if (ioctl(ctl_fd, LOOP_CTL_ADD, -1) < 0)
			die("LOOP_CTL_ADD");
	settle();
	for (i = 0; i < NPARTS; i++) {
		long grown = meminfo(parts[i].key) - before[i];

		printf("BENCHRAW %s %.2f\n", parts[i].metric,
		       (double)(i ? grown : -grown) / ndev);
	}
	return 0;
}

static int cmd_scale(const char *file, int cleanup)
{
	int back, have = 8, bound = 0, i;
	double t0;

	ctl_fd = open(CTL, O_RDWR | O_CLOEXEC);
	if (ctl_fd < 0)
		die(CTL);
	back = open(file, O_RDWR | O_CLOEXEC);
	if (back < 0)
		die(file);
	/* 8 devices, 0..6 bound */
	add_to(&have, 8);
	bind_to(&bound, 7, back);
	time_getfree(8);
	/* 512 */
	t0 = now();
	add_to(&have, 512);
	printf("BENCHRAW add_504_s %.2f\n", now() - t0);
	t0 = now();
	bind_to(&bound, 511, back);
	printf("BENCHRAW bind_504_s %.2f\n", now() - t0);
	time_getfree(512);
	/* 4096 */
	add_to(&have, 4096);
	bind_to(&bound, 4095, back);
	time_getfree(4096);
	if (!cleanup)
		return 0;
	/* clean up: unbind everything, remove what we added */
	t0 = now();
	for (i = 0; i < bound; i++) {
		int fd = open_dev(i, O_RDWR);

		if (fd < 0 || ioctl(fd, LOOP_CLR_FD))
			die("LOOP_CLR_FD");
		close(fd);
	}
	printf("BENCHRAW clrfd_4095_s %.2f\n", now() - t0);
	t0 = now();
	for (i = 8; i < have; i++) {
		int r, tries = 0;

		while ((r = ioctl(ctl_fd, LOOP_CTL_REMOVE, i)) < 0 && errno == EBUSY &&
		       tries++ < 1000)
			usleep(1000);
		if (r < 0)
			die("LOOP_CTL_REMOVE");
	}
	printf("BENCHRAW remove_4088_s %.2f\n", now() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && !strcmp(argv[1], "cycle"))
		return cmd_cycle(argv[2], atof(argv[3]), atoi(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "acycle"))
		return cmd_acycle(argv[2], atof(argv[3]), atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "closelat"))
		return cmd_closelat(argv[2], atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "mem"))
		return cmd_mem(atoi(argv[2]));
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "scale"))
		return cmd_scale(argv[2], !(argc == 4 && !strcmp(argv[3], "keep")));
	fprintf(stderr, "usage: cyclebench cycle|acycle FILE SECONDS NPROC | closelat FILE N | mem N | scale FILE [keep]\n");
	return 2;
}
