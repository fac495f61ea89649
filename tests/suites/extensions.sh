#!/bin/sh
# Suite extensions: the asyncloop extensions of <linux/asyncloop.h>
# (docs/extensions.md): build/tests/extensions (atomic attach with its
# errnos, STRICT, PARTSCAN and INDEX; wait; synchronous detach; status;
# features; 4 processes x 5,000 atomic attach cycles; 1,000 SIGKILLs around
# an attach, then umount of the backing file's fs and rmmod), then
# build/tests/extensions32 (the same calls from a 32-bit process, on
# kernels with IA32 emulation).  On stock (reference mode) the new calls
# must fail as unknown commands (ENOSYS / EINVAL / ENOTTY) and the rest
# SKIPs; the stress and kill tests run the classic systemd-style fallback.
# The direct I/O checks use ext4 on the virtio disk (ALOOP_EXT_DIR).
# Knobs: ALOOP_EXT_ROUNDS, ALOOP_EXT_PROCS, ALOOP_EXT_KILLS, ALOOP_EXT_SEED,
# ALOOP_EXT_DETACH_ROUNDS (see tests/extensions.c).
# asyncloop-disk: 64
. ../lib/tap.sh
tap_plan 3

D=/tmp/ext-disk
tap_disk_ext4 "$D"
ALOOP_EXT_DIR=$D tap_run_bin extensions
# (abi.vsyscall32 exists exactly when the kernel has IA32 emulation)
if [ -e /proc/sys/abi/vsyscall32 ]; then
	ALOOP_EXT_DIR=$D tap_run_bin extensions32
else
	tap_skip extensions32 "kernel without IA32_EMULATION"
fi
umount "$D" 2>/dev/null
tap_done
