/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * asyncloop extensions to the loop driver ABI of <linux/loop.h>.
 *
 * The calls below exist only in asyncloop (docs/extensions.md describes
 * each with its errors).  They use the 'L' ioctl type of the loop driver
 * with numbers 0xa0-0xaf, which the upstream loop ABI has never used, and
 * encode direction and size; every structure has the same layout for
 * 32-bit and 64-bit callers.  On the stock driver each fails with the errno
 * it gives for an unknown command: ENOSYS on /dev/loop-control, EINVAL on
 * /dev/loopN (ENOTTY for 32-bit callers).  Start with
 * ALOOP_CTL_GET_FEATURES and fall back to the classic ABI when it fails.
 */
#ifndef _UAPI_LINUX_ASYNCLOOP_H
#define _UAPI_LINUX_ASYNCLOOP_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/loop.h>
#include <linux/types.h>

#define ALOOP_API_VERSION		1

/* feature bits of struct aloop_features.features */
#define ALOOP_FEAT_ATTACH		_BITULL(0)	/* ALOOP_CTL_ATTACH */
#define ALOOP_FEAT_WAIT			_BITULL(1)	/* ALOOP_CTL_WAIT */
#define ALOOP_FEAT_DETACH		_BITULL(2)	/* ALOOP_DETACH */
#define ALOOP_FEAT_STATUS		_BITULL(3)	/* ALOOP_CTL_STATUS */
#define ALOOP_FEAT_STRICT		_BITULL(4)	/* ALOOP_ATTACH_STRICT */

/**
 * struct aloop_features - argument of ALOOP_CTL_GET_FEATURES
 * @version: out: ALOOP_API_VERSION of the running module
 * @__pad: out: zero
 * @features: out: ALOOP_FEAT_* the running module implements
 * @__reserved: out: zero
 */
struct aloop_features {
	__u32	version;
	__u32	__pad;
	__u64	features;
	__u64	__reserved[2];
};

/* struct aloop_attach.flags */
#define ALOOP_ATTACH_STRICT	_BITULL(0)	/* refuse what cannot be honoured */
#define ALOOP_ATTACH_INDEX	_BITULL(1)	/* use .index, not any free device */
#define ALOOP_ATTACH_FLAGS	(ALOOP_ATTACH_STRICT | ALOOP_ATTACH_INDEX)

/**
 * struct aloop_attach - argument of ALOOP_CTL_ATTACH
 * @config: in: as for LOOP_CONFIGURE; config.info.lo_flags may hold
 *	LO_FLAGS_READ_ONLY, LO_FLAGS_AUTOCLEAR, LO_FLAGS_PARTSCAN and
 *	LO_FLAGS_DIRECT_IO; config.__reserved must be zero
 * @flags: in: ALOOP_ATTACH_*
 * @index: in: the wanted device with ALOOP_ATTACH_INDEX (created if it
 *	does not exist); out: the device that was bound, /dev/loop<index>
 * @nr_partitions: out: partitions found with LO_FLAGS_PARTSCAN; their
 *	nodes exist when the call returns
 * @dev_fd: out: the descriptor the call returned
 * @__pad: must be zero
 * @__reserved: must be zero
 *
 * On success the ioctl returns a new O_CLOEXEC descriptor open on the bound
 * device: O_RDWR, or O_RDONLY for a read-only binding.  No other caller
 * could open or bind the device between its choice and the return.
 */
struct aloop_attach {
	struct loop_config	config;
	__u64			flags;
	__s32			index;
	__u32			nr_partitions;
	__s32			dev_fd;
	__u32			__pad;
	__u64			__reserved[4];
};

/* struct aloop_wait.timeout_ms: wait without a time limit */
#define ALOOP_WAIT_FOREVER	(~0ULL)

/**
 * struct aloop_wait - argument of ALOOP_CTL_WAIT
 * @index: in: the device
 * @__pad: must be zero
 * @timeout_ms: in: longest wait in milliseconds, 0 to test, or
 *	ALOOP_WAIT_FOREVER
 */
struct aloop_wait {
	__u32	index;
	__u32	__pad;
	__u64	timeout_ms;
};

/* struct aloop_status.state */
#define ALOOP_STATE_UNBOUND	0	/* free: no backing file */
#define ALOOP_STATE_BOUND	1	/* backing file attached */
#define ALOOP_STATE_RUNDOWN	2	/* being detached */
#define ALOOP_STATE_DELETING	3	/* being removed */

/**
 * struct aloop_status - argument of ALOOP_CTL_STATUS
 * @index: in: the device
 * @state: out: ALOOP_STATE_*
 * @openers: out: opens of the whole device as the block layer counts them
 *	(partitions included; on 6.1 each open partition once)
 * @block_size: out: logical block size in bytes
 * @flags: out: LO_FLAGS_* in effect (LO_FLAGS_DIRECT_IO only if used)
 * @__pad: out: zero
 * @offset: out: lo_offset of the binding
 * @sizelimit: out: lo_sizelimit of the binding
 * @size: out: device size in bytes
 * @diskseq: out: the disk sequence number (0 before 5.15-style diskseq)
 * @__reserved: out: zero
 *
 * The backing file's path is in /sys/block/loop<index>/loop/backing_file.
 */
struct aloop_status {
	__u32	index;
	__u32	state;
	__u32	openers;
	__u32	block_size;
	__u32	flags;
	__u32	__pad;
	__u64	offset;
	__u64	sizelimit;
	__u64	size;
	__u64	diskseq;
	__u64	__reserved[4];
};

/* on /dev/loop-control */
#define ALOOP_CTL_GET_FEATURES	_IOR('L', 0xa0, struct aloop_features)
#define ALOOP_CTL_ATTACH	_IOWR('L', 0xa1, struct aloop_attach)
#define ALOOP_CTL_WAIT		_IOW('L', 0xa2, struct aloop_wait)
#define ALOOP_CTL_STATUS	_IOWR('L', 0xa3, struct aloop_status)
/* on /dev/loopN: synchronous detach, EBUSY with other openers */
#define ALOOP_DETACH		_IO('L', 0xa8)

#endif /* _UAPI_LINUX_ASYNCLOOP_H */
