// SPDX-License-Identifier: GPL-2.0
/*
 * asyncloop binding: what ties a backing file to a loop device.
 *
 * aloop_configure_locked() is the one path from UNBOUND to BOUND: it
 * validates a backing file and a struct loop_config (for LOOP_CONFIGURE,
 * LOOP_SET_FD and ALOOP_CTL_ATTACH alike) and binds them.
 *
 * aloop_bind() and aloop_unbind() are the one pair that sets up and takes
 * down everything a bound device holds: the backing file and its gfp mask,
 * the configuration, the queue limits, the read-only flag, the size, the
 * sysfs directory and the module reference.  Configure (config.c) and the
 * rundown (teardown.c) only sequence around them.  The queue limits of a
 * binding are computed in one place, aloop_limits_for(), and applied in one
 * update (atomic on kernels with the queue_limits API, see compat.h).
 */

#include <linux/file.h>
#include <linux/major.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/statfs.h>

#include "aloop.h"

/*
 * Every bound device, to find one backing file bound with direct I/O on
 * one device and buffered on another (see aloop_report_shared()).  A leaf
 * lock: taken under lo->lock, and it nests lo->backing_lock, so that a
 * device on the list always has its backing file.
 */
static LIST_HEAD(aloop_bindings);
static DEFINE_SPINLOCK(aloop_bindings_lock);

/**
 * aloop_file_sectors() - size in sectors of @file seen through a window
 * @file: the backing file
 * @offset: start of the window in the file
 * @sizelimit: length of the window, 0 for "to the end"
 */
sector_t aloop_file_sectors(struct file *file, loff_t offset, loff_t sizelimit)
{
	loff_t size = i_size_read(file->f_mapping->host);

	if (offset > 0)
		size -= offset;
	if (size < 0)
		return 0;
	if (sizelimit > 0 && sizelimit < size)
		size = sizelimit;
	return size >> SECTOR_SHIFT;
}

void aloop_set_size(struct aloop_device *lo, sector_t sectors)
{
	/* tell udev even when the size did not change */
	if (!set_capacity_and_notify(lo->disk, sectors))
		kobject_uevent(&aloop_dev(lo)->kobj, KOBJ_CHANGE);
}

/* The block device under @file, if there is one. */
static struct block_device *aloop_backing_bdev(struct file *file)
{
	struct inode *inode = file->f_mapping->host;

	if (S_ISBLK(inode->i_mode))
		return I_BDEV(inode);
	return inode->i_sb->s_bdev;
}

/**
 * aloop_default_block_size() - block size of a binding that asked for none
 * @file: the backing file
 * @dio: direct I/O is wanted
 *
 * Direct I/O needs at least the backing device's logical block size.
 */
unsigned int aloop_default_block_size(struct file *file, bool dio)
{
	struct block_device *bb = aloop_backing_bdev(file);

	return dio && bb ? bdev_logical_block_size(bb) : SECTOR_SIZE;
}

/*
 * Discard and write-zeroes map to fallocate() on the backing file, or to
 * the backing block device's zeroing.  A filesystem that lacks one of the
 * fallocate modes is found out on first use (io.c).
 */
static void aloop_limits_for(struct file *file, u32 flags, unsigned int bsize,
			     struct aloop_limits *l)
{
	struct inode *inode = file->f_mapping->host;
	struct block_device *bb = aloop_backing_bdev(file);
	u32 granularity = 0, max_sectors = 0;

	if (S_ISBLK(inode->i_mode)) {
		max_sectors = bdev_write_zeroes_sectors(bb);
		granularity = bdev_discard_granularity(bb) ?:
			      bdev_physical_block_size(bb);
	} else if (file->f_op->fallocate) {
		struct kstatfs sbuf;

		if (!vfs_statfs(&file->f_path, &sbuf)) {
			max_sectors = UINT_MAX >> SECTOR_SHIFT;
			granularity = sbuf.f_bsize;
		}
	}
	l->bsize = bsize;
	l->max_zero_sectors = max_sectors;
	l->max_discard_sectors = max_sectors;
	l->discard_granularity = max_sectors ? granularity : 0;
	l->write_cache = !(flags & LO_FLAGS_READ_ONLY) && file->f_op->fsync;
	/* tmpfs and friends have no block device: not rotational */
	l->rotational = bb && aloop_bdev_rotational(bb);
}

