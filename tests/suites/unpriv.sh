#!/bin/sh
# Suite unpriv: build/tests/unpriv, every loop ioctl as a user in group disk
# (uid 1000, no capabilities, root:disk 0660 device nodes).
. ../lib/tap.sh
tap_plan 1
tap_run_bin unpriv
tap_done
