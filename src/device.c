// SPDX-License-Identifier: GPL-2.0
/*
 * asyncloop device lifetime: creating and deleting /dev/loopN, the index of
 * devices, and finding a free one.
 *
 * A device lives as long as its gendisk: ->free_disk frees it when the last
 * reference to the disk's struct device is gone.  aloop_ctl_mutex guards the
 * index and the "visible" flag that hides a device being deleted; lock
 * order: teardown.c.
 *
 * The index is an xarray whose ALOOP_FREE mark is kept equal to "state is
 * UNBOUND or RUNDOWN" by aloop_set_state(), so LOOP_CTL_GET_FREE finds the
 * lowest free device in O(log n) however many devices are bound.
 */

#include <linux/xarray.h>
#include <linux/major.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "aloop.h"

#define ALOOP_FREE	XA_MARK_1	/* XA_MARK_0 tracks unused slots */
/* request size cap: the block layer's historic default, as in stock */
#define ALOOP_MAX_SECTORS	2560u

static DEFINE_XARRAY_ALLOC(aloop_devices);
static DEFINE_MUTEX(aloop_ctl_mutex);

/**
 * aloop_set_state() - the one place a device changes state
 * @lo: the device, lo->lock held
 * @state: the new state
 *
 * Keeps the ALOOP_FREE mark of the index in step with the state.
 */
void aloop_set_state(struct aloop_device *lo, enum aloop_state state)
{
	lockdep_assert_held(&lo->lock);
	WRITE_ONCE(lo->state, state);
	if (state == ALOOP_UNBOUND || state == ALOOP_RUNDOWN)
		xa_set_mark(&aloop_devices, lo->index, ALOOP_FREE);
	else
		xa_clear_mark(&aloop_devices, lo->index, ALOOP_FREE);
}

static void aloop_free_disk(struct gendisk *disk)
{
	struct aloop_device *lo = disk->private_data;

	aloop_workers_stop_device(lo);
	mutex_destroy(&lo->lock);
	kfree(lo);
}

ALOOP_DEFINE_BLOCK_OPS(aloop_open, aloop_release)

static const struct block_device_operations aloop_fops = {
	.owner		= THIS_MODULE,
	.open		= aloop_open_compat,
	.release	= aloop_release_compat,
	.ioctl		= aloop_ioctl,
#ifdef CONFIG_COMPAT
	.compat_ioctl	= aloop_compat_ioctl,
#endif
	.free_disk	= aloop_free_disk,
};

static int aloop_alloc_index(struct aloop_device *lo, int index)
{
	int err;

	err = mutex_lock_killable(&aloop_ctl_mutex);
	if (err)
		return err;
	if (index >= 0) {
		err = xa_insert(&aloop_devices, index, lo, GFP_KERNEL);
		if (err == -EBUSY)
			err = -EEXIST;
	} else {
		u32 id;

		err = xa_alloc(&aloop_devices, &id, lo, xa_limit_31b, GFP_KERNEL);
		index = id;
	}
	/*
	 * A new device is UNBOUND: mark it free now, not after add_disk(),
	 * when an opener may already have bound it.  GET_FREE skips it until
	 * it is visible.
	 */
	if (!err)
		xa_set_mark(&aloop_devices, index, ALOOP_FREE);
	mutex_unlock(&aloop_ctl_mutex);
	return err ? err : index;
}

static void aloop_free_index(int index)
{
	mutex_lock(&aloop_ctl_mutex);
	xa_erase(&aloop_devices, index);
	mutex_unlock(&aloop_ctl_mutex);
}

static void aloop_set_visible(struct aloop_device *lo, bool visible)
{
	mutex_lock(&aloop_ctl_mutex);
	lo->visible = visible;
	mutex_unlock(&aloop_ctl_mutex);
}

/**
 * aloop_add() - create /dev/loop@index
 * @index: the wanted index, or -1 for the lowest free one
 *
 * Return: the index, -EEXIST if @index is taken, or another -errno.
 */
