// SPDX-License-Identifier: GPL-2.0
/*
 * asyncloop atomic attach: ALOOP_CTL_ATTACH picks a free device, binds it
 * and returns a descriptor open on it, in one call (docs/extensions.md).
 *
 * The device is chosen and bound in one critical section of lo->lock, so
 * nobody sees it free in between.  AUTOCLEAR is armed only after the
 * call's own open of the device: until then no close by anyone else can
 * detach it.  Every step after the binding is undone by aloop_detach(),
 * the same path as LOOP_CLR_FD, so an error leaves nothing bound.
 *
 * The descriptor is a real open of the block device (blkdev_open() of the
 * running kernel, with its device-cgroup check), made through an inode of
 * a private pseudo filesystem that carries the device number: no device
 * node needs to exist, and no path lookup can be redirected.
 */

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>

#include "aloop.h"

#define ALOOP_FS_MAGIC	0x6c6f6f70	/* "loop" */
/* other attachers only make us move on; this bounds hostile churn */
#define ALOOP_ATTACH_TRIES	64

static struct vfsmount *aloop_mnt;

/* /proc/PID/fd/N of a returned descriptor reads /dev/loopN */
static char *aloop_fs_dname(struct dentry *dentry, char *buf, int buflen)
{
	const char *name = dentry->d_name.name;
	int len = strlen("/dev/") + strlen(name) + 1;

	if (len > buflen)
		return ERR_PTR(-ENAMETOOLONG);
	buf += buflen - len;
	snprintf(buf, len, "/dev/%s", name);
	return buf;
}

static const struct dentry_operations aloop_fs_dops = {
	.d_dname	= aloop_fs_dname,
};

static int aloop_fs_init_fs_context(struct fs_context *fc)
{
	struct pseudo_fs_context *ctx = init_pseudo(fc, ALOOP_FS_MAGIC);

	if (!ctx)
		return -ENOMEM;
	ctx->dops = &aloop_fs_dops;
	return 0;
}

/* no .owner: a module reference per mount would keep us from unloading */
static struct file_system_type aloop_fs_type = {
	.name		= "asyncloop",
	.init_fs_context = aloop_fs_init_fs_context,
	.kill_sb	= kill_anon_super,
};

/*
 * Open the whole device of @lo as open(2) of its node with @flags would.
 * The dentry is never hashed: it goes away with the file.
 */
static struct file *aloop_open_disk(struct aloop_device *lo, int flags)
{
	struct qstr name = QSTR_INIT(lo->disk->disk_name,
				     strlen(lo->disk->disk_name));
	struct path path = { .mnt = aloop_mnt };
	struct inode *inode;
	struct file *file;

	inode = new_inode(aloop_mnt->mnt_sb);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	inode->i_ino = get_next_ino();
	init_special_inode(inode, S_IFBLK | 0600, disk_devt(lo->disk));
	path.dentry = d_alloc(aloop_mnt->mnt_sb->s_root, &name);
	if (!path.dentry) {
		iput(inode);
		return ERR_PTR(-ENOMEM);
	}
	d_instantiate(path.dentry, inode);
	file = dentry_open(&path, flags | O_LARGEFILE, current_cred());
	dput(path.dentry);
	return file;
}

/* Check what the caller may not set: reserved fields and unknown flags. */
static int aloop_attach_check(const struct aloop_attach *a)
{
	int i;

	if (a->flags & ~ALOOP_ATTACH_FLAGS || a->__pad)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(a->__reserved); i++)
		if (a->__reserved[i])
			return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(a->config.__reserved); i++)
		if (a->config.__reserved[i])
			return -EINVAL;
	if ((a->flags & ALOOP_ATTACH_INDEX) && a->index < 0)
		return -EINVAL;
	return 0;
}

/*
 * The device ALOOP_ATTACH_INDEX names, created if it does not exist
 * (*@created), or one that looks free.  Referenced.
 */
static struct aloop_device *aloop_attach_candidate(const struct aloop_attach *a,
						   bool *created)
{
	struct aloop_device *lo;
	int err;

	*created = false;
	if (!(a->flags & ALOOP_ATTACH_INDEX))
		return aloop_find_free();
	lo = aloop_get_device(a->index);
	if (lo != ERR_PTR(-ENODEV))
		return lo;
	err = aloop_add(a->index);
	if (err < 0 && err != -EEXIST)
		return ERR_PTR(err);
	*created = err >= 0;
	return aloop_get_device(a->index);
}

/*
 * A failed attach takes back the device it created for ALOOP_ATTACH_INDEX:
 * an error changes nothing.  Someone may have opened it meanwhile (then
 * it stays, as after LOOP_CTL_ADD).
 */
static void aloop_attach_uncreate(struct aloop_device *lo, bool created)
{
	int index = lo->index;

	aloop_put_device(lo);
	if (created)
		aloop_remove_index(index);
}

/*
 * Bind @file to a device: the named one, or the first free one that is
 * still free under its lock.  Return: the bound device, referenced, with
 * its binding generation in *@gen and whether this call created it in
 * *@created; or ERR_PTR(-errno), @file still the caller's.
 */
