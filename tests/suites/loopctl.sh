#!/bin/sh
# Suite loopctl: the loopctl(8) client (tools/, build/tests/loopctl) on
# both drivers.  On ours it uses the asyncloop extensions
# (docs/extensions.md); on stock its classic-ABI fallbacks (GET_FREE +
# CONFIGURE with retries, sysfs polls, O_EXCL + CLR_FD) are what runs.
# list --json is parsed by jq (vm/run copies it into the guest). The
# direct I/O checks use ext4 on the virtio disk (tmpfs has no O_DIRECT
# before 6.6).
# asyncloop-disk: 128
. ../lib/tap.sh
tap_plan 40

T=/tmp/lc
D=/tmp/lc-disk
MNT=/tmp/lc-mnt
mkdir -p "$T" "$MNT"
IMG=$T/img
truncate -s 32M "$IMG"
OURS=0
[ "$ASYNCLOOP_DRIVER" = ours ] && OURS=1
if ! LC=$(tap_bin loopctl); then
	LC=loopctl
fi

# bound DEV: the device has a backing file (sysfs)
bound() { [ -e "/sys/block/${1#/dev/}/loop" ]; }
# which device is bound to FILE, from sysfs ("" if none)
dev_of() {
	for _b in /sys/block/loop*/loop/backing_file; do
		[ -e "$_b" ] || continue
		if [ "$(cat "$_b")" = "$1" ]; then
			_n=${_b#/sys/block/}
			echo "/dev/${_n%%/*}"
			return 0
		fi
	done
	return 1
}
# rc_of CMD...: the exit status of CMD (output to $T/out, $T/err)
rc_of() { "$@" > "$T/out" 2> "$T/err"; echo $?; }
# expect_rc WANT CMD...: CMD exits WANT; prints what it said
expect_rc() {
	_want=$1
	shift
	"$@" > "$T/out" 2> "$T/err"
	_rc=$?
	sed 's/^/out: /' "$T/out"
	sed 's/^/err: /' "$T/err"
	[ "$_rc" = "$_want" ] || { echo "exit status $_rc, want $_want"; return 1; }
}
# uptime in centiseconds
now_cs() { read -r _u _ < /proc/uptime; echo "${_u%.*}${_u#*.}"; }
# wait_unbound DEV: up to 5 s
wait_unbound() {
	_i=0
	while bound "$1"; do
		[ $_i -lt 500 ] || return 1
		sleep 0.01
		_i=$((_i + 1))
	done
}
# the device nobody left behind: detach whatever FILE is still bound to
cleanup_file() {
	_d=$(dev_of "$1") && losetup -d "$_d" 2>/dev/null
	return 0
}

tap_check "loopctl binary ($LC)" test -x "$LC"

# ------------------------------------------------------------ features --
check_features() {
	expect_rc 0 "$LC" features || return 1
	if [ $OURS = 1 ]; then
		grep -q '^driver: asyncloop, API version 1' "$T/out" &&
			grep -q '^features: attach wait detach status strict$' "$T/out"
	else
		grep -q '^driver: stock loop' "$T/out" && grep -q '^features: none$' "$T/out"
	fi
}
tap_check "features names the driver and its extensions" check_features

check_features_req() {
	if [ $OURS = 1 ]; then
		expect_rc 0 "$LC" --require-atomic features
	else
		expect_rc 3 "$LC" --require-atomic features
	fi
}
tap_check "features --require-atomic: 0 on ours, 3 on stock" check_features_req

tap_check "--version and attach --help exit 0" \
	sh -c '"$1" --version && "$1" attach --help >/dev/null && "$1" help run >/dev/null' sh "$LC"

# -------------------------------------------------------------- attach --
check_attach() {
	expect_rc 0 "$LC" attach "$IMG" || return 1
	dev=$(cat "$T/out")
	case $dev in /dev/loop[0-9]*) ;; *) echo "printed '$dev'"; return 1;; esac
	b=$(cat "/sys/block/${dev#/dev/}/loop/backing_file")
	ac=$(cat "/sys/block/${dev#/dev/}/loop/autoclear")
	echo "dev=$dev backing=$b autoclear=$ac"
	if [ $OURS = 1 ]; then
		! grep -q 'classic\|LOOP_CTL_GET_FREE' "$T/err" || { echo "fallback note on ours"; return 1; }
	else
		grep -q 'driver has no atomic attach (stock loop); using LOOP_CTL_GET_FREE + LOOP_CONFIGURE' "$T/err" ||
			{ echo "no fallback note on stock"; return 1; }
	fi
	[ "$b" = "$IMG" ] && [ "$ac" = 0 ] || return 1
	expect_rc 0 "$LC" detach "$dev" || return 1
	! bound "$dev" || { echo "still bound after detach"; return 1; }
}
tap_check "attach prints the device, stays bound; detach frees it" check_attach
cleanup_file "$IMG"

