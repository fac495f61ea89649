#!/bin/sh
# Suite teardown: the asynchronous-autoclear contract (tests/teardown.c).
. ../lib/tap.sh
tap_plan 1
tap_run_bin teardown
tap_done
