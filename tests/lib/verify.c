// SPDX-License-Identifier: GPL-2.0
/* Verifying I/O workers for a loop device; see verify.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "loopt.h"
#include "verify.h"

#define LT_V_MAX_IO	(16 * LT_V_BLK)

static size_t lt_vdev_size(uint32_t write_blks)
{
	return sizeof(struct lt_vdev) + write_blks * sizeof(uint32_t);
}

struct lt_vdev *lt_vdev_new(const char *path, uint64_t read_span,
			    uint64_t write_start, uint32_t write_blks)
{
	struct lt_vdev *v;

	v = mmap(NULL, lt_vdev_size(write_blks), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (v == MAP_FAILED)
		return NULL;
	memset(v, 0, lt_vdev_size(write_blks));
	snprintf(v->path, sizeof(v->path), "%s", path);
	v->noffs = 1;
	v->read_span = read_span;
	v->write_start = write_start;
	v->write_blks = write_blks;
	return v;
}

void lt_vdev_free(struct lt_vdev *v)
{
	munmap(v, lt_vdev_size(v->write_blks));
}

const char *lt_vrole_name(enum lt_vrole role)
{
	static const char *const names[LT_V_ROLES] = {
		"buffered reader", "direct reader",
		"buffered writer", "direct writer",
	};

	return names[role];
}

/* The content of write block @blk after generation @gen (> 0). */
static void lt_vstamp(uint8_t *p, uint32_t blk, uint32_t gen)
{
	uint64_t *w = (uint64_t *)p;
	size_t i;

	for (i = 0; i < LT_V_BLK / sizeof(*w); i++)
		w[i] = ((uint64_t)blk << 40) ^ ((uint64_t)gen << 12) ^ i ^
		       0x5a5a000000000000ULL;
}

/* @p holds write block @blk as of @gen, read at file offset @file_off. */
static bool lt_vblock_is(const uint8_t *p, uint32_t blk, uint32_t gen,
			 uint64_t file_off)
{
	uint8_t want[LT_V_BLK];
	char why[8];

	if (!gen)
		return !lt_check_pattern(p, LT_V_BLK, file_off, why,
					 sizeof(why));
	lt_vstamp(want, blk, gen);
	return !memcmp(p, want, LT_V_BLK);
}

static bool lt_vmatch_any(const struct lt_vdev *v, const uint8_t *p,
			  uint64_t pos)
{
	char why[8];
	int i;

	for (i = 0; i < v->noffs; i++)
		if (!lt_check_pattern(p, LT_V_BLK, pos + v->offs[i], why,
				      sizeof(why)))
			return true;
	return false;
}

static void __attribute__((format(printf, 3, 4)))
lt_vfail(struct lt_vstats *st, bool mismatch, const char *fmt, ...)
{
	va_list ap;

	if (!st->errors && !st->mismatches) {
		va_start(ap, fmt);
		vsnprintf(st->why, sizeof(st->why), fmt, ap);
		va_end(ap);
	}
	if (mismatch)
		st->mismatches++;
	else
		st->errors++;
}

static void *lt_vbuffer(void)
{
	void *p = NULL;

	return posix_memalign(&p, LT_V_BLK, LT_V_MAX_IO) ? NULL : p;
}

static void lt_vreader(struct lt_vdev *v, struct lt_vstats *st, bool direct)
{
	uint8_t *buf = lt_vbuffer();
	unsigned int seed = getpid();
	int fd;

	fd = open(v->path, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
	if (fd < 0 || !buf) {
		lt_vfail(st, false, "open %s: %s", v->path, strerror(errno));
		return;
	}
	while (!v->stop) {
		size_t len = LT_V_BLK *
			     (1 + rand_r(&seed) % (LT_V_MAX_IO / LT_V_BLK));
		off_t pos = LT_V_BLK * (rand_r(&seed) %
					((v->read_span - len) / LT_V_BLK + 1));
		ssize_t n = pread(fd, buf, len, pos);
		size_t i;

		st->ops++;
		if (n != (ssize_t)len) {
			lt_vfail(st, false, "read of %zu at %lld: %s", len,
				 (long long)pos,
				 n < 0 ? strerror(errno) : "short");
			continue;
		}
		for (i = 0; i < len; i += LT_V_BLK)
			if (!lt_vmatch_any(v, buf + i, pos + i))
				lt_vfail(st, true,
					 "read at %lld: block at %lld matches no configuration",
					 (long long)pos, (long long)(pos + i));
	}
	close(fd);
}

static void lt_vwriter(struct lt_vdev *v, struct lt_vstats *st, bool direct,
		       uint32_t first, uint32_t nblk)
{
	uint8_t *buf = lt_vbuffer(), *rbuf = lt_vbuffer();
	unsigned int seed = getpid();
	int fd;

	fd = open(v->path, O_RDWR | O_CLOEXEC | (direct ? O_DIRECT : 0));
	if (fd < 0 || !buf || !rbuf) {
		lt_vfail(st, false, "open %s: %s", v->path, strerror(errno));
		return;
	}
	while (!v->stop) {
		uint32_t blk = first + rand_r(&seed) % nblk;
		uint32_t gen = v->gen[blk] + 1;
		off_t pos = v->write_start + (off_t)blk * LT_V_BLK;
		ssize_t n;

		st->ops++;
		lt_vstamp(buf, blk, gen);
		n = pwrite(fd, buf, LT_V_BLK, pos);
		if (n != LT_V_BLK) {
			lt_vfail(st, false, "write at %lld: %s",
				 (long long)pos,
				 n < 0 ? strerror(errno) : "short");
			continue;
		}
		v->gen[blk] = gen;
		n = pread(fd, rbuf, LT_V_BLK, pos);
		if (n != LT_V_BLK)
			lt_vfail(st, false, "read back at %lld: %s",
				 (long long)pos,
				 n < 0 ? strerror(errno) : "short");
		else if (memcmp(buf, rbuf, LT_V_BLK))
			lt_vfail(st, true,
				 "read back at %lld: generation %u lost",
				 (long long)pos, gen);
	}
	if (fsync(fd))
		lt_vfail(st, false, "fsync: %s", strerror(errno));
	close(fd);
}

pid_t lt_vdev_spawn(struct lt_vdev *v, enum lt_vrole role)
{
	uint32_t half = v->write_blks / 2;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid)
		return pid;
	switch (role) {
	case LT_V_READ_BUFFERED:
	case LT_V_READ_DIRECT:
		lt_vreader(v, &v->st[role], role == LT_V_READ_DIRECT);
		break;
	case LT_V_WRITE_BUFFERED:
		lt_vwriter(v, &v->st[role], false, 0, half);
		break;
	default:
		lt_vwriter(v, &v->st[role], true, half, v->write_blks - half);
		break;
	}
	_exit(0);
}

long lt_vdev_check(const struct lt_vdev *v, const char *path, uint64_t base,
		   char *why, size_t whylen)
{
	uint8_t *buf = lt_vbuffer();
	long bad = 0;
	uint32_t blk;
	int fd;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	for (blk = 0; blk < v->write_blks; blk++) {
		off_t pos = base + v->write_start + (off_t)blk * LT_V_BLK;

		if (pread(fd, buf, LT_V_BLK, pos) != LT_V_BLK) {
			bad = -(errno ? errno : EIO);
			break;
		}
		if (!lt_vblock_is(buf, blk, v->gen[blk], pos) && !bad++)
			snprintf(why, whylen, "%s: block %u is not generation %u",
				 path, blk, v->gen[blk]);
	}
	close(fd);
	free(buf);
	return bad;
}
