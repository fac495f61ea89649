# Shared TAP helpers for the suite scripts (POSIX sh, busybox compatible).
# Source from a suite (cwd = tests/suites):  . ../lib/tap.sh
# Suites end with `tap_done`, which exits non-zero if anything failed.

TAP_N=0
TAP_FAILED=0
ASYNCLOOP_ROOT=${ASYNCLOOP_ROOT:-/asyncloop}
ASYNCLOOP_DRIVER=${ASYNCLOOP_DRIVER:-stock}

tap_ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}

tap_not_ok() {
	TAP_N=$((TAP_N + 1))
	echo "not ok $TAP_N - $1"
	TAP_FAILED=1
}

tap_diag() {
	echo "# $*"
}

# tap_check NAME CMD [ARGS...]: ok when CMD exits 0; its output is kept as
# TAP comments so the log says what was seen.
tap_check() {
	_name=$1
	shift
	_out=$("$@" 2>&1)
	_rc=$?
	if [ -n "$_out" ]; then
		printf '%s\n' "$_out" | sed 's/^/# /'
	fi
	if [ $_rc -eq 0 ]; then
		tap_ok "$_name"
	else
		tap_diag "$_name: exit status $_rc"
		tap_not_ok "$_name"
	fi
}

# tap_disk_ext4 DIR: ext4 on the VM's virtio disk (vm/run --disk, or a
# suite's "# asyncloop-disk:" header) mounted on DIR, as one TAP result.
_tap_disk_ext4() {
	_disk=${ASYNCLOOP_DISK:-/dev/vda}
	[ -b "$_disk" ] || { echo "no virtio disk"; return 1; }
	mkdir -p "$1" && mkfs.ext4 -q -F "$_disk" && mount -t ext4 "$_disk" "$1"
}
tap_disk_ext4() {
	tap_check "ext4 on the virtio disk" _tap_disk_ext4 "$1"
}

# Path of a test binary: build/tests in the guest layout, or /tests.
tap_bin() {
	for _d in "$ASYNCLOOP_ROOT/build/tests" /tests ../../build/tests; do
		if [ -x "$_d/$1" ]; then
			echo "$_d/$1"
			return 0
		fi
	done
	return 1
}

# Run a kselftest binary; its TAP goes to stdout.
tap_run_bin() {
	if ! _b=$(tap_bin "$1"); then
		tap_not_ok "$1: test binary not found"
		return
	fi
	"$_b" || TAP_FAILED=1
}

# Devices the suite left bound, or added beyond the initial loop0..7.
tap_leak_check() {
	_bound=""
	_extra=""
	for _d in /sys/block/loop*; do
		[ -e "$_d" ] || continue
		_n=${_d#/sys/block/loop}
		[ -d "$_d/loop" ] && _bound="$_bound loop$_n"
		[ "$_n" -ge 8 ] 2>/dev/null && _extra="$_extra loop$_n"
	done
	if [ -n "$_bound" ]; then
		tap_diag "left bound:$_bound"
		tap_not_ok "no loop device left bound"
	else
		tap_ok "no loop device left bound"
	fi
	if [ -n "$_extra" ]; then
		tap_diag "left behind:$_extra"
		tap_not_ok "no added loop device left behind"
	else
		tap_ok "no added loop device left behind"
	fi
}

tap_done() {
	tap_leak_check
	echo "1..$TAP_N"
	if [ "$TAP_FAILED" -ne 0 ]; then
		echo "# suite FAILED"
		exit 1
	fi
	exit 0
}