/**
 * aloop_update_limits() - recompute the queue limits of a bound device
 * @lo: the device, lo->lock held and the queue frozen
 * @bsize: the new block size
 *
 * Return: 0, or -EINVAL if the block layer refuses the limits (nothing
 * changed then).
 */
int aloop_update_limits(struct aloop_device *lo, unsigned int bsize)
{
	struct aloop_limits l;

	lockdep_assert_held(&lo->lock);
	aloop_limits_for(lo->backing, lo->flags, bsize, &l);
	return aloop_apply_limits(lo->disk->queue, &l);
}

/**
 * aloop_dio_possible() - can @file back a device with direct I/O
 * @file: the backing file
 * @offset: lo_offset of the binding
 * @bsize: the loop device's logical block size
 *
 * Direct I/O needs an O_DIRECT capable file, an offset aligned to the
 * backing logical block size and a loop block size at least that large.
 */
bool aloop_dio_possible(struct file *file, loff_t offset, unsigned int bsize)
{
	struct block_device *bb = aloop_backing_bdev(file);
	unsigned int bb_bsize;

	if (!(file->f_mode & FMODE_CAN_ODIRECT))
		return false;
	if (!bb)
		return true;
	bb_bsize = bdev_logical_block_size(bb);
	return bsize >= bb_bsize && !(offset & (bb_bsize - 1));
}

/*
 * A file bound buffered on one device and with direct I/O on another has
 * the first device's page cache in the second one's way: a direct write
 * that cannot invalidate it leaves stale data there, and the kernel only
 * says "Possible data corruption due to collision with buffered I/O" when
 * it happens, naming a kworker.  Name both devices when the mix arises.
 */
static void aloop_report_shared(struct aloop_device *lo)
{
	struct inode *inode = file_inode(lo->backing);
	struct aloop_device *other;
	int index = -1;

	lockdep_assert_held(&lo->lock);
	spin_lock(&aloop_bindings_lock);
	list_for_each_entry(other, &aloop_bindings, binding_node) {
		if (other != lo && file_inode(other->backing) == inode &&
		    READ_ONCE(other->use_dio) != lo->use_dio) {
			index = other->index;
			break;
		}
	}
	spin_unlock(&aloop_bindings_lock);
	if (index >= 0)
		pr_warn("loop%d: backing file also bound to loop%d, one with direct I/O, one buffered: writes through either may not be seen by the other\n",
			lo->index, index);
}

/**
 * aloop_update_dio() - switch between buffered and direct I/O
 * @lo: the device, lo->lock held; its queue frozen if it is bound
 * @want: direct I/O is asked for
 *
 * A request is issued in one mode and completes in it, and whether direct
 * I/O is possible depends on the offset, the block size and the backing
 * file.  So the mode is switched in the same freeze that changes those:
 * a request then runs entirely under the old configuration or entirely
 * under the new one, never with a new offset in the old mode (an
 * unaligned direct read fails with EIO).
 */
void aloop_update_dio(struct aloop_device *lo, bool want)
{
	bool use_dio = want &&
		aloop_dio_possible(lo->backing, lo->offset,
				   queue_logical_block_size(lo->disk->queue));

	lockdep_assert_held(&lo->lock);
	WARN_ON_ONCE(lo->state == ALOOP_BOUND &&
		     !READ_ONCE(lo->disk->queue->mq_freeze_depth));
	if (lo->use_dio == use_dio)
		return;

	/*
	 * The page cache must not hold data that direct reads would miss.
	 * Nothing of ours is in flight, and the backing file's writeback
	 * does not go through this queue.
	 */
	vfs_fsync(lo->backing, 0);
	WRITE_ONCE(lo->use_dio, use_dio);
	WRITE_ONCE(lo->flags, use_dio ? lo->flags | LO_FLAGS_DIRECT_IO :
				  lo->flags & ~LO_FLAGS_DIRECT_IO);
	aloop_report_shared(lo);
}

