#!/bin/sh
# bench/bench.sh - guest side of `make bench` (vm/run --driver ours --disk 2048
# --script bench/bench.sh; see bench/run). One boot, ROUNDS rounds, each round
# interleaving raw (fio on the backing file), stock loop.ko and ours (rmmod +
# insmod in this boot). Prints one line per measurement:
#   BENCH <metric> <raw|stock|ours> <round> <value>
# which bench/report turns into the table. Knobs (host env, passed by vm/run):
#   ALOOP_BENCH_ROUNDS (5)  ALOOP_BENCH_RUNTIME (3 s per fio job and per
#   cycles/s run)  ALOOP_BENCH_CLOSES (1000)  ALOOP_BENCH_MEMDEVS (1000 idle
#   devices added at the end of every round per driver for the memory
#   reading; the next rmmod removes them)  ALOOP_BENCH_SCALE (1; 0 skips
#   the 8/512/4096-device GET_FREE step, which runs once per driver
#   after the rounds: binding and tearing down 4,095 devices takes minutes in
#   TCG, so ours runs it with teardown, then stock without, just before poweroff)
#   ALOOP_BENCH_ONLY (e.g. "io" or "ctl": run only that part)
#   ALOOP_BENCH_NPROCS ("1 2 4 8": process counts of the attach cycles,
#   classic on both drivers, ALOOP_CTL_ATTACH on ours)
# Buffered jobs skip the QD32 randread/randwrite: libaio without O_DIRECT
# submits synchronously, so they equal QD1 (measured: within noise).
set -u
ROUNDS=${ALOOP_BENCH_ROUNDS:-5}
RUNTIME=${ALOOP_BENCH_RUNTIME:-3}
CLOSES=${ALOOP_BENCH_CLOSES:-1000}
MEMDEVS=${ALOOP_BENCH_MEMDEVS:-1000}
SCALE=${ALOOP_BENCH_SCALE:-1}
ONLY=${ALOOP_BENCH_ONLY:-}
NPROCS=${ALOOP_BENCH_NPROCS:-1 2 4 8}
MODDIR=/lib/modules/$(cat /etc/asyncloop/modrel)
STOCK_KO=$MODDIR/$(cat /etc/asyncloop/stock-loop)
OURS_KO=/lib/asyncloop/loop.ko
SIZE=256
TMPF=/tmp/bench.img
EXTF=/mnt/ext4/bench.img
CYCF=/tmp/cycle.img
RC=0

up() { cut -d' ' -f1 /proc/uptime; }
T_START=$(up)
log() { echo "bench: [$(awk -v a="$T_START" -v b="$(up)" 'BEGIN { printf "%6.0f", b - a }') s] $*"; }
fail() { echo "bench: FAILED: $*"; RC=1; }
emit() { echo "BENCH $1 $2 $3 $4"; }

[ -f "$OURS_KO" ] || { echo "bench: needs vm/run --driver ours"; exit 2; }
[ -f "$STOCK_KO" ] || { echo "bench: no stock loop.ko at $STOCK_KO"; exit 2; }
[ -n "${ASYNCLOOP_DISK:-}" ] || { echo "bench: needs vm/run --disk"; exit 2; }

