#!/bin/sh
# Suite sysfs: the kselftest binary build/tests/sysfs, then a leak check.
. ../lib/tap.sh
tap_plan 1
tap_run_bin sysfs
tap_done
