// SPDX-License-Identifier: GPL-2.0
/*
 * asyncloop sysfs: /sys/block/loopN/loop/, present only while a backing
 * file is bound, with the attributes losetup and udev rules read.
 *
 * Readers never take lo->lock: sysfs_remove_group() waits for running
 * readers, so a reader blocked on a lock held around the removal would
 * deadlock.  Numbers are read with READ_ONCE(); the backing file pointer
 * under lo->backing_lock.
 */

#include <linux/device.h>
#include <linux/fs.h>

#include "aloop.h"

static struct aloop_device *aloop_from_dev(struct device *dev)
{
	return dev_to_disk(dev)->private_data;
}

static ssize_t backing_file_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct aloop_device *lo = aloop_from_dev(dev);
	ssize_t ret;
	char *p = NULL;

	spin_lock(&lo->backing_lock);
	if (lo->backing)
		p = file_path(lo->backing, buf, PAGE_SIZE - 1);
	spin_unlock(&lo->backing_lock);

	if (IS_ERR_OR_NULL(p))
		return p ? PTR_ERR(p) : 0;
	ret = strlen(p);
	memmove(buf, p, ret);
	buf[ret++] = '\n';
	buf[ret] = 0;
	return ret;
}

static ssize_t offset_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  (unsigned long long)READ_ONCE(aloop_from_dev(dev)->offset));
}

static ssize_t sizelimit_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  (unsigned long long)READ_ONCE(aloop_from_dev(dev)->sizelimit));
}

static ssize_t aloop_flag_show(struct device *dev, char *buf, u32 flag)
{
	return sysfs_emit(buf, "%d\n",
			  !!(READ_ONCE(aloop_from_dev(dev)->flags) & flag));
}

static ssize_t autoclear_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return aloop_flag_show(dev, buf, LO_FLAGS_AUTOCLEAR);
}

static ssize_t partscan_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	return aloop_flag_show(dev, buf, LO_FLAGS_PARTSCAN);
}

static ssize_t dio_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	return aloop_flag_show(dev, buf, LO_FLAGS_DIRECT_IO);
}

static DEVICE_ATTR_RO(backing_file);
static DEVICE_ATTR_RO(offset);
static DEVICE_ATTR_RO(sizelimit);
static DEVICE_ATTR_RO(autoclear);
static DEVICE_ATTR_RO(partscan);
static DEVICE_ATTR_RO(dio);

static struct attribute *aloop_attrs[] = {
	&dev_attr_backing_file.attr,
	&dev_attr_offset.attr,
	&dev_attr_sizelimit.attr,
	&dev_attr_autoclear.attr,
	&dev_attr_partscan.attr,
	&dev_attr_dio.attr,
	NULL,
};

static const struct attribute_group aloop_attr_group = {
	.name = "loop",
	.attrs = aloop_attrs,
};

void aloop_sysfs_add(struct aloop_device *lo)
{
	/* a missing directory is no reason to refuse the configuration */
	lo->sysfs_ready = !sysfs_create_group(&aloop_dev(lo)->kobj,
					      &aloop_attr_group);
}

void aloop_sysfs_del(struct aloop_device *lo)
{
	if (lo->sysfs_ready)
		sysfs_remove_group(&aloop_dev(lo)->kobj, &aloop_attr_group);
	lo->sysfs_ready = false;
}
