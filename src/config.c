// SPDX-License-Identifier: GPL-2.0
/*
 * asyncloop configuration: the ioctls of /dev/loopN.
 *
 * Errnos and flag rules follow the stock driver of the same kernel, so
 * that losetup, mount, systemd and friends see no difference.  Every request is validated in
 * full before the device is changed, so a rejected call leaves the device
 * as it was.  Lock order: teardown.c.
 */

#include <linux/blkdev.h>
#include <linux/compat.h>
#include <linux/file.h>
#include <linux/major.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "aloop.h"

static int aloop_configure(struct aloop_device *lo, aloop_mode_t mode,
			   struct block_device *bdev,
			   const struct loop_config *config)
{
	struct file *file;
	bool is_loop, partscan;
	int err;

	file = aloop_get_backing(config->fd);
	if (IS_ERR(file))
		return PTR_ERR(file);
	is_loop = aloop_is_loop_file(file);

	/* never change a device under its exclusive owner */
	if (!(mode & ALOOP_OPEN_EXCL)) {
		err = aloop_prepare_to_claim(bdev, aloop_configure);
		if (err)
			goto out_putf;
	}

	err = aloop_lock_unbound(lo, is_loop);
	if (err)
		goto out_claim;
	err = aloop_configure_locked(lo, file, config, mode & ALOOP_OPEN_WRITE,
				     false);
	partscan = !err && (lo->flags & LO_FLAGS_PARTSCAN);
	aloop_unlock(lo, is_loop);
	if (err)
		goto out_claim;

	if (partscan)
		aloop_rescan_partitions(lo);
	if (!(mode & ALOOP_OPEN_EXCL))
		bd_abort_claiming(bdev, aloop_configure);
	return 0;

out_claim:
	if (!(mode & ALOOP_OPEN_EXCL))
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
	unsigned int memflags;
	int err;

	file = aloop_get_backing(fd);
	if (IS_ERR(file))
		return PTR_ERR(file);
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
	err = aloop_validate_file(file, disk_devt(lo->disk));
	if (err)
		goto out_unlock;
	err = -EINVAL;
	if (aloop_file_sectors(file, lo->offset, lo->sizelimit) !=
	    aloop_file_sectors(lo->backing, lo->offset, lo->sizelimit))
		goto out_unlock;

	aloop_force_media_change(lo->disk);
	memflags = aloop_freeze_queue(lo->disk->queue);
	old = aloop_swap_backing(lo, file);
	aloop_update_dio(lo, lo->use_dio || (file->f_flags & O_DIRECT));
	aloop_unfreeze_queue(lo->disk->queue, memflags);
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

/**
 * aloop_set_status() - LOOP_SET_STATUS and LOOP_SET_STATUS64
 * @lo: the device
 * @bdev: the block device the caller opened
 * @mode: the caller's open mode
 * @info: the new status, copied in
 *
 * The offset and sizelimit must not change under an exclusive opener: a
 * mounted filesystem would find its blocks moved or cut off (mainline
 * refuses it since 6.19).  A claim cannot be taken under lo->lock, which
 * configure takes after its claim, so one is tried first and only a change
 * of geometry needs it to have succeeded.
 *
 * Return: 0 or -errno; -EBUSY for a geometry change under an exclusive
 * opener other than the caller.
 */
static int aloop_set_status(struct aloop_device *lo, struct block_device *bdev,
			    aloop_mode_t mode, const struct loop_info64 *info)
{
	bool claimed = false, size_changed, partscan = false;
	bool excl = mode & ALOOP_OPEN_EXCL;
	unsigned int memflags;
	u32 old_flags;
	int err;

	if (!excl)
		claimed = !aloop_prepare_to_claim(bdev, aloop_set_status);
	err = mutex_lock_killable(&lo->lock);
	if (err)
		goto out_claim;
	if (lo->state != ALOOP_BOUND) {
		err = -ENXIO;
		goto out_unlock;
	}
	err = aloop_check_info(info);
	if (err)
		goto out_unlock;

	size_changed = lo->offset != info->lo_offset ||
		       lo->sizelimit != info->lo_sizelimit;
	if (size_changed && !excl && !claimed) {
		err = -EBUSY;
		goto out_unlock;
	}
	if (size_changed) {
		/* cached blocks would sit at their old device offsets */
		sync_blockdev(lo->disk->part0);
		invalidate_bdev(lo->disk->part0);
	}

	memflags = aloop_freeze_queue(lo->disk->queue);
	old_flags = lo->flags;
	aloop_set_info(lo, info);
	/* only settable flags may change; only clearable ones may go */
	WRITE_ONCE(lo->flags,
		   (old_flags & ~LOOP_SET_STATUS_SETTABLE_FLAGS) |
		   (info->lo_flags & LOOP_SET_STATUS_SETTABLE_FLAGS) |
		   (old_flags & ~LOOP_SET_STATUS_CLEARABLE_FLAGS));
	if (size_changed)
		aloop_set_size(lo, aloop_file_sectors(lo->backing, lo->offset,
						      lo->sizelimit));
	/* the new offset may no longer suit direct I/O */
	aloop_update_dio(lo, lo->use_dio);
	aloop_unfreeze_queue(lo->disk->queue, memflags);

	if ((lo->flags & LO_FLAGS_PARTSCAN) &&
	    !(old_flags & LO_FLAGS_PARTSCAN)) {
		clear_bit(GD_SUPPRESS_PART_SCAN, &lo->disk->state);
		partscan = true;
	}
out_unlock:
	mutex_unlock(&lo->lock);
	if (partscan)
		aloop_rescan_partitions(lo);
out_claim:
	if (claimed)
		bd_abort_claiming(bdev, aloop_set_status);
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
				struct block_device *bdev, aloop_mode_t mode,
				const struct loop_info __user *arg)
{
	struct loop_info64 info;
	struct loop_info old;

	if (copy_from_user(&old, arg, sizeof(old)))
		return -EFAULT;
	aloop_info_from_legacy(&info, &old);
	return aloop_set_status(lo, bdev, mode, &info);
}

static int aloop_set_status64(struct aloop_device *lo,
			      struct block_device *bdev, aloop_mode_t mode,
			      const struct loop_info64 __user *arg)
{
	struct loop_info64 info;

	if (copy_from_user(&info, arg, sizeof(info)))
		return -EFAULT;
	return aloop_set_status(lo, bdev, mode, &info);
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
	unsigned int memflags;

	lockdep_assert_held(&lo->lock);
	if (lo->state != ALOOP_BOUND)
		return -ENXIO;
	if (lo->use_dio == !!arg)
		return 0;
	memflags = aloop_freeze_queue(lo->disk->queue);
	aloop_update_dio(lo, !!arg);
	aloop_unfreeze_queue(lo->disk->queue, memflags);
	return lo->use_dio == !!arg ? 0 : -EINVAL;
}

static int aloop_set_block_size(struct aloop_device *lo, aloop_mode_t mode,
				struct block_device *bdev, unsigned long arg)
{
	unsigned int memflags;
	long bsize;
	int err;

	if (!(mode & ALOOP_OPEN_EXCL)) {
		err = aloop_prepare_to_claim(bdev, aloop_set_block_size);
		if (err)
			return err;
	}
	err = mutex_lock_killable(&lo->lock);
	if (err)
		goto out_claim;
	err = -ENXIO;
	if (lo->state != ALOOP_BOUND)
		goto out_unlock;
	bsize = aloop_block_size_arg(arg);
	if (bsize < 0) {
		err = bsize;
		goto out_unlock;
	}
	if (!bsize)
		bsize = aloop_default_block_size(lo->backing, lo->use_dio);
	err = 0;
	if (queue_logical_block_size(lo->disk->queue) == bsize)
		goto out_unlock;

	sync_blockdev(lo->disk->part0);
	invalidate_bdev(lo->disk->part0);
	memflags = aloop_freeze_queue(lo->disk->queue);
	err = aloop_update_limits(lo, bsize);
	/* a smaller block size may rule out direct I/O */
	if (!err)
		aloop_update_dio(lo, lo->use_dio);
	aloop_unfreeze_queue(lo->disk->queue, memflags);
out_unlock:
	mutex_unlock(&lo->lock);
out_claim:
	if (!(mode & ALOOP_OPEN_EXCL))
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

/*
 * The one permission check of /dev/loopN: commands that change a bound
 * device need a writable open or CAP_SYS_ADMIN (also for 32-bit callers,
 * which stock 6.1 let through).  CONFIGURE, SET_FD, CHANGE_FD and CLR_FD
 * need none beyond the open, as in stock.
 */
static bool aloop_ioctl_permitted(unsigned int cmd, aloop_mode_t mode)
{
	switch (cmd) {
	case LOOP_SET_STATUS:
	case LOOP_SET_STATUS64:
	case LOOP_SET_BLOCK_SIZE:
	case LOOP_SET_CAPACITY:
	case LOOP_SET_DIRECT_IO:
		return (mode & ALOOP_OPEN_WRITE) || capable(CAP_SYS_ADMIN);
	default:
		return true;
	}
}

/* A permitted command; @arg is a user pointer where the command takes one. */
static int aloop_dispatch(struct aloop_device *lo, struct block_device *bdev,
			  aloop_mode_t mode, unsigned int cmd,
			  unsigned long arg)
{
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
		return aloop_detach(lo, ALOOP_DETACH_LAZY);
	case ALOOP_DETACH:
		return aloop_detach(lo, ALOOP_DETACH_SYNC);
	case LOOP_SET_STATUS:
		return aloop_set_status_old(lo, bdev, mode, argp);
	case LOOP_GET_STATUS:
		return aloop_get_status_old(lo, argp);
	case LOOP_SET_STATUS64:
		return aloop_set_status64(lo, bdev, mode, argp);
	case LOOP_GET_STATUS64:
		return aloop_get_status64(lo, argp);
	case LOOP_SET_BLOCK_SIZE:
		return aloop_set_block_size(lo, mode, bdev, arg);
	default:
		return aloop_simple_ioctl(lo, cmd, arg);
	}
}

/**
 * aloop_ioctl() - block_device_operations.ioctl of /dev/loopN
 * @bdev: the loop block device
 * @mode: open mode of the caller's file
 * @cmd: LOOP_* command
 * @arg: its argument
 *
 * Return: as stock; -EPERM without the permission a change needs,
 * -EINVAL for an unknown command.
 */
int aloop_ioctl(struct block_device *bdev, aloop_mode_t mode,
		unsigned int cmd, unsigned long arg)
{
	if (!aloop_ioctl_permitted(cmd, mode))
		return -EPERM;
	return aloop_dispatch(bdev->bd_disk->private_data, bdev, mode, cmd,
			      arg);
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
				   struct block_device *bdev, aloop_mode_t mode,
				   const struct compat_loop_info __user *arg)
{
	struct compat_loop_info c;
	struct loop_info64 info;

	if (copy_from_user(&c, arg, sizeof(c)))
		return -EFAULT;
	aloop_info_from_legacy(&info, &c);
	return aloop_set_status(lo, bdev, mode, &info);
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

int aloop_compat_ioctl(struct block_device *bdev, aloop_mode_t mode,
		       unsigned int cmd, unsigned long arg)
{
	struct aloop_device *lo = bdev->bd_disk->private_data;

	if (!aloop_ioctl_permitted(cmd, mode))
		return -EPERM;
	switch (cmd) {
	case LOOP_SET_STATUS:
		return aloop_set_status_compat(lo, bdev, mode,
					       compat_ptr(arg));
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
	case ALOOP_DETACH:
		return aloop_dispatch(lo, bdev, mode, cmd, arg);
	default:
		return -ENOIOCTLCMD;
	}
}
#endif