int aloop_add(int index)
{
	struct aloop_device *lo;
	struct gendisk *disk;
	int err;

	lo = kzalloc(sizeof(*lo), GFP_KERNEL);
	if (!lo)
		return -ENOMEM;
	mutex_init(&lo->lock);
	spin_lock_init(&lo->backing_lock);
	INIT_LIST_HEAD(&lo->binding_node);
	lo->state = ALOOP_UNBOUND;
	aloop_io_init_device(lo);
	aloop_teardown_init_device(lo);

	err = aloop_alloc_index(lo, index);
	if (err < 0)
		goto out_free;
	lo->index = err;

	lo->tag_set.ops = &aloop_mq_ops;
	lo->tag_set.nr_hw_queues = 1;
	lo->tag_set.queue_depth = aloop_hw_queue_depth;
	lo->tag_set.numa_node = NUMA_NO_NODE;
	lo->tag_set.cmd_size = sizeof(struct aloop_cmd);
	/* not BLOCKING: queue_rq only hands requests to a worker (io.c) */
	lo->tag_set.flags = ALOOP_MQ_F_MERGE | BLK_MQ_F_STACKING |
			    BLK_MQ_F_NO_SCHED_BY_DEFAULT;
	lo->tag_set.driver_data = lo;
	err = blk_mq_alloc_tag_set(&lo->tag_set);
	if (err)
		goto out_index;

	disk = ALOOP_ALLOC_DISK(&lo->tag_set, ALOOP_MAX_SECTORS, lo);
	if (IS_ERR(disk)) {
		err = PTR_ERR(disk);
		goto out_tags;
	}
	lo->disk = disk;

	/*
	 * Partitions are scanned only for devices bound with PARTSCAN, unless
	 * max_part asked for it globally; minors are then spaced by max_part.
	 */
	if (!aloop_part_shift)
		set_bit(GD_SUPPRESS_PART_SCAN, &disk->state);
	disk->major = LOOP_MAJOR;
	disk->first_minor = lo->index << aloop_part_shift;
	disk->minors = 1 << aloop_part_shift;
	disk->fops = &aloop_fops;
	disk->private_data = lo;
	disk->events = DISK_EVENT_MEDIA_CHANGE;
	disk->event_flags = DISK_EVENT_FLAG_UEVENT;
	snprintf(disk->disk_name, sizeof(disk->disk_name), "loop%d",
		 lo->index);

	err = add_disk(disk);
	if (err)
		goto out_disk;

	aloop_set_visible(lo, true);
	return lo->index;

out_disk:
	/* never added: ->free_disk is not called, @lo is freed below */
	put_disk(disk);
out_tags:
	blk_mq_free_tag_set(&lo->tag_set);
out_index:
	aloop_free_index(lo->index);
out_free:
	mutex_destroy(&lo->lock);
	kfree(lo);
	return err;
}

/* Delete a device that is DELETING and hidden from the index. */
static void aloop_delete(struct aloop_device *lo)
{
	del_gendisk(lo->disk);
	blk_mq_free_tag_set(&lo->tag_set);
	aloop_free_index(lo->index);
	put_disk(lo->disk);
}

/**
 * aloop_remove_index() - LOOP_CTL_REMOVE
 * @index: device to delete
 *
 * Return: 0; -EINVAL for a negative index, -ENODEV if there is no such
 * device, -EBUSY if it is bound, in rundown or open.
 */
int aloop_remove_index(int index)
{
	struct aloop_device *lo;
	int err;

	if (index < 0) {
		pr_warn_once("deleting an unspecified loop device is not supported\n");
		return -EINVAL;
	}

	/* hide the device so that a concurrent remove or get_free skips it */
	err = mutex_lock_killable(&aloop_ctl_mutex);
	if (err)
		return err;
	lo = xa_load(&aloop_devices, index);
	if (!lo || !lo->visible)
		err = -ENODEV;
	else
		lo->visible = false;
	mutex_unlock(&aloop_ctl_mutex);
	if (err)
		return err;

	err = mutex_lock_killable(&lo->lock);
	if (err)
		goto out_show;
	if (lo->state != ALOOP_UNBOUND || disk_openers(lo->disk) > 0) {
		mutex_unlock(&lo->lock);
		err = -EBUSY;
		goto out_show;
	}
	aloop_set_state(lo, ALOOP_DELETING);
	mutex_unlock(&lo->lock);

	aloop_delete(lo);
	return 0;

out_show:
	aloop_set_visible(lo, true);
	return err;
}

