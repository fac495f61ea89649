/* SPDX-License-Identifier: GPL-2.0 */
/*
 * asyncloop - shared definitions of the loop block driver replacement.
 *
 * The state machine and the lock order are documented once, at the top of
 * teardown.c.
 */
#ifndef ALOOP_H
#define ALOOP_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/spinlock.h>
#include <linux/task_work.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <linux/asyncloop.h>

#include "compat.h"

enum aloop_state {
	ALOOP_UNBOUND,		/* no backing file; free for configuration */
	ALOOP_BOUND,		/* backing file attached; I/O allowed */
	ALOOP_RUNDOWN,		/* being detached; I/O fails, config waits */
	ALOOP_DELETING,		/* LOOP_CTL_REMOVE or rmmod in progress */
};

struct aloop_device;

/*
 * What runs one cgroup's requests on one device (worker.c): one per
 * blk-cgroup that submitted I/O, plus the device's root worker.  Each has
 * an unbound work item and one on the submitting CPU (lwork).  The lists,
 * node, idle_node and idle_since are under lo->work_lock; inflight is
 * atomic (completion drops it without a lock).
 */
struct aloop_worker {
	struct aloop_device	*lo;
	/* the cgroup's css, referenced; NULL for the root worker */
	struct cgroup_subsys_state *blkcg_css;
	atomic_t		inflight;	/* dispatched, not completed */
	struct work_struct	work;		/* on aloop_io_wq */
	struct list_head	cmds;		/* for work; aloop_cmd.node */
	struct work_struct	lwork;		/* on aloop_io_local_wq */
	struct list_head	lcmds;		/* for lwork */
	struct rb_node		node;		/* in lo->workers, if a cgroup's */
	struct list_head	idle_node;	/* in lo->idle_workers */
	unsigned long		idle_since;	/* jiffies */
};

struct aloop_device {
	int			index;
	struct gendisk		*disk;
	struct blk_mq_tag_set	tag_set;

	/* state and configuration; see teardown.c for the rules */
	struct mutex		lock;
	enum aloop_state	state;		/* aloop_set_state() */
	bool			visible;	/* under aloop_ctl_mutex */

	/*
	 * The binding (binding.c: aloop_bind()/aloop_unbind()).  Written
	 * under lo->lock; offset, sizelimit and flags with WRITE_ONCE() for
	 * the lockless sysfs readers, backing also under backing_lock.
	 */
	spinlock_t		backing_lock;	/* backing vs. sysfs readers */
	struct file		*backing;
	loff_t			offset;
	loff_t			sizelimit;
	u32			flags;		/* LO_FLAGS_* */
	char			file_name[LO_NAME_SIZE];
	gfp_t			saved_gfp;	/* backing's own gfp mask */
	/* read by other devices' aloop_report_shared(): WRITE_ONCE() */
	bool			use_dio;
	bool			sysfs_ready;
	/*
	 * Bumped by each aloop_bind() (not by LOOP_CHANGE_FD): tells one
	 * binding from the next.  Written under lo->lock, WRITE_ONCE() for
	 * ALOOP_CTL_WAIT's lockless reads.
	 */
	unsigned long		binding_gen;
	/* on aloop_bindings while bound; under aloop_bindings_lock */
	struct list_head	binding_node;

	/* I/O path (io.c) */
	atomic_t		inflight;	/* gates the backing file */

	/* workers (worker.c); the tree and the list under work_lock */
	spinlock_t		work_lock;
	struct rb_root		workers;	/* by blkcg_css */
	struct list_head	idle_workers;	/* oldest idle first */
	struct delayed_work	reap_work;	/* frees idle workers */
	struct aloop_worker	root_worker;	/* root cgroup, fallback */

	/* deferred rundown (teardown.c) */
	wait_queue_head_t	state_wait;	/* rundown finished */
	struct callback_head	rundown_twork;
	struct work_struct	rundown_work;
};

/* Per-request driver data, allocated by blk-mq behind each request. */
struct aloop_cmd {
	struct list_head	node;
	struct kiocb		iocb;
	struct bio_vec		*bvec;		/* only for multi-bio aio */
	long			ret;
	bool			use_aio;
	struct cgroup_subsys_state *blkcg_css;
	struct cgroup_subsys_state *memcg_css;
	struct aloop_worker	*worker;	/* from dispatch to completion */
};

static inline struct device *aloop_dev(struct aloop_device *lo)
{
	return disk_to_dev(lo->disk);
}

/* main.c: module parameters */
extern int aloop_part_shift;
extern int aloop_hw_queue_depth;
extern bool aloop_rundown_wq_forced;

