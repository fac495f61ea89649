// SPDX-License-Identifier: GPL-2.0
/*
 * asyncloop control device: /dev/loop-control (misc minor 237).
 *
 * The classic commands take an integer.  The extensions of
 * <linux/asyncloop.h> take a structure: aloop_control_ext() copies it in,
 * checks it and looks the device up once for all of them, then copies the
 * answer out (ALOOP_CTL_ATTACH does its own copy-out, before it installs
 * the descriptor).
 */

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "aloop.h"

/*
 * What stock answers to a control command it does not know, and what
 * userspace tests to fall back to the classic ABI.
 */
#define ALOOP_CTL_UNKNOWN	(-ENOSYS)

#define ALOOP_FEATURES	(ALOOP_FEAT_ATTACH | ALOOP_FEAT_WAIT | \
			 ALOOP_FEAT_DETACH | ALOOP_FEAT_STATUS | \
			 ALOOP_FEAT_STRICT)

union aloop_ctl_arg {
	struct aloop_features	features;
	struct aloop_attach	attach;
	struct aloop_wait	wait;
	struct aloop_status	status;
};

static const u32 aloop_uapi_state[] = {
	[ALOOP_UNBOUND]		= ALOOP_STATE_UNBOUND,
	[ALOOP_BOUND]		= ALOOP_STATE_BOUND,
	[ALOOP_RUNDOWN]		= ALOOP_STATE_RUNDOWN,
	[ALOOP_DELETING]	= ALOOP_STATE_DELETING,
};

static void aloop_features(struct aloop_features *f)
{
	f->version = ALOOP_API_VERSION;
	f->features = ALOOP_FEATURES;
}

/* Has binding @gen of @lo ended? */
static bool aloop_binding_gone(struct aloop_device *lo, unsigned long gen)
{
	enum aloop_state state = READ_ONCE(lo->state);

	return state == ALOOP_UNBOUND || state == ALOOP_DELETING ||
	       READ_ONCE(lo->binding_gen) != gen;
}

/*
 * ALOOP_CTL_WAIT: until the binding @lo has now is gone (a LOOP_CHANGE_FD
 * keeps it).  The rundown wakes lo->state_wait when it is done.
 */
static int aloop_wait_unbound(struct aloop_device *lo,
			      const struct aloop_wait *w)
{
	unsigned long gen = READ_ONCE(lo->binding_gen);
	unsigned long timeout;
	long left;

	if (aloop_binding_gone(lo, gen))
		return 0;
	if (w->timeout_ms == ALOOP_WAIT_FOREVER)
		return wait_event_killable(lo->state_wait,
					   aloop_binding_gone(lo, gen));
	timeout = msecs_to_jiffies(min_t(u64, w->timeout_ms, UINT_MAX));
	left = wait_event_killable_timeout(lo->state_wait,
					   aloop_binding_gone(lo, gen),
					   timeout);
	if (left < 0)
		return left;
	return left ? 0 : -ETIMEDOUT;
}

/* ALOOP_CTL_STATUS; the binding's fields are read under lo->lock. */
static int aloop_status(struct aloop_device *lo, struct aloop_status *s)
{
	int err;

	err = mutex_lock_killable(&lo->lock);
	if (err)
		return err;
	s->state = aloop_uapi_state[lo->state];
	s->openers = disk_openers(lo->disk);
	s->block_size = queue_logical_block_size(lo->disk->queue);
	s->flags = lo->flags;
	s->offset = lo->offset;
	s->sizelimit = lo->sizelimit;
	s->size = get_capacity(lo->disk) << SECTOR_SHIFT;
	s->diskseq = lo->disk->diskseq;
	mutex_unlock(&lo->lock);
	return 0;
}

/* Fields the caller must leave zero, per command. */
static bool aloop_ctl_arg_valid(unsigned int cmd, const union aloop_ctl_arg *u)
{
	switch (cmd) {
	case ALOOP_CTL_WAIT:
		return !u->wait.__pad;
	case ALOOP_CTL_STATUS:
		return !u->status.__pad &&
		       !memchr_inv(u->status.__reserved, 0,
				   sizeof(u->status.__reserved));
	default:
		return true;
	}
}

static long aloop_control_ext(struct file *file, unsigned int cmd,
			      void __user *argp)
{
	struct aloop_device *lo = NULL;
	union aloop_ctl_arg u;
	long ret;

	switch (cmd) {
	case ALOOP_CTL_GET_FEATURES:
	case ALOOP_CTL_ATTACH:
	case ALOOP_CTL_WAIT:
	case ALOOP_CTL_STATUS:
		break;
	default:
		return ALOOP_CTL_UNKNOWN;
	}

	memset(&u, 0, sizeof(u));
	if ((_IOC_DIR(cmd) & _IOC_WRITE) &&
	    copy_from_user(&u, argp, _IOC_SIZE(cmd)))
		return -EFAULT;
	if (!aloop_ctl_arg_valid(cmd, &u))
		return -EINVAL;
	if (cmd == ALOOP_CTL_WAIT || cmd == ALOOP_CTL_STATUS) {
		lo = aloop_get_device(cmd == ALOOP_CTL_WAIT ? u.wait.index :
					      u.status.index);
		if (IS_ERR(lo))
			return PTR_ERR(lo);
	}

	switch (cmd) {
	case ALOOP_CTL_GET_FEATURES:
		aloop_features(&u.features);
		ret = 0;
		break;
	case ALOOP_CTL_ATTACH:
		return aloop_attach(file, &u.attach, argp);
	case ALOOP_CTL_WAIT:
		ret = aloop_wait_unbound(lo, &u.wait);
		break;
	default:	/* ALOOP_CTL_STATUS */
		ret = aloop_status(lo, &u.status);
		break;
	}
	if (lo)
		aloop_put_device(lo);
	if (!ret && (_IOC_DIR(cmd) & _IOC_READ) &&
	    copy_to_user(argp, &u, _IOC_SIZE(cmd)))
		ret = -EFAULT;
	return ret;
}

static long aloop_control_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	switch (cmd) {
	case LOOP_CTL_ADD:
		return aloop_add(arg);
	case LOOP_CTL_REMOVE:
		return aloop_remove_index(arg);
	case LOOP_CTL_GET_FREE:
		return aloop_get_free();
	default:
		return aloop_control_ext(file, cmd, (void __user *)arg);
	}
}

#ifdef CONFIG_COMPAT
/* the structures have one layout; only the pointer needs converting */
static long aloop_control_compat_ioctl(struct file *file, unsigned int cmd,
				       unsigned long arg)
{
	switch (cmd) {
	case LOOP_CTL_ADD:
	case LOOP_CTL_REMOVE:
	case LOOP_CTL_GET_FREE:
		return aloop_control_ioctl(file, cmd, arg);
	default:
		return aloop_control_ext(file, cmd, compat_ptr(arg));
	}
}
#endif

static const struct file_operations aloop_control_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= aloop_control_ioctl,
#ifdef CONFIG_COMPAT
	.compat_ioctl	= aloop_control_compat_ioctl,
#endif
	.llseek		= noop_llseek,
};

static struct miscdevice aloop_control_dev = {
	.minor		= LOOP_CTRL_MINOR,
	.name		= "loop-control",
	.fops		= &aloop_control_fops,
};

int aloop_control_init(void)
{
	return misc_register(&aloop_control_dev);
}

void aloop_control_exit(void)
{
	misc_deregister(&aloop_control_dev);
}
