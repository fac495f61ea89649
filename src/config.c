// SPDX-License-Identifier: GPL-2.0
/*
 * asyncloop configuration: the ioctls of /dev/loopN.
 *
 * Errnos and flag rules follow the stock 6.1 driver so that losetup, mount,
 * systemd and friends see no difference.  Every request is validated in
 * full before the device is changed, so a rejected call leaves the device
 * as it was.  Lock order: teardown.c.
 */

#include <linux/blkdev.h>
#include <linux/compat.h>
#include <linux/file.h>
#include <linux/major.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/statfs.h>
#include <linux/uaccess.h>

#include "aloop.h"

/* Size in sectors of @file seen through @offset and @sizelimit. */
static sector_t aloop_file_sectors(struct file *file, loff_t offset,
				   loff_t sizelimit)
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

static void aloop_set_size(struct aloop_device *lo, sector_t sectors)
{
	/* tell udev even when the size did not change */
	if (!set_capacity_and_notify(lo->disk, sectors))
		kobject_uevent(&aloop_dev(lo)->kobj, KOBJ_CHANGE);
}

static bool aloop_is_loop_file(struct file *file)
{
	struct inode *inode = file->f_mapping->host;

	return inode && S_ISBLK(inode->i_mode) && imajor(inode) == LOOP_MAJOR;
}

/*
 * Refuse a backing file that leads back to @bdev through a chain of loop
 * devices, and anything that is neither a regular file nor a block device.
 */
