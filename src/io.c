// SPDX-License-Identifier: GPL-2.0
/*
 * asyncloop I/O path: block requests become reads, writes, fsyncs and
 * fallocates on the backing file.
 *
 * queue_rq admits the request (see aloop_io_get()) and hands it to a
 * worker (worker.c: one per cgroup, or the submitting CPU's for a small
 * request on an idle device).  A worker does buffered I/O synchronously
 * and ends the request itself, and submits direct I/O as an async kiocb
 * whose completion ends the request.
 *
 * Every request goes through a worker: the submitter may hold locks of an
 * upper filesystem, or be in reclaim, and the backing filesystem must not
 * be entered from there.  That keeps the queue non-blocking, i.e. without
 * a per-queue SRCU structure (0.4 KiB per possible CPU and device).
 *
 * lo->inflight counts admitted requests.  The rundown (teardown.c) first
 * makes the state leave ALOOP_BOUND, then waits for the counter to reach
 * zero; after that no request can touch the backing file.  This costs two
 * atomics per request instead of a queue freeze (an RCU grace period) per
 * detach.
 */

#include <linux/blk-cgroup.h>
#include <linux/falloc.h>
#include <linux/memcontrol.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/wait_bit.h>

#include "aloop.h"

static void aloop_complete_rq(struct request *rq);

static void aloop_io_put(struct aloop_device *lo)
{
	if (atomic_dec_and_test(&lo->inflight))
		wake_up_var(&lo->inflight);
}

/*
 * Admit a request if the device is bound.  The full barrier pairs with the
 * one in aloop_io_drain(): either the drainer sees our increment, or we see
 * the state it published.
 */
static bool aloop_io_get(struct aloop_device *lo)
{
	atomic_inc(&lo->inflight);
	/* order the increment before reading the state; see aloop_io_drain() */
	smp_mb__after_atomic();
	if (likely(READ_ONCE(lo->state) == ALOOP_BOUND))
		return true;
	aloop_io_put(lo);
	return false;
}

/**
 * aloop_io_drain() - wait until no admitted request is left
 * @lo: a device whose state already left ALOOP_BOUND
 */
void aloop_io_drain(struct aloop_device *lo)
{
	/* order the state change before reading the counter; see aloop_io_get() */
	smp_mb();
	wait_var_event(&lo->inflight, !atomic_read(&lo->inflight));
}

/*
 * Describe the data of @rq as a bvec iterator.  A single bio is used in
 * place; several bios need an array, freed at completion.
 */
static int aloop_rq_iter(struct aloop_cmd *cmd, struct request *rq,
			 unsigned int dir, struct iov_iter *iter)
{
	struct req_iterator rq_iter;
	struct bio_vec bv, *vec;
	unsigned int i = 0, nr = 0;

	rq_for_each_bvec(bv, rq, rq_iter)
		nr++;

	if (rq->bio == rq->biotail) {
		struct bio *bio = rq->bio;
		const struct bio_vec *first;

		first = __bvec_iter_bvec(bio->bi_io_vec, bio->bi_iter);
		iov_iter_bvec(iter, dir, first, nr, blk_rq_bytes(rq));
		/* a split bio may start inside its first bvec */
		iter->iov_offset = mp_bvec_iter_offset(bio->bi_io_vec,
						       bio->bi_iter) -
				   first->bv_offset;
		return 0;
	}

	vec = kmalloc_array(nr, sizeof(*vec), GFP_NOIO);
	if (!vec)
		return -ENOMEM;
	cmd->bvec = vec;
	rq_for_each_bvec(bv, rq, rq_iter)
		vec[i++] = bv;
	iov_iter_bvec(iter, dir, vec, nr, blk_rq_bytes(rq));
	return 0;
}

static void aloop_free_bvec(struct aloop_cmd *cmd)
{
	kfree(cmd->bvec);
	cmd->bvec = NULL;
}

static int aloop_rw_buffered(struct aloop_device *lo, struct aloop_cmd *cmd,
			     struct request *rq, loff_t pos)
{
	bool write = req_op(rq) == REQ_OP_WRITE;
	struct file *file = lo->backing;
	size_t len = blk_rq_bytes(rq);
	struct iov_iter iter;
	ssize_t done;
	int ret;

	ret = aloop_rq_iter(cmd, rq, write ? ITER_SOURCE : ITER_DEST, &iter);
	if (ret)
		return ret;

