#!/bin/sh
# Suite partitions: the kselftest binary build/tests/partitions (PARTSCAN via
# LOOP_CONFIGURE/SET_STATUS64, BLKRRPART, removal on CLR_FD/autoclear,
# SET_CAPACITY), then real clients: an image partitioned with sfdisk,
# `losetup -P`, mkfs.vfat/mkfs.ext4 on the partitions, mount, fsck, detach.
. ../lib/tap.sh
tap_plan 12
tap_run_bin partitions
. ./partitions-clients.inc
tap_done
