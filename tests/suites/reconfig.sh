#!/bin/sh
# Suite reconfig: build/tests/reconfig with its backing files on ext4 over
# the virtio disk, where direct I/O is real on every kernel (tmpfs has no
# O_DIRECT before 6.6).
# asyncloop-disk: 128
. ../lib/tap.sh

D=/tmp/rc-disk
mkdir -p "$D"
disk_fs() {
	[ -b "${ASYNCLOOP_DISK:-/dev/vda}" ] || { echo "no virtio disk"; return 1; }
	mkfs.ext4 -q -F "${ASYNCLOOP_DISK:-/dev/vda}" && mount -t ext4 "${ASYNCLOOP_DISK:-/dev/vda}" "$D"
}
tap_check "ext4 on the virtio disk" disk_fs
ALOOP_RECONFIG_DIR=$D tap_run_bin reconfig
tap_done