static int aloop_validate_file(struct file *file, struct block_device *bdev)
{
	struct inode *inode = file->f_mapping->host;
	struct file *f = file;

	while (aloop_is_loop_file(f)) {
		struct aloop_device *l;

		lockdep_assert_held(&aloop_validate_mutex);
		if (f->f_mapping->host->i_rdev == bdev->bd_dev)
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
static int aloop_check_info(const struct loop_info64 *info)
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

static void aloop_apply_info(struct aloop_device *lo,
			     const struct loop_info64 *info)
{
	lo->offset = info->lo_offset;
	lo->sizelimit = info->lo_sizelimit;
	memcpy(lo->file_name, info->lo_file_name, LO_NAME_SIZE);
	lo->file_name[LO_NAME_SIZE - 1] = 0;
}

static struct block_device *aloop_backing_bdev(struct file *file)
{
	struct inode *inode = file->f_mapping->host;

	if (S_ISBLK(inode->i_mode))
		return I_BDEV(inode);
	return inode->i_sb->s_bdev;
}

/*
 * Direct I/O needs an O_DIRECT capable file, an offset aligned to the
 * backing logical block size and a loop block size at least that large.
 */
static bool aloop_can_dio(struct aloop_device *lo, struct file *file)
{
	struct block_device *bb = aloop_backing_bdev(file);
	unsigned short bsize;

	if (!(file->f_mode & FMODE_CAN_ODIRECT))
		return false;
	if (!bb)
		return true;
	bsize = bdev_logical_block_size(bb);
	return queue_logical_block_size(lo->disk->queue) >= bsize &&
	       !(lo->offset & (bsize - 1));
}

/*
 * Switch between buffered and direct I/O.  Requests in flight were issued
 * in the old mode, so a bound device is frozen across the switch.
 */
static void aloop_update_dio(struct aloop_device *lo, bool want)
{
	bool use_dio = want && aloop_can_dio(lo, lo->backing);
	bool bound = lo->state == ALOOP_BOUND;

	lockdep_assert_held(&lo->lock);
	if (lo->use_dio == use_dio)
		return;

	/* the page cache must not hold data that direct reads would miss */
	vfs_fsync(lo->backing, 0);
	if (bound)
		blk_mq_freeze_queue(lo->disk->queue);
	lo->use_dio = use_dio;
	if (use_dio)
		lo->flags |= LO_FLAGS_DIRECT_IO;
	else
		lo->flags &= ~LO_FLAGS_DIRECT_IO;
	if (bound)
		blk_mq_unfreeze_queue(lo->disk->queue);
}

/*
 * Discard and write-zeroes map to fallocate() on the backing file, or to
 * the backing block device's zeroing.  A filesystem that lacks one of the
 * fallocate modes is found out on first use (io.c).
 */
static void aloop_config_discard(struct aloop_device *lo)
{
	struct file *file = lo->backing;
	struct inode *inode = file->f_mapping->host;
	struct request_queue *q = lo->disk->queue;
	u32 granularity = 0, max_sectors = 0;

	if (S_ISBLK(inode->i_mode)) {
		struct block_device *bb = I_BDEV(inode);

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
	q->limits.discard_granularity = max_sectors ? granularity : 0;
	blk_queue_max_discard_sectors(q, max_sectors);
	blk_queue_max_write_zeroes_sectors(q, max_sectors);
}

static void aloop_config_rotational(struct aloop_device *lo)
{
	struct block_device *bb = lo->backing->f_mapping->host->i_sb->s_bdev;

	/* tmpfs and friends have no s_bdev */
	if (!bb || bdev_nonrot(bb))
		blk_queue_flag_set(QUEUE_FLAG_NONROT, lo->disk->queue);
	else
		blk_queue_flag_clear(QUEUE_FLAG_NONROT, lo->disk->queue);
}

static void aloop_set_block_limits(struct aloop_device *lo, unsigned int bs)
{
	struct request_queue *q = lo->disk->queue;

	blk_queue_logical_block_size(q, bs);
	blk_queue_physical_block_size(q, bs);
	blk_queue_io_min(q, bs);
}

static int aloop_configure(struct aloop_device *lo, fmode_t mode,
			   struct block_device *bdev,
			   const struct loop_config *config)
{
	const struct loop_info64 *info = &config->info;
	struct file *file;
	struct inode *inode;
	unsigned int bsize;
	bool is_loop, partscan;
	u32 flags;
	int err;

	file = fget(config->fd);
	if (!file)
		return -EBADF;
	is_loop = aloop_is_loop_file(file);

	/* never change a device under its exclusive owner */
	if (!(mode & FMODE_EXCL)) {
		err = bd_prepare_to_claim(bdev, aloop_configure);
		if (err)
			goto out_putf;
	}

	for (;;) {
		err = aloop_lock(lo, is_loop);
		if (err)
			goto out_claim;
		if (lo->state != ALOOP_RUNDOWN)
			break;
		/* the device is about to be free: wait instead of EBUSY */
		aloop_unlock(lo, is_loop);
		err = aloop_wait_rundown(lo);
		if (err)
			goto out_claim;
	}

	err = -EBUSY;
	if (lo->state != ALOOP_UNBOUND)
		goto out_unlock;
	err = aloop_validate_file(file, bdev);
	if (err)
		goto out_unlock;
	err = -EINVAL;
	if (info->lo_flags & ~LOOP_CONFIGURE_SETTABLE_FLAGS)
		goto out_unlock;
	if (config->block_size) {
		err = blk_validate_block_size(config->block_size);
		if (err)
			goto out_unlock;
	}
	err = aloop_check_info(info);
	if (err)
		goto out_unlock;

	/* validated: from here on the device changes and nothing fails */
	inode = file->f_mapping->host;
	flags = info->lo_flags;
	if (!(file->f_mode & FMODE_WRITE) || !(mode & FMODE_WRITE) ||
	    !file->f_op->write_iter)
		flags |= LO_FLAGS_READ_ONLY;
	if (aloop_part_shift)
		flags |= LO_FLAGS_PARTSCAN;

	if (config->block_size)
		bsize = config->block_size;
	else if ((file->f_flags & O_DIRECT) && inode->i_sb->s_bdev)
		bsize = bdev_logical_block_size(inode->i_sb->s_bdev);
	else
		bsize = SECTOR_SIZE;

	__module_get(THIS_MODULE);	/* dropped by the rundown */

	/* one uevent for the whole change, sent at the end */
	dev_set_uevent_suppress(aloop_dev(lo), 1);
	disk_force_media_change(lo->disk, DISK_EVENT_MEDIA_CHANGE);
	set_disk_ro(lo->disk, flags & LO_FLAGS_READ_ONLY);

	aloop_apply_info(lo, info);
	lo->flags = flags & ~LO_FLAGS_DIRECT_IO;
	lo->use_dio = false;
	spin_lock(&lo->backing_lock);
	lo->backing = file;
	spin_unlock(&lo->backing_lock);
	lo->saved_gfp = mapping_gfp_mask(file->f_mapping);
	/* the backing fs must not recurse into the device to reclaim */
	mapping_set_gfp_mask(file->f_mapping,
			     lo->saved_gfp & ~(__GFP_IO | __GFP_FS));

	if (!(flags & LO_FLAGS_READ_ONLY) && file->f_op->fsync)
		blk_queue_write_cache(lo->disk->queue, true, false);
	aloop_set_block_limits(lo, bsize);
	aloop_config_discard(lo);
	aloop_config_rotational(lo);
	aloop_update_dio(lo, (flags & LO_FLAGS_DIRECT_IO) ||
			 (file->f_flags & O_DIRECT));
	aloop_sysfs_add(lo);
	aloop_set_size(lo, aloop_file_sectors(file, lo->offset,
					      lo->sizelimit));

	/* aloop_validate_file() of a stacked device reads ->backing next */
	smp_wmb();
	aloop_set_state(lo, ALOOP_BOUND);
	partscan = lo->flags & LO_FLAGS_PARTSCAN;
	if (partscan)
		clear_bit(GD_SUPPRESS_PART_SCAN, &lo->disk->state);

	dev_set_uevent_suppress(aloop_dev(lo), 0);
	kobject_uevent(&aloop_dev(lo)->kobj, KOBJ_CHANGE);
	aloop_unlock(lo, is_loop);

	if (partscan)
		aloop_rescan_partitions(lo);
	if (!(mode & FMODE_EXCL))
		bd_abort_claiming(bdev, aloop_configure);
	return 0;

out_unlock:
	aloop_unlock(lo, is_loop);
out_claim:
	if (!(mode & FMODE_EXCL))
		bd_abort_claiming(bdev, aloop_configure);
out_putf:
	fput(file);
	return err;
}

/*
 * LOOP_CHANGE_FD: swap the backing file of a read-only device for another
 * one of the same size, e.g. to release the installation medium.
 */
static int aloop_change_fd(struct aloop_device *lo, struct block_device *bdev,
			   unsigned int fd)
{
	struct file *file, *old;
	bool is_loop, partscan;
	int err;

	file = fget(fd);
	if (!file)
		return -EBADF;
	is_loop = aloop_is_loop_file(file);

	dev_set_uevent_suppress(aloop_dev(lo), 1);
	err = aloop_lock(lo, is_loop);
	if (err)
		goto out_putf;
	err = -ENXIO;
	if (lo->state != ALOOP_BOUND)
		goto out_unlock;
	err = -EINVAL;
	if (!(lo->flags & LO_FLAGS_READ_ONLY))
		goto out_unlock;
	err = aloop_validate_file(file, bdev);
	if (err)
		goto out_unlock;
	old = lo->backing;
	err = -EINVAL;
	if (aloop_file_sectors(file, lo->offset, lo->sizelimit) !=
	    aloop_file_sectors(old, lo->offset, lo->sizelimit))
		goto out_unlock;

	disk_force_media_change(lo->disk, DISK_EVENT_MEDIA_CHANGE);
	blk_mq_freeze_queue(lo->disk->queue);
	mapping_set_gfp_mask(old->f_mapping, lo->saved_gfp);
	spin_lock(&lo->backing_lock);
	lo->backing = file;
	spin_unlock(&lo->backing_lock);
	lo->saved_gfp = mapping_gfp_mask(file->f_mapping);
	mapping_set_gfp_mask(file->f_mapping,
			     lo->saved_gfp & ~(__GFP_IO | __GFP_FS));
	blk_mq_unfreeze_queue(lo->disk->queue);
	aloop_update_dio(lo, lo->use_dio || (file->f_flags & O_DIRECT));
	partscan = lo->flags & LO_FLAGS_PARTSCAN;
	aloop_unlock(lo, is_loop);

	/*
	 * A concurrent aloop_validate_file() of a device stacked on us may
	 * still look at @old: let it finish before the last reference goes.
	 */
	if (!is_loop) {
		mutex_lock(&aloop_validate_mutex);
		mutex_unlock(&aloop_validate_mutex);
	}
	fput(old);
	dev_set_uevent_suppress(aloop_dev(lo), 0);
	if (partscan)
		aloop_rescan_partitions(lo);
	kobject_uevent(&aloop_dev(lo)->kobj, KOBJ_CHANGE);
	return 0;

out_unlock:
	aloop_unlock(lo, is_loop);
out_putf:
	fput(file);
	dev_set_uevent_suppress(aloop_dev(lo), 0);
	kobject_uevent(&aloop_dev(lo)->kobj, KOBJ_CHANGE);
	return err;
}

static int aloop_set_status(struct aloop_device *lo,
			    const struct loop_info64 *info)
{
	bool size_changed, partscan = false;
	u32 old_flags;
	int err;

	err = mutex_lock_killable(&lo->lock);
	if (err)
		return err;
	if (lo->state != ALOOP_BOUND) {
		err = -ENXIO;
		goto out_unlock;
	}
	err = aloop_check_info(info);
	if (err)
		goto out_unlock;

	size_changed = lo->offset != info->lo_offset ||
		       lo->sizelimit != info->lo_sizelimit;
	if (size_changed) {
		/* cached blocks would sit at their old device offsets */
		sync_blockdev(lo->disk->part0);
		invalidate_bdev(lo->disk->part0);
	}

	blk_mq_freeze_queue(lo->disk->queue);
	old_flags = lo->flags;
	aloop_apply_info(lo, info);
	/* only settable flags may change; only clearable ones may go */
	lo->flags = (old_flags & ~LOOP_SET_STATUS_SETTABLE_FLAGS) |
		    (info->lo_flags & LOOP_SET_STATUS_SETTABLE_FLAGS) |
		    (old_flags & ~LOOP_SET_STATUS_CLEARABLE_FLAGS);
	if (size_changed)
		aloop_set_size(lo, aloop_file_sectors(lo->backing, lo->offset,
						      lo->sizelimit));
	aloop_config_discard(lo);
	blk_mq_unfreeze_queue(lo->disk->queue);
	/* the new offset may no longer suit direct I/O */
	aloop_update_dio(lo, lo->use_dio);

	if ((lo->flags & LO_FLAGS_PARTSCAN) &&
	    !(old_flags & LO_FLAGS_PARTSCAN)) {
		clear_bit(GD_SUPPRESS_PART_SCAN, &lo->disk->state);
		partscan = true;
	}
out_unlock:
	mutex_unlock(&lo->lock);
	if (partscan)
		aloop_rescan_partitions(lo);
	return err;
}

static int aloop_get_status(struct aloop_device *lo, struct loop_info64 *info)
{
	struct kstat stat;
	struct path path;
	int err;

	err = mutex_lock_killable(&lo->lock);
	if (err)
		return err;
	if (lo->state != ALOOP_BOUND) {
		mutex_unlock(&lo->lock);
		return -ENXIO;
	}
	memset(info, 0, sizeof(*info));
	info->lo_number = lo->index;
	info->lo_offset = lo->offset;
	info->lo_sizelimit = lo->sizelimit;
	info->lo_flags = lo->flags;
	memcpy(info->lo_file_name, lo->file_name, LO_NAME_SIZE);
	path = lo->backing->f_path;
	path_get(&path);
	/* getattr may sleep in the filesystem: not under lo->lock */
	mutex_unlock(&lo->lock);

	err = vfs_getattr(&path, &stat, STATX_INO, AT_STATX_SYNC_AS_STAT);
	if (!err) {
		info->lo_device = huge_encode_dev(stat.dev);
		info->lo_inode = stat.ino;
		info->lo_rdevice = huge_encode_dev(stat.rdev);
	}
	path_put(&path);
	return err;
}

/*
 * struct loop_info and its 32-bit compat layout have the same field names
 * but different types: one pair of type-generic conversions serves both.
 */
#define aloop_info_from_legacy(info, old) do {				\
	typeof(info) i_ = (info);					\
	typeof(old) o_ = (old);						\
									\
	memset(i_, 0, sizeof(*i_));					\
	i_->lo_number = o_->lo_number;					\
	i_->lo_device = o_->lo_device;					\
	i_->lo_inode = o_->lo_inode;					\
	i_->lo_rdevice = o_->lo_rdevice;				\
	i_->lo_offset = o_->lo_offset;					\
	i_->lo_flags = o_->lo_flags;					\
	memcpy(i_->lo_file_name, o_->lo_name, LO_NAME_SIZE);		\
} while (0)

/* Evaluates to -EOVERFLOW if the legacy layout cannot carry a value. */
#define aloop_info_to_legacy(old, info) ({				\
	typeof(old) o_ = (old);						\
	typeof(info) i_ = (info);					\
									\
	memset(o_, 0, sizeof(*o_));					\
	o_->lo_number = i_->lo_number;					\
	o_->lo_device = i_->lo_device;					\
	o_->lo_inode = i_->lo_inode;					\
	o_->lo_rdevice = i_->lo_rdevice;				\
	o_->lo_offset = i_->lo_offset;					\
	o_->lo_flags = i_->lo_flags;					\
	memcpy(o_->lo_name, i_->lo_file_name, LO_NAME_SIZE);		\
	o_->lo_device != i_->lo_device ||				\
	o_->lo_rdevice != i_->lo_rdevice ||				\
	o_->lo_inode != i_->lo_inode ||					\
	o_->lo_offset != i_->lo_offset ? -EOVERFLOW : 0;		\
})

