// SPDX-License-Identifier: GPL-2.0
/*
 * tests/extensions.c built with -m32 (tests/Makefile builds *32.c so): the
 * asyncloop extensions through the compat ioctl paths of the 64-bit kernel
 * (one structure layout for both, compat_ptr() of the argument).  Stock
 * answers ALOOP_DETACH on /dev/loopN with ENOTTY here (EINVAL natively).
 * Without the stress and SIGKILL tests of the 64-bit binary.
 */
#define EXT_COMPAT32 1
#include "extensions.c"
