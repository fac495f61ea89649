#!/bin/sh
# Guest side of vm/faults (make check-faults): an ext4 on the VM's disk for
# the backing file of the I/O-error tests, then build/tests/faults.
# Not a suite: it needs a debug kernel booted with kmemleak=on and --disk.
# asyncloop-disk: 64
. ../lib/tap.sh
tap_plan 3
disk=${ASYNCLOOP_DISK:?vm/run --disk}
mnt=/mnt/faults
# No journal and no lazy inode-table init: while the disk fails, nothing but
# the test's own I/O may reach it (a failed journal commit would abort the
# file system); errors=continue keeps it writable after the failed writes.
if mkfs.ext4 -q -F -O ^has_journal -E lazy_itable_init=0 "$disk" &&
   mkdir -p "$mnt" && mount -t ext4 -o noatime,errors=continue "$disk" "$mnt"; then
	tap_ok "ext4 on $disk"
else
	tap_not_ok "ext4 on $disk"
fi
ALOOP_FAULTS_DIR=$mnt ALOOP_FAULTS_DISK=${disk#/dev/}
export ALOOP_FAULTS_DIR ALOOP_FAULTS_DISK
tap_run_bin faults
tap_check "umount $mnt" umount "$mnt"
tap_done
