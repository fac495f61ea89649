#!/bin/sh
# Suite clients2: real clients on an ext4 filesystem over the virtio disk and
# on tmpfs: losetup --direct-io=on (ext4: dio on; tmpfs: falls back to
# buffered), losetup -c after growing the file, losetup -b 4096,
# mount -o loop,offset=..., fio --verify=crc32c buffered and direct with the
# data verified again on the backing file, mkfs.ext2 on a tmpfs-backed device
# with one "operation not supported" log line (blktests loop/011), then build/tests/backing.
# asyncloop-disk: 512
. ../lib/tap.sh
tap_plan 18

D=/tmp/c2-disk
MNT=/tmp/c2-mnt
mkdir -p "$MNT"
tap_disk_ext4 "$D"

IMG=$D/img
truncate -s 64M "$IMG"

# --- direct I/O on ext4
DEV=$(losetup -f --show --direct-io=on "$IMG" 2>&1)
case $DEV in
/dev/loop[0-9]*) tap_ok "losetup --direct-io=on on ext4 ($DEV)";;
*) tap_diag "got: $DEV"; tap_not_ok "losetup --direct-io=on on ext4"; DEV=/dev/loop-none;;
esac
B=${DEV#/dev/}
dio_on() {
	v=$(cat /sys/block/$B/loop/dio) || return 1
	echo "dio=$v"; losetup -l -n -O DIO "$DEV"
	[ "$v" = 1 ]
}
tap_check "ext4 backing: sysfs loop/dio is 1" dio_on

fio_direct() {
	fio --name=vd --filename="$DEV" --rw=randwrite --bs=4k --size=32M \
	    --direct=1 --ioengine=psync --verify=crc32c --do_verify=1 \
	    --randrepeat=1 --output-format=terse >/dev/null
}
tap_check "fio --direct=1 --verify=crc32c through the dio device" fio_direct

detach() { losetup -d "$1" && [ ! -e /sys/block/${1#/dev/}/loop ]; }
tap_check "losetup -d (dio device)" detach "$DEV"

fio_verify_file() {
	fio --name=vd --filename="$IMG" --rw=randwrite --bs=4k --size=32M \
	    --direct=1 --ioengine=psync --verify=crc32c --verify_only \
	    --randrepeat=1 --output-format=terse >/dev/null
}
tap_check "fio --verify_only on the backing file finds the direct-I/O data" fio_verify_file

# --- buffered I/O
DEV=$(losetup -f --show "$IMG" 2>&1); B=${DEV#/dev/}
fio_buffered() {
	echo "dio=$(cat /sys/block/$B/loop/dio)"
	fio --name=vb --filename="$DEV" --rw=randwrite --bs=4k --size=32M --offset=32M \
	    --ioengine=psync --verify=crc32c --do_verify=1 --randrepeat=1 \
	    --output-format=terse >/dev/null
}
tap_check "fio buffered --verify=crc32c through the device" fio_buffered
cmp_region() {
	sync
	cmp -n $((64 << 20)) "$DEV" "$IMG" && echo "device and file equal"
}
tap_check "cmp of the whole device with the backing file" cmp_region
tap_check "losetup -d (buffered device)" detach "$DEV"
fio_verify_file2() {
	fio --name=vb --filename="$IMG" --rw=randwrite --bs=4k --size=32M --offset=32M \
	    --ioengine=psync --verify=crc32c --verify_only --randrepeat=1 \
	    --output-format=terse >/dev/null
}
tap_check "fio --verify_only on the backing file finds the buffered data" fio_verify_file2

# --- losetup -c after growing the file
grow() {
	d=$(losetup -f --show "$IMG") || return 1
	s0=$(blockdev --getsize64 "$d")
	truncate -s 96M "$IMG"
	s1=$(blockdev --getsize64 "$d")
	losetup -c "$d" || { losetup -d "$d"; return 1; }
	s2=$(blockdev --getsize64 "$d")
	sys=$(cat /sys/block/${d#/dev/}/size)
	losetup -d "$d"
	echo "size $s0 -> $s1 (before -c) -> $s2 (after -c), sysfs $sys sectors"
	[ "$s0" -eq $((64 << 20)) ] && [ "$s1" -eq "$s0" ] && [ "$s2" -eq $((96 << 20)) ] &&
		[ "$sys" -eq $((96 << 11)) ]
}
tap_check "losetup -c after growing the file" grow

# --- losetup -b 4096
bs4k() {
	d=$(losetup -f --show -b 4096 "$IMG") || return 1
	ss=$(blockdev --getss "$d"); lbs=$(cat /sys/block/${d#/dev/}/queue/logical_block_size)
	pbs=$(blockdev --getpbsz "$d")
	mkfs.ext4 -q -F "$d" && mount -t ext4 "$d" "$MNT" && echo x > "$MNT/x" && umount "$MNT"
	rc=$?
	losetup -d "$d"
	echo "getss=$ss logical_block_size=$lbs pbsz=$pbs mkfs+mount rc=$rc"
	[ "$ss" = 4096 ] && [ "$lbs" = 4096 ] && [ "$pbs" = 4096 ] && [ $rc = 0 ]
}
tap_check "losetup -b 4096: 4 KiB sectors, ext4 works" bs4k

# --- dio + 4096-byte blocks on ext4 (block size >= backing lbs)
dio_bs() {
	d=$(losetup -f --show -b 4096 --direct-io=on "$IMG") || return 1
	v=$(cat /sys/block/${d#/dev/}/loop/dio)
	losetup -d "$d"
	echo "dio=$v"; [ "$v" = 1 ]
}
tap_check "losetup -b 4096 --direct-io=on on ext4: dio 1" dio_bs

# --- tmpfs: no O_DIRECT. The kernel binds and falls back to buffered I/O
# (LOOP_CONFIGURE with LO_FLAGS_DIRECT_IO: tests/configure.c), but losetup
# 2.38 then insists with LOOP_SET_DIRECT_IO, gets EINVAL and gives the device
# up again: it fails and leaves nothing bound (measured on stock 6.1).
TIMG=/tmp/c2-timg
truncate -s 64M "$TIMG"
dio_tmpfs() {
	d=$(losetup -f --show --direct-io=on "$TIMG" 2>/tmp/c2-err); rc=$?
	cat /tmp/c2-err
	out=$(losetup -j "$TIMG")
	echo "losetup rc=$rc output='$d' bound='$out'"
	[ -n "$out" ] && losetup -d "${out%%:*}"
	[ $rc -ne 0 ] && [ -z "$out" ] && grep -q "Invalid argument" /tmp/c2-err
}
# From 6.6 tmpfs does direct I/O: the device binds with dio 1.
dio_tmpfs_ok() {
	d=$(losetup -f --show --direct-io=on "$TIMG") || return 1
	dio=$(cat "/sys/block/${d#/dev/}/loop/dio")
	echo "losetup: $d dio=$dio"
	losetup -d "$d"
	[ "$dio" = 1 ]
}
if dd if=/dev/zero of="$TIMG" bs=4096 count=1 oflag=direct conv=notrunc 2>/dev/null; then
	tap_check "losetup --direct-io=on on tmpfs (O_DIRECT since 6.6): dio 1 (as stock)" dio_tmpfs_ok
else
	tap_check "losetup --direct-io=on on tmpfs: EINVAL, nothing left bound (as stock)" dio_tmpfs
fi
dio_tmpfs_off() {
	d=$(losetup -f --show --direct-io=off "$TIMG") || return 1
	v=$(cat /sys/block/${d#/dev/}/loop/dio)
	losetup -d "$d"
	echo "dio=$v"; [ "$v" = 0 ]
}
tap_check "losetup --direct-io=off on tmpfs: dio 0" dio_tmpfs_off

# --- mount -o loop,offset=
offset_mount() {
	rm -f /tmp/c2-fs /tmp/c2-outer
	truncate -s 16M /tmp/c2-fs && mkfs.ext4 -q -F /tmp/c2-fs || return 1
	mount -o loop /tmp/c2-fs "$MNT" && echo payload > "$MNT/p" && umount "$MNT" || return 1
	truncate -s 20M /tmp/c2-outer
	dd if=/tmp/c2-fs of=/tmp/c2-outer bs=1M seek=3 conv=notrunc 2>/dev/null || return 1
	mount -o loop,offset=$((3 << 20)) /tmp/c2-outer "$MNT" || return 1
	c=$(cat "$MNT/p"); d=$(losetup -j /tmp/c2-outer)
	umount "$MNT"
	echo "content=$c; $d"
	rm -f /tmp/c2-fs /tmp/c2-outer
	[ "$c" = payload ] && echo "$d" | grep -q "offset 3145728"
}
tap_check "mount -o loop,offset=3M finds the filesystem" offset_mount

# --- tmpfs write-zeroes (blktests loop/011): the first WRITE_ZEROES fails
# with one "operation not supported" line, then the device stops offering it.
# Ours on every kernel, stock from 6.10 on (5f75e081ab5c); stock 6.1 logs one
# line per request (docs/compat.md (b)).
wz_log() {
	d=$(losetup -f --show "$TIMG") || return 1
	dmesg -c >/dev/null
	mke2fs -t ext2 -q -F "$d" >/dev/null; rc=$?
	n=$(dmesg | grep -c "operation not supported error, dev .*WRITE_ZEROES")
	dmesg | grep "operation not supported" | head -n 3
	z=$(cat "/sys/block/${d#/dev/}/queue/write_zeroes_max_bytes")
	losetup -d "$d"
	echo "mkfs rc=$rc, $n 'operation not supported' line(s), write_zeroes_max_bytes $z, driver $ASYNCLOOP_DRIVER"
	[ $rc = 0 ] || return 1
	kv=$(uname -r); major=${kv%%.*}; minor=${kv#*.}; minor=${minor%%.*}
	if [ "$ASYNCLOOP_DRIVER" = stock ] && [ "$major" -eq 6 ] && [ "$minor" -lt 10 ]; then
		return 0
	fi
	[ "$n" -eq 1 ] && [ "$z" -eq 0 ]
}
tap_check "mkfs.ext2 on a tmpfs-backed device: one 'operation not supported' line (loop/011)" wz_log

rm -f "$TIMG" /tmp/c2-err
umount "$D"
tap_run_bin backing
tap_done
