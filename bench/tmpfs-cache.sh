#!/bin/sh
# bench/tmpfs-cache.sh - what the tmpfs-backed buffered jobs of `make bench`
# compare (docs/performance.md, issue 12): fio's default invalidate=1 drops
# the loop device's page cache at every pass over the file (the device is
# read again each time), while on the raw tmpfs file it is a no-op (shmem
# pages cannot be dropped). Each job runs with invalidate=1 (as the bench)
# and invalidate=0 on stock and ours, 2 rounds, and once on the raw file:
#   vm/run --kver K --driver ours --script bench/tmpfs-cache.sh
# Lines: TMPFS <round> <driver> <job> invalidate=<0|1> <MB/s or IOPS>
#        device_MB=<MiB read from the loop device during the job>
MODDIR=/lib/modules/$(cat /etc/asyncloop/modrel)
STOCK_KO=$MODDIR/$(cat /etc/asyncloop/stock-loop)
OURS_KO=/lib/asyncloop/loop.ko
F=/tmp/tmpfs-cache.img
RC=0
dd if=/dev/zero of=$F bs=1M count=256 status=none
load() {
    rmmod loop 2>/dev/null
    insmod "$1" || { echo "tmpfs-cache: insmod $1 failed"; RC=1; return 1; }
    while [ ! -e /dev/loop-control ]; do sleep 0.1; done
}
job() { # job <target> <rw> <bs> <iodepth> <invalidate>: MB/s (read) or IOPS (randread)
    fio --name=x --filename="$1" --direct=0 --ioengine=libaio --rw="$2" --bs="$3" \
        --iodepth="$4" --size=256M --time_based --runtime=3 --ramp_time=1 \
        --randrepeat=0 --invalidate="$5" --output-format=terse --terse-version=3 2>/dev/null |
        awk -F';' -v rw="$2" '{ if (rw == "read") printf "%.0f", $7 / 1024; else printf "%.0f", $8 }'
}
JOBS="read:1M:8:seqread_1m_MBps randread:4k:1:randread_4k_qd1_iops"
for round in 1 2; do
    for drv in stock ours; do
        [ $drv = stock ] && ko=$STOCK_KO || ko=$OURS_KO
        load "$ko" || continue
        dev=$(losetup -f --show "$F") || { echo "tmpfs-cache: losetup failed"; RC=1; continue; }
        n=${dev#/dev/}
        for j in $JOBS; do
            IFS=: read -r rw bs qd name <<EOJ
$j
EOJ
            for inv in 1 0; do
                echo 3 > /proc/sys/vm/drop_caches
                s0=$(awk '{ print $3 }' /sys/block/$n/stat)
                r=$(job "$dev" "$rw" "$bs" "$qd" "$inv")
                s1=$(awk '{ print $3 }' /sys/block/$n/stat)
                echo "TMPFS $round $drv $name invalidate=$inv $r device_MB=$(( (s1 - s0) / 2048 ))"
            done
        done
        losetup -d "$dev"
    done
done
for j in $JOBS; do
    IFS=: read -r rw bs qd name <<EOJ
$j
EOJ
    echo "TMPFS 1 raw $name invalidate=1 $(job "$F" "$rw" "$bs" "$qd" 1) device_MB=-"
done
exit $RC
