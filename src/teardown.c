// SPDX-License-Identifier: GPL-2.0
/*
 * asyncloop teardown: detaching the backing file from a loop device.
 *
 * Why this file exists
 * --------------------
 * The stock driver tears an AUTOCLEAR device down inside ->release, which
 * the block layer calls with disk->open_mutex held.  Anything the teardown
 * waits for that itself needs a lock ordered after open_mutex closes a
 * cycle (syzbot 643e4ce4b6ad1347d372: I/O worker -> sb_writers of the
 * backing fs -> seq_file -> kernfs -> open_mutex).  Moving the teardown to a
 * workqueue (5.17-rc1) broke the other promise: close() and umount()
 * returned before the backing file was released, so unmounting the
 * filesystem holding the image failed with EBUSY.
 *
 * Here ->release only marks the device ALOOP_RUNDOWN and queues the rundown
 * with task_work_add() on the closing task.  The task runs it when it
 * returns to user mode (or in exit_task_work() when it exits): after the
 * block layer dropped open_mutex, but before close()/umount()/exit()
 * returns, so callers observe a synchronous detach.  Kernel threads and
 * tasks past exit_task_work() cannot run task work; for them the rundown
 * goes to a workqueue.  Both paths hold a module reference and a reference
 * on the disk's struct device from ->release until the rundown finished.
 *
 * State machine (lo->state, written under lo->lock)
 * -------------------------------------------------
 *
 *   UNBOUND --LOOP_CONFIGURE/LOOP_SET_FD/ALOOP_CTL_ATTACH--> BOUND
 *   BOUND --LOOP_CLR_FD/ALOOP_DETACH by the only opener--> RUNDOWN (rundown
 *         runs inline)
 *   BOUND --LOOP_CLR_FD with other openers--> BOUND + LO_FLAGS_AUTOCLEAR
 *   BOUND --ALOOP_DETACH with other openers--> BOUND (EBUSY)
 *   BOUND --last close with LO_FLAGS_AUTOCLEAR--> RUNDOWN (rundown deferred)
 *   RUNDOWN --rundown finished--> UNBOUND (lo->state_wait woken)
 *   UNBOUND --LOOP_CTL_REMOVE without openers, or rmmod--> DELETING (final)
 *
 * Only the task that moved a device to RUNDOWN runs its rundown.  It holds
 * lo->lock while aloop_unbind() takes the binding apart and again to
 * publish the final state; ioctls in between see RUNDOWN.  ->open fails
 * with ENXIO in RUNDOWN and DELETING (aloop_open()).  While a
 * device is in RUNDOWN, LOOP_CONFIGURE/LOOP_SET_FD and LOOP_CTL_GET_FREE wait
 * (killable) for it to finish instead of failing or allocating a new device.
 *
 * Lock order (outer first)
 * ------------------------
 *
 *   a claim of the loop bdev    configure, SET_STATUS, SET_BLOCK_SIZE:
 *                               bd_prepare_to_claim() waits for another
 *                               claim; taken with no lock held
 *   disk->open_mutex            block layer; held around ->open and
 *                               ->release, and taken by LOOP_CLR_FD
 *     aloop_validate_mutex      LOOP_CLR_FD, and configure/change_fd when
 *                               the new backing file is a loop device
 *       lo->lock                state and configuration of one device
 *         aloop_bindings_lock   every bound device (binding.c)
 *           lo->backing_lock    backing file pointer vs. sysfs readers
 *         lo->work_lock         workers and their lists (worker.c), also
 *                               taken from queue_rq
 *         q->limits_lock        block layer (6.11+), aloop_apply_limits()
 *
 *   aloop_ctl_mutex (device.c) guards the index and is never held together
 *   with any of the locks above.
 *
 * Rules that keep the graph acyclic:
 *  - disk->open_mutex is never taken with lo->lock or aloop_validate_mutex
 *    held (partition rescans happen after both are dropped);
 *  - the rundown starts with no lock held, and it never flushes or
 *    destroys a workqueue: it waits for the device's own in-flight counter
 *    (io.c), which I/O completion decrements without taking any lock;
 *  - the backing file is released (fput) after every lock was dropped,
 *    because its final __fput may take locks of the backing filesystem.
 */

