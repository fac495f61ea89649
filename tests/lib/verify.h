/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Verifying I/O workers for a loop device (suites reconfig and soak).
 *
 * A device is split in two: readers check a region whose content never
 * changes (lt_pattern() of the backing file offset, at one of the file
 * offsets the device may start at), writers rewrite blocks of the rest
 * with generation stamps, read each one back, and record the last
 * generation that was written successfully, so that the whole write region
 * can be checked through the device and in the backing file at the end.
 * Workers are processes; the state they share is one MAP_SHARED mapping.
 */
#ifndef ASYNCLOOP_VERIFY_H
#define ASYNCLOOP_VERIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define LT_V_BLK	4096
#define LT_V_MAX_OFFS	3

enum lt_vrole {
	LT_V_READ_BUFFERED,
	LT_V_READ_DIRECT,
	LT_V_WRITE_BUFFERED,	/* first half of the write region */
	LT_V_WRITE_DIRECT,	/* second half */
	LT_V_ROLES,
};

struct lt_vstats {
	unsigned long ops;
	unsigned long errors;
	unsigned long mismatches;
	char why[256];		/* the first error or mismatch */
};

struct lt_vdev {
	char path[64];			/* /dev/loopN */
	volatile int stop;
	uint64_t offs[LT_V_MAX_OFFS];	/* file offsets the device may start at */
	int noffs;
	uint64_t read_span;		/* readers: device [0, read_span) */
	uint64_t write_start;		/* writers: from here, write_blks blocks */
	uint32_t write_blks;
	struct lt_vstats st[LT_V_ROLES];
	uint32_t gen[];			/* last generation per write block */
};

/* A shared lt_vdev for @path (offset 0 only), or NULL. */
struct lt_vdev *lt_vdev_new(const char *path, uint64_t read_span,
			    uint64_t write_start, uint32_t write_blks);
void lt_vdev_free(struct lt_vdev *v);
/* Fork a worker in @role; its pid or -errno. */
pid_t lt_vdev_spawn(struct lt_vdev *v, enum lt_vrole role);
const char *lt_vrole_name(enum lt_vrole role);
/*
 * Check the write region through @path (the device, or the backing file
 * with the device's offset @base); the number of wrong blocks (the first
 * one described in @why), or -errno.
 */
long lt_vdev_check(const struct lt_vdev *v, const char *path, uint64_t base,
		   char *why, size_t whylen);

#endif
