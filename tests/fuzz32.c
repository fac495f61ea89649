// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzzer built with -m32 (tests/Makefile builds *32.c so): the same
 * operations reach the driver through its compat_ioctl paths, the 32-bit
 * struct loop_info of LOOP_SET_STATUS/LOOP_GET_STATUS and compat_ptr()
 * arguments; 64-bit-only values (block sizes and control indices past 32
 * bits) arrive truncated, as a 32-bit caller's would.  The fuzz suite runs
 * it after the 64-bit run on kernels with IA32 emulation.
 */
#include "fuzz.c"
