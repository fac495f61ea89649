// SPDX-License-Identifier: GPL-2.0
/*
 * The bad-input table of issue 4: one data-driven test over a table of
 * {ioctl, device state, argument, expected errno}. Each row sets up the
 * state, snapshots status + sysfs (lt_snapshot), makes the call, compares
 * the errno with the one stock returns on the running kernel (6.1, or 6.11+
 * where a row says so) and checks that nothing changed.
 * The whole table is printed as TAP comments ("# | ioctl | state | case |
 * expected | got | verdict |") for docs/compat.md; the test fails at the end
 * if any row differed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "loopt.h"

#define FSIZE (1024 * 1024)
/* a row whose argument this kernel cannot make (the debug kernel has no sockets) */
#define ROW_UNAVAILABLE (-1000000L)

enum state {
	S_UNBOUND,	/* unbound, opened O_RDWR */
	S_BOUND,	/* bound read-write to the 1 MiB file */
	S_RO,		/* bound with LO_FLAGS_READ_ONLY */
	S_BIGOFF,	/* bound to a sparse 4 GiB file at offset 3 GiB */
	S_UNBOUND_EXCL,	/* unbound, another fd holds it O_EXCL */
	S_BOUND_EXCL,	/* bound, another fd holds it O_EXCL */
	S_RO_STACKED,	/* read-only, and loop2 is bound on top of it */
};
static const char *const state_name[] = {
	"unbound", "bound", "bound ro", "bound off=3G", "unbound+O_EXCL held",
	"bound+O_EXCL held", "bound ro, loop2 on top",
};

enum kind {
	K_VAL,		/* arg = v */
	K_FD,		/* arg = an fd of kind v */
	K_NULL,		/* arg = NULL */
	K_BADPTR,	/* arg = a PROT_NONE page */
	K_CFG,		/* struct loop_config, field `mod` = v */
	K_INFO64,	/* struct loop_info64 (current status), field `mod` = v */
	K_INFO,		/* struct loop_info (zeroed), field `mod` = v */
	K_OUT,		/* output buffer */
};
enum mod { M_NONE, M_FLAGS, M_BS, M_OFF, M_LIMIT, M_ENC, M_KEYSZ, M_FD };
enum fdk {
	FD_MINUS1, FD_CLOSED, FD_DIR, FD_FIFO, FD_CHR, FD_SOCK, FD_SELF,
	FD_OPATH, FD_OTHERSIZE, FD_LOOP2_UNBOUND, FD_LOOP2, FD_FILE,
};

enum target { T_DEV, T_CTL, T_DEV_NOCAP };

struct row {
	const char *ioc;
	unsigned long cmd;
	enum target tgt;
	enum state st;
	const char *what;
	enum kind kind;
	enum mod mod;
	long long v;
	int expected;		/* stock 6.1; see since_611[] */
};

#define LLMAX1 ((long long)((unsigned long long)LLONG_MAX + 1))
#define IOC(x) #x, x
#define UNKNOWN_4C0B 0x4C0B

