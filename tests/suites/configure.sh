#!/bin/sh
# Suite configure: the kselftest binary build/tests/configure, then a leak check.
. ../lib/tap.sh
tap_plan 1
tap_run_bin configure
tap_done
