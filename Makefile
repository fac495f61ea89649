# asyncloop top-level Makefile. Everything runs as root on Debian 12.
#   make deps     install host packages + unpack the target kernel (vm/setup)
#   make module   build build/$(KVER)/loop.ko
#   make tests    build the static test binaries into build/tests/
#                 (loopctl too: tools/, static for the guest)
#   make tools    build/tools/loopctl (dynamic, the package's) and build/tests/loopctl
#   make check    run every tests/suites/*.sh in the VM against ours and stock,
#                 on Debian's 6.1 and 6.12 kernels (KVER=... for one kernel)
#   make demo     boot the VM once with our driver and run vm/demo.sh (KVER)
#   make debug-kernel  build/reuse the lockdep+KASAN kernels debug-6.1 and
#                      debug-6.12 (vm/debug-kernel, ~12-15 min each once)
#   make check-debug   all suites on debug-6.1, DEBUG_SUITES on debug-6.12
#   make lockdep-proof the NAIVE build must make lockdep report the syzbot
#                      cycle (on LOCKDEP_KVERS, default debug-6.1)
#   make deb      build/deb/asyncloop-dkms_<version>_all.deb (debian/, DKMS source package)
#                 and build/deb/asyncloop-tools_<version>_amd64.deb (loopctl)
#   make dkms-install  install that package and its DKMS build for KVER
#   make e2e      package end to end: kernels, install, boot, remove (vm/e2e; CI)
#   make soak     integrity soak, SOAK_SECS per kernel and driver (minutes)
#   make bench    one VM boot: fio + control path, raw file vs stock vs ours
#                 (ROUNDS=5 RUNTIME=3; quick: make bench ROUNDS=1 RUNTIME=1)

# The supported kernels: the newest installed Debian headers of each series.
# Debian 12's are on this machine, Debian 13's (gcc 14) in the Debian 13
# build root of vm/trixie. Recursive (=) on purpose: evaluated when a recipe
# runs, i.e. after `deps` has installed the headers.
ASYNCLOOP_CACHE ?= /var/cache/asyncloop
ROOT13 = $(ASYNCLOOP_CACHE)/trixie-root
# $(call newest_headers,SERIES-GLOB,FLAVOUR,ROOT): FLAVOUR "" (plain amd64),
# "cloud" or "rt"
newest_headers = $(shell ls -d $(3)/usr/src/linux-headers-$(1)*-amd64 2>/dev/null | \
	sed 's|.*/linux-headers-||' | grep -E -- '$(if $(2),-$(2)-amd64$$,[0-9]-amd64$$)' | sort -V | tail -n1)
KVER_61 = $(call newest_headers,6.1.*)
KVER_612 = $(call newest_headers,6.12.*+deb12)
KVER_612_13 = $(call newest_headers,6.12.*+deb13,,$(ROOT13))
KVER_612_13_CLOUD = $(call newest_headers,6.12.*+deb13,cloud,$(ROOT13))
KVER_73 = $(call newest_headers,7.3.*+deb13,,$(ROOT13))
KVER_73_CLOUD = $(call newest_headers,7.3.*+deb13,cloud,$(ROOT13))
KVER_73_RT = $(call newest_headers,7.3.*+deb13,rt,$(ROOT13))
KVER ?= $(KVER_61)
# make check without KVER=: the full suites on 6.1 and Debian 13's 6.12, the
# smoke suites on 7.3 and 7.3-rt (CI's time budget: 7.3's full run takes
# ~18 min and is not green yet, docs/matrix.md). Debian 12's 6.12 runs in
# make e2e (the package's module: demo and the umount rounds) and in
# make check-all, which runs every suite on every supported kernel.
FULL_KVERS = $(KVER_61) $(KVER_612_13)
SMOKE_KVERS = $(KVER_73) $(KVER_73_RT)
SMOKE_SUITES ?= teardown io extensions stress
# teardown rounds per test on the smoke kernels (the full kernels: the issue's 1,000-10,000)
SMOKE_ROUNDS ?= 300
CHECK_KVERS = $(if $(filter file,$(origin KVER)),$(FULL_KVERS),$(KVER))
# every supported kernel (make check-all)
ALL_KVERS = $(KVER_61) $(KVER_612) $(KVER_612_13) $(KVER_612_13_CLOUD) \
	$(KVER_73) $(KVER_73_CLOUD) $(KVER_73_RT)
