#!/bin/sh
# bench/ab.sh - one fio job, stock and ours interleaved over several rounds
# in one boot: the focused rerun for a job whose make-bench ranges overlap.
#   ALOOP_AB_JOBS="ext4:on:write:1M:8 ext4:on:randrw:4k:32" ALOOP_AB_ROUNDS=4 \
#       vm/run --kver K --driver ours --disk 1024 --script bench/ab.sh
# A job is backing(tmpfs|ext4):direct-io(on|off):rw:bs:iodepth, run as in
# bench/bench.sh (libaio, 256 MiB, 3 s after 1 s of ramp, randrw 70 % reads,
# writes end with fsync). Lines: AB <round> <driver> <job> <MB/s or IOPS>.
MODDIR=/lib/modules/$(cat /etc/asyncloop/modrel)
STOCK_KO=$MODDIR/$(cat /etc/asyncloop/stock-loop)
OURS_KO=/lib/asyncloop/loop.ko
ROUNDS=${ALOOP_AB_ROUNDS:-4}
JOBS=${ALOOP_AB_JOBS:-ext4:on:write:1M:8}
RC=0
mkfs.ext4 -q -F "$ASYNCLOOP_DISK" && mkdir -p /mnt/ext4 &&
    mount -t ext4 "$ASYNCLOOP_DISK" /mnt/ext4 || { echo "ab: no ext4"; exit 1; }
dd if=/dev/zero of=/tmp/ab.img bs=1M count=256 status=none
dd if=/dev/zero of=/mnt/ext4/ab.img bs=1M count=256 conv=fsync status=none
load() {
    rmmod loop 2>/dev/null
    insmod "$1" || { echo "ab: insmod $1 failed"; RC=1; return 1; }
    while [ ! -e /dev/loop-control ]; do sleep 0.1; done
}
for round in $(seq "$ROUNDS"); do
    for drv in stock ours; do
        [ $drv = stock ] && ko=$STOCK_KO || ko=$OURS_KO
        load "$ko" || continue
        for j in $JOBS; do
            IFS=: read -r back dio rw bs qd <<EOJ
$j
EOJ
            f=/tmp/ab.img; [ "$back" = ext4 ] && f=/mnt/ext4/ab.img
            d=0; [ "$dio" = on ] && d=1
            dev=$(losetup -f --show --direct-io="$dio" "$f") || { echo "ab: losetup failed"; RC=1; continue; }
            sync; echo 3 > /proc/sys/vm/drop_caches
            r=$(fio --name=x --filename="$dev" --direct=$d --ioengine=libaio --rw="$rw" \
                --rwmixread=70 --bs="$bs" --iodepth="$qd" --size=256M --time_based \
                --runtime=3 --ramp_time=1 --randrepeat=0 --end_fsync=1 \
                --output-format=terse --terse-version=3 2>/dev/null |
                awk -F';' -v rw="$rw" '{ if (rw ~ /^rand/) printf "%.0f", $8 + $49
                                        else printf "%.0f", ($7 + $48) / 1024 }')
            echo "AB $round $drv $j ${r:-error}"
            [ -n "$r" ] || RC=1
            losetup -d "$dev"
        done
    done
done
exit $RC