static const struct row rows[] = {
	/* LOOP_SET_FD */
	{ IOC(LOOP_SET_FD), T_DEV, S_UNBOUND, "fd -1", K_FD, 0, FD_MINUS1, -EBADF },
	{ IOC(LOOP_SET_FD), T_DEV, S_UNBOUND, "closed fd", K_FD, 0, FD_CLOSED, -EBADF },
	{ IOC(LOOP_SET_FD), T_DEV, S_UNBOUND, "O_PATH fd", K_FD, 0, FD_OPATH, -EBADF },
	{ IOC(LOOP_SET_FD), T_DEV, S_UNBOUND, "directory", K_FD, 0, FD_DIR, -EINVAL },
	{ IOC(LOOP_SET_FD), T_DEV, S_UNBOUND, "fifo", K_FD, 0, FD_FIFO, -EINVAL },
	{ IOC(LOOP_SET_FD), T_DEV, S_UNBOUND, "char device /dev/null", K_FD, 0, FD_CHR, -EINVAL },
	{ IOC(LOOP_SET_FD), T_DEV, S_UNBOUND, "socket", K_FD, 0, FD_SOCK, -EINVAL },
	{ IOC(LOOP_SET_FD), T_DEV, S_UNBOUND, "the device itself", K_FD, 0, FD_SELF, -EBADF },
	{ IOC(LOOP_SET_FD), T_DEV, S_UNBOUND, "unbound loop device", K_FD, 0, FD_LOOP2_UNBOUND, -EINVAL },
	{ IOC(LOOP_SET_FD), T_DEV, S_BOUND, "already bound", K_FD, 0, FD_FILE, -EBUSY },
	{ IOC(LOOP_SET_FD), T_DEV, S_UNBOUND_EXCL, "O_EXCL held by another opener", K_FD, 0, FD_FILE, -EBUSY },
	/* LOOP_CONFIGURE */
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "NULL", K_NULL, 0, 0, -EFAULT },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "unmapped pointer", K_BADPTR, 0, 0, -EFAULT },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "fd -1", K_CFG, M_FD, FD_MINUS1, -EBADF },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "directory", K_CFG, M_FD, FD_DIR, -EINVAL },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "socket", K_CFG, M_FD, FD_SOCK, -EINVAL },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "the device itself", K_CFG, M_FD, FD_SELF, -EBADF },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "flags 0x2 (unused bit)", K_CFG, M_FLAGS, 2, -EINVAL },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "flags 0x20", K_CFG, M_FLAGS, 0x20, -EINVAL },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "flags 0x80000000", K_CFG, M_FLAGS, 0x80000000LL, -EINVAL },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "block_size 256", K_CFG, M_BS, 256, -EINVAL },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "block_size 513", K_CFG, M_BS, 513, -EINVAL },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "block_size 8192 (> PAGE_SIZE)", K_CFG, M_BS, 8192, -EINVAL },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "block_size 131072 (> 64 KiB)", K_CFG, M_BS, 131072, -EINVAL },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "block_size 0xffffffff", K_CFG, M_BS, 0xffffffffLL, -EINVAL },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "offset LLONG_MAX+1", K_CFG, M_OFF, LLMAX1, -EOVERFLOW },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "sizelimit ULLONG_MAX", K_CFG, M_LIMIT, -1LL, -EOVERFLOW },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "encrypt_type XOR", K_CFG, M_ENC, LO_CRYPT_XOR, -EINVAL },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "encrypt_type CRYPTOAPI", K_CFG, M_ENC, LO_CRYPT_CRYPTOAPI, -EINVAL },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND, "encrypt_key_size 33", K_CFG, M_KEYSZ, 33, -EINVAL },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_BOUND, "already bound", K_CFG, M_NONE, 0, -EBUSY },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_BOUND, "already bound + bad flags (state first)", K_CFG, M_FLAGS, 2, -EBUSY },
	{ IOC(LOOP_CONFIGURE), T_DEV, S_UNBOUND_EXCL, "O_EXCL held by another opener", K_CFG, M_NONE, 0, -EBUSY },
	/* LOOP_CLR_FD */
	{ IOC(LOOP_CLR_FD), T_DEV, S_UNBOUND, "unbound", K_VAL, 0, 0, -ENXIO },
	/* LOOP_SET_STATUS64 */
	{ IOC(LOOP_SET_STATUS64), T_DEV, S_UNBOUND, "unbound", K_INFO64, M_NONE, 0, -ENXIO },
	{ IOC(LOOP_SET_STATUS64), T_DEV, S_BOUND, "NULL", K_NULL, 0, 0, -EFAULT },
	{ IOC(LOOP_SET_STATUS64), T_DEV, S_BOUND, "unmapped pointer", K_BADPTR, 0, 0, -EFAULT },
	{ IOC(LOOP_SET_STATUS64), T_DEV, S_BOUND, "offset LLONG_MAX+1", K_INFO64, M_OFF, LLMAX1, -EOVERFLOW },
	{ IOC(LOOP_SET_STATUS64), T_DEV, S_BOUND, "sizelimit ULLONG_MAX", K_INFO64, M_LIMIT, -1LL, -EOVERFLOW },
	{ IOC(LOOP_SET_STATUS64), T_DEV, S_BOUND, "encrypt_type XOR", K_INFO64, M_ENC, LO_CRYPT_XOR, -EINVAL },
	{ IOC(LOOP_SET_STATUS64), T_DEV, S_BOUND, "encrypt_type 99", K_INFO64, M_ENC, 99, -EINVAL },
	{ IOC(LOOP_SET_STATUS64), T_DEV, S_BOUND, "encrypt_key_size 33", K_INFO64, M_KEYSZ, 33, -EINVAL },
	{ IOC(LOOP_SET_STATUS64), T_DEV_NOCAP, S_BOUND, "O_RDONLY fd, no CAP_SYS_ADMIN", K_INFO64, M_FLAGS, LO_FLAGS_AUTOCLEAR, -EPERM },
	/* LOOP_SET_STATUS (old) */
	{ IOC(LOOP_SET_STATUS), T_DEV, S_UNBOUND, "unbound", K_INFO, M_NONE, 0, -ENXIO },
	{ IOC(LOOP_SET_STATUS), T_DEV, S_BOUND, "NULL", K_NULL, 0, 0, -EFAULT },
	{ IOC(LOOP_SET_STATUS), T_DEV, S_BOUND, "unmapped pointer", K_BADPTR, 0, 0, -EFAULT },
	{ IOC(LOOP_SET_STATUS), T_DEV_NOCAP, S_BOUND, "O_RDONLY fd, no CAP_SYS_ADMIN", K_INFO, M_FLAGS, LO_FLAGS_AUTOCLEAR, -EPERM },
	/* LOOP_GET_STATUS64 / LOOP_GET_STATUS */
	{ IOC(LOOP_GET_STATUS64), T_DEV, S_UNBOUND, "unbound", K_OUT, 0, 0, -ENXIO },
	{ IOC(LOOP_GET_STATUS64), T_DEV, S_BOUND, "NULL", K_NULL, 0, 0, -EINVAL },
	{ IOC(LOOP_GET_STATUS64), T_DEV, S_BOUND, "unmapped pointer", K_BADPTR, 0, 0, -EFAULT },
	{ IOC(LOOP_GET_STATUS), T_DEV, S_UNBOUND, "unbound", K_OUT, 0, 0, -ENXIO },
	{ IOC(LOOP_GET_STATUS), T_DEV, S_BOUND, "NULL", K_NULL, 0, 0, -EINVAL },
	{ IOC(LOOP_GET_STATUS), T_DEV, S_BOUND, "unmapped pointer", K_BADPTR, 0, 0, -EFAULT },
	{ IOC(LOOP_GET_STATUS), T_DEV, S_BIGOFF, "offset 3 GiB does not fit int", K_OUT, 0, 0, -EOVERFLOW },
	/* LOOP_CHANGE_FD */
	{ IOC(LOOP_CHANGE_FD), T_DEV, S_UNBOUND, "unbound", K_FD, 0, FD_FILE, -ENXIO },
	{ IOC(LOOP_CHANGE_FD), T_DEV, S_BOUND, "writable device", K_FD, 0, FD_FILE, -EINVAL },
	{ IOC(LOOP_CHANGE_FD), T_DEV, S_RO, "file of a different size", K_FD, 0, FD_OTHERSIZE, -EINVAL },
	{ IOC(LOOP_CHANGE_FD), T_DEV, S_RO, "fd -1", K_FD, 0, FD_MINUS1, -EBADF },
	{ IOC(LOOP_CHANGE_FD), T_DEV, S_RO, "directory", K_FD, 0, FD_DIR, -EINVAL },
	{ IOC(LOOP_CHANGE_FD), T_DEV, S_RO, "fifo", K_FD, 0, FD_FIFO, -EINVAL },
	{ IOC(LOOP_CHANGE_FD), T_DEV, S_RO, "the device itself", K_FD, 0, FD_SELF, -EBADF },
	{ IOC(LOOP_CHANGE_FD), T_DEV, S_RO_STACKED, "loop2 stacked on this device (cycle)", K_FD, 0, FD_LOOP2, -EBADF },
	/* LOOP_SET_CAPACITY */
	{ IOC(LOOP_SET_CAPACITY), T_DEV, S_UNBOUND, "unbound", K_VAL, 0, 0, -ENXIO },
	{ IOC(LOOP_SET_CAPACITY), T_DEV_NOCAP, S_BOUND, "O_RDONLY fd, no CAP_SYS_ADMIN", K_VAL, 0, 0, -EPERM },
	/* LOOP_SET_BLOCK_SIZE */
	{ IOC(LOOP_SET_BLOCK_SIZE), T_DEV, S_UNBOUND, "unbound", K_VAL, 0, 4096, -ENXIO },
	{ IOC(LOOP_SET_BLOCK_SIZE), T_DEV, S_BOUND, "0", K_VAL, 0, 0, -EINVAL },
	{ IOC(LOOP_SET_BLOCK_SIZE), T_DEV, S_BOUND, "256", K_VAL, 0, 256, -EINVAL },
	{ IOC(LOOP_SET_BLOCK_SIZE), T_DEV, S_BOUND, "1000", K_VAL, 0, 1000, -EINVAL },
	{ IOC(LOOP_SET_BLOCK_SIZE), T_DEV, S_BOUND, "8192 (> PAGE_SIZE)", K_VAL, 0, 8192, -EINVAL },
	{ IOC(LOOP_SET_BLOCK_SIZE), T_DEV, S_BOUND, "131072 (> 64 KiB)", K_VAL, 0, 131072, -EINVAL },
	{ IOC(LOOP_SET_BLOCK_SIZE), T_DEV, S_BOUND, "(1<<32)+512 (truncated from 6.11 on)", K_VAL, 0, (1LL << 32) + 512, -EINVAL },
	{ IOC(LOOP_SET_BLOCK_SIZE), T_DEV, S_BOUND_EXCL, "4096, O_EXCL held by another opener", K_VAL, 0, 4096, -EBUSY },
	{ IOC(LOOP_SET_BLOCK_SIZE), T_DEV_NOCAP, S_BOUND, "O_RDONLY fd, no CAP_SYS_ADMIN", K_VAL, 0, 4096, -EPERM },
	/* LOOP_SET_DIRECT_IO */
	{ IOC(LOOP_SET_DIRECT_IO), T_DEV, S_UNBOUND, "unbound", K_VAL, 0, 1, -ENXIO },
	{ IOC(LOOP_SET_DIRECT_IO), T_DEV, S_BOUND, "on, tmpfs backing (no O_DIRECT)", K_VAL, 0, 1, -EINVAL },
	{ IOC(LOOP_SET_DIRECT_IO), T_DEV_NOCAP, S_BOUND, "O_RDONLY fd, no CAP_SYS_ADMIN", K_VAL, 0, 0, -EPERM },
	/* unknown ioctls */
	{ "0x4C0B (unknown)", UNKNOWN_4C0B, T_DEV, S_UNBOUND, "unbound", K_VAL, 0, 0, -EINVAL },
	{ "0x4C0B (unknown)", UNKNOWN_4C0B, T_DEV, S_BOUND, "bound", K_VAL, 0, 0, -EINVAL },
	{ "0x4C7F (unknown)", LT_UNKNOWN_LOOP_IOCTL, T_DEV, S_BOUND, "bound", K_VAL, 0, 0, -EINVAL },
	/* /dev/loop-control */
	{ IOC(LOOP_CTL_ADD), T_CTL, S_UNBOUND, "existing index", K_VAL, 0, -100, -EEXIST },
	{ IOC(LOOP_CTL_ADD), T_CTL, S_UNBOUND, "index 1<<20 (minor overflow)", K_VAL, 0, 1 << 20, -EINVAL },
	{ IOC(LOOP_CTL_ADD), T_CTL, S_UNBOUND, "index INT_MAX", K_VAL, 0, INT_MAX, -EINVAL },
	{ IOC(LOOP_CTL_REMOVE), T_CTL, S_UNBOUND, "index -1", K_VAL, 0, -1, -EINVAL },
	{ IOC(LOOP_CTL_REMOVE), T_CTL, S_UNBOUND, "index INT_MIN", K_VAL, 0, INT_MIN, -EINVAL },
	{ IOC(LOOP_CTL_REMOVE), T_CTL, S_UNBOUND, "index 1<<20 (absent)", K_VAL, 0, 1 << 20, -ENODEV },
	{ IOC(LOOP_CTL_REMOVE), T_CTL, S_UNBOUND, "index INT_MAX (absent)", K_VAL, 0, INT_MAX, -ENODEV },
	{ IOC(LOOP_CTL_REMOVE), T_CTL, S_UNBOUND, "unbound but open", K_VAL, 0, -100, -EBUSY },
	{ IOC(LOOP_CTL_REMOVE), T_CTL, S_BOUND, "bound", K_VAL, 0, -100, -EBUSY },
	{ "0x4C8F (unknown)", LT_UNKNOWN_CTL_IOCTL, T_CTL, S_UNBOUND, "control", K_VAL, 0, 0, -ENOSYS },
};

