// SPDX-License-Identifier: GPL-2.0
/*
 * asyncloop workers: which work item runs a request.
 *
 * Each device has one worker per blk-cgroup that submitted I/O to it, so
 * that a cgroup throttled on the backing disk (io.max) or in its memory
 * controller only stalls its own requests: the worker of cgroup A sleeping
 * on a throttled page never holds up cgroup B.  Requests of the root
 * cgroup use lo->root_worker, which always exists.  A worker has two work
 * items: a small request that finds nothing else of its cgroup in flight
 * runs on the submitting CPU's (lwork, see ALOOP_LOCAL_MAX_INFLIGHT), the
 * others on an unbound one (work).
 *
 * Workers live as long as the device, not the binding: the rundown waits
 * only for the device's in-flight requests (io.c) and never flushes or
 * frees a worker.  A cgroup worker without requests for ALOOP_IDLE_TIMEOUT
 * is freed by
 * lo->reap_work, a delayed work item that runs with no lock held; the
 * remaining ones go with the disk (aloop_workers_stop_device()).  Neither
 * runs under disk->open_mutex or any lock a worker may need, which is
 * where the stock driver's per-cgroup workers closed the lock cycle of
 * syzbot 643e4ce4b6ad1347d372.
 *
 * Locking: lo->work_lock (irq-safe; queue_rq takes it) guards lo->workers,
 * lo->idle_workers and every worker's lists, idle_node and idle_since.
 * A worker's inflight counts its requests from dispatch to completion;
 * the reaper frees only a worker that is out of the tree (so nothing
 * dispatches to it) with inflight at zero, and the completion's decrement
 * is its last access to the worker.
 */

#include <linux/cgroup.h>
#include <linux/rbtree.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "aloop.h"

static struct workqueue_struct *aloop_io_wq;
static struct workqueue_struct *aloop_io_local_wq;

/*
 * A small request that finds nothing else of its cgroup in flight on the
 * device goes to the worker's work item on the submitting CPU: its
 * submitter is about to sleep waiting for it, so
 * the hand-off is a context switch on one CPU instead of waking another
 * (measured in one boot: 4k buffered reads from a tmpfs-backed device 3x,
 * attach + autoclear-detach cycles 2x).  Larger requests and deeper queues
 * go to the unbound workqueue, where copying overlaps with the submitter
 * (buffered 1M sequential reads lost a third when run on the local CPU).
 */
#define ALOOP_LOCAL_MAX_INFLIGHT	1
#define ALOOP_LOCAL_MAX_BYTES		(32 * 1024)

/* as the stock driver: a cgroup's worker goes after a minute without I/O */
#define ALOOP_IDLE_TIMEOUT		(60 * HZ)

static bool aloop_worker_in_tree(struct aloop_worker *w)
{
	return !RB_EMPTY_NODE(&w->node);
}

/* A work item of @w found its list empty: maybe start its idle period. */
static void aloop_worker_idle(struct aloop_device *lo, struct aloop_worker *w)
{
	lockdep_assert_held(&lo->work_lock);
	/* the root worker, and one being reaped, never idle out */
	if (!aloop_worker_in_tree(w) || !list_empty(&w->cmds) ||
	    !list_empty(&w->lcmds))
		return;
	w->idle_since = jiffies;
	list_move_tail(&w->idle_node, &lo->idle_workers);
	if (!delayed_work_pending(&lo->reap_work))
		queue_delayed_work(aloop_system_wq, &lo->reap_work,
				   ALOOP_IDLE_TIMEOUT);
}

static void aloop_worker_run(struct aloop_device *lo, struct aloop_worker *w,
			     struct list_head *list)
{
	unsigned int old_flags = current->flags & PF_LOCAL_THROTTLE;
	unsigned int noio = memalloc_noio_save();
	struct aloop_cmd *cmd, *next;
	struct blk_plug plug;
	LIST_HEAD(batch);

	/* writeback throttling of the backing fs must not stall the device */
	current->flags |= PF_LOCAL_THROTTLE;
	for (;;) {
		spin_lock_irq(&lo->work_lock);
		list_splice_init(list, &batch);
		if (list_empty(&batch))
			aloop_worker_idle(lo, w);
		spin_unlock_irq(&lo->work_lock);
		/* the reaper frees @w only after cancel_work_sync() of this */
		if (list_empty(&batch))
			break;
		/* one virtqueue kick (or the like) per batch, not per request */
		blk_start_plug(&plug);
		list_for_each_entry_safe(cmd, next, &batch, node) {
			list_del(&cmd->node);
			aloop_handle_cmd(lo, cmd);
			cond_resched();
		}
		blk_finish_plug(&plug);
	}
	current->flags = (current->flags & ~PF_LOCAL_THROTTLE) | old_flags;
	memalloc_noio_restore(noio);
}

