#!/bin/sh
# Suite events: uevents (bind, clear, autoclear, capacity change) and diskseq
# (build/tests/events).
. ../lib/tap.sh
tap_plan 1
tap_run_bin events
tap_done