#include <linux/atomic.h>
#include <linux/file.h>
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/sched.h>

#include "aloop.h"

/* serialises walks of stacked loop devices with their unbinding */
DEFINE_MUTEX(aloop_validate_mutex);

static struct workqueue_struct *aloop_rundown_wq;
static atomic_t aloop_rundowns_pending = ATOMIC_INIT(0);

/**
 * aloop_lock() - take lo->lock, and aloop_validate_mutex first if @global
 * @lo: the device
 * @global: the operation may walk or change a chain of stacked loop devices
 *
 * Return: 0, or -EINTR if a fatal signal arrived while waiting.
 */
int aloop_lock(struct aloop_device *lo, bool global)
{
	int err;

	if (global) {
		err = mutex_lock_killable(&aloop_validate_mutex);
		if (err)
			return err;
	}
	err = mutex_lock_killable(&lo->lock);
	if (err && global)
		mutex_unlock(&aloop_validate_mutex);
	return err;
}

void aloop_unlock(struct aloop_device *lo, bool global)
{
	mutex_unlock(&lo->lock);
	if (global)
		mutex_unlock(&aloop_validate_mutex);
}

/**
 * aloop_wait_rundown() - wait until a pending rundown of @lo finished
 * @lo: the device; the caller keeps it alive
 *
 * Return: 0, or -EINTR if a fatal signal arrived while waiting.
 */
int aloop_wait_rundown(struct aloop_device *lo)
{
	return wait_event_killable(lo->state_wait,
				   READ_ONCE(lo->state) != ALOOP_RUNDOWN);
}

/**
 * aloop_lock_unbound() - aloop_lock(), waiting out a rundown in progress
 * @lo: the device
 * @global: as for aloop_lock()
 *
 * A device in rundown is about to be free: binding it waits instead of
 * failing with EBUSY.
 *
 * Return: 0 with the locks held and @lo not in RUNDOWN, or -EINTR.
 */
int aloop_lock_unbound(struct aloop_device *lo, bool global)
{
	int err;

	for (;;) {
		err = aloop_lock(lo, global);
		if (err)
			return err;
		if (lo->state != ALOOP_RUNDOWN)
			return 0;
		aloop_unlock(lo, global);
		err = aloop_wait_rundown(lo);
		if (err)
			return err;
	}
}

int aloop_pending_rundowns(void)
{
	return atomic_read(&aloop_rundowns_pending);
}

/*
 * Detach the backing file of a device in RUNDOWN.  The caller moved the
 * device to RUNDOWN and holds no lock.
 */
static void aloop_rundown(struct aloop_device *lo)
{
	struct file *file;
	bool partscan;

	might_sleep();
	lockdep_assert_not_held(&lo->lock);
	lockdep_assert_not_held(&lo->disk->open_mutex);
	WARN_ON_ONCE(READ_ONCE(lo->state) != ALOOP_RUNDOWN);

	/* new requests fail from now on; wait for those already admitted */
	aloop_io_drain(lo);

	mutex_lock(&lo->lock);
	file = aloop_unbind(lo);
	partscan = lo->flags & LO_FLAGS_PARTSCAN;
	mutex_unlock(&lo->lock);

	kobject_uevent(&aloop_dev(lo)->kobj, KOBJ_CHANGE);
	aloop_force_media_change(lo->disk);
	if (partscan)
		aloop_rescan_partitions(lo);
	if (!aloop_part_shift)
		set_bit(GD_SUPPRESS_PART_SCAN, &lo->disk->state);

	mutex_lock(&lo->lock);
	WRITE_ONCE(lo->flags, 0);
	aloop_set_state(lo, ALOOP_UNBOUND);
	mutex_unlock(&lo->lock);
	wake_up_all(&lo->state_wait);

	aloop_put_binding(file);
}

