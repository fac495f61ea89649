#!/bin/sh
# Suite stress: random concurrent loop operations with driver reloads
# (tests/stress.c); ALOOP_STRESS_SECS sets the duration.
. ../lib/tap.sh
tap_plan 1
tap_run_bin stress
tap_done
