// SPDX-License-Identifier: GPL-2.0
/*
 * asyncloop - a drop-in replacement for the Linux loop block driver whose
 * autoclear teardown never runs under a block layer lock yet completes
 * before close() returns (see teardown.c).
 *
 * This file: module parameters, init and exit.
 */

#include <linux/major.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "aloop.h"

#define ALOOP_DEFAULT_DEVICES	8	/* CONFIG_BLK_DEV_LOOP_MIN_COUNT */
#define ALOOP_DEFAULT_QD	128

/*
 * As in stock: max_loop devices are created at load, and if the parameter
 * was given it also caps the devices created by opening a /dev/loopN node.
 */
static int max_loop = ALOOP_DEFAULT_DEVICES;
static bool max_loop_specified;

static int max_loop_set(const char *val, const struct kernel_param *kp)
{
	int err = param_set_int(val, kp);

	if (!err)
		max_loop_specified = true;
	return err;
}

static const struct kernel_param_ops max_loop_ops = {
	.set = max_loop_set,
	.get = param_get_int,
};
module_param_cb(max_loop, &max_loop_ops, &max_loop, 0444);
MODULE_PARM_DESC(max_loop, "Maximum number of loop devices");

static int max_part;
module_param(max_part, int, 0444);
MODULE_PARM_DESC(max_part, "Maximum number of partitions per loop device");

int aloop_hw_queue_depth = ALOOP_DEFAULT_QD;

static int hw_queue_depth_set(const char *val, const struct kernel_param *kp)
{
	int depth, err;

	err = kstrtoint(val, 10, &depth);
	if (err || depth < 1)
		return -EINVAL;
	aloop_hw_queue_depth = depth;
	return 0;
}

static const struct kernel_param_ops hw_queue_depth_ops = {
	.set = hw_queue_depth_set,
	.get = param_get_int,
};
module_param_cb(hw_queue_depth, &hw_queue_depth_ops, &aloop_hw_queue_depth,
		0444);
MODULE_PARM_DESC(hw_queue_depth, "Queue depth for each hardware queue. Default: 128");

bool aloop_rundown_wq_forced;
module_param_named(rundown_workqueue, aloop_rundown_wq_forced, bool, 0644);
MODULE_PARM_DESC(rundown_workqueue,
		 "Run autoclear rundowns on a workqueue instead of the closing task (testing only: close() then returns before the backing file is released)");

static int pending_rundowns_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", aloop_pending_rundowns());
}

static const struct kernel_param_ops pending_rundowns_ops = {
	.get = pending_rundowns_get,
};
module_param_cb(pending_rundowns, &pending_rundowns_ops, NULL, 0444);
MODULE_PARM_DESC(pending_rundowns,
		 "Autoclear rundowns queued but not finished (read-only)");

int aloop_part_shift;

static void aloop_probe(dev_t dev)
{
	int index = MINOR(dev) >> aloop_part_shift;

	if (max_loop_specified && max_loop && index >= max_loop)
		return;
	aloop_add(index);
}

static int __init aloop_init(void)
{
	int i, err;

	if (max_part > 0) {
		aloop_part_shift = fls(max_part);
		/* partition 0 is the whole disk: report what we really give */
		max_part = (1UL << aloop_part_shift) - 1;
	}
	if ((1UL << aloop_part_shift) > DISK_MAX_PARTS)
		return -EINVAL;
	if (max_loop > 1UL << (MINORBITS - aloop_part_shift))
		return -EINVAL;

	err = aloop_workers_init();
	if (err)
		return err;
	err = aloop_teardown_init();
	if (err)
		goto out_io;
	err = aloop_attach_init();
	if (err)
		goto out_teardown;
	err = aloop_control_init();
	if (err)
		goto out_attach;
	if (__register_blkdev(LOOP_MAJOR, "loop", aloop_probe)) {
		err = -EIO;
		goto out_control;
	}

	for (i = 0; i < max_loop; i++)
		aloop_add(i);

	pr_info("loop: module loaded (asyncloop)\n");
	return 0;

out_control:
	aloop_control_exit();
out_attach:
	aloop_attach_exit();
out_teardown:
	aloop_teardown_exit();
out_io:
	aloop_workers_exit();
	return err;
}

static void __exit aloop_exit(void)
{
	unregister_blkdev(LOOP_MAJOR, "loop");
	aloop_control_exit();
	/* every bound device and pending rundown holds a module reference */
	aloop_remove_all();
	aloop_attach_exit();
	aloop_teardown_exit();
	aloop_workers_exit();
}

module_init(aloop_init);
module_exit(aloop_exit);

MODULE_DESCRIPTION("Loopback block device with synchronous-looking asynchronous teardown");
MODULE_LICENSE("GPL");
/* DKMS replaces the stock module only when the versions differ */
MODULE_VERSION(ALOOP_VERSION);
MODULE_ALIAS_BLOCKDEV_MAJOR(LOOP_MAJOR);
MODULE_ALIAS_MISCDEV(LOOP_CTRL_MINOR);
MODULE_ALIAS("devname:loop-control");