	if (write) {
		struct kiocb kiocb;

		/*
		 * ->write_iter under our own freeze protection: vfs_iter_write()
		 * takes it itself on 6.12 but not on 6.1, and taking it twice
		 * is a recursive sb_writers acquisition (lockdep, debug-6.12).
		 */
		init_sync_kiocb(&kiocb, file);
		kiocb.ki_pos = pos;
		file_start_write(file);
		done = file->f_op->write_iter(&kiocb, &iter);
		file_end_write(file);
		if (done != len) {
			pr_err_ratelimited("loop%d: write error at byte offset %llu, length %zu\n",
					   lo->index, kiocb.ki_pos, len);
			ret = done < 0 ? done : -EIO;
		}
	} else {
		done = vfs_iter_read(file, &iter, &pos, 0);
		if (done < 0) {
			ret = done;
		} else {
			struct req_iterator seg_iter;
			struct bio_vec bv;

			/* past the end of the file reads as zeroes */
			if (done < len)
				iov_iter_zero(len - done, &iter);
			rq_for_each_segment(bv, rq, seg_iter)
				flush_dcache_page(bv.bv_page);
		}
	}
	aloop_free_bvec(cmd);
	return ret;
}

/*
 * Called from the backing device's interrupt for direct reads, but from a
 * task for direct writes (the filesystem's completion worker) and for a
 * submission that failed at once.  Only the interrupt needs the detour
 * through the block softirq: from a task, raising it would wake ksoftirqd
 * for every request.
 */
static void aloop_aio_complete(struct kiocb *iocb, long ret)
{
	struct aloop_cmd *cmd = container_of(iocb, struct aloop_cmd, iocb);
	struct request *rq = blk_mq_rq_from_pdu(cmd);

	aloop_free_bvec(cmd);
	cmd->ret = ret;
	if (in_task())
		aloop_complete_rq(rq);
	else
		blk_mq_complete_request(rq);
}

/*
 * Submit direct I/O.  The request completes in aloop_aio_complete(), which
 * also takes care of a submission that failed at once.
 */
static int aloop_rw_aio(struct aloop_device *lo, struct aloop_cmd *cmd,
			struct request *rq, loff_t pos)
{
	bool write = req_op(rq) == REQ_OP_WRITE;
	struct file *file = lo->backing;
	struct iov_iter iter;
	ssize_t ret;

	ret = aloop_rq_iter(cmd, rq, write ? ITER_SOURCE : ITER_DEST, &iter);
	if (ret)
		return ret;

	cmd->iocb.ki_pos = pos;
	cmd->iocb.ki_filp = file;
	cmd->iocb.ki_complete = aloop_aio_complete;
	cmd->iocb.ki_flags = IOCB_DIRECT;
	cmd->iocb.ki_ioprio = req_get_ioprio(rq);

	if (write)
		ret = file->f_op->write_iter(&cmd->iocb, &iter);
	else
		ret = file->f_op->read_iter(&cmd->iocb, &iter);
	/* once queued, @cmd may already be completed and reused */
	if (ret != -EIOCBQUEUED)
		aloop_aio_complete(&cmd->iocb, ret);
	return 0;
}

static int aloop_fallocate(struct aloop_device *lo, struct request *rq,
			   loff_t pos, int mode)
{
	struct file *file = lo->backing;
	int ret;

	ret = -EOPNOTSUPP;
	if (file->f_op->fallocate)
		ret = file->f_op->fallocate(file, mode | FALLOC_FL_KEEP_SIZE,
					    pos, blk_rq_bytes(rq));
	if (ret == -EOPNOTSUPP) {
		/*
		 * The backing file cannot do this mode: stop advertising the
		 * operation so that the block layer falls back to writing
		 * zeroes (or drops discards) instead of failing request after
		 * request.  This first request still fails with its log line,
		 * one per device, as stock 6.10+ (blktests loop/011 counts it).
		 */
		aloop_clear_zeroing(lo->disk->queue,
				    mode & FALLOC_FL_PUNCH_HOLE);
	} else if (ret && ret != -EINVAL) {
		ret = -EIO;
	}
	return ret;
}

static int aloop_do_request(struct aloop_device *lo, struct aloop_cmd *cmd,
			    struct request *rq)
{
	loff_t pos = ((loff_t)blk_rq_pos(rq) << SECTOR_SHIFT) + lo->offset;
	int ret;

	switch (req_op(rq)) {
	case REQ_OP_FLUSH:
		ret = vfs_fsync(lo->backing, 0);
		return ret && ret != -EINVAL ? -EIO : ret;
	case REQ_OP_WRITE_ZEROES:
		return aloop_fallocate(lo, rq, pos,
				       (rq->cmd_flags & REQ_NOUNMAP) ?
				       FALLOC_FL_ZERO_RANGE :
				       FALLOC_FL_PUNCH_HOLE);
	case REQ_OP_DISCARD:
		return aloop_fallocate(lo, rq, pos, FALLOC_FL_PUNCH_HOLE);
	case REQ_OP_READ:
	case REQ_OP_WRITE:
		if (cmd->use_aio)
			return aloop_rw_aio(lo, cmd, rq, pos);
		return aloop_rw_buffered(lo, cmd, rq, pos);
	default:
		return -EIO;
	}
}

