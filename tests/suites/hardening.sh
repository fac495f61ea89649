#!/bin/sh
# Suite hardening: build/tests/hardening (differences (r) and (s) of
# docs/compat.md), with an ext4 on the virtio disk for the direct-I/O case.
# asyncloop-modparams: max_part=15
# asyncloop-disk: 64
. ../lib/tap.sh
tap_plan 2

D=/tmp/hd-disk
tap_disk_ext4 "$D"
ALOOP_HARDENING_DIR=$D tap_run_bin hardening
tap_done
