/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers for the asyncloop functional tests.
 *
 * Conventions: every helper that can fail returns a negative errno value
 * (never sets a global errno contract), >= 0 on success.  Devices and files
 * created by a test are registered with lt_track_*() and released by
 * lt_cleanup(), which fixture teardowns call unconditionally.
 */
#ifndef ASYNCLOOP_LOOPT_H
#define ASYNCLOOP_LOOPT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mount.h>	/* BLK* ioctls without linux/fs.h (clashes with sys/mount.h) */
#include <linux/loop.h>

#ifndef BLKDISCARD
#define BLKDISCARD _IO(0x12, 119)
#endif
#ifndef BLKZEROOUT
#define BLKZEROOUT _IO(0x12, 127)
#endif

#define LT_CTL_PATH "/dev/loop-control"
#define LT_TMPDIR "/tmp"
#define LT_UNKNOWN_LOOP_IOCTL 0x4C7F	/* 'L' range, not a loop ioctl */
#define LT_UNKNOWN_CTL_IOCTL  0x4C8F	/* 'L' control range, unused */

/* which driver and kernel the suite runs on ($ASYNCLOOP_DRIVER, uname) */
bool lt_driver_is_ours(void);
bool lt_kernel_at_least(int major, int minor);
unsigned int lt_max_block_size(void);
/*
 * LOOP_CLR_FD by the only opener is lazy on stock 6.11+: the device is
 * torn down only at that opener's last close (ours, and stock before 6.11,
 * detach before the call returns).
 */
bool lt_clr_fd_is_lazy(void);
/*
 * LOOP_CLR_FD by the only opener through *@fd, unbound on return: where the
 * kernel makes it lazy, *@fd is closed and reopened (same access mode).
 * Returns 0 or -errno.
 */
int lt_clr_fd_now(int idx, int *fd);
/* tmpfs (LT_TMPDIR) files open with O_DIRECT (Linux 6.6+) */
bool lt_tmpfs_has_dio(void);
/* write @s to @path (sysfs, cgroupfs, procfs): 0, -errno, or -EIO if short */
int lt_write_str(const char *path, const char *s);
/* count of kernel log lines containing @needle, or -errno */
int lt_kmsg_count(const char *needle);

/* test knobs: $name if set and positive (else @dflt); a directory or /tmp */
long lt_env_long(const char *name, long dflt);
const char *lt_env_dir(const char *name);

/* raw ioctl: result or -errno */
long lt_ioctl(int fd, unsigned long cmd, unsigned long arg);
static inline long lt_ioctlp(int fd, unsigned long cmd, const void *p)
{
	return lt_ioctl(fd, cmd, (unsigned long)p);
}

/* errno name ("EINVAL"), or the decimal value for v >= 0 */
const char *lt_errname(long v);

/* /dev/loop-control */
int lt_ctl_open(void);
long lt_ctl(unsigned long cmd, long arg);	/* opens/closes control itself */
int lt_get_free(void);				/* tracked (not added) */

/* /dev/loopN */
void lt_dev_path(int idx, char *buf, size_t len);
int lt_open_dev(int idx, int flags);		/* fd or -errno */
bool lt_dev_exists(int idx);			/* /sys/block/loopN exists */
bool lt_is_bound(int idx);			/* /sys/block/loopN/loop exists */
int lt_free_index(int start);			/* first idx >= start w/o sysfs */

/* backing files on /tmp; content is lt_pattern(file offset) */
uint8_t lt_pattern(uint64_t off);
int lt_make_file(char *path, size_t pathlen, off_t size);	/* tracked */
/* the same in @dir (e.g. a filesystem with O_DIRECT) */
int lt_make_file_in(const char *dir, char *path, size_t pathlen, off_t size);
int lt_open(const char *path, int flags);
/* MBR with up to 4 primary Linux partitions {start, sectors}; 0 = unused */
int lt_write_mbr(int fd, const uint32_t (*p)[2], int n);
int lt_check_pattern(const uint8_t *buf, size_t len, uint64_t file_off,
		     char *why, size_t whylen);

/* configure helpers */
int lt_configure(int devfd, int backfd, uint64_t off, uint64_t sizelimit,
		 uint32_t flags, uint32_t bsize);
int lt_status64(int devfd, struct loop_info64 *info);
int lt_set_status64(int devfd, const struct loop_info64 *info);
int lt_size64(int devfd, uint64_t *size);

