#!/bin/sh
# Suite configure: the kselftest binary build/tests/configure, then a leak check.
. ../lib/tap.sh
tap_run_bin configure
tap_done