/**
 * aloop_get_device() - look up device @index and take a reference
 * @index: the device number
 *
 * Return: the device, to be released with aloop_put_device(), or
 * ERR_PTR(-ENODEV) if there is no such device or it is being deleted.
 */
struct aloop_device *aloop_get_device(int index)
{
	struct aloop_device *lo;

	if (index < 0)
		return ERR_PTR(-ENODEV);
	mutex_lock(&aloop_ctl_mutex);
	lo = xa_load(&aloop_devices, index);
	if (lo && lo->visible)
		get_device(aloop_dev(lo));
	else
		lo = ERR_PTR(-ENODEV);
	mutex_unlock(&aloop_ctl_mutex);
	return lo;
}

void aloop_put_device(struct aloop_device *lo)
{
	put_device(aloop_dev(lo));
}

/**
 * aloop_find_free() - the device LOOP_CTL_GET_FREE and ALOOP_CTL_ATTACH use
 *
 * The lowest-numbered device that is unbound, exactly as if every rundown
 * were synchronous: a device in rundown is about to be unbound, so wait for
 * it rather than skip it or create a new device.  Attach and
 * autoclear-detach churn then keeps reusing the same few devices.  The
 * answer is a hint: the caller rechecks the state under lo->lock.
 *
 * Return: the device, referenced (aloop_put_device()), or ERR_PTR(-errno).
 */
struct aloop_device *aloop_find_free(void)
{
	struct aloop_device *lo, *found;
	unsigned long id;
	int err;

	for (;;) {
		enum aloop_state state = ALOOP_UNBOUND;

		found = NULL;
		err = mutex_lock_killable(&aloop_ctl_mutex);
		if (err)
			return ERR_PTR(err);
		xa_for_each_marked(&aloop_devices, id, lo, ALOOP_FREE) {
			if (!lo->visible)
				continue;
			state = READ_ONCE(lo->state);
			if (state == ALOOP_UNBOUND || state == ALOOP_RUNDOWN) {
				found = lo;
				get_device(aloop_dev(found));
				break;
			}
		}
		mutex_unlock(&aloop_ctl_mutex);

		if (!found) {
			err = aloop_add(-1);
			return err < 0 ? ERR_PTR(err) : aloop_get_device(err);
		}
		if (state == ALOOP_UNBOUND)
			return found;
		err = aloop_wait_rundown(found);
		aloop_put_device(found);
		if (err)
			return ERR_PTR(err);
	}
}

/**
 * aloop_get_free() - LOOP_CTL_GET_FREE
 *
 * Return: the index of aloop_find_free()'s device, or -errno.
 */
int aloop_get_free(void)
{
	struct aloop_device *lo;
	int index;

	/* -ENODEV: the new device was removed before we saw it */
	do {
		lo = aloop_find_free();
	} while (lo == ERR_PTR(-ENODEV));
	if (IS_ERR(lo))
		return PTR_ERR(lo);
	index = lo->index;
	aloop_put_device(lo);
	return index;
}

/* Module unload: nobody can reach the index any more. */
void aloop_remove_all(void)
{
	struct aloop_device *lo;
	unsigned long id;

	xa_for_each(&aloop_devices, id, lo) {
		mutex_lock(&lo->lock);
		aloop_set_state(lo, ALOOP_DELETING);
		mutex_unlock(&lo->lock);
		aloop_delete(lo);
	}
	xa_destroy(&aloop_devices);
}

/**
 * aloop_rescan_partitions() - re-read the partition table of @lo
 * @lo: the device
 *
 * Takes disk->open_mutex: the caller must hold neither lo->lock nor
 * aloop_validate_mutex (lock order in teardown.c).
 */
void aloop_rescan_partitions(struct aloop_device *lo)
{
	int err;

	lockdep_assert_not_held(&lo->lock);
	lockdep_assert_not_held(&aloop_validate_mutex);

	mutex_lock(&lo->disk->open_mutex);
	err = bdev_disk_changed(lo->disk, false);
	mutex_unlock(&lo->disk->open_mutex);
	if (err)
		pr_warn("loop%d: partition scan failed: %d\n", lo->index, err);
}
