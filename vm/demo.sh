#!/bin/sh
# vm/demo.sh - runs in the guest (vm/run --script vm/demo.sh): a loop-mounted
# ext4 image on tmpfs, written, remounted, verified, and auto-detached on umount.
# Exit 0 only if every step worked.
set -u
IMG=/tmp/asyncloop-demo.img
MNT=/mnt/demo
T_ALL=$(cut -d' ' -f1 /proc/uptime)

now() { cut -d' ' -f1 /proc/uptime; }
fail() { echo "DEMO FAILED: $*"; exit 1; }
step() { # step "title" command...
    title=$1; shift
    t0=$(now)
    out=$("$@" 2>&1); rc=$?
    t1=$(now)
    printf '[%6.2f s] %s\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$title"
    [ -n "$out" ] && echo "$out" | sed 's/^/    | /'
    [ $rc -eq 0 ] || fail "$title (rc=$rc)"
}
mounted_dev() { awk -v m="$MNT" '$2 == m { print $1 }' /proc/mounts; }

echo "== asyncloop demo: driver=$ASYNCLOOP_DRIVER kernel=$(uname -r) =="
grep -q '^loop ' /proc/modules && echo "loop module: $(grep '^loop ' /proc/modules)"
mkdir -p "$MNT"

step "create 256 MiB image on tmpfs" truncate -s 256M "$IMG"
DEV=$(losetup -f --show "$IMG") || fail "losetup -f --show"
N=${DEV#/dev/loop}
echo "[  ----  ] losetup -f --show: $DEV"
step "losetup -a"                    losetup -a
step "mkfs.ext4 $DEV"                mkfs.ext4 -q -F "$DEV"
step "mount $DEV"                    mount "$DEV" "$MNT"
step "losetup -d $DEV while mounted (lazy detach sets autoclear)" losetup -d "$DEV"
echo "    | autoclear=$(cat /sys/block/loop$N/loop/autoclear 2>/dev/null)"
step "write 32 MiB file"             dd if=/dev/urandom of="$MNT/data" bs=1M count=32 conv=fsync status=none
SUM1=$(sha256sum "$MNT/data" | cut -d' ' -f1)
echo "    | sha256 $SUM1"
step "umount (last close -> autoclear teardown)" umount "$MNT"
[ -e /sys/block/loop$N/loop ] && fail "loop$N still bound right after umount returned"
[ -z "$(losetup -a)" ] || fail "losetup -a not empty right after umount: $(losetup -a)"
echo "[  ----  ] loop$N detached when umount returned"
step "mount -o loop,ro (util-linux sets LO_FLAGS_AUTOCLEAR)" mount -o loop,ro "$IMG" "$MNT"
DEV2=$(mounted_dev)
case $DEV2 in /dev/loop*) ;; *) fail "not loop-mounted ($DEV2)";; esac
step "losetup -a"                    losetup -a
step "read back + sha256sum"         sha256sum "$MNT/data"
SUM2=$(sha256sum "$MNT/data" | cut -d' ' -f1)
[ "$SUM1" = "$SUM2" ] || fail "checksum mismatch: $SUM1 != $SUM2"
echo "    | checksum OK ($DEV2)"
step "umount"                        umount "$MNT"
step "e2fsck -fn on the image"       e2fsck -fn "$IMG"

# The device must be detached and free again, right now (no polling).
N2=${DEV2#/dev/loop}
LIST=$(losetup -a)
[ -z "$LIST" ] || fail "losetup -a not empty after umount: $LIST"
echo "[  ----  ] losetup -a: (empty)"
[ -e /sys/block/loop$N2/loop ] && fail "/sys/block/loop$N2/loop still present"
echo "[  ----  ] /sys/block/loop$N2/loop: absent"
FREE=$(losetup -f)
[ "$FREE" = "$DEV2" ] || fail "losetup -f returned $FREE, expected $DEV2"
echo "[  ----  ] losetup -f: $FREE (the device is free again)"
# loopctl run: one atomic attach, the device held for the command's lifetime
# and free again when it exits (docs/extensions.md; the stock driver gets
# loopctl's classic fallback).
LOOPCTL=$ASYNCLOOP_ROOT/build/tests/loopctl
step "loopctl features"              "$LOOPCTL" features
step "loopctl run IMG -- mount, read, umount" "$LOOPCTL" run "$IMG" -- sh -c \
    'echo "LOOP_DEVICE=$LOOP_DEVICE"; mount -o ro "$LOOP_DEVICE" /mnt/demo && sha256sum /mnt/demo/data && umount /mnt/demo'
LIST=$(losetup -a)
[ -z "$LIST" ] || fail "losetup -a not empty after loopctl run: $LIST"
echo "[  ----  ] loopctl run returned: nothing bound"
printf '== demo OK in %.2f s (guest time) ==\n' "$(awk -v a="$T_ALL" -v b="$(now)" 'BEGIN { print b - a }')"
exit 0
