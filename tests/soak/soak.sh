#!/bin/sh
# make soak (not part of make check): build/tests/soak for $ALOOP_SOAK_SECS
# seconds with its backing files on ext4 over the virtio disk.
# asyncloop-disk: 256
. ../lib/tap.sh
tap_plan 2

D=/tmp/soak-disk
tap_disk_ext4 "$D"
ALOOP_SOAK_DIR=$D tap_run_bin soak
tap_done
