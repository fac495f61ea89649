#!/bin/sh
# bench/profile.sh - guest side of `make profile` (bench/profile): where the
# CPU time goes, stock vs ours, in one boot. For each driver it samples all
# CPUs (perf record -a -e cpu-clock: TCG has no PMU) while one workload runs,
# and prints the hottest kernel symbols with their share of all samples:
#   cycle1p   cyclebench cycle, 1 process (attach + autoclear-detach cycles)
#   dioqd32   fio 4k direct randread QD32 on a loop device over ext4/virtio
#   bufqd1    fio 4k buffered randread QD1 on a loop device over tmpfs
# Lines: PROF <workload> <driver> <percent> <comm> <symbol>, and
#        PROFRATE <workload> <driver> <ops/s>.
# Then, per attach + autoclear-detach cycle (1 process), the hand-offs that
# cost a wake-up: PROFEVENT <driver> <per-cycle> <event> [<work function>]
# (context switches, work items queued by function, softirqs raised by vector).
set -u
SECS=${ALOOP_PROFILE_SECS:-4}
TOP=${ALOOP_PROFILE_TOP:-25}
MODDIR=/lib/modules/$(cat /etc/asyncloop/modrel)
STOCK_KO=$MODDIR/$(cat /etc/asyncloop/stock-loop)
OURS_KO=/lib/asyncloop/loop.ko
CYCF=/tmp/cycle.img TMPF=/tmp/prof.img EXTF=/mnt/ext4/prof.img
RC=0

mkfs.ext4 -q -F "$ASYNCLOOP_DISK" && mkdir -p /mnt/ext4 &&
    mount -t ext4 "$ASYNCLOOP_DISK" /mnt/ext4 || { echo "profile: no ext4"; exit 1; }
dd if=/dev/zero of="$CYCF" bs=1M count=1 status=none
dd if=/dev/zero of="$TMPF" bs=1M count=128 status=none
dd if=/dev/zero of="$EXTF" bs=1M count=128 conv=fsync status=none

load() {
    rmmod loop 2>/dev/null
    insmod "$1" || { echo "profile: insmod $1 failed"; RC=1; return 1; }
    while [ ! -e /dev/loop-control ]; do sleep 0.1; done
}

report() { # report <workload> <driver>
    perf report -i /tmp/perf.data --stdio --no-children --sort comm,sym \
        --percent-limit 0.5 -g none 2>/dev/null |
        awk -v w="$1" -v d="$2" -v top="$TOP" '
            /^ *[0-9.]+%/ && n < top { p = $1; sub(/%/, "", p); c = $2
                s = ""; for (i = 4; i <= NF; i++) s = s " " $i
                printf "PROF %s %s %s %s%s\n", w, d, p, c, s; n++ }'
}

prof_fio() { # prof_fio <workload> <driver> <backing> <dio on|off> <iodepth>: 4k randread
    dev=$(losetup -f --show --direct-io="$4" "$3")
    direct=0; [ "$4" = on ] && direct=1
    echo 3 > /proc/sys/vm/drop_caches
    perf record -q -a -e cpu-clock -F 2000 -o /tmp/perf.data -- \
        sh -c "fio --name=p --filename=$dev --direct=$direct --ioengine=libaio \
            --rw=randread --bs=4k --iodepth=$5 --size=128M --time_based \
            --runtime=$SECS --randrepeat=0 --output-format=terse --terse-version=3 \
            2>/dev/null | awk -F';' '{ print \$8 }' > /tmp/rate"
    echo "PROFRATE $1 $2 $(cat /tmp/rate)"
    report "$1" "$2"
    losetup -d "$dev"
}

for drv in stock ours; do
    [ $drv = stock ] && ko=$STOCK_KO || ko=$OURS_KO
    load "$ko" || continue

    perf record -q -a -e cpu-clock -F 2000 -o /tmp/perf.data -- \
        cyclebench cycle "$CYCF" "$SECS" 1 > /tmp/cyc.out 2>/dev/null
    echo "PROFRATE cycle1p $drv $(sed -n 's/^BENCHRAW cycles_1p //p' /tmp/cyc.out)"
    report cycle1p $drv

    perf record -q -a -e sched:sched_switch -e workqueue:workqueue_queue_work \
        -e irq:softirq_raise -o /tmp/ev.data -- \
        cyclebench cycle "$CYCF" "$SECS" 1 > /tmp/cyc.out 2>/dev/null
    n=$(sed -n 's/^BENCHRAW cycles_1p //p' /tmp/cyc.out)
    perf script -i /tmp/ev.data -F event,trace 2>/dev/null |
        sed -n 's/^ *sched:sched_switch:.*/sched_switch/p
                s/^ *workqueue:workqueue_queue_work:.*function=\([^ ]*\).*/queue_work \1/p
                s/^ *irq:softirq_raise:.*action=\([A-Z_]*\).*/softirq_raise \1/p' |
        sort | uniq -c |
        awk -v d=$drv -v n="$n" -v s="$SECS" '
            { c = $1; $1 = ""; if (n > 0) printf "PROFEVENT %s %.2f%s\n", d, c / (n * s), $0 }'

    prof_fio dioqd32 $drv "$EXTF" on 32
    prof_fio bufqd1 $drv "$TMPF" off 1
done
echo "profile: done rc=$RC"
exit $RC
