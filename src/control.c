// SPDX-License-Identifier: GPL-2.0
/*
 * asyncloop control device: /dev/loop-control (misc minor 237).
 */

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

#include "aloop.h"

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
		return -ENOSYS;
	}
}

static const struct file_operations aloop_control_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= aloop_control_ioctl,
	.compat_ioctl	= aloop_control_ioctl,
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