static int aloop_set_status_old(struct aloop_device *lo,
				const struct loop_info __user *arg)
{
	struct loop_info64 info;
	struct loop_info old;

	if (copy_from_user(&old, arg, sizeof(old)))
		return -EFAULT;
	aloop_info_from_legacy(&info, &old);
	return aloop_set_status(lo, &info);
}

static int aloop_set_status64(struct aloop_device *lo,
			      const struct loop_info64 __user *arg)
{
	struct loop_info64 info;

	if (copy_from_user(&info, arg, sizeof(info)))
		return -EFAULT;
	return aloop_set_status(lo, &info);
}

static int aloop_get_status_old(struct aloop_device *lo,
				struct loop_info __user *arg)
{
	struct loop_info64 info;
	struct loop_info old;
	int err;

	if (!arg)
		return -EINVAL;
	err = aloop_get_status(lo, &info);
	if (!err)
		err = aloop_info_to_legacy(&old, &info);
	if (!err && copy_to_user(arg, &old, sizeof(old)))
		err = -EFAULT;
	return err;
}

static int aloop_get_status64(struct aloop_device *lo,
			      struct loop_info64 __user *arg)
{
	struct loop_info64 info;
	int err;

	if (!arg)
		return -EINVAL;
	err = aloop_get_status(lo, &info);
	if (!err && copy_to_user(arg, &info, sizeof(info)))
		err = -EFAULT;
	return err;
}

