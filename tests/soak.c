// SPDX-License-Identifier: GPL-2.0
/*
 * Integrity soak (make soak): for $ALOOP_SOAK_SECS (default 60) seconds,
 * verifying readers and writers (tests/lib/verify.h) run on a buffered and
 * on a direct-I/O device, and verifying readers on a read-only device,
 * while other processes
 *   - call LOOP_SET_CAPACITY on the two writable devices,
 *   - swap the read-only device's backing file for a copy with the same
 *     content (LOOP_CHANGE_FD; the copy is opened O_DIRECT),
 *   - churn attach + I/O + autoclear detach on other devices.
 * Afterwards every written block is checked through the device and in the
 * backing file: 0 errors and 0 mismatches anywhere.  The backing files are
 * in $ALOOP_SOAK_DIR (ext4 on the virtio disk, so that direct I/O is real).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "loopt.h"
#include "verify.h"

#define SK_FILE_SIZE	(32 << 20)
#define SK_READ_SPAN	(8 << 20)
#define SK_WRITE_BLKS	((16 << 20) / LT_V_BLK)
#define SK_CHURNERS	2

enum { SK_BUFFERED, SK_DIRECT, SK_READONLY, SK_DEVS };

/* Counters of the reconfiguring and churning processes (MAP_SHARED). */
struct sk_task {
	unsigned long ops;
	unsigned long errors;
	char why[256];
};

struct sk_shared {
	volatile int stop;
	struct sk_task capacity, change_fd, churn[SK_CHURNERS];
};

struct sk_dev {
	int idx;
	int fd;
	char file[PATH_MAX];
	struct lt_vdev *v;
};

#define sk_dir()	lt_env_dir("ALOOP_SOAK_DIR")
#define sk_secs()	lt_env_long("ALOOP_SOAK_SECS", 60)

static void sk_fail(struct sk_task *t, const char *what, long err)
{
	if (!t->errors++)
		snprintf(t->why, sizeof(t->why), "%s: %s", what,
			 lt_errname(err));
}

static void sk_capacity(struct sk_shared *sh, struct sk_dev *devs)
{
	int i;

	while (!sh->stop) {
		for (i = SK_BUFFERED; i <= SK_DIRECT; i++) {
			long r = lt_ioctl(devs[i].fd, LOOP_SET_CAPACITY, 0);

			sh->capacity.ops++;
			if (r)
				sk_fail(&sh->capacity, "LOOP_SET_CAPACITY", r);
		}
		usleep(10000);
	}
}

static void sk_change_fd(struct sk_shared *sh, struct sk_dev *ro,
			 const char *copy)
{
	int a = lt_open(ro->file, O_RDONLY);
	int b = lt_open(copy, O_RDONLY | O_DIRECT);
	unsigned long i;

	if (a < 0 || b < 0) {
		sk_fail(&sh->change_fd, "open", a < 0 ? a : b);
		return;
	}
	for (i = 0; !sh->stop; i++) {
		long r = lt_ioctl(ro->fd, LOOP_CHANGE_FD, i & 1 ? a : b);

		sh->change_fd.ops++;
		if (r)
			sk_fail(&sh->change_fd, "LOOP_CHANGE_FD", r);
		usleep(20000);
	}
}

/* Attach a small file with AUTOCLEAR, read it, close: detached. */
static void sk_churn(struct sk_shared *sh, struct sk_task *t,
		     const char *file)
{
	uint8_t buf[4096];
	char why[128];

	while (!sh->stop) {
		int idx = lt_get_free(), fd, bfd;
		long r;

		if (idx < 0) {
			sk_fail(t, "LOOP_CTL_GET_FREE", idx);
			continue;
		}
		fd = lt_open_dev(idx, O_RDWR);
		/*
		 * The other churner bound the device after GET_FREE and is
		 * detaching it now: open() of a device in rundown is ENXIO
		 * (docs/compat.md (j)); stock tears down under open_mutex,
		 * so its open() waits instead.  A lost race, not an error.
		 */
		if (fd == -ENXIO)
			continue;
		bfd = lt_open(file, O_RDONLY);
		if (fd < 0 || bfd < 0) {
			sk_fail(t, "open", fd < 0 ? fd : bfd);
			if (fd >= 0)
				close(fd);
			if (bfd >= 0)
				close(bfd);
			continue;
		}
		r = lt_configure(fd, bfd, 0, 0,
				 LO_FLAGS_AUTOCLEAR | LO_FLAGS_READ_ONLY, 0);
		close(bfd);
		/* another churner took the device first */
		if (r == -EBUSY) {
			close(fd);
			continue;
		}
		t->ops++;
		if (r)
			sk_fail(t, "LOOP_CONFIGURE", r);
		else if (pread(fd, buf, sizeof(buf), 0) != sizeof(buf))
			sk_fail(t, "read", -errno);
		else if (lt_check_pattern(buf, sizeof(buf), 0, why,
					  sizeof(why)))
			sk_fail(t, "content", -EILSEQ);
		close(fd);
	}
}

static void sk_bind(struct __test_metadata *_metadata, struct sk_dev *d,
		    uint32_t flags)
{
	char path[64];
	int bfd;

	d->idx = lt_get_free();
	ASSERT_NONNEG(d->idx);
	lt_dev_path(d->idx, path, sizeof(path));
	d->fd = lt_open_dev(d->idx, O_RDWR);
	ASSERT_NONNEG(d->fd);
	ASSERT_OK(lt_make_file_in(sk_dir(), d->file, sizeof(d->file),
				  SK_FILE_SIZE));
	bfd = lt_open(d->file, flags & LO_FLAGS_READ_ONLY ? O_RDONLY : O_RDWR);
	ASSERT_NONNEG(bfd);
	ASSERT_OK(lt_configure(d->fd, bfd, 0, 0, flags, 0));
	close(bfd);
	d->v = lt_vdev_new(path, SK_READ_SPAN, SK_READ_SPAN, SK_WRITE_BLKS);
	ASSERT_NE(NULL, d->v);
}

