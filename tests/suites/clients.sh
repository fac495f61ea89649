#!/bin/sh
# Suite clients: real util-linux / e2fsprogs clients against the driver.
# Every step prints one TAP line; devices are detached at the end.
. ../lib/tap.sh
tap_plan 20

IMG=/tmp/clients-img
IMG2=/tmp/clients-img2
MNT=/tmp/clients-mnt
mkdir -p "$MNT"

truncate -s 64M "$IMG"
truncate -s 8M "$IMG2"

# --- losetup -f --show
DEV=$(losetup -f --show "$IMG" 2>&1)
case $DEV in
/dev/loop[0-9]*) tap_ok "losetup -f --show prints the device ($DEV)";;
*) tap_diag "got: $DEV"; tap_not_ok "losetup -f --show prints the device"; DEV="";;
esac
N=${DEV#/dev/loop}

check_backing() {
	[ -n "$DEV" ] || return 1
	b=$(cat /sys/block/loop$N/loop/backing_file) || return 1
	echo "backing_file=$b"
	[ "$b" = "$IMG" ]
}
tap_check "sysfs backing_file matches the image" check_backing

check_list_all() {
	out=$(losetup -a) || return 1
	echo "$out"
	echo "$out" | grep -q "^$DEV: .*($IMG)"
}
tap_check "losetup -a lists the device" check_list_all

check_list_j() {
	out=$(losetup -j "$IMG") || return 1
	echo "$out"
	[ "$(echo "$out" | wc -l)" -eq 1 ] && echo "$out" | grep -q "^$DEV:"
}
tap_check "losetup -j FILE finds exactly the device" check_list_j

check_size64() {
	s=$(blockdev --getsize64 "$DEV") || return 1
	echo "size=$s"
	[ "$s" -eq $((64 * 1024 * 1024)) ]
}
tap_check "blockdev --getsize64 is the file size" check_size64

# --- mkfs.ext4 + mount + write + umount + fsck
check_mkfs() { mkfs.ext4 -q -F "$DEV"; }
tap_check "mkfs.ext4 on the device" check_mkfs

check_mount_write() {
	mount -t ext4 "$DEV" "$MNT" || return 1
	dd if=/dev/urandom of="$MNT/data" bs=64k count=64 2>/dev/null || { umount "$MNT"; return 1; }
	sha256sum "$MNT/data" | cut -d' ' -f1 > /tmp/clients-sum
	sync
	umount "$MNT"
}
tap_check "mount, write 4 MiB, umount" check_mount_write

check_fsck() { e2fsck -fn "$DEV"; }
tap_check "e2fsck -fn is clean" check_fsck

check_remount_read() {
	mount -t ext4 -o ro "$DEV" "$MNT" || return 1
	s=$(sha256sum "$MNT/data" | cut -d' ' -f1)
	umount "$MNT" || return 1
	[ "$s" = "$(cat /tmp/clients-sum)" ]
}
tap_check "data reads back after remount" check_remount_read

check_blkid() {
	t=$(blkid -o value -s TYPE "$DEV") || return 1
	echo "type=$t"
	[ "$t" = ext4 ]
}
tap_check "blkid sees ext4" check_blkid

# --- losetup -d
check_detach() {
	losetup -d "$DEV" || return 1
	[ ! -e /sys/block/loop$N/loop ] || { echo "still bound"; return 1; }
	out=$(losetup -j "$IMG")
	[ -z "$out" ] || { echo "$out"; return 1; }
}
tap_check "losetup -d detaches" check_detach

check_detach_again() { ! losetup -d "$DEV" 2>/dev/null; }
tap_check "losetup -d on an unbound device fails" check_detach_again

# --- offset + sizelimit
check_offset_limit() {
	d=$(losetup -f --show -o 4096 --sizelimit 1M "$IMG2") || return 1
	s=$(blockdev --getsize64 "$d")
	o=$(cat /sys/block/${d#/dev/}/loop/offset)
	l=$(cat /sys/block/${d#/dev/}/loop/sizelimit)
	echo "dev=$d size=$s offset=$o sizelimit=$l"
	losetup -d "$d" || return 1
	[ "$s" -eq 1048576 ] && [ "$o" -eq 4096 ] && [ "$l" -eq 1048576 ]
}
tap_check "losetup -o 4096 --sizelimit 1M gives a 1 MiB device" check_offset_limit

check_offset_data() {
	printf 'ASYNCLOOP' | dd of="$IMG2" bs=1 seek=8192 conv=notrunc 2>/dev/null
	d=$(losetup -f --show -o 4096 "$IMG2") || return 1
	got=$(dd if="$d" bs=1 skip=4096 count=9 2>/dev/null)
	losetup -d "$d" || return 1
	echo "read: $got"
	[ "$got" = ASYNCLOOP ]
}
tap_check "device offset maps onto the file" check_offset_data

check_ro() {
	d=$(losetup -f --show -r "$IMG2") || return 1
	ro=$(blockdev --getro "$d")
	losetup -d "$d" || return 1
	echo "ro=$ro"
	[ "$ro" = 1 ]
}
tap_check "losetup -r gives a read-only device" check_ro

# --- mount -o loop: autoclear on umount
check_mount_loop() {
	mkfs.vfat "$IMG2" >/dev/null || return 1
	mount -o loop "$IMG2" "$MNT" || return 1
	echo hello > "$MNT/f" || { umount "$MNT"; return 1; }
	d=$(losetup -j "$IMG2" | cut -d: -f1)
	echo "dev=$d"
	[ -n "$d" ] || { umount "$MNT"; return 1; }
	[ "$(cat /sys/block/${d#/dev/}/loop/autoclear)" = 1 ] || { echo "autoclear not set"; umount "$MNT"; return 1; }
	umount "$MNT" || return 1
	# synchronous contract: free as soon as umount returned
	out=$(losetup -a)
	[ -z "$out" ] || { echo "losetup -a after umount: $out"; return 1; }
	[ ! -e /sys/block/${d#/dev/}/loop ]
}
tap_check "mount -o loop; umount frees the device (autoclear)" check_mount_loop

check_fsck_vfat() { fsck.vfat -n "$IMG2"; }
tap_check "fsck.vfat -n clean after loop mount" check_fsck_vfat

# --- umount of the outer fs right after the loop mount's umount (xfs/049)
check_nested_umount() {
	mkdir -p /tmp/outer || return 1
	mount -t tmpfs -o size=32m tmpfs /tmp/outer || return 1
	truncate -s 16M /tmp/outer/img && mkfs.ext4 -q -F /tmp/outer/img &&
	mount -o loop /tmp/outer/img "$MNT" && umount "$MNT" && umount /tmp/outer
	rc=$?
	[ $rc -eq 0 ] || { umount -l "$MNT" 2>/dev/null; umount -l /tmp/outer 2>/dev/null; }
	return $rc
}
tap_check "umount loop mount then its backing fs at once" check_nested_umount

# --- losetup -f uses a free device; many attach/detach cycles reuse devices
check_cycles() {
	first=""
	i=0
	while [ $i -lt 30 ]; do
		d=$(losetup -f --show "$IMG2") || return 1
		[ -n "$first" ] || first=$d
		[ "$d" = "$first" ] || { echo "cycle $i got $d, first was $first"; losetup -d "$d"; return 1; }
		losetup -d "$d" || return 1
		i=$((i + 1))
	done
}
tap_check "30 attach/detach cycles reuse the same device" check_cycles

check_none_left() {
	out=$(losetup -a)
	[ -z "$out" ] || { echo "$out"; return 1; }
}
tap_check "losetup -a shows nothing at the end" check_none_left

rm -f "$IMG" "$IMG2" /tmp/clients-sum
tap_done
