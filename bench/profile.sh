#!/bin/sh
# bench/profile.sh - guest side of `make profile` (bench/profile): where the
# CPU time goes, stock vs ours (and fio on the backing file itself, "raw"),
# in one boot. For each run it samples all CPUs (perf record -a -e cpu-clock:
# TCG has no PMU) and prints the hottest kernel symbols with their share of
# all samples:
#   cycle1p   cyclebench cycle, 1 process (attach + autoclear-detach cycles)
#   cycle4p   cyclebench cycle, 4 processes (stock and ours)
#   acycle4p  cyclebench acycle, 4 processes (ours: ALOOP_CTL_ATTACH)
#   dioqd32   fio 4k direct randread QD32 on a loop device over ext4/virtio
#   diorw32   the same with 70 % reads, 30 % writes (randrw)
#   bufqd1    fio 4k buffered randread QD1 on a loop device over tmpfs
#   bufseq1m  fio 1M buffered sequential read QD8 on a loop device over tmpfs
# Lines: PROF <workload> <driver> <percent> <comm> <symbol>,
#        PROFCAT <workload> <driver> <category> <percent> (symbols grouped by
#        name: idle, copy, zero, page-cache, sched, block, syscall, user, other),
#        PROFRATE <workload> <driver> <ops/s> (fio: IOPS, bufseq1m: KiB/s).
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
    perf report -i /tmp/perf.data --stdio --no-children --sort sym -g none 2>/dev/null |
        awk -v w="$1" -v d="$2" '
            /^ *[0-9.]+%/ { p = $1; sub(/%/, "", p); k = $2; s = $3
                if (k == "[.]") c = "user"
                else if (s ~ /safe_halt|default_idle|cpu_idle|do_idle|acpi_idle/) c = "idle"
                else if (s ~ /^(clear_page|memset|__memset|iov_iter_zero)/) c = "zero"
                else if (s ~ /copy_user|rep_movs|copy_page|copy_to_iter|copy_from_iter|memcpy|memmove|copy_mc|copyout|copyin/) c = "copy"
                else if (s ~ /filemap|folio|page_cache|readahead|lru|mem_cgroup|lruvec|^xas_|^xa_|rmqueue|alloc_pages|get_page_from_freelist|free_unref|free_pcp|release_pages|truncate|invalidate|shmem_|mark_page|unlock_page|__page/) c = "page-cache"
                else if (s ~ /schedule|task_switch|wake_up|ttwu|enqueue|dequeue|pick_next|update_curr|__switch_to|select_task_rq|psi_|update_load|newidle/) c = "sched"
                else if (s ~ /^(blk_|bio_|__bio|submit_bio|bvec|blkdev_|loop_|lo_|aloop_|__blk|dd_|bfq|mq_|kblockd|vp_|virtqueue|iomap|ext4_)/) c = "block"
                else if (s ~ /entry_SYSCALL|syscall|__x64_sys|__fget|fdget|__fdget|io_submit|aio_/) c = "syscall"
                else c = "other"
                t[c] += p }
            END { for (c in t) printf "PROFCAT %s %s %s %.2f\n", w, d, c, t[c] }' | sort -k4,4
}

prof_fio() { # prof_fio <workload> <driver> <backing> <dio on|off> <rw> <bs> <iodepth>
    if [ "$2" = raw ]; then dev=$3; else dev=$(losetup -f --show --direct-io="$4" "$3"); fi
    direct=0; [ "$4" = on ] && direct=1
    # seq: KiB/s (terse fields 7 + 48), random: IOPS (8 + 49), reads + writes
    field=8 wfield=49; [ "$5" = read ] && field=7 wfield=48
    echo 3 > /proc/sys/vm/drop_caches
    perf record -q -a -e cpu-clock -F 2000 -o /tmp/perf.data -- \
        sh -c "fio --name=p --filename=$dev --direct=$direct --ioengine=libaio \
            --rw=$5 --rwmixread=70 --bs=$6 --iodepth=$7 --size=128M --time_based \
            --runtime=$SECS --randrepeat=0 --output-format=terse --terse-version=3 \
            2>/dev/null | awk -F';' '{ print \$$field + \$$wfield }' > /tmp/rate"
    echo "PROFRATE $1 $2 $(cat /tmp/rate)"
    report "$1" "$2"
    [ "$2" = raw ] || losetup -d "$dev"
}

prof_cycle() { # prof_cycle <workload> <driver> cycle|acycle <nproc>
    perf record -q -a -e cpu-clock -F 2000 -o /tmp/perf.data -- \
        cyclebench "$3" "$CYCF" "$SECS" "$4" > /tmp/cyc.out 2>/dev/null
    echo "PROFRATE $1 $2 $(sed -n "s/^BENCHRAW $3s_$4p //p" /tmp/cyc.out)"
    report "$1" "$2"
}

# fio on the backing files themselves: what a loop device is measured against
prof_fio dioqd32 raw "$EXTF" on randread 4k 32
prof_fio diorw32 raw "$EXTF" on randrw 4k 32
prof_fio bufqd1 raw "$TMPF" off randread 4k 1
prof_fio bufseq1m raw "$TMPF" off read 1M 8

for drv in stock ours; do
    [ $drv = stock ] && ko=$STOCK_KO || ko=$OURS_KO
    load "$ko" || continue

    prof_cycle cycle1p $drv cycle 1
    prof_cycle cycle4p $drv cycle 4
    [ $drv = ours ] && prof_cycle acycle4p $drv acycle 4

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

    prof_fio dioqd32 $drv "$EXTF" on randread 4k 32
    prof_fio diorw32 $drv "$EXTF" on randrw 4k 32
    prof_fio bufqd1 $drv "$TMPF" off randread 4k 1
    prof_fio bufseq1m $drv "$TMPF" off read 1M 8
done
echo "profile: done rc=$RC"
exit $RC