/**
 * aloop_swap_backing() - publish a new backing file, restore the old one
 * @lo: the device, lo->lock held
 * @file: the new backing file, or NULL
 *
 * The backing file's mapping must not recurse into the device to reclaim
 * memory while it is bound, so its gfp mask loses __GFP_IO and __GFP_FS;
 * the old file gets its mask back.
 *
 * Return: the old backing file, or NULL.
 */
struct file *aloop_swap_backing(struct aloop_device *lo, struct file *file)
{
	struct file *old = lo->backing;

	lockdep_assert_held(&lo->lock);
	if (old)
		mapping_set_gfp_mask(old->f_mapping, lo->saved_gfp);
	spin_lock(&aloop_bindings_lock);
	spin_lock(&lo->backing_lock);
	lo->backing = file;
	spin_unlock(&lo->backing_lock);
	if (!file)
		list_del_init(&lo->binding_node);
	else if (list_empty(&lo->binding_node))
		list_add(&lo->binding_node, &aloop_bindings);
	spin_unlock(&aloop_bindings_lock);
	if (file) {
		lo->saved_gfp = mapping_gfp_mask(file->f_mapping);
		mapping_set_gfp_mask(file->f_mapping,
				     lo->saved_gfp & ~(__GFP_IO | __GFP_FS));
	}
	return old;
}

/**
 * aloop_set_info() - take the caller-settable part of @info
 * @lo: the device, lo->lock held
 * @info: validated offset, sizelimit and file name
 */
void aloop_set_info(struct aloop_device *lo, const struct loop_info64 *info)
{
	lockdep_assert_held(&lo->lock);
	/* lockless readers: sysfs.c */
	WRITE_ONCE(lo->offset, info->lo_offset);
	WRITE_ONCE(lo->sizelimit, info->lo_sizelimit);
	memcpy(lo->file_name, info->lo_file_name, LO_NAME_SIZE);
	lo->file_name[LO_NAME_SIZE - 1] = 0;
}

bool aloop_is_loop_file(struct file *file)
{
	struct inode *inode = file->f_mapping->host;

	return inode && S_ISBLK(inode->i_mode) && imajor(inode) == LOOP_MAJOR;
}

/*
 * Refuse a backing file that leads back to the device @devt through a chain of loop
 * devices, and anything that is neither a regular file nor a block device.
 */
int aloop_validate_file(struct file *file, dev_t devt)
{
	struct inode *inode = file->f_mapping->host;
	struct file *f = file;

	while (aloop_is_loop_file(f)) {
		struct aloop_device *l;

		lockdep_assert_held(&aloop_validate_mutex);
		if (f->f_mapping->host->i_rdev == devt)
			return -EBADF;
		l = I_BDEV(f->f_mapping->host)->bd_disk->private_data;
		if (READ_ONCE(l->state) != ALOOP_BOUND)
			return -EINVAL;
		/* pairs with smp_wmb() before publishing ALOOP_BOUND */
		smp_rmb();
		f = l->backing;
	}
	if (!S_ISREG(inode->i_mode) && !S_ISBLK(inode->i_mode))
		return -EINVAL;
	return 0;
}

/* Check the part of loop_info64 that a caller may set. */
int aloop_check_info(const struct loop_info64 *info)
{
	if ((unsigned int)info->lo_encrypt_key_size > LO_KEY_SIZE)
		return -EINVAL;
	switch (info->lo_encrypt_type) {
	case LO_CRYPT_NONE:
		break;
	case LO_CRYPT_XOR:
		pr_warn("support for the xor transformation has been removed.\n");
		return -EINVAL;
	case LO_CRYPT_CRYPTOAPI:
		pr_warn("support for cryptoloop has been removed.  Use dm-crypt instead.\n");
		return -EINVAL;
	default:
		return -EINVAL;
	}
	if (info->lo_offset > LLONG_MAX || info->lo_sizelimit > LLONG_MAX)
		return -EOVERFLOW;
	return 0;
}

/*
 * Block I/O goes through ->read_iter and ->write_iter of the backing file
 * (refused up front, as stock 6.12 does; 6.1 failed the I/O instead).
 */
static int aloop_check_backing_ops(struct file *file)
{
	if (!file->f_op->read_iter)
		return -EINVAL;
	if ((file->f_mode & FMODE_WRITE) && !file->f_op->write_iter)
		return -EINVAL;
	return 0;
}

