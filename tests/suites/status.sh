#!/bin/sh
# Suite status: the kselftest binary build/tests/status, then a leak check.
. ../lib/tap.sh
tap_plan 1
tap_run_bin status
tap_done
