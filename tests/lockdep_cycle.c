// SPDX-License-Identifier: GPL-2.0
/*
 * The three steps that close the lock cycle of syzbot 643e4ce4b6ad1347d372
 * when ->release waits for the I/O workers under disk->open_mutex:
 *
 *  1. buffered writes to an autoclear device backed by a tmpfs file, then
 *     its last close:  open_mutex -> (wq_completion) -> sb_writers#tmpfs
 *  2. sendfile() from a sysfs attribute into a tmpfs file:
 *     sb_writers -> seq_file lock -> kernfs of->mutex
 *  3. a sysfs write that deletes a gendisk (unbinding the virtio disk):
 *     of->mutex -> open_mutex
 *
 * Meaningful only on a lockdep kernel (SKIP elsewhere), and only as the
 * first thing in its boot: lockdep reports once, then turns itself off.
 * The test fails if lockdep turned itself off (debug_locks: 0), i.e. if
 * anything produced a report; vm/run also fails the run on the splat.
 * `make lockdep-proof` runs it against the NAIVE test build (which must
 * produce the report) and against the real module (which must not).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sendfile.h>

#include "kselftest_harness.h"
#include "loopt.h"

static int debug_locks(void)
{
	char line[128];
	FILE *f = fopen("/proc/lockdep_stats", "r");
	int val = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " debug_locks: %d", &val) == 1)
			break;
	fclose(f);
	return val;
}

TEST(syzbot_643e4ce4_steps)
{
	const char *disk = getenv("ASYNCLOOP_DISK");
	char file[PATH_MAX], link[PATH_MAX], dev[64];
	static char buf[1 << 16];
	int bfd, lfd, idx, out, in;
	ssize_t n;

	if (access("/proc/lockdep", F_OK))
		SKIP(return, "not a lockdep kernel");
	ASSERT_TRUE(disk != NULL) TH_LOG("the suite needs a virtio disk");
	ASSERT_EQ(1, debug_locks()) TH_LOG("lockdep already off at start");

	/* 1: buffered writes through an autoclear device, then last close */
	ASSERT_OK(lt_make_file(file, sizeof(file), 1 << 20));
	bfd = lt_open(file, O_RDWR);
	ASSERT_NONNEG(bfd);
	idx = lt_get_free();
	ASSERT_NONNEG(idx);
	lfd = lt_open_dev(idx, O_RDWR);
	ASSERT_NONNEG(lfd);
	ASSERT_OK(lt_configure(lfd, bfd, 0, 0, LO_FLAGS_AUTOCLEAR, 0));
	close(bfd);
	memset(buf, 0xa5, sizeof(buf));
	ASSERT_EQ((ssize_t)sizeof(buf), pwrite(lfd, buf, sizeof(buf), 0));
	close(lfd);
	ASSERT_FALSE(lt_is_bound(idx));

	/* 2: sendfile from a sysfs attribute into a tmpfs file */
	out = open("/tmp/lockdep-sendfile", O_CREAT | O_TRUNC | O_WRONLY, 0644);
	ASSERT_NONNEG(out);
	in = open("/sys/block/loop0/size", O_RDONLY);
	ASSERT_NONNEG(in);
	n = sendfile(out, in, NULL, 4096);
	ASSERT_LT(0, n) TH_LOG("sendfile: %s", strerror(errno));
	close(in);
	close(out);
	unlink("/tmp/lockdep-sendfile");

	/* 3: delete a gendisk from a sysfs write: unbind the virtio disk */
	snprintf(dev, sizeof(dev), "/sys/block/%s/device", basename((char *)disk));
	n = readlink(dev, link, sizeof(link) - 1);
	ASSERT_LT(0, n) TH_LOG("readlink %s: %s", dev, strerror(errno));
	link[n] = 0;
	ASSERT_OK(lt_write_str("/sys/bus/virtio/drivers/virtio_blk/unbind",
			       basename(link)));
	ASSERT_NE(0, access(dev, F_OK)) TH_LOG("%s still present", dev);

	EXPECT_EQ(1, debug_locks()) TH_LOG("lockdep reported a problem (see the kernel log)");
}

TEST_HARNESS_MAIN