check_attach_opts() {
	truncate -s 8M "$T/small"
	dev=$("$LC" attach -r --partscan --offset 4K --sizelimit 0x100000 --block-size 4096 "$T/small") || return 1
	s=/sys/block/${dev#/dev/}
	got="ro=$(cat $s/ro) partscan=$(cat $s/loop/partscan) offset=$(cat $s/loop/offset)"
	got="$got sizelimit=$(cat $s/loop/sizelimit) size=$(blockdev --getsize64 "$dev") lbs=$(cat $s/queue/logical_block_size)"
	echo "$dev: $got"
	"$LC" detach "$dev" || return 1
	[ "$got" = "ro=1 partscan=1 offset=4096 sizelimit=1048576 size=1048576 lbs=4096" ]
}
tap_check "attach -r --partscan --offset 4K --sizelimit 0x100000 --block-size 4096" check_attach_opts
cleanup_file "$T/small"

# a backing file on a read-only file system: attached read-only, with a warning
check_attach_rofs() {
	mkdir -p "$T/ro" && mount -t tmpfs -o size=16m tmpfs "$T/ro" || return 1
	truncate -s 4M "$T/ro/img" && mount -o remount,ro "$T/ro" || { umount "$T/ro"; return 1; }
	"$LC" attach "$T/ro/img" > "$T/out" 2> "$T/err"
	rc=$?
	dev=$(cat "$T/out")
	cat "$T/err"
	ro=
	[ $rc = 0 ] && ro=$(cat "/sys/block/${dev#/dev/}/ro") && "$LC" detach "$dev"
	umount "$T/ro"
	echo "rc=$rc dev=$dev ro=$ro"
	[ $rc = 0 ] && [ "$ro" = 1 ] && grep -q 'attaching read-only' "$T/err"
}
tap_check "attach of a file on a read-only fs falls back to read-only, says so" check_attach_rofs

check_attach_req() {
	if [ $OURS = 1 ]; then
		expect_rc 0 "$LC" attach --require-atomic "$IMG" || return 1
		"$LC" detach "$(cat "$T/out")"
	else
		expect_rc 3 "$LC" --require-atomic attach "$IMG" || return 1
		grep -q 'require-atomic' "$T/err" || return 1
		! dev_of "$IMG" || { echo "bound anyway"; return 1; }
	fi
}
tap_check "attach --require-atomic: attaches on ours, exit 3 and nothing bound on stock" check_attach_req
cleanup_file "$IMG"

check_attach_autoclear() {
	expect_rc 2 "$LC" attach --autoclear "$IMG" && grep -q "loopctl run" "$T/err" &&
		! dev_of "$IMG"
}
tap_check "attach --autoclear is refused (exit 2, points to run)" check_attach_autoclear

# ---------------------------------------------------------- bad input --
check_bad_input() {
	fails=0
	while read -r want args; do
		# shellcheck disable=SC2086
		rc=$(rc_of "$LC" $args)
		echo "loopctl $args -> $rc (want $want): $(head -n1 "$T/err")"
		[ "$rc" = "$want" ] || fails=$((fails + 1))
	done <<EOF
2 attach --offset 12Q $IMG
2 attach --offset 99999999999999999999 $IMG
2 attach --sizelimit -1 $IMG
2 attach --block-size 0x $IMG
2 attach --direct-io=sometimes $IMG
2 attach --bogus $IMG
2 attach
2 attach $IMG $IMG
1 attach $T/does-not-exist
1 attach $T
2 detach /dev/null
2 detach $IMG
2 detach loopx
1 detach /dev/loop999
1 detach 999
2 wait --timeout soon 0
2 wait -t
2 list --sync
2 frobnicate
2 --bogus list
125 run $IMG
125 run $IMG true
125 run $IMG --
125 run --offset x $IMG -- true
125 run $T/does-not-exist -- true
EOF
	[ $fails = 0 ]
}
tap_check "bad input: usage errors exit 2, missing files/devices 1, run 125" check_bad_input
tap_check "bad input left nothing bound" sh -c '! losetup -a | grep -q .'

# ----------------------------------------------------------------- run --
check_run_fs() {
	"$LC" run "$IMG" -- sh -c 'mkfs.ext4 -q -F "$LOOP_DEVICE" && mount "$LOOP_DEVICE" '"$MNT"' &&
		echo hi > '"$MNT"'/x && umount '"$MNT"' && echo "$LOOP_DEVICE" > '"$T"'/dev' || return 1
	dev=$(cat "$T/dev")
	echo "ran on $dev"
	! bound "$dev" || { echo "$dev still bound after run"; return 1; }
	! dev_of "$IMG" || { echo "image still bound"; return 1; }
	e2fsck -fn "$IMG" || return 1
	got=$(debugfs -R 'cat /x' "$IMG" 2>/dev/null)
	echo "x: $got"
	[ "$got" = hi ]
}
tap_check "run mkfs.ext4 + mount + write + umount; device free, image intact (e2fsck, debugfs)" check_run_fs
cleanup_file "$IMG"

check_run_env() {
	"$LC" run "$IMG" -- sh -c 'n=${LOOP_DEVICE#/dev/}; echo "$LOOP_DEVICE $(cat /sys/block/$n/loop/autoclear) $(cat /sys/block/$n/loop/backing_file)"' > "$T/out" || return 1
	cat "$T/out"
	set -- $(cat "$T/out")
	case $1 in /dev/loop[0-9]*) ;; *) return 1;; esac
	[ "$2" = 1 ] && [ "$3" = "$IMG" ] && ! bound "$1"
}
tap_check "run: LOOP_DEVICE names the bound device, AUTOCLEAR set; free after" check_run_env

