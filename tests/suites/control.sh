#!/bin/sh
# Suite control: the kselftest binary build/tests/control, then a leak check.
. ../lib/tap.sh
tap_run_bin control
tap_done
