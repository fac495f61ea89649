#!/bin/sh
# Suite io: the kselftest binary build/tests/io, then a leak check.
. ../lib/tap.sh
tap_plan 1
tap_run_bin io
tap_done