static int aloop_set_capacity(struct aloop_device *lo)
{
	lockdep_assert_held(&lo->lock);
	if (lo->state != ALOOP_BOUND)
		return -ENXIO;
	aloop_set_size(lo, aloop_file_sectors(lo->backing, lo->offset,
					      lo->sizelimit));
	return 0;
}

static int aloop_set_direct_io(struct aloop_device *lo, unsigned long arg)
{
	lockdep_assert_held(&lo->lock);
	if (lo->state != ALOOP_BOUND)
		return -ENXIO;
	aloop_update_dio(lo, !!arg);
	return lo->use_dio == !!arg ? 0 : -EINVAL;
}

static int aloop_set_block_size(struct aloop_device *lo, fmode_t mode,
				struct block_device *bdev, unsigned long arg)
{
	int err;

	if (!(mode & FMODE_EXCL)) {
		err = bd_prepare_to_claim(bdev, aloop_set_block_size);
		if (err)
			return err;
	}
	err = mutex_lock_killable(&lo->lock);
	if (err)
		goto out_claim;
	err = -ENXIO;
	if (lo->state != ALOOP_BOUND)
		goto out_unlock;
	err = blk_validate_block_size(arg);
	if (err || queue_logical_block_size(lo->disk->queue) == arg)
		goto out_unlock;