/*
 * End of a deferred rundown: drop what aloop_defer_rundown() took.  The
 * module reference goes last, as a tail call: once module_put() runs, no
 * instruction of this module executes again (objdump shows "jmp
 * module_put" in both callers on Debian's kernels, which build without
 * frame pointers), so rmmod cannot free the code under us.
 */
static void aloop_deferred_rundown(struct aloop_device *lo)
{
	aloop_rundown(lo);
	atomic_dec(&aloop_rundowns_pending);
	put_device(aloop_dev(lo));	/* may free @lo */
	module_put(THIS_MODULE);
}

static void aloop_rundown_task_work(struct callback_head *head)
{
	aloop_deferred_rundown(container_of(head, struct aloop_device,
					    rundown_twork));
}

static void aloop_rundown_workfn(struct work_struct *work)
{
	aloop_deferred_rundown(container_of(work, struct aloop_device,
					    rundown_work));
}

/*
 * Called from ->release: the block layer holds disk->open_mutex, a module
 * reference and a device reference, and drops all three right after we
 * return.  Take our own before that, then queue the rundown.
 */
static void aloop_defer_rundown(struct aloop_device *lo)
{
	__module_get(THIS_MODULE);
	get_device(aloop_dev(lo));
	atomic_inc(&aloop_rundowns_pending);

	if (!READ_ONCE(aloop_rundown_wq_forced) &&
	    !(current->flags & PF_KTHREAD)) {
		init_task_work(&lo->rundown_twork, aloop_rundown_task_work);
		if (!task_work_add(current, &lo->rundown_twork, TWA_RESUME))
			return;
		/* -ESRCH: the task is past exit_task_work() */
	}
	queue_work(aloop_rundown_wq, &lo->rundown_work);
}

/**
 * aloop_do_detach() - LOOP_CLR_FD, ALOOP_DETACH, and undoing an attach
 * @lo: the device
 * @how: ALOOP_DETACH_LAZY (LOOP_CLR_FD), ALOOP_DETACH_SYNC (ALOOP_DETACH)
 *	or ALOOP_DETACH_UNDO (ALOOP_CTL_ATTACH failed after binding)
 * @gen: UNDO only: the binding generation to take back.  Once the
 *	attach dropped the device's lock, another task may have detached
 *	its binding and bound a new one, which is not the attach's to undo.
 *
 * Without openers besides the caller's own descriptor (none for UNDO) the
 * device is detached before the call returns.  With others, LAZY and UNDO
 * set AUTOCLEAR, so that the last close runs the rundown (LOOP_CLR_FD as
 * in stock 6.1), and SYNC refuses.  UNDO cannot be interrupted: the
 * binding it takes back must not outlive a caller that is being killed.
 *
 * Return: 0, -ENXIO if not bound (UNDO: not bound to @gen), -EBUSY (SYNC
 * only), -EINTR on a fatal signal (not UNDO).
 */
static int aloop_do_detach(struct aloop_device *lo,
			   enum aloop_detach_how how, unsigned long gen)
{
	struct mutex *open_mutex = &lo->disk->open_mutex;
	unsigned int own = how == ALOOP_DETACH_UNDO ? 0 : 1;
	int err;

	/*
	 * The caller's descriptor stays open, so no last close writes back
	 * what it left in the device's page cache: do it now, while I/O is
	 * still admitted, and before open_mutex (writeback needs the
	 * workers, which must never be waited for under it).
	 */
	if (own)
		sync_blockdev(lo->disk->part0);
	/*
	 * open_mutex keeps the opener count stable until the state says
	 * RUNDOWN, from when aloop_open() refuses newcomers: the only opener
	 * stays the only one.  aloop_validate_mutex makes a concurrent
	 * configure that found this device as its backing file see the
	 * state change.
	 */
	if (how == ALOOP_DETACH_UNDO) {
		mutex_lock(open_mutex);
		mutex_lock(&aloop_validate_mutex);
		mutex_lock(&lo->lock);
	} else {
		err = mutex_lock_killable(open_mutex);
		if (err)
			return err;
		err = aloop_lock(lo, true);
		if (err)
			goto out_open;
	}
	err = -ENXIO;
	if (lo->state != ALOOP_BOUND ||
	    (how == ALOOP_DETACH_UNDO && lo->binding_gen != gen))
		goto out_unlock;
	err = 0;
	if (disk_openers(lo->disk) > own) {
		if (how == ALOOP_DETACH_SYNC)
			err = -EBUSY;
		else
			WRITE_ONCE(lo->flags, lo->flags | LO_FLAGS_AUTOCLEAR);
		goto out_unlock;
	}
	aloop_set_state(lo, ALOOP_RUNDOWN);
	aloop_unlock(lo, true);
	mutex_unlock(open_mutex);

