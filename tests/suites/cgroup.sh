#!/bin/sh
# Suite cgroup: build/tests/cgroup, per-cgroup isolation on one loop device
# (cgroup v2, io.max on the virtio disk that holds the backing file).
# asyncloop-disk: 256
. ../lib/tap.sh
tap_plan 2

D=/tmp/cg-disk
tap_disk_ext4 "$D"
ALOOP_CGROUP_DIR=$D tap_run_bin cgroup
tap_done
