#!/bin/sh
# make soak (not part of make check): build/tests/soak for $ALOOP_SOAK_SECS
# seconds with its backing files on ext4 over the virtio disk.
# asyncloop-disk: 256
. ../lib/tap.sh

D=/tmp/soak-disk
mkdir -p "$D"
disk_fs() {
	[ -b "${ASYNCLOOP_DISK:-/dev/vda}" ] || { echo "no virtio disk"; return 1; }
	mkfs.ext4 -q -F "${ASYNCLOOP_DISK:-/dev/vda}" && mount -t ext4 "${ASYNCLOOP_DISK:-/dev/vda}" "$D"
}
tap_check "ext4 on the virtio disk" disk_fs
ALOOP_SOAK_DIR=$D tap_run_bin soak
tap_done
