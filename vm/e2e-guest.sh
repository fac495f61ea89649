#!/bin/sh
# vm/e2e-guest.sh - the guest half of vm/e2e: runs in
#   vm/run --system --kver K --driver installed --script <this + vm/demo.sh>
# i.e. on this machine's installed kernel K with the loop module that its
# modules.dep lists (what modprobe loads). Prints "E2E ok - ..." and
# "E2E not ok - ..." lines, which vm/e2e counts; exit 0 only if all are ok.
# Knobs from vm/e2e's environment (vm/run passes ALOOP_[A-Z_]*):
#   ALOOP_EXPECT       ours (the package is installed) | stock (it is not)
#   ALOOP_VERSION      our version (debian/changelog)
#   ALOOP_SRCVERSION   srcversion of the module modinfo resolves on the host
#                      (empty for stock: Debian does not set SRCVERSION_ALL)
#   ALOOP_TD_ROUNDS    teardown rounds (default 100)
# vm/e2e prepends vm/demo.sh as /tmp/asyncloop-e2e-demo.sh (heredoc).
set -u
EXPECT=${ALOOP_EXPECT:-ours}
ROUNDS=${ALOOP_TD_ROUNDS:-100}
K=$(uname -r)
FAILS=0
ok() { echo "E2E ok - $K: $*"; }
not_ok() { echo "E2E not ok - $K: $*"; FAILS=$((FAILS + 1)); }
check() { # check "description" command...
    d=$1; shift
    if "$@"; then ok "$d"; else not_ok "$d"; fi
}

echo "== e2e guest: kernel $K, expecting $EXPECT loop =="
echo "loaded: $(grep '^loop ' /proc/modules || echo none)"
echo "/sys/module/loop/version: $(cat /sys/module/loop/version 2>/dev/null || echo absent)"
echo "/sys/module/loop/srcversion: $(cat /sys/module/loop/srcversion 2>/dev/null || echo absent)"
check "loop module loaded (from modules.dep)" grep -q '^loop ' /proc/modules
got_src=$(cat /sys/module/loop/srcversion 2>/dev/null || true)
check "loaded loop's srcversion '$got_src' = host modinfo's '${ALOOP_SRCVERSION:-}'" \
    [ "$got_src" = "${ALOOP_SRCVERSION:-}" ]

# loopctl of the asyncloop-tools package (vm/e2e: vm/run --bins loopctl)
lc_run_fs() { # loopctl [--require-atomic] run: mkfs, mount, write, umount; then free
    truncate -s 32M /tmp/e2e-lc.img || return 1
    loopctl "$@" run /tmp/e2e-lc.img -- sh -c 'mkfs.ext4 -q "$LOOP_DEVICE" &&
        mkdir -p /tmp/e2e-lc && mount "$LOOP_DEVICE" /tmp/e2e-lc &&
        echo hi > /tmp/e2e-lc/x && umount /tmp/e2e-lc' || return 1
    [ -z "$(losetup -a)" ] && e2fsck -fn /tmp/e2e-lc.img >/dev/null 2>&1
}
if command -v loopctl >/dev/null 2>&1; then
    echo "loopctl features: $(loopctl features 2>&1 | tr '\n' ' ')"
    if [ "$EXPECT" = stock ]; then
        check "loopctl features: the stock driver" sh -c 'loopctl features | grep -q "^driver: stock loop"'
        check "loopctl run (classic-ABI fallback): mkfs, mount, umount; nothing left bound" lc_run_fs --quiet
        check "loopctl --require-atomic run refuses on stock (125)" \
            sh -c 'loopctl --require-atomic run /tmp/e2e-lc.img -- true 2>/dev/null; [ $? = 125 ]'
    else
        check "loopctl features: asyncloop with every extension" loopctl --require-atomic features
        check "loopctl --require-atomic run: mkfs, mount, umount; nothing left bound" lc_run_fs --require-atomic
    fi
    rm -f /tmp/e2e-lc.img
else
    not_ok "loopctl in the guest (asyncloop-tools, vm/run --bins loopctl)"
fi

if [ "$EXPECT" = stock ]; then
    check "stock loop: /sys/module/loop/version absent" [ ! -e /sys/module/loop/version ]
    echo "ASYNCLOOP-E2E-DONE fails=$FAILS"
    [ "$FAILS" = 0 ]
    exit
fi

got=$(cat /sys/module/loop/version 2>/dev/null || echo absent)
check "/sys/module/loop/version '$got' = '${ALOOP_VERSION:-?}'" [ "$got" = "${ALOOP_VERSION:-?}" ]

# vm/demo.sh, as vm/run --script vm/demo.sh would run it
if [ -f /tmp/asyncloop-e2e-demo.sh ]; then
    sh /tmp/asyncloop-e2e-demo.sh
    check "vm/demo.sh" [ $? = 0 ]
else
    not_ok "vm/demo.sh not in the guest"
fi

# Teardown guarantee: mount -o loop an ext4 image that lives on a tmpfs,
# umount it, umount the tmpfs at once: never EBUSY.
D=/tmp/e2e-td
mkdir -p $D/outer $D/inner
truncate -s 2M $D/template.img && mkfs.ext4 -q -F -O ^has_journal $D/template.img || not_ok "mkfs.ext4 template"
i=0 ebusy=0 other=0
t0=$(cut -d' ' -f1 /proc/uptime)
while [ $i -lt "$ROUNDS" ]; do
    i=$((i + 1))
    mount -t tmpfs -o size=8m tmpfs $D/outer || { other=$((other + 1)); break; }
    cp $D/template.img $D/outer/img
    if ! mount -o loop $D/outer/img $D/inner; then
        echo "round $i: mount -o loop failed"; other=$((other + 1)); umount -l $D/outer; break
    fi
    umount $D/inner || { echo "round $i: umount inner failed"; other=$((other + 1)); }
    if ! umount $D/outer 2>$D/err; then
        if grep -qi busy $D/err; then ebusy=$((ebusy + 1)); else other=$((other + 1)); cat $D/err; fi
        umount -l $D/outer
    fi
done
t1=$(cut -d' ' -f1 /proc/uptime)
echo "teardown: $i rounds, $ebusy EBUSY, $other other errors, $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
td=bad; [ "$i" = "$ROUNDS" ] && [ "$ebusy" = 0 ] && [ "$other" = 0 ] && td=good
check "teardown: $i x (mount -o loop on tmpfs, umount, umount tmpfs): $ebusy EBUSY, $other other errors" \
    [ $td = good ]
check "no loop device left bound" [ -z "$(losetup -a)" ]

echo "ASYNCLOOP-E2E-DONE fails=$FAILS"
[ "$FAILS" = 0 ]