load() { # load <ko>: swap the loop module
    rmmod loop 2>/dev/null
    grep -q '^loop ' /proc/modules && { fail "rmmod loop"; return 1; }
    insmod "$1" || { fail "insmod $1"; return 1; }
    i=0
    while [ ! -e /dev/loop-control ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}

# ---------------------------------------------------------------- setup ----
log "kernel $(uname -r), rounds=$ROUNDS runtime=${RUNTIME}s closes=$CLOSES memdevs=$MEMDEVS scale=$SCALE"
mkfs.ext4 -q -F "$ASYNCLOOP_DISK" || { echo "bench: mkfs.ext4 failed"; exit 1; }
mkdir -p /mnt/ext4
mount -t ext4 "$ASYNCLOOP_DISK" /mnt/ext4 || { echo "bench: mount failed"; exit 1; }
# fully written (not sparse, no unwritten extents): reads hit real blocks
dd if=/dev/zero of="$TMPF" bs=1M count=$SIZE status=none
dd if=/dev/zero of="$EXTF" bs=1M count=$SIZE conv=fsync status=none
dd if=/dev/zero of="$CYCF" bs=1M count=1 status=none
sync
log "backing files ready (${SIZE} MiB on tmpfs and on ext4/virtio)"

# ------------------------------------------------------------------ I/O ----
JOBS=/tmp/bench.fio
write_jobs() { # write_jobs <target> <direct>
    if [ "$2" = 1 ]; then
        qd32r="[randread_4k_qd32]
rw=randread
bs=4k
iodepth=32"
        qd32w="[randwrite_4k_qd32]
rw=randwrite
bs=4k
iodepth=32
end_fsync=1"
    else
        qd32r="" qd32w=""
    fi
    cat > "$JOBS" <<EOF
[global]
ioengine=libaio
filename=$1
direct=$2
size=${SIZE}M
time_based
runtime=$RUNTIME
ramp_time=1
randrepeat=0
stonewall
[seqread_1m]
rw=read
bs=1M
iodepth=8
[seqwrite_1m]
rw=write
bs=1M
iodepth=8
end_fsync=1
[randread_4k_qd1]
rw=randread
bs=4k
iodepth=1
$qd32r
[randwrite_4k_qd1]
rw=randwrite
bs=4k
iodepth=1
end_fsync=1
$qd32w
[randrw70_4k_qd32]
rw=randrw
rwmixread=70
bs=4k
iodepth=32
end_fsync=1
EOF
}

# terse v3: $3 job, $5 error, $7/$8 read KiB/s + IOPS, $48/$49 write KiB/s + IOPS
parse_fio() { # parse_fio <variant> <cfg> <round>  (terse on stdin)
    awk -F';' -v v="$1" -v c="$2" -v r="$3" '
        $1 != "3" { next }
        $5 != 0 { printf "bench: fio job %s/%s error %s\n", v, $3, $5; next }
        $3 ~ /^seq/ { printf "BENCH io:%s/%s_MBps %s %s %.1f\n", v, $3, c, r, ($7 + $48) / 1024; next }
        { printf "BENCH io:%s/%s_iops %s %s %.0f\n", v, $3, c, r, $8 + $49 }'
}

run_io() { # run_io <cfg> <round>
    cfg=$1 round=$2
    for v in tmpfs-buf ext4-buf ext4-dio; do
        case $v in
        tmpfs-buf) f=$TMPF d=0 dio=off;;
        ext4-buf) f=$EXTF d=0 dio=off;;
        ext4-dio) f=$EXTF d=1 dio=on;;
        esac
        dev=""
        if [ "$cfg" = raw ]; then
            target=$f
        else
            dev=$(losetup -f --show --direct-io=$dio "$f") || { fail "losetup $v ($cfg)"; continue; }
            target=$dev
            got=$(cat /sys/block/${dev#/dev/}/loop/dio 2>/dev/null)
            want=0; [ "$dio" = on ] && want=1
            [ "$got" = "$want" ] || fail "$cfg $v: $dev loop/dio=$got, wanted $want"
        fi
        write_jobs "$target" "$d"
        sync; echo 3 > /proc/sys/vm/drop_caches
        out=$(fio --output-format=terse --terse-version=3 "$JOBS" 2>/tmp/fio.err) || {
            fail "fio $v ($cfg): $(head -c 300 /tmp/fio.err)"; }
        echo "$out" | parse_fio "$v" "$cfg" "$round"
        [ -n "$dev" ] && { losetup -d "$dev" || fail "losetup -d $dev"; }
    done
}

# ------------------------------------------------------------ control ----
# cycle: the systemd-style attach (flock + GET_FREE + CONFIGURE) on both
# drivers; acycle: ALOOP_CTL_ATTACH (ours only), issue 13
run_ctl() { # run_ctl <cfg> <round>  (right after insmod: 8 devices, none bound)
    cfg=$1 round=$2
    for np in $NPROCS; do
        modes=cycle
        [ "$cfg" = ours ] && modes="cycle acycle"
        for mode in $modes; do
            cyclebench $mode "$CYCF" "$RUNTIME" $np > /tmp/ctl.out || fail "cyclebench $mode $np ($cfg)"
            sed -n "s/^BENCHRAW \([^ ]*\) \(.*\)/BENCH ctl:\1 $cfg $round \2/p" /tmp/ctl.out
        done
    done
    cyclebench closelat "$CYCF" "$CLOSES" > /tmp/ctl.out || fail "cyclebench closelat ($cfg)"
    sed -n "s/^BENCHRAW \([^ ]*\) \(.*\)/BENCH ctl:\1 $cfg $round \2/p" /tmp/ctl.out
    # losetup -f --show + losetup -d, for RUNTIME seconds
    n=0 t0=$(up)
    end=$(awk -v a="$t0" -v b="$RUNTIME" 'BEGIN { print a + b }')
    while awk -v a="$(up)" -v b="$end" 'BEGIN { exit !(a < b) }'; do
        dev=$(losetup -f --show "$CYCF") || { fail "losetup -f ($cfg)"; break; }
        losetup -d "$dev" || { fail "losetup -d ($cfg)"; break; }
        n=$((n + 1))
    done
    emit ctl:losetup_cycles "$cfg" "$round" "$(awk -v n=$n -v a="$t0" -v b="$(up)" 'BEGIN { printf "%.1f", n / (b - a) }')"
}

# ---------------------------------------------------------------- rounds ----
r=1
while [ $r -le "$ROUNDS" ]; do
    for cfg in raw stock ours; do
        case $cfg in
        raw) [ "$ONLY" = ctl ] && continue;;
        stock) load "$STOCK_KO" || continue;;
        ours) load "$OURS_KO" || continue;;
        esac
        if [ "$cfg" != raw ] && [ "$ONLY" != io ]; then
            run_ctl $cfg $r
            log "round $r $cfg control path done"
        fi
        if [ "$ONLY" != ctl ]; then
            run_io $cfg $r
            log "round $r $cfg I/O done"
        fi
        # last in the round: the added devices stay until the next rmmod
        if [ "$cfg" != raw ] && [ "$ONLY" != io ]; then
            cyclebench mem "$MEMDEVS" > /tmp/ctl.out || fail "cyclebench mem ($cfg)"
            sed -n "s/^BENCHRAW \([^ ]*\) \(.*\)/BENCH ctl:\1 $cfg $r \2/p" /tmp/ctl.out
        fi
    done
    r=$((r + 1))
done
run_scale() { # run_scale <cfg> [keep]  (right after insmod: 8 devices, none bound)
    n=$(ls -d /sys/block/loop* 2>/dev/null | wc -l)
    [ "$n" = 8 ] || fail "$1: $n loop devices after insmod, expected 8"
    cyclebench scale "$CYCF" ${2:-} > /tmp/ctl.out || fail "cyclebench scale ($1)"
    sed -n "s/^BENCHRAW \([^ ]*\) \(.*\)/BENCH ctl:\1 $1 1 \2/p" /tmp/ctl.out
    log "$1 GET_FREE scaling done"
}
if [ "$SCALE" = 1 ] && [ "$ONLY" != io ]; then
    load "$OURS_KO" && run_scale ours
    load "$STOCK_KO" && run_scale stock keep
fi
log "done"
umount /mnt/ext4
exit $RC