FIXTURE(bad) {
	int idx, fd, bfd, idx2, fd2;
	char file[PATH_MAX], other[PATH_MAX], big[PATH_MAX];
	void *badptr;
};

FIXTURE_SETUP(bad)
{
	int fd;

	self->idx = lt_get_free();
	ASSERT_NONNEG(self->idx);
	self->fd = lt_open_dev(self->idx, O_RDWR);
	ASSERT_NONNEG(self->fd);
	ASSERT_OK(lt_make_file(self->file, sizeof(self->file), FSIZE));
	self->bfd = lt_open(self->file, O_RDWR);
	ASSERT_NONNEG(self->bfd);
	ASSERT_OK(lt_make_file(self->other, sizeof(self->other), 65536));
	/* sparse 4 GiB file for the offset-overflow row */
	snprintf(self->big, sizeof(self->big), LT_TMPDIR "/asyncloop-big-XXXXXX");
	fd = mkstemp(self->big);
	ASSERT_LE(0, fd);
	lt_track_file(self->big);
	ASSERT_EQ(0, ftruncate(fd, 4LL << 30));
	close(fd);
	/* a second device, added explicitly */
	self->idx2 = lt_free_index(self->idx + 1);
	ASSERT_NONNEG(self->idx2);
	ASSERT_RET(self->idx2, lt_ctl(LOOP_CTL_ADD, self->idx2));
	lt_track_dev(self->idx2, true);
	self->fd2 = lt_open_dev(self->idx2, O_RDWR);
	ASSERT_NONNEG(self->fd2);
	self->badptr = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->badptr);
}