void aloop_handle_cmd(struct aloop_device *lo, struct aloop_cmd *cmd)
{
	struct cgroup_subsys_state *blkcg_css = cmd->blkcg_css;
	struct cgroup_subsys_state *memcg_css = cmd->memcg_css;
	struct request *rq = blk_mq_rq_from_pdu(cmd);
	struct mem_cgroup *old_memcg = NULL;
	bool use_aio = cmd->use_aio;
	int ret;

	if (op_is_write(req_op(rq)) && (lo->flags & LO_FLAGS_READ_ONLY)) {
		ret = -EIO;
		goto complete;
	}

	/* charge the I/O and page cache to the submitter's cgroups */
	if (blkcg_css)
		kthread_associate_blkcg(blkcg_css);
	if (memcg_css)
		old_memcg = set_active_memcg(mem_cgroup_from_css(memcg_css));

	/* an aio request may be completed (and @cmd reused) by now */
	ret = aloop_do_request(lo, cmd, rq);

	if (blkcg_css)
		kthread_associate_blkcg(NULL);
	if (memcg_css) {
		set_active_memcg(old_memcg);
		css_put(memcg_css);
	}
complete:
	if (!use_aio || ret) {
		cmd->ret = ret;
		/*
		 * Task context already: blk_mq_complete_request() would raise
		 * the block softirq, i.e. wake ksoftirqd for every request.
		 */
		aloop_complete_rq(rq);
	}
}

static void aloop_cmd_set_cgroup(struct aloop_cmd *cmd, struct request *rq)
{
	cmd->blkcg_css = NULL;
	cmd->memcg_css = NULL;
#ifdef CONFIG_BLK_CGROUP
	/* the root cgroup is what a kworker runs in anyway */
	if (!rq->bio || bio_blkcg_css(rq->bio) == blkcg_root_css)
		return;
	cmd->blkcg_css = bio_blkcg_css(rq->bio);
#ifdef CONFIG_MEMCG
	if (cmd->blkcg_css)
		cmd->memcg_css = cgroup_get_e_css(cmd->blkcg_css->cgroup,
						  &memory_cgrp_subsys);
#endif
#endif
}

static blk_status_t aloop_queue_rq(struct blk_mq_hw_ctx *hctx,
				   const struct blk_mq_queue_data *bd)
{
	struct request *rq = bd->rq;
	struct aloop_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct aloop_device *lo = rq->q->queuedata;
	sector_t capacity = get_capacity(lo->disk);

	blk_mq_start_request(rq);
	/*
	 * The block layer checks a partition's requests against the
	 * partition only, and BLKPG accepts partitions past the end of the
	 * disk: check the disk here, so that the backing position, offset +
	 * sector, stays within offset + size and cannot overflow a loff_t.
	 * A flush has no sectors (and no meaningful position).
	 */
	if (unlikely(blk_rq_sectors(rq) &&
		     (blk_rq_pos(rq) > capacity ||
		      blk_rq_sectors(rq) > capacity - blk_rq_pos(rq))))
		return BLK_STS_IOERR;
	if (!aloop_io_get(lo))
		return BLK_STS_IOERR;

	cmd->ret = 0;
	cmd->bvec = NULL;
	cmd->use_aio = lo->use_dio && (req_op(rq) == REQ_OP_READ ||
				       req_op(rq) == REQ_OP_WRITE);
	aloop_cmd_set_cgroup(cmd, rq);
	aloop_worker_queue(lo, cmd, rq);
	return BLK_STS_OK;
}

static void aloop_complete_rq(struct request *rq)
{
	struct aloop_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct aloop_device *lo = rq->q->queuedata;
	blk_status_t status = BLK_STS_OK;

	if (cmd->use_aio && req_op(rq) == REQ_OP_READ && cmd->ret >= 0 &&
	    cmd->ret < blk_rq_bytes(rq)) {
		/* short direct read: retry the rest, or fail if nothing came */
		if (cmd->ret > 0) {
			blk_update_request(rq, BLK_STS_OK, cmd->ret);
			aloop_worker_done(cmd);
			aloop_io_put(lo);
			blk_mq_requeue_request(rq, true);
			return;
		}
		status = BLK_STS_IOERR;
	} else if (cmd->ret < 0) {
		status = errno_to_blk_status(cmd->ret);
	}
	/* before ending: after it, the device may be freed under us */
	aloop_worker_done(cmd);
	aloop_io_put(lo);
	blk_mq_end_request(rq, status);
}

const struct blk_mq_ops aloop_mq_ops = {
	.queue_rq	= aloop_queue_rq,
	.complete	= aloop_complete_rq,
};

void aloop_io_init_device(struct aloop_device *lo)
{
	atomic_set(&lo->inflight, 0);
	aloop_workers_init_device(lo);
}