static struct aloop_device *aloop_attach_bind(const struct aloop_attach *a,
					      struct file *file, bool writable,
					      unsigned long *gen, bool *created)
{
	bool is_loop = aloop_is_loop_file(file);
	bool strict = a->flags & ALOOP_ATTACH_STRICT;
	struct loop_config config = a->config;
	struct aloop_device *lo;
	int tries, err;

	/* armed once the device is held, see aloop_attach() */
	config.info.lo_flags &= ~LO_FLAGS_AUTOCLEAR;
	for (tries = 0; tries < ALOOP_ATTACH_TRIES; tries++) {
		lo = aloop_attach_candidate(a, created);
		if (lo == ERR_PTR(-ENODEV))
			continue;	/* removed before we saw it */
		if (IS_ERR(lo))
			return lo;
		err = aloop_lock_unbound(lo, is_loop);
		if (err) {
			aloop_attach_uncreate(lo, *created);
			return ERR_PTR(err);
		}
		if (lo->state != ALOOP_UNBOUND &&
		    !(a->flags & ALOOP_ATTACH_INDEX)) {
			/* taken since aloop_find_free() saw it: next one */
			aloop_unlock(lo, is_loop);
			aloop_put_device(lo);
			continue;
		}
		err = aloop_configure_locked(lo, file, &config, writable,
					     strict);
		*gen = lo->binding_gen;
		aloop_unlock(lo, is_loop);
		if (!err)
			return lo;
		aloop_attach_uncreate(lo, *created);
		return ERR_PTR(err);
	}
	return ERR_PTR(-EBUSY);
}

static unsigned int aloop_count_partitions(struct aloop_device *lo)
{
	struct block_device *part;
	unsigned long idx;
	unsigned int n = 0;

	rcu_read_lock();
	xa_for_each_start(&lo->disk->part_tbl, idx, part, 1)
		n++;
	rcu_read_unlock();
	return n;
}

/*
 * Still our binding (nobody detached or rebound it before our open)?
 * Then arm AUTOCLEAR if it was asked for.
 */
static bool aloop_attach_arm(struct aloop_device *lo, unsigned long gen,
			     u32 lo_flags)
{
	bool ours;

	mutex_lock(&lo->lock);
	ours = lo->state == ALOOP_BOUND && lo->binding_gen == gen;
	if (ours && (lo_flags & LO_FLAGS_AUTOCLEAR))
		WRITE_ONCE(lo->flags, lo->flags | LO_FLAGS_AUTOCLEAR);
	mutex_unlock(&lo->lock);
	return ours;
}

/**
 * aloop_attach() - ALOOP_CTL_ATTACH
 * @ctl: the caller's /dev/loop-control
 * @a: the argument, copied in
 * @uarg: where to copy the result
 *
 * Return: a new O_CLOEXEC descriptor open on the bound device, or -errno
 * with nothing bound.
 */
int aloop_attach(struct file *ctl, struct aloop_attach *a,
		 struct aloop_attach __user *uarg)
{
	bool writable = ctl->f_mode & FMODE_WRITE;
	struct aloop_device *lo;
	struct file *file, *dev;
	bool created;
	int fd, err;
	unsigned long gen;

	err = aloop_attach_check(a);
	if (err)
		return err;
	file = aloop_get_backing(a->config.fd);
	if (IS_ERR(file))
		return PTR_ERR(file);
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		fput(file);
		return fd;
	}

	lo = aloop_attach_bind(a, file, writable, &gen, &created);
	if (IS_ERR(lo)) {
		put_unused_fd(fd);
		fput(file);
		return PTR_ERR(lo);
	}
	/* from here on @file belongs to the binding */

	if (lo->flags & LO_FLAGS_PARTSCAN)
		aloop_rescan_partitions(lo);
	/*
	 * Copy out before the open: a fault is undone synchronously here,
	 * while a descriptor, once open, only goes away after this call
	 * (fput() defers the release to task work).
	 */
	a->index = lo->index;
	a->dev_fd = fd;
	a->nr_partitions = aloop_count_partitions(lo);
	if (copy_to_user(uarg, a, sizeof(*a))) {
		err = -EFAULT;
		goto out_detach;
	}
	dev = aloop_open_disk(lo, lo->flags & LO_FLAGS_READ_ONLY ?
				  O_RDONLY : O_RDWR);
	if (IS_ERR(dev)) {
		err = PTR_ERR(dev);
		/* ENXIO: in rundown, detached by someone else in between */
		if (aloop_undo_attach(lo, gen) == -ENXIO)
			err = -EBUSY;
		goto out_undone;
	}
	if (!aloop_attach_arm(lo, gen, a->config.info.lo_flags)) {
		/* someone detached it in between: it is not ours to undo */
		err = -EBUSY;
		goto out_close;
	}
	fd_install(fd, dev);
	aloop_put_device(lo);
	return fd;

out_close:
	fput(dev);
	put_unused_fd(fd);
	aloop_put_device(lo);
	return err;
out_detach:
	aloop_undo_attach(lo, gen);
out_undone:
	put_unused_fd(fd);
	aloop_attach_uncreate(lo, created);
	return err;
}

int aloop_attach_init(void)
{
	aloop_mnt = kern_mount(&aloop_fs_type);
	return PTR_ERR_OR_ZERO(aloop_mnt);
}

void aloop_attach_exit(void)
{
	kern_unmount(aloop_mnt);
}