FIXTURE_TEARDOWN(bad)
{
	lt_cleanup();
}

static int clr(int idx, int *fd)
{
	int r = lt_clr_fd_now(idx, fd);

	return r == -ENXIO ? 0 : r;
}

/* Bring the device into state st. Returns 0 or -errno; *exclfd set if held. */
static int setup_state(FIXTURE_DATA(bad) *self, enum state st, int *exclfd)
{
	int r, fd;

	*exclfd = -1;
	switch (st) {
	case S_UNBOUND:
		return 0;
	case S_UNBOUND_EXCL:
		*exclfd = lt_open_dev(self->idx, O_RDWR | O_EXCL);
		return *exclfd < 0 ? *exclfd : 0;
	case S_BOUND:
		return lt_configure(self->fd, self->bfd, 0, 0, 0, 0);
	case S_BOUND_EXCL:
		r = lt_configure(self->fd, self->bfd, 0, 0, 0, 0);
		if (r)
			return r;
		*exclfd = lt_open_dev(self->idx, O_RDWR | O_EXCL);
		return *exclfd < 0 ? *exclfd : 0;
	case S_RO:
		return lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_READ_ONLY, 0);
	case S_RO_STACKED:
		r = lt_configure(self->fd, self->bfd, 0, 0, LO_FLAGS_READ_ONLY, 0);
		if (r)
			return r;
		return lt_configure(self->fd2, self->fd, 0, 0, LO_FLAGS_READ_ONLY, 0);
	case S_BIGOFF:
		fd = lt_open(self->big, O_RDWR);
		if (fd < 0)
			return fd;
		r = lt_configure(self->fd, fd, 3LL << 30, 0, 0, 0);
		close(fd);
		return r;
	}
	return -EINVAL;
}