/* fget() the backing file of CONFIGURE/SET_FD/CHANGE_FD and check it. */
struct file *aloop_get_backing(unsigned int fd)
{
	struct file *file = fget(fd);
	int err;

	if (!file)
		return ERR_PTR(-EBADF);
	err = aloop_check_backing_ops(file);
	if (err) {
		fput(file);
		return ERR_PTR(err);
	}
	return file;
}

/*
 * What ALOOP_ATTACH_STRICT refuses instead of adjusting: direct I/O that
 * cannot be used, and a size the block size would cut a tail off.
 */
static int aloop_check_strict(struct file *file, const struct loop_info64 *info,
			      u32 flags, unsigned int bsize)
{
	loff_t size = i_size_read(file->f_mapping->host) - info->lo_offset;

	if ((flags & LO_FLAGS_DIRECT_IO) &&
	    !aloop_dio_possible(file, info->lo_offset, bsize))
		return -EINVAL;
	if (info->lo_sizelimit & (SECTOR_SIZE - 1))
		return -EINVAL;
	if (info->lo_sizelimit && info->lo_sizelimit < size)
		size = info->lo_sizelimit;
	if (size > 0 && (size & (bsize - 1)))
		return -EINVAL;
	return 0;
}

/**
 * aloop_configure_locked() - validate a configuration and bind it
 * @lo: the device, lo->lock held (and aloop_validate_mutex if @file is a
 *	loop device)
 * @file: the backing file, from aloop_get_backing(); the binding takes
 *	this reference on success, the caller keeps it on error
 * @config: LOOP_CONFIGURE's argument
 * @writable: the caller may write to the device (else it binds read-only)
 * @strict: refuse what cannot be honoured (ALOOP_ATTACH_STRICT)
 *
 * The one path from UNBOUND to BOUND, for LOOP_CONFIGURE, LOOP_SET_FD and
 * ALOOP_CTL_ATTACH.  Everything is checked before anything changes.  The
 * caller rescans the partitions after dropping the locks if the device has
 * LO_FLAGS_PARTSCAN.
 *
 * Return: 0; -EBUSY if the device is not unbound; -EINVAL, -EOVERFLOW or
 * -EBADF for a configuration the device cannot take.
 */
int aloop_configure_locked(struct aloop_device *lo, struct file *file,
			   const struct loop_config *config, bool writable,
			   bool strict)
{
	const struct loop_info64 *info = &config->info;
	unsigned int bsize;
	u32 flags;
	int err;

	lockdep_assert_held(&lo->lock);
	if (lo->state != ALOOP_UNBOUND)
		return -EBUSY;
	err = aloop_validate_file(file, disk_devt(lo->disk));
	if (err)
		return err;
	if (info->lo_flags & ~LOOP_CONFIGURE_SETTABLE_FLAGS)
		return -EINVAL;
	if (config->block_size) {
		err = blk_validate_block_size(config->block_size);
		if (err)
			return err;
	}
	err = aloop_check_info(info);
	if (err)
		return err;

	flags = info->lo_flags;
	if (!(file->f_mode & FMODE_WRITE) || !writable ||
	    !file->f_op->write_iter)
		flags |= LO_FLAGS_READ_ONLY;
	if (aloop_part_shift)
		flags |= LO_FLAGS_PARTSCAN;
	/* an O_DIRECT backing file asks for direct I/O */
	if (file->f_flags & O_DIRECT)
		flags |= LO_FLAGS_DIRECT_IO;
	bsize = config->block_size ?:
		aloop_default_block_size(file, flags & LO_FLAGS_DIRECT_IO);
	if (strict) {
		err = aloop_check_strict(file, info, flags, bsize);
		if (err)
			return err;
	}

	/* one uevent for the whole change, sent at the end */
	dev_set_uevent_suppress(aloop_dev(lo), 1);
	err = aloop_bind(lo, file, info, flags, bsize);
	if (err) {
		dev_set_uevent_suppress(aloop_dev(lo), 0);
		return err;
	}

	/* aloop_validate_file() of a stacked device reads ->backing next */
	smp_wmb();
	aloop_set_state(lo, ALOOP_BOUND);
	if (lo->flags & LO_FLAGS_PARTSCAN)
		clear_bit(GD_SUPPRESS_PART_SCAN, &lo->disk->state);
	dev_set_uevent_suppress(aloop_dev(lo), 0);
	kobject_uevent(&aloop_dev(lo)->kobj, KOBJ_CHANGE);
	return 0;
}