static void aloop_worker_workfn(struct work_struct *work)
{
	struct aloop_worker *w = container_of(work, struct aloop_worker, work);

	aloop_worker_run(w->lo, w, &w->cmds);
}

static void aloop_worker_local_workfn(struct work_struct *work)
{
	struct aloop_worker *w = container_of(work, struct aloop_worker, lwork);

	aloop_worker_run(w->lo, w, &w->lcmds);
}

static void aloop_worker_init(struct aloop_device *lo, struct aloop_worker *w,
			      struct cgroup_subsys_state *blkcg_css)
{
	w->lo = lo;
	w->blkcg_css = blkcg_css;
	atomic_set(&w->inflight, 0);
	INIT_WORK(&w->work, aloop_worker_workfn);
	INIT_LIST_HEAD(&w->cmds);
	INIT_WORK(&w->lwork, aloop_worker_local_workfn);
	INIT_LIST_HEAD(&w->lcmds);
	INIT_LIST_HEAD(&w->idle_node);
	RB_CLEAR_NODE(&w->node);
}

static struct aloop_worker *aloop_worker_find(struct aloop_device *lo,
					      struct cgroup_subsys_state *css,
					      struct rb_node ***link,
					      struct rb_node **parent)
{
	struct rb_node **p = &lo->workers.rb_node;

	lockdep_assert_held(&lo->work_lock);
	*parent = NULL;
	while (*p) {
		struct aloop_worker *w = rb_entry(*p, struct aloop_worker,
						  node);

		if (css == w->blkcg_css)
			return w;
		*parent = *p;
		p = css < w->blkcg_css ? &(*p)->rb_left : &(*p)->rb_right;
	}
	*link = p;
	return NULL;
}

/*
 * The worker of @css on @lo, created if needed.  Called from queue_rq,
 * which must not sleep: when the allocation fails, the request goes to the
 * root worker (isolation is lost for it, the request is not).
 */
static struct aloop_worker *aloop_worker_get(struct aloop_device *lo,
					     struct cgroup_subsys_state *css)
{
	struct aloop_worker *w, *new;
	struct rb_node **link, *parent;

	lockdep_assert_held(&lo->work_lock);
	if (!css)
		return &lo->root_worker;
	w = aloop_worker_find(lo, css, &link, &parent);
	if (w)
		return w;

	new = kzalloc(sizeof(*new), GFP_NOWAIT | __GFP_NOWARN);
	if (!new)
		return &lo->root_worker;
	css_get(css);
	aloop_worker_init(lo, new, css);
	rb_link_node(&new->node, parent, link);
	rb_insert_color(&new->node, &lo->workers);
	return new;
}

/**
 * aloop_worker_queue() - hand an admitted request to a worker (from queue_rq)
 * @lo: the device
 * @cmd: the request's data, with blkcg_css set
 * @rq: the request
 */
void aloop_worker_queue(struct aloop_device *lo, struct aloop_cmd *cmd,
			struct request *rq)
{
	struct aloop_worker *w;
	unsigned long flags;
	bool local;

	spin_lock_irqsave(&lo->work_lock, flags);
	w = aloop_worker_get(lo, cmd->blkcg_css);
	cmd->worker = w;
	local = atomic_inc_return(&w->inflight) <= ALOOP_LOCAL_MAX_INFLIGHT &&
		blk_rq_bytes(rq) <= ALOOP_LOCAL_MAX_BYTES;
	list_add_tail(&cmd->node, local ? &w->lcmds : &w->cmds);
	list_del_init(&w->idle_node);
	if (local)
		queue_work(aloop_io_local_wq, &w->lwork);
	else
		queue_work(aloop_io_wq, &w->work);
	spin_unlock_irqrestore(&lo->work_lock, flags);
}

/**
 * aloop_worker_done() - a request of @cmd's worker completed (or requeued)
 * @cmd: the request's data
 *
 * Called before the request ends.  The worker may be freed right after.
 */
void aloop_worker_done(struct aloop_cmd *cmd)
{
	atomic_dec(&cmd->worker->inflight);
}