static int reset_state(FIXTURE_DATA(bad) *self, int exclfd)
{
	int r;

	if (exclfd >= 0)
		close(exclfd);
	r = clr(self->idx2, &self->fd2);
	if (!r)
		r = clr(self->idx, &self->fd);
	return r;
}

/* An fd of kind k; *tmp is closed by the caller if >= 0. */
static int make_fd(FIXTURE_DATA(bad) *self, long long k, int *tmp)
{
	int fd = -1, sv[2];
	char fifo[PATH_MAX];

	*tmp = -1;
	switch (k) {
	case FD_MINUS1:
		return -1;
	case FD_CLOSED:
		fd = dup(self->bfd);
		close(fd);
		return fd;
	case FD_DIR:
		fd = open(LT_TMPDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		break;
	case FD_FIFO:
		snprintf(fifo, sizeof(fifo), LT_TMPDIR "/asyncloop-fifo-%d", getpid());
		unlink(fifo);
		if (mkfifo(fifo, 0600))
			return -2;
		lt_track_file(fifo);
		fd = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		break;
	case FD_CHR:
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		break;
	case FD_SOCK:
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			return errno == ENOSYS || errno == EAFNOSUPPORT ? -3 : -2;
		close(sv[1]);
		fd = sv[0];
		break;
	case FD_SELF:
		return self->fd;
	case FD_OPATH:
		fd = open(self->file, O_PATH | O_CLOEXEC);
		break;
	case FD_OTHERSIZE:
		fd = open(self->other, O_RDWR | O_CLOEXEC);
		break;
	case FD_LOOP2_UNBOUND:
	case FD_LOOP2:
		return self->fd2;
	case FD_FILE:
		return self->bfd;
	}
	*tmp = fd;
	return fd < 0 ? -2 : fd;
}

static int cfg_fd(FIXTURE_DATA(bad) *self, const struct row *r, int *tmp)
{
	if (r->mod == M_FD)
		return make_fd(self, r->v, tmp);
	*tmp = -1;
	return self->bfd;
}

static void apply64(struct loop_info64 *i, const struct row *r)
{
	switch (r->mod) {
	case M_FLAGS: i->lo_flags = (uint32_t)r->v; break;
	case M_OFF: i->lo_offset = (uint64_t)r->v; break;
	case M_LIMIT: i->lo_sizelimit = (uint64_t)r->v; break;
	case M_ENC: i->lo_encrypt_type = (uint32_t)r->v; break;
	case M_KEYSZ: i->lo_encrypt_key_size = (uint32_t)r->v; break;
	default: break;
	}
}

/* Perform the row's call on fd (device or control). */
static long do_call(FIXTURE_DATA(bad) *self, const struct row *r, int fd)
{
	struct loop_config cfg;
	struct loop_info64 i64;
	struct loop_info i;
	union { struct loop_info64 a; struct loop_info b; } out;
	unsigned long arg = 0;
	int tmp = -1, f;
	long ret;

	switch (r->kind) {
	case K_VAL:
		if (r->v == -100)	/* "this device's index" */
			arg = (unsigned long)self->idx;
		else
			arg = (unsigned long)r->v;
		break;
	case K_FD:
		f = make_fd(self, r->v, &tmp);
		if (f == -3)
			return ROW_UNAVAILABLE;
		if (f == -2)
			return -12345;
		arg = (unsigned long)(long)f;
		break;
	case K_NULL:
		arg = 0;
		break;
	case K_BADPTR:
		arg = (unsigned long)self->badptr;
		break;
	case K_CFG:
		memset(&cfg, 0, sizeof(cfg));
		f = cfg_fd(self, r, &tmp);
		if (f == -3)
			return ROW_UNAVAILABLE;
		if (f == -2)
			return -12345;
		cfg.fd = f;
		switch (r->mod) {
		case M_BS: cfg.block_size = (uint32_t)r->v; break;
		default: apply64(&cfg.info, r); break;
		}
		arg = (unsigned long)&cfg;
		break;
	case K_INFO64:
		if (lt_status64(fd, &i64))
			memset(&i64, 0, sizeof(i64));
		apply64(&i64, r);
		arg = (unsigned long)&i64;
		break;
	case K_INFO:
		memset(&i, 0, sizeof(i));
		if (r->mod == M_FLAGS)
			i.lo_flags = (int)r->v;
		arg = (unsigned long)&i;
		break;
	case K_OUT:
		arg = (unsigned long)&out;
		break;
	}
	ret = lt_ioctl(fd, r->cmd, arg);
	if (tmp >= 0)
		close(tmp);
	return ret;
}

/* The call from a child without CAP_SYS_ADMIN on an O_RDONLY fd. */
static long call_nocap(FIXTURE_DATA(bad) *self, const struct row *r)
{
	int st, fd;
	long ret;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (lt_drop_cap_sys_admin())
			_exit(254);
		fd = lt_open_dev(self->idx, O_RDONLY);
		if (fd < 0)
			_exit(253);
		ret = do_call(self, r, fd);
		_exit(ret >= 0 ? 0 : (int)(-ret) & 0xff);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -12346;
	return WEXITSTATUS(st) ? -(long)WEXITSTATUS(st) : 0;
}

/* a row that is no bad input on the running kernel */
#define ROW_VALID_HERE 1

/*
 * Rows that stock answers otherwise on newer kernels: from 6.6 tmpfs does
 * direct I/O; from 6.11 the block layer validates the block size, 0 asks
 * for the default and the value is an unsigned int; from 6.15 it takes
 * block sizes up to 64 KiB (the rows past 64 KiB stay invalid everywhere).
 */
static const struct {
	int major, minor;
	const char *ioc, *what;
	int expected;
} newer[] = {
	{ 6, 6, "LOOP_SET_DIRECT_IO", "on, tmpfs backing (no O_DIRECT)", ROW_VALID_HERE },
	{ 6, 11, "LOOP_SET_BLOCK_SIZE", "0", 0 },
	{ 6, 11, "LOOP_SET_BLOCK_SIZE", "(1<<32)+512 (truncated from 6.11 on)", 0 },
	{ 6, 15, "LOOP_CONFIGURE", "block_size 8192 (> PAGE_SIZE)", ROW_VALID_HERE },
	{ 6, 15, "LOOP_SET_BLOCK_SIZE", "8192 (> PAGE_SIZE)", ROW_VALID_HERE },
};

/* What stock answers on the running kernel. */
static int row_expected(const struct row *r)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(newer); i++)
		if (!strcmp(newer[i].ioc, r->ioc) &&
		    !strcmp(newer[i].what, r->what) &&
		    lt_kernel_at_least(newer[i].major, newer[i].minor))
			return newer[i].expected;
	return r->expected;
}

