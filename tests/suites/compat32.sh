#!/bin/sh
# Suite compat32: build/tests/compat32, a -m32 static binary exercising the
# 32-bit compat ioctl paths (struct loop_info compat layout, compat_ptr
# pass-through, control ioctls) on the 64-bit kernel (IA32_EMULATION=y).
# A kernel that cannot run 32-bit binaries (the lockdep debug kernel) skips.
. ../lib/tap.sh
tap_plan 1
# (abi.vsyscall32 exists exactly when the kernel has IA32 emulation)
if [ -e /proc/sys/abi/vsyscall32 ]; then
	tap_run_bin compat32
else
	tap_skip compat32 "kernel without IA32_EMULATION"
fi
tap_done