static void aloop_worker_free(struct aloop_worker *w)
{
	/* out of the tree and without requests: nothing queues it any more */
	cancel_work_sync(&w->work);
	cancel_work_sync(&w->lwork);
	WARN_ON_ONCE(!list_empty(&w->cmds) || !list_empty(&w->lcmds) ||
		     atomic_read(&w->inflight));
	css_put(w->blkcg_css);
	kfree(w);
}

/* Take @w out of the tree and the idle list onto @list (to be freed). */
static void aloop_worker_unlink(struct aloop_device *lo, struct aloop_worker *w,
				struct list_head *list)
{
	lockdep_assert_held(&lo->work_lock);
	rb_erase(&w->node, &lo->workers);
	RB_CLEAR_NODE(&w->node);
	list_move_tail(&w->idle_node, list);
}

static void aloop_reap_workfn(struct work_struct *work)
{
	struct aloop_device *lo = container_of(to_delayed_work(work),
					       struct aloop_device, reap_work);
	unsigned long next_expiry = 0;
	struct aloop_worker *w, *next;
	LIST_HEAD(dead);

	spin_lock_irq(&lo->work_lock);
	list_for_each_entry_safe(w, next, &lo->idle_workers, idle_node) {
		unsigned long expiry = w->idle_since + ALOOP_IDLE_TIMEOUT;

		/* direct I/O still in flight: idle only from its completion */
		if (atomic_read(&w->inflight)) {
			w->idle_since = jiffies;
			expiry = w->idle_since + ALOOP_IDLE_TIMEOUT;
		}
		if (time_before(jiffies, expiry)) {
			if (!next_expiry || time_before(expiry, next_expiry))
				next_expiry = expiry;
			continue;
		}
		aloop_worker_unlink(lo, w, &dead);
	}
	if (next_expiry)
		queue_delayed_work(aloop_system_wq, &lo->reap_work,
				   next_expiry - jiffies);
	spin_unlock_irq(&lo->work_lock);

	list_for_each_entry_safe(w, next, &dead, idle_node)
		aloop_worker_free(w);
}

void aloop_workers_init_device(struct aloop_device *lo)
{
	spin_lock_init(&lo->work_lock);
	lo->workers = RB_ROOT;
	INIT_LIST_HEAD(&lo->idle_workers);
	INIT_DELAYED_WORK(&lo->reap_work, aloop_reap_workfn);
	aloop_worker_init(lo, &lo->root_worker, NULL);
}

/* The queue is dead and no request is left: free every worker. */
void aloop_workers_stop_device(struct aloop_device *lo)
{
	struct aloop_worker *w, *next;
	struct rb_node *node;
	LIST_HEAD(dead);

	spin_lock_irq(&lo->work_lock);
	while ((node = rb_first(&lo->workers)))
		aloop_worker_unlink(lo, rb_entry(node, struct aloop_worker,
						 node), &dead);
	spin_unlock_irq(&lo->work_lock);

	/* unlinked workers no longer arm the reaper */
	cancel_delayed_work_sync(&lo->reap_work);
	list_for_each_entry_safe(w, next, &dead, idle_node)
		aloop_worker_free(w);
	flush_work(&lo->root_worker.work);
	flush_work(&lo->root_worker.lwork);
}

#ifdef ALOOP_NAIVE_TEARDOWN
void aloop_io_flush_all(void)
{
	flush_workqueue(aloop_io_wq);
	flush_workqueue(aloop_io_local_wq);
}
#endif

int aloop_workers_init(void)
{
	/*
	 * WQ_MEM_RECLAIM: a loop device may back swap or dirty page
	 * writeback, so its requests must make progress under memory
	 * pressure.  WQ_FREEZABLE: no backing file I/O across suspend.
	 */
	aloop_io_wq = alloc_workqueue("aloop_io", WQ_UNBOUND | WQ_FREEZABLE |
				      WQ_MEM_RECLAIM, 0);
	if (!aloop_io_wq)
		return -ENOMEM;
	aloop_io_local_wq = alloc_workqueue("aloop_iol", ALOOP_WQ_PERCPU |
					    WQ_FREEZABLE | WQ_MEM_RECLAIM, 0);
	if (!aloop_io_local_wq) {
		destroy_workqueue(aloop_io_wq);
		return -ENOMEM;
	}
	return 0;
}

void aloop_workers_exit(void)
{
	destroy_workqueue(aloop_io_local_wq);
	destroy_workqueue(aloop_io_wq);
}
