#!/bin/sh
# bench/dio-compare.sh - focused direct-I/O comparison, stock vs ours, in one
# boot (3 rounds, fio libaio 4k/1M on a 256 MiB file on ext4 over virtio,
# loop device with --direct-io=on). Run:
#   vm/run --driver ours --disk 1024 --script bench/dio-compare.sh
MODDIR=/lib/modules/$(cat /etc/asyncloop/modrel)
STOCK_KO=$MODDIR/$(cat /etc/asyncloop/stock-loop)
mkfs.ext4 -q -F $ASYNCLOOP_DISK && mkdir -p /mnt/e && mount $ASYNCLOOP_DISK /mnt/e
dd if=/dev/zero of=/mnt/e/f bs=1M count=256 status=none; sync
for round in 1 2 3; do
for drv in stock ours; do
  rmmod loop 2>/dev/null
  dev=$(losetup -f --show --direct-io=on /mnt/e/f)
  n=${dev#/dev/loop}
  s0=$(cat /sys/block/loop$n/stat)
  for job in "read 1M 8" "randread 4k 1" "randread 4k 32" "randwrite 4k 1"; do
    set -- $job
    r=$(fio --name=x --filename=$dev --direct=1 --ioengine=libaio --rw=$1 --bs=$2 --iodepth=$3 --size=256M --time_based --runtime=3 --output-format=terse --terse-version=3 2>&1 | awk -F';' '{print $7, $8, $48, $49}')
    echo "EXP r$round $drv dio=$(cat /sys/block/loop$n/loop/dio) $1 $2 qd$3: readKBs/iops writeKBs/iops = $r"
  done
  s1=$(cat /sys/block/loop$n/stat)
  echo "EXP stat0 $s0"; echo "EXP stat1 $s1"
  losetup -d $dev
done
done
