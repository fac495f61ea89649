#!/bin/sh
# Suite hardening: build/tests/hardening (differences (r) and (s) of
# docs/compat.md), with an ext4 on the virtio disk for the direct-I/O case.
# asyncloop-modparams: max_part=15
# asyncloop-disk: 64
. ../lib/tap.sh

D=/tmp/hd-disk
mkdir -p "$D"
disk_fs() {
	[ -b "${ASYNCLOOP_DISK:-/dev/vda}" ] || { echo "no virtio disk"; return 1; }
	mkfs.ext4 -q -F "${ASYNCLOOP_DISK:-/dev/vda}" && mount -t ext4 "${ASYNCLOOP_DISK:-/dev/vda}" "$D"
}
tap_check "ext4 on the virtio disk" disk_fs
ALOOP_HARDENING_DIR=$D tap_run_bin hardening
tap_done