TEST_F(bad, errno_table)
{
	unsigned int n, bad_rows = 0, na_rows = 0;
	char why[512];

	ASSERT_LE(40, (int)ARRAY_SIZE(rows));
	printf("# | ioctl | state | case | expected | got | verdict |\n");
	printf("# |---|---|---|---|---|---|\n");
	for (n = 0; n < ARRAY_SIZE(rows); n++) {
		const struct row *r = &rows[n];
		int expected = row_expected(r);
		struct lt_state before, after;
		int exclfd, ctl = -1, r2;
		long got;
		bool unchanged, extra_ok = true;
		const char *verdict;

		if (expected == ROW_VALID_HERE) {
			printf("# | %s | %s | %s | - | - | n/a: valid on this kernel |\n",
			       r->ioc, state_name[r->st], r->what);
			na_rows++;
			continue;
		}
		r2 = setup_state(self, r->st, &exclfd);
		ASSERT_EQ(0, r2) TH_LOG("row %u (%s %s): setup: %s", n, r->ioc,
					r->what, lt_errname(r2));
		lt_snapshot(self->idx, self->fd, &before);
		if (r->tgt == T_CTL) {
			ctl = lt_ctl_open();
			ASSERT_NONNEG(ctl);
			got = do_call(self, r, ctl);
			close(ctl);
			/* nothing was added by a failed LOOP_CTL_ADD */
			if (r->cmd == LOOP_CTL_ADD && r->v >= 0 && r->v != -100 &&
			    lt_dev_exists((int)r->v))
				extra_ok = false;
		} else if (r->tgt == T_DEV_NOCAP) {
			got = call_nocap(self, r);
		} else {
			got = do_call(self, r, self->fd);
		}
		lt_snapshot(self->idx, self->fd, &after);
		unchanged = !lt_state_diff(&before, &after, why, sizeof(why));
		if (got == ROW_UNAVAILABLE) {
			verdict = "n/a: no sockets in this kernel";
			na_rows++;
		} else if (got == expected && unchanged && extra_ok) {
			verdict = "ok";
		} else {
			verdict = got != expected ? "ERRNO DIFFERS" :
				  !extra_ok ? "DEVICE ADDED" : "STATE CHANGED";
			bad_rows++;
		}
		printf("# | %s | %s | %s | %s | %s | %s |\n", r->ioc,
		       state_name[r->st], r->what, lt_errname(expected),
		       lt_errname(got), verdict);
		if (!unchanged)
			printf("#   state changed: %s\n", why);
		if (got >= 0 && r->cmd == LOOP_CTL_ADD && r->v != -100)
			lt_track_dev((int)r->v, true);
		r2 = reset_state(self, exclfd);
		ASSERT_EQ(0, r2) TH_LOG("row %u (%s %s): reset: %s", n, r->ioc,
					r->what, lt_errname(r2));
	}
	printf("# %u rows, %u differ from stock, %u not applicable here\n",
	       (unsigned int)ARRAY_SIZE(rows), bad_rows, na_rows);
	ASSERT_EQ(0u, bad_rows);
}

TEST_HARNESS_MAIN
