/* SPDX-License-Identifier: GPL-2.0 */
/*
 * asyncloop - the block layer API differences between the supported kernels
 * (Debian's 6.1, 6.12 and 7.3), keyed on the feature, in this file only.  The
 * logic files call the aloop_* helpers below and read the same for both.
 */
#ifndef ALOOP_COMPAT_H
#define ALOOP_COMPAT_H

#include <linux/blkdev.h>
#include <linux/blk-mq.h>
#include <linux/sched/mm.h>
#include <linux/workqueue.h>

/*
 * Each feature is detected by a macro that arrived with it, not by the
 * kernel version:
 *
 * BLK_OPEN_EXCL (6.5): blk_mode_t and BLK_OPEN_* replace fmode_t for block
 * devices; ->open takes the gendisk, ->release loses its mode,
 * bd_prepare_to_claim() takes holder ops, disk_force_media_change() loses
 * its event mask.
 *
 * BLK_FEAT_ROTATIONAL (6.11): queue limits are changed in one atomic,
 * validated update and carry the features (write cache, rotational);
 * blk_mq_alloc_disk() takes the initial limits.
 *
 * blk_queue_rot (6.19): the rotational tests are spelt positively,
 * blk_queue_nonrot()/bdev_nonrot() become blk_queue_rot()/bdev_rot().
 *
 * Four changes left no macro behind; src/Kbuild reads the kernel's
 * <linux/blk-mq.h> and <linux/workqueue.h> for them instead:
 * ALOOP_HAVE_FREEZE_MEMFLAGS (6.14): blk_mq_freeze_queue() enters a
 * GFP_NOIO scope and returns its memflags for blk_mq_unfreeze_queue();
 * ALOOP_HAVE_SHOULD_MERGE (up to 6.13): a tag set asks for bio merging with
 * BLK_MQ_F_SHOULD_MERGE; later every queue merges.
 * ALOOP_HAVE_WQ_PERCPU (6.17, and Debian's 6.12.118 by backport): a
 * per-CPU workqueue says so with WQ_PERCPU (7.x warns when a workqueue
 * names neither WQ_PERCPU nor WQ_UNBOUND); ALOOP_HAVE_SYSTEM_DFL_WQ (the
 * same kernels): system_wq is deprecated for system_dfl_wq (unbound) and
 * system_percpu_wq (7.x logs each work queued on system_wq).
 */
#ifdef BLK_OPEN_EXCL
#define ALOOP_HAVE_BLK_MODE	1
#else
#define ALOOP_HAVE_BLK_MODE	0
#endif
#ifdef BLK_FEAT_ROTATIONAL
#define ALOOP_HAVE_LIMITS_API	1
#else
#define ALOOP_HAVE_LIMITS_API	0
#endif

#ifdef blk_queue_rot
#define aloop_queue_rotational(q)	blk_queue_rot(q)
#define aloop_bdev_rotational(bdev)	bdev_rot(bdev)
#else
#define aloop_queue_rotational(q)	(!blk_queue_nonrot(q))
#define aloop_bdev_rotational(bdev)	(!bdev_nonrot(bdev))
#endif

#ifdef ALOOP_HAVE_WQ_PERCPU
#define ALOOP_WQ_PERCPU		WQ_PERCPU
#else
#define ALOOP_WQ_PERCPU		0
#endif

/* the idle-worker reaper needs no particular CPU */
#ifdef ALOOP_HAVE_SYSTEM_DFL_WQ
#define aloop_system_wq		system_dfl_wq
#else
#define aloop_system_wq		system_wq
#endif

#ifdef ALOOP_HAVE_SHOULD_MERGE
#define ALOOP_MQ_F_MERGE	BLK_MQ_F_SHOULD_MERGE
#else
#define ALOOP_MQ_F_MERGE	0
#endif

/*
 * A frozen queue must not wait for memory reclaim that writes to it, so the
 * freeze is a GFP_NOIO scope on every kernel (6.14+ make it one themselves).
 */
#ifdef ALOOP_HAVE_FREEZE_MEMFLAGS
#define aloop_freeze_queue(q)		blk_mq_freeze_queue(q)
#define aloop_unfreeze_queue(q, memflags) blk_mq_unfreeze_queue(q, memflags)
#else
static inline unsigned int __must_check
aloop_freeze_queue(struct request_queue *q)
{
	unsigned int memflags = memalloc_noio_save();

	blk_mq_freeze_queue(q);
	return memflags;
}

static inline void aloop_unfreeze_queue(struct request_queue *q,
					unsigned int memflags)
{
	blk_mq_unfreeze_queue(q);
	memalloc_noio_restore(memflags);
}
#endif

#if ALOOP_HAVE_BLK_MODE
#define aloop_mode_t		blk_mode_t
#define ALOOP_OPEN_WRITE	BLK_OPEN_WRITE
#define ALOOP_OPEN_EXCL		BLK_OPEN_EXCL

#define ALOOP_DEFINE_BLOCK_OPS(open_fn, release_fn)			\
	static int open_fn##_compat(struct gendisk *disk, blk_mode_t mode) \
	{								\
		return open_fn(disk);					\
	}								\
	static void release_fn##_compat(struct gendisk *disk)		\
	{								\
		release_fn(disk);					\
	}

static inline int aloop_prepare_to_claim(struct block_device *bdev,
					 void *holder)
{
	return bd_prepare_to_claim(bdev, holder, NULL);
}

