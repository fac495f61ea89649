# Shared KTAP helpers for the suite scripts (POSIX sh, busybox compatible).
# Source from a suite (cwd = tests/suites):  . ../lib/tap.sh
#
# A suite prints one KTAP version 1 document (Documentation/dev-tools/ktap.rst
# of the kernel source; vm/ktap parses and validates it):
#
#   KTAP version 1
#   1..4
#   ok 1 - ext4 on the virtio disk        <- a shell-level check (tap_check...)
#       TAP version 13                    <- a kselftest binary's own stream
#       1..2                                 (tap_run_bin), indented by 4
#       ok 1 cg.buffered_read.x              spaces: a nested subtest
#       not ok 2 cg.direct_read.x
#       # Totals: pass:1 fail:1 ...
#   # cgroup: exit status 1
#   not ok 2 cgroup                       <- the binary's result, from its exit
#   ok 3 - no loop device left bound         status (0 ok, 4 skip, else not ok)
#   ok 4 - no added loop device left behind
#
# Lines that are no KTAP (kernel log lines on the console) may come between.
# KTAP puts the plan right after the version line, so the count must be known
# before the first result:
#   tap_plan N  right after sourcing this file: N is the number of results the
#               suite prints itself (every tap_ok, tap_not_ok, tap_check,
#               tap_skip, tap_disk_ext4 and tap_run_bin is one); tap_done adds
#               its two leak checks. The output then streams to the console.
#               A wrong N fails the suite (and vm/ktap reports the mismatch).
# A suite that does not call tap_plan still prints valid KTAP: its output is
# held in a file until tap_done (or its exit) and printed then, with the plan
# counted; nothing of it reaches the console before the end.
# Suites end with `tap_done`, which exits non-zero if anything failed.

TAP_N=0
TAP_FAILED=0
TAP_PLAN=
TAP_INDENT='    '
ASYNCLOOP_ROOT=${ASYNCLOOP_ROOT:-/asyncloop}
ASYNCLOOP_DRIVER=${ASYNCLOOP_DRIVER:-stock}
_TAP_TMP=${TMPDIR:-/tmp}
_TAP_BUF=$_TAP_TMP/tap-buf-$$

# Until tap_plan: stdout and stderr go to $_TAP_BUF; fds 8 and 9 keep the
# real ones.
exec 8>&1 9>&2 >"$_TAP_BUF" 2>&1
_tap_header() { # PLAN: the version line and the plan, then what was held
	exec >&8 2>&9 8>&- 9>&-
	echo "KTAP version 1"
	echo "1..$1"
	cat "$_TAP_BUF"
	rm -f "$_TAP_BUF"
}
# A suite that exits without tap_done (and without tap_plan) still shows
# what it printed.
trap '[ -n "$TAP_PLAN" ] || _tap_header "$TAP_N"' EXIT

tap_plan() {
	if [ -n "$TAP_PLAN" ]; then
		tap_diag "tap_plan $1: the plan was already printed"
		TAP_FAILED=1
		return
	fi
	TAP_PLAN=$(($1 + 2))
	_tap_header "$TAP_PLAN"
}

tap_ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}

tap_not_ok() {
	TAP_N=$((TAP_N + 1))
	echo "not ok $TAP_N - $1"
	TAP_FAILED=1
}

# tap_skip DESCRIPTION REASON: a check that does not apply here.
tap_skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
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

# tap_run_bin NAME: run a kselftest binary; its TAP stream (stdout and
# stderr) becomes a subtest indented by $TAP_INDENT, followed by one result
# "ok N NAME" from its exit status (0 ok, 4 skip, else not ok).
# The binary writes to a pseudo-terminal (script(1), which vm/check, vm/fuzz
# and vm/faults put into the guest) and not to the pipe to sed: on a pipe its
# stdout would be fully buffered, and what a harness test prints to stdout in
# its forked child (ksft_print_msg) is lost when the child _exit()s.
tap_run_bin() {
	if ! _b=$(tap_bin "$1"); then
		tap_not_ok "$1: test binary not found"
		return
	fi
	_rcf=$_TAP_TMP/tap-rc-$$
	if command -v script >/dev/null 2>&1 && [ -c /dev/ptmx ]; then
		{ SHELL=/bin/sh script -qec "exec $_b" /dev/null </dev/null 2>&1 8>&- 9>&-
		  echo $? > "$_rcf"; } | sed -e 's/\r$//' -e "s/^/$TAP_INDENT/"
	else
		echo "$TAP_INDENT# tap.sh: no script(1) or /dev/ptmx: $1 writes to a pipe, what its test children print to stdout is lost"
		{ "$_b" 2>&1 8>&- 9>&-; echo $? > "$_rcf"; } | sed "s/^/$TAP_INDENT/"
	fi
	_rc=$(cat "$_rcf" 2>/dev/null)
	rm -f "$_rcf"
	TAP_N=$((TAP_N + 1))
	case $_rc in
	0) echo "ok $TAP_N $1";;
	4) echo "ok $TAP_N $1 # SKIP";;
	*)
		tap_diag "$1: exit status ${_rc:-unknown}"
		echo "not ok $TAP_N $1"
		TAP_FAILED=1;;
	esac
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
	if [ -z "$TAP_PLAN" ]; then
		TAP_PLAN=$TAP_N
		_tap_header "$TAP_N"
	elif [ "$TAP_N" -ne "$TAP_PLAN" ]; then
		tap_diag "tap.sh: the plan says $TAP_PLAN results (tap_plan $((TAP_PLAN - 2)) + 2 leak checks), the suite printed $TAP_N"
		TAP_FAILED=1
	fi
	trap - EXIT
	if [ "$TAP_FAILED" -ne 0 ]; then
		tap_diag "suite FAILED"
		exit 1
	fi
	exit 0
}