/* control.c: /dev/loop-control */
int aloop_control_init(void);
void aloop_control_exit(void);

/* attach.c: ALOOP_CTL_ATTACH */
int aloop_attach(struct file *ctl, struct aloop_attach *a,
		 struct aloop_attach __user *uarg);
int aloop_attach_init(void);
void aloop_attach_exit(void);

/* device.c: device lifetime and the index */
void aloop_set_state(struct aloop_device *lo, enum aloop_state state);
int aloop_add(int index);
int aloop_remove_index(int index);
int aloop_get_free(void);
struct aloop_device *aloop_get_device(int index);
void aloop_put_device(struct aloop_device *lo);
struct aloop_device *aloop_find_free(void);
void aloop_remove_all(void);
void aloop_rescan_partitions(struct aloop_device *lo);

/* binding.c: validating, attaching and detaching the backing file */
bool aloop_is_loop_file(struct file *file);
int aloop_validate_file(struct file *file, dev_t devt);
int aloop_check_info(const struct loop_info64 *info);
struct file *aloop_get_backing(unsigned int fd);
bool aloop_dio_possible(struct file *file, loff_t offset, unsigned int bsize);
int aloop_configure_locked(struct aloop_device *lo, struct file *file,
			   const struct loop_config *config, bool writable,
			   bool strict);
sector_t aloop_file_sectors(struct file *file, loff_t offset,
			    loff_t sizelimit);
void aloop_set_size(struct aloop_device *lo, sector_t sectors);
unsigned int aloop_default_block_size(struct file *file, bool dio);
int aloop_update_limits(struct aloop_device *lo, unsigned int bsize);
void aloop_update_dio(struct aloop_device *lo, bool want);
struct file *aloop_swap_backing(struct aloop_device *lo, struct file *file);
void aloop_set_info(struct aloop_device *lo, const struct loop_info64 *info);
int aloop_bind(struct aloop_device *lo, struct file *file,
	       const struct loop_info64 *info, u32 flags, unsigned int bsize);
struct file *aloop_unbind(struct aloop_device *lo);
void aloop_put_binding(struct file *file);

/* config.c: ioctls on /dev/loopN */
int aloop_ioctl(struct block_device *bdev, aloop_mode_t mode,
		unsigned int cmd, unsigned long arg);
int aloop_compat_ioctl(struct block_device *bdev, aloop_mode_t mode,
		       unsigned int cmd, unsigned long arg);

/* io.c: request handling */
extern const struct blk_mq_ops aloop_mq_ops;
void aloop_io_init_device(struct aloop_device *lo);
void aloop_io_drain(struct aloop_device *lo);
void aloop_handle_cmd(struct aloop_device *lo, struct aloop_cmd *cmd);

/* worker.c: which work item runs a request */
void aloop_worker_queue(struct aloop_device *lo, struct aloop_cmd *cmd,
			struct request *rq);
void aloop_worker_done(struct aloop_cmd *cmd);
void aloop_workers_init_device(struct aloop_device *lo);
void aloop_workers_stop_device(struct aloop_device *lo);
int aloop_workers_init(void);
#ifdef ALOOP_NAIVE_TEARDOWN
void aloop_io_flush_all(void);
#endif
void aloop_workers_exit(void);

/* teardown.c: state machine, lazy/auto clear, deferred rundown */
extern struct mutex aloop_validate_mutex;
int aloop_lock(struct aloop_device *lo, bool global);
void aloop_unlock(struct aloop_device *lo, bool global);
int aloop_wait_rundown(struct aloop_device *lo);
int aloop_lock_unbound(struct aloop_device *lo, bool global);
enum aloop_detach_how {
	ALOOP_DETACH_LAZY,	/* LOOP_CLR_FD */
	ALOOP_DETACH_SYNC,	/* ALOOP_DETACH */
	ALOOP_DETACH_UNDO,	/* a failed ALOOP_CTL_ATTACH */
};

int aloop_detach(struct aloop_device *lo, enum aloop_detach_how how);
int aloop_undo_attach(struct aloop_device *lo, unsigned long gen);
int aloop_open(struct gendisk *disk);
void aloop_release(struct gendisk *disk);
void aloop_teardown_init_device(struct aloop_device *lo);
int aloop_teardown_init(void);
void aloop_teardown_exit(void);
int aloop_pending_rundowns(void);

/* sysfs.c: /sys/block/loopN/loop/ */
void aloop_sysfs_add(struct aloop_device *lo);
void aloop_sysfs_del(struct aloop_device *lo);

#endif /* ALOOP_H */
