#!/bin/sh
# Suite compat32: build/tests/compat32, a -m32 static binary exercising the
# 32-bit compat ioctl paths (struct loop_info compat layout, compat_ptr
# pass-through, control ioctls) on the 64-bit kernel (IA32_EMULATION=y).
. ../lib/tap.sh
tap_run_bin compat32
tap_done
