#!/bin/sh
# Suite reconfig: build/tests/reconfig with its backing files on ext4 over
# the virtio disk, where direct I/O is real on every kernel (tmpfs has no
# O_DIRECT before 6.6).
# asyncloop-disk: 128
. ../lib/tap.sh
tap_plan 2

D=/tmp/rc-disk
tap_disk_ext4 "$D"
ALOOP_RECONFIG_DIR=$D tap_run_bin reconfig
tap_done