	aloop_rundown(lo);
	return 0;

out_unlock:
	aloop_unlock(lo, true);
out_open:
	mutex_unlock(open_mutex);
	return err;
}

int aloop_detach(struct aloop_device *lo, enum aloop_detach_how how)
{
	WARN_ON_ONCE(how == ALOOP_DETACH_UNDO);
	return aloop_do_detach(lo, how, 0);
}

int aloop_undo_attach(struct aloop_device *lo, unsigned long gen)
{
	return aloop_do_detach(lo, ALOOP_DETACH_UNDO, gen);
}

/**
 * aloop_open() - block_device_operations.open
 * @disk: the loop disk
 *
 * Refuses openers while the device is being detached or deleted, as stock
 * does since 6.11: an opener such as udev's blkid would otherwise scan the
 * partitions of a device that is losing its backing file.  Runs under
 * disk->open_mutex, which the state change to RUNDOWN holds too.
 *
 * Return: 0, or -ENXIO during rundown or deletion.
 */
int aloop_open(struct gendisk *disk)
{
	struct aloop_device *lo = disk->private_data;
	enum aloop_state state;

	lockdep_assert_held(&disk->open_mutex);
	/* pairs with WRITE_ONCE() in aloop_set_state() */
	state = READ_ONCE(lo->state);
	return state == ALOOP_RUNDOWN || state == ALOOP_DELETING ? -ENXIO : 0;
}

/**
 * aloop_release() - block_device_operations.release
 * @disk: the loop disk
 *
 * Runs under disk->open_mutex: never tear down here, only mark and defer.
 */
void aloop_release(struct gendisk *disk)
{
	struct aloop_device *lo = disk->private_data;
	bool rundown = false;

	lockdep_assert_held(&disk->open_mutex);
	if (disk_openers(disk) > 0)
		return;

	mutex_lock(&lo->lock);
	if (lo->state == ALOOP_BOUND && (lo->flags & LO_FLAGS_AUTOCLEAR)) {
		aloop_set_state(lo, ALOOP_RUNDOWN);
		rundown = true;
	}
	mutex_unlock(&lo->lock);

	if (!rundown)
		return;
#ifdef ALOOP_NAIVE_TEARDOWN
	/*
	 * Test-only build (make lockdep-proof): wait for the I/O workers here,
	 * under disk->open_mutex, as the pre-5.17 driver did by destroying its
	 * workqueue in ->release.  Lockdep must report the cycle of syzbot
	 * 643e4ce4b6ad1347d372 (docs/teardown.md).
	 */
	aloop_io_flush_all();
#endif
	aloop_defer_rundown(lo);
}

void aloop_teardown_init_device(struct aloop_device *lo)
{
	init_waitqueue_head(&lo->state_wait);
	INIT_WORK(&lo->rundown_work, aloop_rundown_workfn);
}

int aloop_teardown_init(void)
{
	aloop_rundown_wq = alloc_workqueue("aloop_rundown", WQ_UNBOUND, 0);
	return aloop_rundown_wq ? 0 : -ENOMEM;
}

void aloop_teardown_exit(void)
{
	/* every pending rundown holds a module reference: none is left */
	destroy_workqueue(aloop_rundown_wq);
}