/* Task 0 resizes, task 1 swaps files, the others churn. */
#define SK_TASKS	(2 + SK_CHURNERS)

static pid_t sk_spawn_task(int task, struct sk_shared *sh, struct sk_dev *devs,
			   const char *copy, const char *small)
{
	pid_t pid = fork();

	if (pid)
		return pid < 0 ? -errno : pid;
	if (task == 0)
		sk_capacity(sh, devs);
	else if (task == 1)
		sk_change_fd(sh, &devs[SK_READONLY], copy);
	else
		sk_churn(sh, &sh->churn[task - 2], small);
	_exit(0);
}

static void sk_check_task(struct __test_metadata *_metadata, const char *name,
			  const struct sk_task *t)
{
	TH_LOG("%s: %lu calls, %lu errors", name, t->ops, t->errors);
	EXPECT_EQ(0, t->errors) TH_LOG("%s: %s", name, t->why);
	EXPECT_LT(0, t->ops);
}

/* no state: the fixture only gives the test a timeout and a cleanup */
FIXTURE(sk) {
};

FIXTURE_SETUP(sk)
{
}

FIXTURE_TEARDOWN(sk)
{
	lt_cleanup();
}

/* the harness kills a test after its timeout: longer than any soak */
TEST_F_TIMEOUT(sk, soak, 7200)
{
	static const uint32_t flags[SK_DEVS] = {
		[SK_DIRECT] = LO_FLAGS_DIRECT_IO,
		[SK_READONLY] = LO_FLAGS_READ_ONLY,
	};
	struct sk_dev devs[SK_DEVS];
	char copy[PATH_MAX], small[PATH_MAX], dio[8], why[256];
	pid_t pids[64];
	int npids = 0, i, r;
	struct sk_shared *sh;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	memset(sh, 0, sizeof(*sh));
	for (i = 0; i < SK_DEVS; i++)
		sk_bind(_metadata, &devs[i], flags[i]);
	ASSERT_OK(lt_sysfs_read(devs[SK_DIRECT].idx, "loop/dio", dio,
				sizeof(dio)));
	ASSERT_STREQ("1", dio)
		TH_LOG("no direct I/O on %s: ALOOP_SOAK_DIR must be a filesystem with O_DIRECT",
		       sk_dir());
	ASSERT_OK(lt_make_file_in(sk_dir(), copy, sizeof(copy), SK_FILE_SIZE));
	ASSERT_OK(lt_make_file(small, sizeof(small), 65536));

	for (i = 0; i < SK_DEVS; i++) {
		enum lt_vrole role;
		int nroles = i == SK_READONLY ? LT_V_WRITE_BUFFERED : LT_V_ROLES;

		for (role = 0; role < (enum lt_vrole)nroles; role++) {
			pids[npids] = lt_vdev_spawn(devs[i].v, role);
			ASSERT_LT(0, pids[npids++]);
		}
	}
	for (i = 0; i < SK_TASKS; i++) {
		pids[npids] = sk_spawn_task(i, sh, devs, copy, small);
		ASSERT_LT(0, pids[npids++]);
	}

	sleep(sk_secs());
	sh->stop = 1;
	for (i = 0; i < SK_DEVS; i++)
		devs[i].v->stop = 1;
	for (i = 0; i < npids; i++)
		ASSERT_EQ(pids[i], waitpid(pids[i], NULL, 0));

	for (i = 0; i < SK_DEVS; i++) {
		int nroles = i == SK_READONLY ? LT_V_WRITE_BUFFERED : LT_V_ROLES;
		int role;

		for (role = 0; role < nroles; role++) {
			struct lt_vstats *st = &devs[i].v->st[role];

			TH_LOG("loop%d %s: %lu I/Os, %lu errors, %lu wrong",
			       devs[i].idx, lt_vrole_name(role), st->ops,
			       st->errors, st->mismatches);
			EXPECT_EQ(0, st->errors) TH_LOG("%s", st->why);
			EXPECT_EQ(0, st->mismatches) TH_LOG("%s", st->why);
			EXPECT_LT(0, st->ops);
		}
	}
	sk_check_task(_metadata, "SET_CAPACITY", &sh->capacity);
	sk_check_task(_metadata, "CHANGE_FD", &sh->change_fd);
	for (i = 0; i < SK_CHURNERS; i++)
		sk_check_task(_metadata, "attach/autoclear churn",
			      &sh->churn[i]);

	for (i = SK_BUFFERED; i <= SK_DIRECT; i++) {
		char dev[64];
		unsigned long blocks = 0;
		uint32_t b;

		lt_dev_path(devs[i].idx, dev, sizeof(dev));
		for (b = 0; b < SK_WRITE_BLKS; b++)
			blocks += devs[i].v->gen[b] != 0;
		TH_LOG("loop%d: %lu of %u blocks rewritten, checking", devs[i].idx,
		       blocks, SK_WRITE_BLKS);
		r = lt_vdev_check(devs[i].v, dev, 0, why, sizeof(why));
		EXPECT_EQ(0, r) TH_LOG("%s", r < 0 ? lt_errname(r) : why);
		r = lt_vdev_check(devs[i].v, devs[i].file, 0, why, sizeof(why));
		EXPECT_EQ(0, r) TH_LOG("%s", r < 0 ? lt_errname(r) : why);
	}
}

TEST_HARNESS_MAIN
