#!/bin/sh
# Fuzz suite, run by vm/fuzz (make fuzz), never by make check: it lives
# outside tests/suites. Backing files go to ext4 on the VM's virtio disk
# (and to tmpfs), then build/tests/fuzz runs (tests/fuzz.c, docs/fuzz.md).
# asyncloop-disk: 256
. ../lib/tap.sh
D=/mnt/fuzz-ext4
if [ -b "${ASYNCLOOP_DISK:-/nonexistent}" ] && mkdir -p "$D" &&
	mkfs.ext4 -q -F "$ASYNCLOOP_DISK" && mount -t ext4 "$ASYNCLOOP_DISK" "$D"; then
	export ALOOP_FUZZ_EXT4="$D"
	tap_ok "ext4 for backing files on $ASYNCLOOP_DISK"
else
	tap_not_ok "ext4 for backing files on ${ASYNCLOOP_DISK:-(no --disk)}"
fi
tap_run_bin fuzz
[ -n "${ALOOP_FUZZ_EXT4:-}" ] && umount "$D"
tap_done
