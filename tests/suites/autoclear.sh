#!/bin/sh
# Suite autoclear: the kselftest binary build/tests/autoclear, then a leak check.
. ../lib/tap.sh
tap_plan 1
tap_run_bin autoclear
tap_done
