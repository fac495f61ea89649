#!/bin/sh
# Fuzz suite, run by vm/fuzz (make fuzz), never by make check: it lives
# outside tests/suites. Backing files go to ext4 on the VM's virtio disk
# (and to tmpfs), then build/tests/fuzz runs (tests/fuzz.c, docs/fuzz.md),
# and its 32-bit build.
# asyncloop-disk: 256
. ../lib/tap.sh
tap_plan 3
D=/mnt/fuzz-ext4
if [ -b "${ASYNCLOOP_DISK:-/nonexistent}" ] && mkdir -p "$D" &&
	mkfs.ext4 -q -F "$ASYNCLOOP_DISK" && mount -t ext4 "$ASYNCLOOP_DISK" "$D"; then
	export ALOOP_FUZZ_EXT4="$D"
	tap_ok "ext4 for backing files on $ASYNCLOOP_DISK"
else
	tap_not_ok "ext4 for backing files on ${ASYNCLOOP_DISK:-(no --disk)}"
fi
tap_run_bin fuzz
# The 32-bit build (compat ioctls) for a fifth of the time, where the kernel
# runs 32-bit binaries (abi.vsyscall32 exists exactly with IA32 emulation;
# the debug kernels have none).
if [ -e /proc/sys/abi/vsyscall32 ]; then
	s=$((${ALOOP_FUZZ_SECS:-300} / 5))
	[ "$s" -lt 30 ] && s=30
	export ALOOP_FUZZ_SECS="$s"
	tap_run_bin fuzz32
else
	tap_skip fuzz32 "kernel without IA32_EMULATION"
fi
[ -n "${ALOOP_FUZZ_EXT4:-}" ] && umount "$D"
tap_done
