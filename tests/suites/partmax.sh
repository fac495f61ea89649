#!/bin/sh
# Suite partmax: the driver loaded with max_part=15. Minors are index << 4,
# partition scanning is always on (PARTSCAN set on every bind), and the
# parameter reads back as 15. Then the partitions binary and the sfdisk /
# mkfs clients, attaching without -P.
# asyncloop-modparams: max_part=15
. ../lib/tap.sh
tap_plan 14

param() {
	v=$(cat /sys/module/loop/parameters/max_part) || return 1
	echo "max_part=$v"
	[ "$v" = 15 ]
}
tap_check "/sys/module/loop/parameters/max_part reads 15" param

minors() {
	for n in 0 1 3 7; do
		d=$(cat /sys/block/loop$n/dev) || return 1
		echo "loop$n dev=$d"
		[ "$d" = "7:$((n * 16))" ] || return 1
		[ "$(stat -c '%t:%T' /dev/loop$n)" = "7:$(printf %x $((n * 16)))" ] || { echo "/dev/loop$n: $(stat -c '%t:%T' /dev/loop$n)"; return 1; }
	done
}
tap_check "loopN minor is N*16 (sysfs dev and /dev node)" minors

tap_run_bin partitions
PT_NOFLAG=1
. ./partitions-clients.inc
tap_done
