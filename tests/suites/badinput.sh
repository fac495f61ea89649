#!/bin/sh
# Suite badinput: the errno table of issue 4 (build/tests/badinput); the
# table is printed as TAP comments (docs/compat.md quotes it).
. ../lib/tap.sh
tap_plan 1
tap_run_bin badinput
tap_done