	sync_blockdev(lo->disk->part0);
	invalidate_bdev(lo->disk->part0);
	blk_mq_freeze_queue(lo->disk->queue);
	aloop_set_block_limits(lo, arg);
	blk_mq_unfreeze_queue(lo->disk->queue);
	/* a smaller block size may rule out direct I/O */
	aloop_update_dio(lo, lo->use_dio);
out_unlock:
	mutex_unlock(&lo->lock);
out_claim:
	if (!(mode & FMODE_EXCL))
		bd_abort_claiming(bdev, aloop_set_block_size);
	return err;
}

/* SET_CAPACITY, SET_DIRECT_IO and unknown commands, under lo->lock. */
static int aloop_simple_ioctl(struct aloop_device *lo, unsigned int cmd,
			      unsigned long arg)
{
	int err;

	err = mutex_lock_killable(&lo->lock);
	if (err)
		return err;
	switch (cmd) {
	case LOOP_SET_CAPACITY:
		err = aloop_set_capacity(lo);
		break;
	case LOOP_SET_DIRECT_IO:
		err = aloop_set_direct_io(lo, arg);
		break;
	default:
		err = -EINVAL;
		break;
	}
	mutex_unlock(&lo->lock);
	return err;
}

static bool aloop_may_change(fmode_t mode)
{
	return (mode & FMODE_WRITE) || capable(CAP_SYS_ADMIN);
}

/**
 * aloop_ioctl() - block_device_operations.ioctl of /dev/loopN
 * @bdev: the loop block device
 * @mode: open mode of the caller's file
 * @cmd: LOOP_* command
 * @arg: its argument
 *
 * Return: as stock 6.1; -EINVAL for an unknown command.
 */