tap_check "run: CMD's exit status 3 is loopctl's" expect_rc 3 "$LC" run "$IMG" -- sh -c 'exit 3'
tap_check "run: CMD killed by SIGTERM -> 143" expect_rc 143 "$LC" run "$IMG" -- sh -c 'kill -TERM $$; sleep 5'
tap_check "run: CMD not found -> 127" expect_rc 127 "$LC" run "$IMG" -- /nonexistent/cmd
printf '#!/bin/sh\n' > "$T/noexec"
chmod 0644 "$T/noexec"
tap_check "run: CMD not executable -> 126" expect_rc 126 "$LC" run "$IMG" -- "$T/noexec"
tap_check "run: nothing left bound after those" sh -c '! losetup -a | grep -q .'

check_run_req() {
	if [ $OURS = 1 ]; then
		expect_rc 0 "$LC" run --require-atomic "$IMG" -- true
	else
		expect_rc 125 "$LC" run --require-atomic "$IMG" -- true || return 1
		grep -q 'require-atomic' "$T/err"
	fi
}
tap_check "run --require-atomic: runs on ours, 125 on stock" check_run_req

# SIGTERM to loopctl is forwarded to CMD
check_run_forward() {
	"$LC" run "$IMG" -- sh -c 'trap "echo got TERM > '"$T"'/sig; exit 7" TERM; echo $$ > '"$T"'/pid; while :; do sleep 0.05; done' &
	lp=$!
	i=0
	while [ ! -s "$T/pid" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
	dev=$(dev_of "$IMG") || { echo "not bound"; kill $lp; return 1; }
	kill -TERM $lp
	wait $lp
	rc=$?
	echo "dev=$dev rc=$rc $(cat "$T/sig" 2>/dev/null)"
	rm -f "$T/pid"
	[ $rc = 7 ] && grep -q 'got TERM' "$T/sig" && ! bound "$dev"
}
rm -f "$T/pid" "$T/sig"
tap_check "run forwards SIGTERM to CMD, exits with its status, device free" check_run_forward
cleanup_file "$IMG"

# SIGKILL of loopctl: its descriptor goes with it, CMD runs on
check_run_sigkill() {
	rm -f "$T/pid"
	"$LC" run "$IMG" -- sh -c 'echo $$ > '"$T"'/pid; exec sleep 2' &
	lp=$!
	i=0
	while [ ! -s "$T/pid" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
	cp=$(cat "$T/pid")
	dev=$(dev_of "$IMG") || { echo "not bound"; kill $lp; return 1; }
	kill -KILL $lp
	wait $lp
	rc=$?
	echo "loopctl rc=$rc, CMD pid $cp, $dev"
	[ $rc = 137 ] || return 1
	"$LC" wait --timeout 5 "$dev" || { echo "$dev still bound after loopctl was killed"; return 1; }
	kill -0 "$cp" 2>/dev/null || { echo "CMD died with loopctl"; return 1; }
	i=0
	while kill -0 "$cp" 2>/dev/null && [ $i -lt 1000 ]; do sleep 0.01; i=$((i + 1)); done
	! kill -0 "$cp" 2>/dev/null && ! bound "$dev" && ! dev_of "$IMG"
}
tap_check "run: SIGKILL of loopctl while CMD sleeps: device free, CMD runs to its end" check_run_sigkill
cleanup_file "$IMG"

# six at once: distinct devices (on stock: flock + GET_FREE + CONFIGURE, retried)
check_run_parallel() {
	i=0
	while [ $i -lt 6 ]; do
		truncate -s 1M "$T/p$i"
		"$LC" -q run "$T/p$i" -- sh -c 'echo $LOOP_DEVICE; sleep 1' > "$T/p$i.out" &
		i=$((i + 1))
	done
	# meanwhile losetup binds with the plain GET_FREE + CONFIGURE race
	truncate -s 1M "$T/lsf"
	d=$(losetup -f --show "$T/lsf") && sleep 0.3 && losetup -d "$d"
	wait
	cat "$T"/p?.out
	n=$(sort -u "$T"/p?.out | grep -c '^/dev/loop')
	echo "$n distinct devices"
	[ "$n" = 6 ] && ! losetup -a | grep -q .
}
tap_check "six parallel runs get six distinct devices, all free after" check_run_parallel

check_run_partscan() {
	truncate -s 16M "$T/parts"
	printf 'label: dos\n2048,4096,83\n,,83\n' | sfdisk -q "$T/parts" || return 1
	"$LC" run --partscan "$T/parts" -- sh -c 'ls ${LOOP_DEVICE}p*; test -b ${LOOP_DEVICE}p1 && test -b ${LOOP_DEVICE}p2'
}
tap_check "run --partscan: the partitions exist when CMD starts" check_run_partscan
cleanup_file "$T/parts"

# ---------------------------------------------------------------- wait --
check_wait_timeout() {
	dev=$("$LC" attach "$IMG") || return 1
	t0=$(now_cs)
	"$LC" wait --timeout 0.3 "$dev" 2> "$T/err"
	rc=$?
	t1=$(now_cs)
	cat "$T/err"
	"$LC" detach "$dev"
	echo "rc=$rc after $((t1 - t0)) cs"
	[ $rc = 4 ] && [ $((t1 - t0)) -ge 29 ] && grep -q 'still bound' "$T/err"
}
tap_check "wait --timeout 0.3 on a bound device: exit 4 after 0.3 s" check_wait_timeout
cleanup_file "$IMG"

check_wait_unbound() {
	expect_rc 0 "$LC" wait --timeout 0 loop0 && expect_rc 0 "$LC" wait 0
}
tap_check "wait on an unbound device returns 0 at once" check_wait_unbound

check_wait_detach() {
	dev=$("$LC" attach "$IMG") || return 1
	{ sleep 0.5; "$LC" detach "$dev"; } &
	"$LC" wait --timeout 20 "${dev#/dev/}"
	rc=$?
	wait
	echo "rc=$rc"
	[ $rc = 0 ] && ! bound "$dev"
}
tap_check "wait returns when another process detaches the device" check_wait_detach
cleanup_file "$IMG"

check_wait_autoclear() {
	"$LC" run "$IMG" -- sleep 0.5 &
	lp=$!
	i=0
	while ! dev=$(dev_of "$IMG") && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
	"$LC" wait --timeout 20 "$dev"
	rc=$?
	wait $lp
	echo "$dev: wait rc=$rc"
	[ $rc = 0 ] && ! bound "$dev"
}
tap_check "wait does not hold an AUTOCLEAR device: returns when run's CMD exits" check_wait_autoclear
cleanup_file "$IMG"

check_wait_req() {
	if [ $OURS = 1 ]; then
		expect_rc 0 "$LC" wait --require-atomic 0
	else
		expect_rc 3 "$LC" wait --require-atomic 0
	fi
}
tap_check "wait --require-atomic: 0 on ours, 3 on stock" check_wait_req

# -------------------------------------------------------------- detach --
check_detach_busy() {
	dev=$("$LC" attach "$IMG") || return 1
	sleep 30 < "$dev" &
	hp=$!
	sleep 0.1
	expect_rc 5 "$LC" detach --sync "$dev"
	rc=$?
	b=0 ac=
	bound "$dev" && b=1 && ac=$(cat "/sys/block/${dev#/dev/}/loop/autoclear")
	kill $hp
	wait $hp 2>/dev/null
	echo "busy check rc=$rc bound=$b autoclear=$ac"
	[ $rc = 0 ] && [ $b = 1 ] && [ "$ac" = 0 ] || { "$LC" detach "$dev"; return 1; }
	expect_rc 0 "$LC" detach --sync "$dev" || return 1
	! bound "$dev" || { echo "still bound when detach --sync returned"; return 1; }
}
tap_check "detach --sync with a second opener: exit 5, stays bound (no AUTOCLEAR); then detaches" check_detach_busy
cleanup_file "$IMG"

check_detach_mounted() {
	mkfs.ext4 -q -F "$IMG" || return 1
	dev=$("$LC" attach "$IMG") || return 1
	mount "$dev" "$MNT" || { "$LC" detach "$dev"; return 1; }
	expect_rc 5 "$LC" detach --sync "$dev"
	rc=$?
	b=0
	bound "$dev" && b=1
	umount "$MNT"
	echo "rc=$rc bound=$b"
	expect_rc 0 "$LC" detach --sync "$dev" && [ $rc = 0 ] && [ $b = 1 ] && ! bound "$dev"
}
tap_check "detach --sync of a mounted device: exit 5, still mounted and bound" check_detach_mounted
cleanup_file "$IMG"

check_detach_lazy() {
	dev=$("$LC" attach "$IMG") || return 1
	sleep 0.5 < "$dev" &
	sleep 0.1
	expect_rc 0 "$LC" detach "$dev" || return 1
	grep -q 'detaches when its last opener closes it' "$T/err" || return 1
	wait
	wait_unbound "$dev"
}
tap_check "detach without --sync with a second opener: lazy, says so, detaches at its close" check_detach_lazy
cleanup_file "$IMG"

check_detach_unbound() {
	expect_rc 1 "$LC" detach /dev/loop0 && grep -q 'not bound' "$T/err" &&
		expect_rc 1 "$LC" detach --sync loop0 && grep -q 'not bound' "$T/err"
}
tap_check "detach [--sync] of an unbound device: exit 1, 'not bound'" check_detach_unbound

check_detach_req() {
	dev=$("$LC" attach "$IMG") || return 1
	if [ $OURS = 1 ]; then
		expect_rc 0 "$LC" --require-atomic detach --sync "$dev"
	else
		expect_rc 3 "$LC" --require-atomic detach --sync "$dev" || return 1
		bound "$dev" || return 1
		"$LC" detach "$dev"
	fi
}
tap_check "detach --sync --require-atomic: detaches on ours, exit 3 and bound on stock" check_detach_req
cleanup_file "$IMG"

# ---------------------------------------------------------- direct I/O --
tap_disk_ext4 "$D"
check_dio_strict_ok() {
	truncate -s 8M "$D/dio" || return 1
	dev=$("$LC" attach --direct-io=strict "$D/dio") || return 1
	dio=$(cat "/sys/block/${dev#/dev/}/loop/dio")
	"$LC" detach "$dev"
	echo "$dev dio=$dio"
	[ "$dio" = 1 ]
}
tap_check "attach --direct-io=strict on ext4: bound with direct I/O" check_dio_strict_ok
cleanup_file "$D/dio"

check_dio_strict_refused() {
	# offset 256: not aligned to the disk's 512-byte sectors; the size is
	expect_rc 1 "$LC" attach --direct-io=strict --offset 256 --sizelimit 4M "$D/dio" || return 1
	grep -q 'direct I/O cannot be used' "$T/err" || return 1
	! dev_of "$D/dio" || { echo "bound anyway"; return 1; }
	# without strict: bound, without direct I/O, with a warning
	expect_rc 0 "$LC" attach --direct-io --offset 256 --sizelimit 4M "$D/dio" || return 1
	dev=$(cat "$T/out")
	dio=$(cat "/sys/block/${dev#/dev/}/loop/dio")
	"$LC" detach "$dev"
	echo "non-strict: dio=$dio"
	[ "$dio" = 0 ] && grep -q 'direct I/O is not used' "$T/err"
}
tap_check "--direct-io=strict with an unaligned offset: refused, nothing bound; plain --direct-io warns" check_dio_strict_refused
cleanup_file "$D/dio"

check_strict_size() {
	truncate -s 1000 "$T/odd"
	expect_rc 1 "$LC" attach --strict "$T/odd" || return 1
	! dev_of "$T/odd" || return 1
	expect_rc 1 "$LC" attach --strict --sizelimit 1000 "$IMG" || return 1
	! dev_of "$IMG" || return 1
	truncate -s 3M "$T/odd"
	expect_rc 1 "$LC" attach --strict --block-size 4096 --offset 1024 "$T/odd" || return 1
	! dev_of "$T/odd"
}
tap_check "--strict refuses sizes the kernel would round down" check_strict_size
cleanup_file "$T/odd"
cleanup_file "$IMG"

# ---------------------------------------------------------------- list --
# a backing file name that needs every kind of JSON escape, and invalid UTF-8
WEIRD=$(printf '%s/w "q" \\b\tt\001\nn \303\251 \342\202\254 \377x' "$T")
WANT_JSON=$(printf '%s/w "q" \\b\tt\001\nn \303\251 \342\202\254 \357\277\275x' "$T")
check_list_json() {
	truncate -s 1M "$WEIRD" || return 1
	dev=$("$LC" attach "$WEIRD") || return 1
	n=${dev#/dev/loop}
	"$LC" list --json > "$T/list.json"
	rc=$?
	"$LC" detach "$dev"
	cat "$T/list.json"
	[ $rc = 0 ] || return 1
	jq -e . "$T/list.json" > /dev/null || { echo "jq: not valid JSON"; return 1; }
	jq -j ".devices[] | select(.index == $n) | .backing_file" "$T/list.json" > "$T/got"
	printf '%s' "$WANT_JSON" > "$T/want"
	cmp "$T/got" "$T/want" || { od -c "$T/got" | head; return 1; }
	want_drv=stock want_op=null
	[ $OURS = 1 ] && want_drv=asyncloop want_op=number
	got=$(jq -r "[.driver, (.devices[] | select(.index == $n) |
		.state, (.openers | type), .flags.read_only, .flags.autoclear,
		(.diskseq | type), .size)] | map(tostring) | join(\" \")" "$T/list.json")
	echo "got: $got"
	[ "$got" = "$want_drv bound $want_op false false number 1048576" ] || return 1
	# every device of sysfs, unbound ones with a null backing_file
	c=$(jq '[.devices[] | select(.state == "unbound" and .backing_file == null)] | length' "$T/list.json")
	s=$(ls -d /sys/block/loop* | wc -l)
	echo "unbound: $c of $s"
	[ "$c" = $((s - 1)) ]
}
tap_check "list --json: valid JSON (jq), escaped backing file, fields per driver" check_list_json
rm -f "$WEIRD"

check_list_run() {
	"$LC" run --read-only "$IMG" -- "$LC" list --json > "$T/list.json" || return 1
	jq -e . "$T/list.json" > /dev/null || return 1
	got=$(jq -r "[.devices[] | select(.backing_file == \"$IMG\") |
		.state, .flags.read_only, .flags.autoclear, .openers] | map(tostring) | join(\" \")" "$T/list.json")
	echo "got: $got"
	if [ $OURS = 1 ]; then
		[ "$got" = "bound true true 1" ]
	else
		[ "$got" = "bound true true null" ]
	fi
}
tap_check "list --json inside run: bound, read_only, autoclear, openers 1 (ours) / null (stock)" check_list_run
cleanup_file "$IMG"

check_list_text() {
	dev=$("$LC" attach "$IMG") || return 1
	"$LC" list > "$T/out"
	rc=$?
	"$LC" detach "$dev"
	cat "$T/out"
	[ $rc = 0 ] && head -n1 "$T/out" | grep -q '^NAME  *STATE  *OPENERS' &&
		grep -q "^$dev  *bound .* $IMG\$" "$T/out"
}
tap_check "list: a table with the bound device and its backing file" check_list_text
cleanup_file "$IMG"

rm -rf "$T"
umount "$D" 2>/dev/null
tap_done
