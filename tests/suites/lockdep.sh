#!/bin/sh
# Suite lockdep: the steps of syzbot 643e4ce4b6ad1347d372 (tests/lockdep_cycle.c).
# Must be the first thing in its boot: lockdep reports only once.
# asyncloop-disk: 64
. ../lib/tap.sh
tap_plan 1
tap_run_bin lockdep_cycle
tap_done