int aloop_ioctl(struct block_device *bdev, fmode_t mode, unsigned int cmd,
		unsigned long arg)
{
	struct aloop_device *lo = bdev->bd_disk->private_data;
	void __user *argp = (void __user *)arg;
	struct loop_config config;

	switch (cmd) {
	case LOOP_SET_FD:
		/* LOOP_CONFIGURE with every parameter at its default */
		memset(&config, 0, sizeof(config));
		config.fd = arg;
		return aloop_configure(lo, mode, bdev, &config);
	case LOOP_CONFIGURE:
		if (copy_from_user(&config, argp, sizeof(config)))
			return -EFAULT;
		return aloop_configure(lo, mode, bdev, &config);
	case LOOP_CHANGE_FD:
		return aloop_change_fd(lo, bdev, arg);
	case LOOP_CLR_FD:
		return aloop_clr_fd(lo);
	case LOOP_SET_STATUS:
		if (!aloop_may_change(mode))
			return -EPERM;
		return aloop_set_status_old(lo, argp);
	case LOOP_GET_STATUS:
		return aloop_get_status_old(lo, argp);
	case LOOP_SET_STATUS64:
		if (!aloop_may_change(mode))
			return -EPERM;
		return aloop_set_status64(lo, argp);
	case LOOP_GET_STATUS64:
		return aloop_get_status64(lo, argp);
	case LOOP_SET_BLOCK_SIZE:
		if (!aloop_may_change(mode))
			return -EPERM;
		return aloop_set_block_size(lo, mode, bdev, arg);
	case LOOP_SET_CAPACITY:
	case LOOP_SET_DIRECT_IO:
		if (!aloop_may_change(mode))
			return -EPERM;
		fallthrough;
	default:
		return aloop_simple_ioctl(lo, cmd, arg);
	}
}

#ifdef CONFIG_COMPAT
/* struct loop_info as a 32-bit process lays it out */
struct compat_loop_info {
	compat_int_t	lo_number;
	compat_dev_t	lo_device;
	compat_ulong_t	lo_inode;
	compat_dev_t	lo_rdevice;
	compat_int_t	lo_offset;
	compat_int_t	lo_encrypt_type;
	compat_int_t	lo_encrypt_key_size;
	compat_int_t	lo_flags;
	char		lo_name[LO_NAME_SIZE];
	unsigned char	lo_encrypt_key[LO_KEY_SIZE];
	compat_ulong_t	lo_init[2];
	char		reserved[4];
};

static int aloop_set_status_compat(struct aloop_device *lo,
				   const struct compat_loop_info __user *arg)
{
	struct compat_loop_info c;
	struct loop_info64 info;

	if (copy_from_user(&c, arg, sizeof(c)))
		return -EFAULT;
	aloop_info_from_legacy(&info, &c);
	return aloop_set_status(lo, &info);
}

static int aloop_get_status_compat(struct aloop_device *lo,
				   struct compat_loop_info __user *arg)
{
	struct compat_loop_info c;
	struct loop_info64 info;
	int err;

	if (!arg)
		return -EINVAL;
	err = aloop_get_status(lo, &info);
	if (!err)
		err = aloop_info_to_legacy(&c, &info);
	if (!err && copy_to_user(arg, &c, sizeof(c)))
		err = -EFAULT;
	return err;
}

int aloop_compat_ioctl(struct block_device *bdev, fmode_t mode,
		       unsigned int cmd, unsigned long arg)
{
	struct aloop_device *lo = bdev->bd_disk->private_data;

	switch (cmd) {
	case LOOP_SET_STATUS:
		if (!aloop_may_change(mode))
			return -EPERM;
		return aloop_set_status_compat(lo, compat_ptr(arg));
	case LOOP_GET_STATUS:
		return aloop_get_status_compat(lo, compat_ptr(arg));
	case LOOP_SET_CAPACITY:
	case LOOP_CLR_FD:
	case LOOP_GET_STATUS64:
	case LOOP_SET_STATUS64:
	case LOOP_CONFIGURE:
		arg = (unsigned long)compat_ptr(arg);
		fallthrough;
	case LOOP_SET_FD:
	case LOOP_CHANGE_FD:
	case LOOP_SET_BLOCK_SIZE:
	case LOOP_SET_DIRECT_IO:
		return aloop_ioctl(bdev, mode, cmd, arg);
	default:
		return -ENOIOCTLCMD;
	}
}
#endif