static inline void aloop_force_media_change(struct gendisk *disk)
{
	disk_force_media_change(disk);
}
#else
#define aloop_mode_t		fmode_t
#define ALOOP_OPEN_WRITE	FMODE_WRITE
#define ALOOP_OPEN_EXCL		FMODE_EXCL

#define ALOOP_DEFINE_BLOCK_OPS(open_fn, release_fn)			\
	static int open_fn##_compat(struct block_device *bdev, fmode_t mode) \
	{								\
		return open_fn(bdev->bd_disk);				\
	}								\
	static void release_fn##_compat(struct gendisk *disk, fmode_t mode) \
	{								\
		release_fn(disk);					\
	}

static inline int aloop_prepare_to_claim(struct block_device *bdev,
					 void *holder)
{
	return bd_prepare_to_claim(bdev, holder);
}

static inline void aloop_force_media_change(struct gendisk *disk)
{
	disk_force_media_change(disk, DISK_EVENT_MEDIA_CHANGE);
}
#endif

/**
 * struct aloop_limits - the queue limits a binding decides
 * @bsize: logical and physical block size and minimum I/O size
 * @max_zero_sectors: write-zeroes limit; 0 = not supported
 * @max_discard_sectors: discard limit; 0 = not supported
 * @discard_granularity: bytes, meaningful with @max_discard_sectors
 * @write_cache: the backing file can flush (REQ_OP_FLUSH is sent)
 * @rotational: the backing storage is rotational
 */
struct aloop_limits {
	unsigned int	bsize;
	unsigned int	max_zero_sectors;
	unsigned int	max_discard_sectors;
	unsigned int	discard_granularity;
	bool		write_cache;
	bool		rotational;
};

#if ALOOP_HAVE_LIMITS_API
/* Queue limits of a new device: only the request size is ours to set. */
#define ALOOP_ALLOC_DISK(set, max_sectors, data) ({			\
	struct queue_limits lim_ = { .max_hw_sectors = (max_sectors) }; \
									\
	blk_mq_alloc_disk(set, &lim_, data);				\
})

/* One atomic update; the block layer validates it as a whole. */
static inline int aloop_apply_limits(struct request_queue *q,
				     const struct aloop_limits *l)
{
	struct queue_limits lim = queue_limits_start_update(q);

	lim.logical_block_size = l->bsize;
	lim.physical_block_size = l->bsize;
	lim.io_min = l->bsize;
	lim.max_write_zeroes_sectors = l->max_zero_sectors;
	lim.max_hw_discard_sectors = l->max_discard_sectors;
	lim.discard_granularity = l->discard_granularity;
	lim.features &= ~(BLK_FEAT_WRITE_CACHE | BLK_FEAT_ROTATIONAL);
	if (l->write_cache)
		lim.features |= BLK_FEAT_WRITE_CACHE;
	if (l->rotational)
		lim.features |= BLK_FEAT_ROTATIONAL;
	return queue_limits_commit_update(q, &lim);
}

static inline void aloop_clear_zeroing(struct request_queue *q, bool discard)
{
	struct queue_limits lim = queue_limits_start_update(q);

	lim.max_write_zeroes_sectors = 0;
	if (discard) {
		lim.max_hw_discard_sectors = 0;
		lim.discard_granularity = 0;
	}
	queue_limits_commit_update(q, &lim);
}

/*
 * LOOP_SET_BLOCK_SIZE as stock 6.12 reads it: the block layer validates
 * limits, the value is taken as an unsigned int and 0 asks for the default.
 * Return: the block size, 0 for the default, or -EINVAL.
 */
static inline long aloop_block_size_arg(unsigned long arg)
{
	unsigned int bsize = arg;

	return bsize ? blk_validate_block_size(bsize) ?: bsize : 0;
}
#else
#define ALOOP_ALLOC_DISK(set, max_sectors, data) ({			\
	struct gendisk *disk_ = blk_mq_alloc_disk(set, data);		\
									\
	if (!IS_ERR(disk_))						\
		blk_queue_max_hw_sectors(disk_->queue, max_sectors);	\
	disk_;								\
})

/* The setters one by one: the caller freezes the queue if it is live. */
static inline int aloop_apply_limits(struct request_queue *q,
				     const struct aloop_limits *l)
{
	blk_queue_logical_block_size(q, l->bsize);
	blk_queue_physical_block_size(q, l->bsize);
	blk_queue_io_min(q, l->bsize);
	blk_queue_max_write_zeroes_sectors(q, l->max_zero_sectors);
	blk_queue_max_discard_sectors(q, l->max_discard_sectors);
	q->limits.discard_granularity = l->discard_granularity;
	blk_queue_write_cache(q, l->write_cache, false);
	if (l->rotational)
		blk_queue_flag_clear(QUEUE_FLAG_NONROT, q);
	else
		blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	return 0;
}

static inline void aloop_clear_zeroing(struct request_queue *q, bool discard)
{
	blk_queue_max_write_zeroes_sectors(q, 0);
	if (discard)
		blk_queue_max_discard_sectors(q, 0);
}

/* LOOP_SET_BLOCK_SIZE as stock 6.1 reads it: 0 is invalid too. */
static inline long aloop_block_size_arg(unsigned long arg)
{
	return blk_validate_block_size(arg) ?: arg;
}
#endif

#endif /* ALOOP_COMPAT_H */