/* sysfs: /sys/block/loopN/<rel>, trailing newline stripped */
int lt_sysfs_read(int idx, const char *rel, char *buf, size_t len);
int lt_sysfs_u64(int idx, const char *rel, unsigned long long *val);
bool lt_sysfs_exists(int idx, const char *rel);

/* state snapshot used to check "nothing changed after an error" */
struct lt_state {
	int status_err;
	struct loop_info64 info;
	bool loopdir;
	char backing_file[PATH_MAX];
	char offset[32], sizelimit[32], autoclear[8], partscan[8], dio[8];
	char size[32], ro[8], lbs[16];
};
void lt_snapshot(int idx, int devfd, struct lt_state *st);
/* 0 if equal, else 1 and a description of the first difference */
int lt_state_diff(const struct lt_state *a, const struct lt_state *b,
		  char *why, size_t whylen);

/* capabilities */
int lt_drop_cap_sys_admin(void);	/* in the calling process: 0 or -errno */

/* tracking / cleanup */
void lt_track_dev(int idx, bool added);
void lt_track_file(const char *path);
void lt_track_mount(const char *dir);	/* umount2(MNT_DETACH)+rmdir */
void lt_cleanup(void);	/* close fds >= 3, unbind/remove devs, unlink files */

/*
 * The loop driver module: $ASYNCLOOP_LOOP_KO loaded with the suite's
 * $ASYNCLOOP_MODPARAMS plus @extra; unloading does not wait (EAGAIN while
 * a reference is held).  Both return 0 or -errno.
 */
int lt_load_driver(const char *extra);
int lt_unload_driver(void);
/* /sys/module/loop/parameters/@name as a number, or -errno */
long lt_module_param(const char *name);

/* convenience assertions on -errno returning helpers */
#define ASSERT_RET(expected, seen) do {					\
	long __lt_e = (long)(expected), __lt_s = (long)(seen);		\
	ASSERT_EQ(__lt_e, __lt_s)					\
		TH_LOG("%s: expected %s, got %s", #seen,		\
		       lt_errname(__lt_e), lt_errname(__lt_s));		\
} while (0)
#define EXPECT_RET(expected, seen) do {					\
	long __lt_e = (long)(expected), __lt_s = (long)(seen);		\
	EXPECT_EQ(__lt_e, __lt_s)					\
		TH_LOG("%s: expected %s, got %s", #seen,		\
		       lt_errname(__lt_e), lt_errname(__lt_s));		\
} while (0)
#define ASSERT_OK(seen) ASSERT_RET(0, seen)
#define ASSERT_NONNEG(seen) do {					\
	long __lt_s = (long)(seen);					\
	ASSERT_LE(0, __lt_s)						\
		TH_LOG("%s failed: %s", #seen, lt_errname(__lt_s));	\
} while (0)

#define ASSERT_UNCHANGED(idx, fd, before) do {				\
	struct lt_state __lt_after;					\
	char __lt_why[512];						\
	lt_snapshot((idx), (fd), &__lt_after);				\
	ASSERT_EQ(0, lt_state_diff((before), &__lt_after, __lt_why,	\
				   sizeof(__lt_why)))			\
		TH_LOG("state changed after failed call: %s", __lt_why); \
} while (0)

#define ASSERT_SYSFS_STR(idx, rel, expected) do {			\
	char __lt_b[PATH_MAX];						\
	int __lt_r = lt_sysfs_read((idx), (rel), __lt_b, sizeof(__lt_b)); \
	ASSERT_OK(__lt_r);						\
	ASSERT_STREQ((expected), __lt_b)				\
		TH_LOG("/sys/block/loop%d/%s", (idx), (rel));		\
} while (0)

#define ASSERT_UNBOUND(idx, fd) do {					\
	struct loop_info64 __lt_i;					\
	ASSERT_RET(-ENXIO, lt_status64((fd), &__lt_i));		\
	ASSERT_FALSE(lt_is_bound(idx))					\
		TH_LOG("/sys/block/loop%d/loop still present", (idx));	\
} while (0)

#define ASSERT_BOUND(idx, fd) do {					\
	struct loop_info64 __lt_i;					\
	ASSERT_OK(lt_status64((fd), &__lt_i));				\
	ASSERT_TRUE(lt_is_bound(idx))					\
		TH_LOG("/sys/block/loop%d/loop missing", (idx));	\
} while (0)

#endif