# A Debian 13 kernel (+deb13) is built in that root, at the same paths.
in_root13 = $(if $(findstring +deb13,$(1)),$(CURDIR)/vm/trixie run)
# Kernel build tree: Debian headers, or a self-built tree for debug-* kernels.
KDIR ?= $(if $(filter debug-%,$(KVER)),$(CURDIR)/build/$(KVER)/kbuild-tree,/lib/modules/$(KVER)/build)
OBJ   = $(CURDIR)/build/$(KVER)/obj

.PHONY: all deps module tests tools check demo clean
all: module tests

# vm/setup without an argument sets up both kernel series
SETUP_KVER = $(if $(filter debug-%,$(KVER)),,$(if $(filter file,$(origin KVER)),,$(KVER)))
deps:
	vm/setup $(SETUP_KVER)
	$(if $(filter debug-%,$(KVER)),vm/debug-kernel $(KVER))

# The module's build directory: its sources, Kbuild and the uapi header
# (Kbuild adds -I$(src)/uapi), stale files of an earlier tree removed.
copy_src = mkdir -p $(1) && rm -rf $(1)/*.c $(1)/*.h $(1)/uapi && \
	cp -r src/*.c src/*.h src/Kbuild src/uapi $(1)/

module: deps
	@test -n "$(KVER)" || { echo "KVER unknown: no /usr/src/linux-headers-6.1.*-amd64 (make deps)"; exit 1; }
	@test -f src/Kbuild || { echo "no src/Kbuild yet"; exit 1; }
	$(call copy_src,$(OBJ))
	$(call in_root13,$(KVER)) $(MAKE) -C $(KDIR) M=$(OBJ) W=1 modules
	cp $(OBJ)/loop.ko build/$(KVER)/loop.ko
	@echo "built build/$(KVER)/loop.ko"

tests: tools
	$(MAKE) -C tests

# loopctl(8): build/tools/loopctl and the static build/tests/loopctl (suite loopctl)
tools:
	$(MAKE) -C tools

comma := ,
empty :=
space := $(empty) $(empty)
CHECK_SMOKE_KVERS = $(if $(filter file,$(origin KVER)),$(SMOKE_KVERS))
check: deps tests
	set -e; for k in $(CHECK_KVERS) $(CHECK_SMOKE_KVERS); do $(MAKE) --no-print-directory module KVER=$$k; done
	ALOOP_SMOKE_ROUNDS=$(SMOKE_ROUNDS) vm/check $(foreach k,$(CHECK_KVERS),--kver $(k)) \
	    $(foreach k,$(CHECK_SMOKE_KVERS),--kver $(k)=$(subst $(space),$(comma),$(strip $(SMOKE_SUITES))))

# Every suite on every supported kernel (docs/matrix.md holds the last table)
.PHONY: check-all
check-all: deps tests
	set -e; for k in $(ALL_KVERS); do $(MAKE) --no-print-directory module KVER=$$k; done
	vm/check $(foreach k,$(ALL_KVERS),--kver $(k))

demo: deps module tools
	vm/run --kver $(KVER) --driver ours --timeout 300 --script vm/demo.sh

# The lockdep+KASAN debug kernels (vm/debug-kernel, Debian's linux-source-<series>;
# cached in /var/cache/asyncloop/debug-kernel). DEBUG_KVER runs every suite in
# check-debug; the other kernels of DEBUG_KVERS run DEBUG_SUITES ("all" for
# every suite): CI's 75 minutes hold both kernels only that way.
DEBUG_KVERS ?= debug-6.1 debug-6.12
DEBUG_KVER ?= debug-6.1
DEBUG_SUITES ?= teardown stress
.PHONY: debug-kernel check-debug
debug-kernel:
	set -e; for k in $(DEBUG_KVERS); do $(MAKE) --no-print-directory deps KVER=$$k; done

# One vm/check per kernel; build/logs/summary.txt gets both tables and one
# "N passed, N failed" line summing them (a kernel without a summary: 1 failed).
check-debug: tests
	set -e; for k in $(DEBUG_KVERS); do $(MAKE) --no-print-directory module KVER=$$k; done
	@rc=0 p=0 f=0; rm -f build/logs/summary-check-debug.txt; mkdir -p build/logs; \
	for k in $(DEBUG_KVERS); do \
	    s=; [ $$k = $(DEBUG_KVER) ] || [ "$(DEBUG_SUITES)" = all ] || s="$(DEBUG_SUITES)"; \
	    rm -f build/logs/summary.txt; \
	    vm/check --kver $$k $$s || rc=1; \
	    l=$$(tail -n1 build/logs/summary.txt 2>/dev/null); \
	    if echo "$$l" | grep -qE '^[0-9]+ passed, [0-9]+ failed$$'; then \
	        p=$$((p + $${l%% *})); l=$${l#*, }; f=$$((f + $${l%% *})); \
	        { echo "== $$k: $${s:-all suites}"; sed '$$d' build/logs/summary.txt; } >> build/logs/summary-check-debug.txt; \
	    else f=$$((f + 1)); rc=1; echo "== $$k: no summary" >> build/logs/summary-check-debug.txt; fi; \
	done; \
	echo "$$p passed, $$f failed" >> build/logs/summary-check-debug.txt; \
	cp build/logs/summary-check-debug.txt build/logs/summary.txt; \
	echo; cat build/logs/summary.txt; exit $$rc

# The checker can fail: the NAIVE test build (src/Kbuild) must make lockdep
# report the syzbot 643e4ce4 cycle, the real build must not (vm/lockdep-proof,
# one naive + one real boot per kernel). debug-6.1 only by default: from 6.7
# on sendfile() holds sb_writers only around the write, not while it reads the
# sysfs attribute, so the suite's step 2 no longer links sb_writers to
# of->mutex and the cycle cannot close (LOCKDEP_KVERS="debug-6.1 debug-6.12").
LOCKDEP_KVERS ?= debug-6.1
.PHONY: lockdep-proof
lockdep-proof: tests
	set -e; for k in $(LOCKDEP_KVERS); do \
	    $(MAKE) --no-print-directory module KVER=$$k; \
	    n=$(CURDIR)/build/$$k-naive; $(call copy_src,$$n/obj); \
	    $(MAKE) -C $(CURDIR)/build/$$k/kbuild-tree M=$$n/obj ALOOP_NAIVE_TEARDOWN=y modules; \
	    cp $$n/obj/loop.ko $$n/loop.ko; \
	done
	vm/lockdep-proof $(foreach k,$(LOCKDEP_KVERS),--kver $(k))

# Benchmarks (bench/run, bench/bench.sh, bench/cyclebench.c): table on stdout,
# in build/bench/table.md; docs/performance.md holds the committed numbers.
ROUNDS ?= 5
RUNTIME ?= 3
.PHONY: bench profile
bench: deps module
	$(MAKE) -C bench
	KVER=$(KVER) ROUNDS=$(ROUNDS) RUNTIME=$(RUNTIME) bench/run

# perf profile of stock vs ours (bench/profile.sh); see docs/performance.md
profile: deps module
	$(MAKE) -C bench
	KVER=$(KVER) bench/profile

# Debian package (debian/) and DKMS (dkms.conf). One version, debian/changelog's:
# the package's, dkms.conf's PACKAGE_VERSION (dh_dkms -V) and the module's
# MODULE_VERSION (Kbuild's ALOOP_VERSION, exported here for in-tree builds and
# passed by dkms.conf's MAKE line for DKMS builds).
export ALOOP_VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
DEB = build/deb/asyncloop-dkms_$(ALOOP_VERSION)_all.deb
DEB_TOOLS = build/deb/asyncloop-tools_$(ALOOP_VERSION)_amd64.deb
DEB_TREE = build/deb/asyncloop-$(ALOOP_VERSION)
.PHONY: deb dkms-install
# dpkg-buildpackage runs in a copy under build/deb/, so that debhelper's files
# stay out of the work tree; the .debs, .changes and .buildinfo land in build/deb/.
# gcc and libc6-dev compile loopctl; build-essential, which Build-Depends
# does not list, is what dpkg-checkbuilddeps wants (trixie refuses without).
deb:
	@m=; for p in build-essential debhelper dh-dkms dpkg-dev gcc libc6-dev; do \
	    [ "$$(dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null)" = installed ] || m="$$m $$p"; done; \
	if [ -n "$$m" ]; then apt-get install -y --no-install-recommends $$m; fi
	rm -rf build/deb && mkdir -p $(DEB_TREE)/src $(DEB_TREE)/tools $(DEB_TREE)/docs
	cp -r debian dkms.conf README.md $(DEB_TREE)/
	cp src/*.c src/*.h src/Kbuild $(DEB_TREE)/src/
	cp -r src/uapi $(DEB_TREE)/src/
	cp tools/Makefile tools/*.c tools/*.h tools/loopctl.8 $(DEB_TREE)/tools/
	cp docs/extensions.md $(DEB_TREE)/docs/
	cd $(DEB_TREE) && dpkg-buildpackage -b -us -uc
	rm -rf $(DEB_TREE)
	@echo "built $(DEB) $(DEB_TOOLS)"

# Installs the package built from this tree (prerm removes any earlier build of
# the same version; postinst builds for the running and the newest kernel),
# with asyncloop-tools (loopctl), on which it depends, then makes sure DKMS
# built and installed it for KVER. Undo: apt-get remove asyncloop-dkms
# asyncloop-tools. Stale 0.1 installs (earlier dkms-install) are removed first.
dkms-install: deb
	test -e /lib/modules/$(KVER)/build/Makefile || apt-get install -y --no-install-recommends linux-headers-$(KVER)
	if [ -d /var/lib/dkms/asyncloop/0.1 ]; then dkms remove asyncloop/0.1 --all; fi
	if ! dpkg -S /usr/src/asyncloop-0.1 >/dev/null 2>&1; then rm -rf /usr/src/asyncloop-0.1; fi
	apt-get install -y --reinstall --no-install-recommends ./$(DEB) ./$(DEB_TOOLS)
	dkms install asyncloop/$(ALOOP_VERSION) -k $(KVER)
	dkms status asyncloop
	modinfo -k $(KVER) -n loop

# End-to-end proof on this machine (CI; installs kernels and the package): the
# 6.1 and 6.12 kernels, make deb, apt-get install, boot each with the
# installed loop, apt-get remove. Ends with "N passed, N failed" (vm/e2e).
.PHONY: e2e
e2e:
	vm/e2e

clean:
	rm -rf build

# make soak (tests/soak.c, tests/soak/soak.sh): verifying writers and readers
# on a buffered, a direct-I/O and a read-only device for SOAK_SECS seconds
# while SET_CAPACITY, CHANGE_FD and attach/autoclear churn run beside them;
# every block checked at the end. Not part of make check; docs/reliability.md.
SOAK_SECS ?= 300
SOAK_KVERS ?= $(KVER_61) $(KVER_612)
SOAK_DRIVERS ?= ours stock
.PHONY: soak
soak: tests
	set -e; for k in $(SOAK_KVERS); do $(MAKE) --no-print-directory module KVER=$$k; done
	ALOOP_SOAK_SECS=$(SOAK_SECS) vm/check --timeout $$(($(SOAK_SECS) * 3 + 600)) \
	    --drivers "$(SOAK_DRIVERS)" $(foreach k,$(SOAK_KVERS),--kver $(k)) tests/soak/soak.sh

# make fuzz (vm/fuzz, tests/fuzz.c, docs/fuzz.md): random hostile loop
# ioctls, I/O, worker SIGKILLs and driver reloads for FUZZ_SECS seconds with
# FUZZ_PROCS workers, on every kernel of FUZZ_KVERS, with each driver of
# FUZZ_DRIVERS, one seed for all (FUZZ_SEED, random by default; FUZZ_REPLAY=
# W.G.N reruns one worker's stream). Not part of make check. Ends with
# "N passed, N failed" in build/logs/summary.txt.
FUZZ_KVERS ?= $(KVER_61) $(KVER_612) debug-6.1 debug-6.12
FUZZ_DRIVERS ?= ours stock
FUZZ_SECS ?= 300
FUZZ_PROCS ?= 8
FUZZ_SEED ?=
FUZZ_REPLAY ?=
.PHONY: fuzz
fuzz: tests
	set -e; for k in $(FUZZ_KVERS); do $(MAKE) --no-print-directory module KVER=$$k; done
	vm/fuzz $(foreach k,$(FUZZ_KVERS),--kver $(k)) --drivers "$(FUZZ_DRIVERS)" \
	    --secs $(FUZZ_SECS) --procs $(FUZZ_PROCS) \
	    $(if $(FUZZ_SEED),--seed $(FUZZ_SEED)) $(if $(FUZZ_REPLAY),--replay $(FUZZ_REPLAY))

# Fault injection on the debug kernels (vm/faults, tests/faults.c,
# docs/faults.md): fail-nth on every control path, kmemleak, I/O errors of the
# backing file's disk; ours and stock on each of FAULT_KVERS. Not part of make
# check. build/logs/summary.txt ends with "N passed, N failed".
FAULT_KVERS ?= debug-6.1 debug-6.12
FAULT_DRIVERS ?= ours stock
.PHONY: check-faults
check-faults: tests
	set -e; for k in $(FAULT_KVERS); do $(MAKE) --no-print-directory module KVER=$$k; done
	vm/faults $(foreach k,$(FAULT_KVERS),--kver $(k)) --drivers "$(FAULT_DRIVERS)"
