#!/bin/sh
# Suite control: the kselftest binary build/tests/control, then a leak check.
. ../lib/tap.sh
tap_plan 1
tap_run_bin control
tap_done