/**
 * aloop_bind() - attach @file to an unbound device
 * @lo: the device, lo->lock held, state ALOOP_UNBOUND
 * @file: the validated backing file; the binding owns this reference
 * @info: validated offset, sizelimit and name
 * @flags: the final LO_FLAGS_* (LO_FLAGS_DIRECT_IO asks for direct I/O)
 * @bsize: validated block size
 *
 * Everything is checked before anything changes: on error the device is
 * as it was and the caller still owns @file.
 *
 * Return: 0, or -EINVAL if the block layer refuses the limits.
 */
int aloop_bind(struct aloop_device *lo, struct file *file,
	       const struct loop_info64 *info, u32 flags, unsigned int bsize)
{
	struct aloop_limits l;
	int err;

	lockdep_assert_held(&lo->lock);
	WARN_ON_ONCE(lo->state != ALOOP_UNBOUND || lo->backing);

	/* unbound, so nothing is in flight: no freeze needed */
	aloop_limits_for(file, flags, bsize, &l);
	err = aloop_apply_limits(lo->disk->queue, &l);
	if (err)
		return err;

	__module_get(THIS_MODULE);	/* dropped by aloop_put_binding() */
	WRITE_ONCE(lo->binding_gen, lo->binding_gen + 1);
	aloop_force_media_change(lo->disk);
	set_disk_ro(lo->disk, flags & LO_FLAGS_READ_ONLY);
	aloop_set_info(lo, info);
	WRITE_ONCE(lo->flags, flags & ~LO_FLAGS_DIRECT_IO);
	WRITE_ONCE(lo->use_dio, false);
	aloop_swap_backing(lo, file);
	aloop_update_dio(lo, flags & LO_FLAGS_DIRECT_IO);
	if (!lo->use_dio)
		aloop_report_shared(lo);
	aloop_sysfs_add(lo);
	aloop_set_size(lo, aloop_file_sectors(file, lo->offset, lo->sizelimit));
	return 0;
}

/**
 * aloop_unbind() - undo aloop_bind() on a device in rundown
 * @lo: the device; no request is in flight any more
 *
 * Return: the backing file, for aloop_put_binding() once no lock is held.
 */
struct file *aloop_unbind(struct aloop_device *lo)
{
	struct request_queue *q = lo->disk->queue;
	struct aloop_limits l = {
		.bsize = SECTOR_SIZE,
		/* as both stock drivers: an unbound device keeps it */
		.rotational = aloop_queue_rotational(q),
	};
	struct file *file;

	lockdep_assert_held(&lo->lock);
	WARN_ON_ONCE(lo->state != ALOOP_RUNDOWN);

	file = aloop_swap_backing(lo, NULL);
	WRITE_ONCE(lo->offset, 0);
	WRITE_ONCE(lo->sizelimit, 0);
	WRITE_ONCE(lo->use_dio, false);
	memset(lo->file_name, 0, sizeof(lo->file_name));
	/* default limits are always valid */
	WARN_ON_ONCE(aloop_apply_limits(q, &l));
	invalidate_disk(lo->disk);
	aloop_sysfs_del(lo);
	return file;
}

/**
 * aloop_put_binding() - release what aloop_unbind() handed back
 * @file: the old backing file
 *
 * Called with no lock held: the final __fput() may take locks of the
 * backing filesystem.
 */
void aloop_put_binding(struct file *file)
{
	/*
	 * A kernel thread has no task work: plain fput() would defer the
	 * final __fput() to yet another worker, and the backing filesystem
	 * would stay busy after the rundown reported the device unbound.
	 */
	if (current->flags & PF_KTHREAD)
		__fput_sync(file);
	else
		fput(file);
	/* the reference a bound device holds, taken in aloop_bind() */
	module_put(THIS_MODULE);
}
