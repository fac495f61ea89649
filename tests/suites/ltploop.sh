#!/bin/sh
# Suite ltploop: build/tests/ltploop, our own implementation of the checks of
# LTP's ioctl_loop01..07 (peer suite, docs/reliability.md), with an ext4 on
# the virtio disk for ioctl_loop05 (LOOP_SET_DIRECT_IO wants a filesystem
# with direct I/O and a backing block device, not tmpfs).
# asyncloop-disk: 64
. ../lib/tap.sh
tap_plan 2

D=/tmp/ltp-disk
tap_disk_ext4 "$D"
ALOOP_LTP_DIR=$D tap_run_bin ltploop
tap_done
