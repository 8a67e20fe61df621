/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's gup_test ioctls (mm/gup_test.h, v6.1) and pinlab's extension
 * of them (kernel-patches/6.1/instrumentation): one PINLAB_GUP_BENCH ioctl
 * that also reaches the remote paths, times in nanoseconds and hands the GUP
 * error back instead of swallowing it.  Keep in sync with the patch.
 */
#ifndef PINLAB_GUP_TEST_ABI_H
#define PINLAB_GUP_TEST_ABI_H

#include <linux/types.h>
#include <sys/ioctl.h>

#define GUP_TEST_PATH "/sys/kernel/debug/gup_test"

#define GUP_FAST_BENCHMARK _IOWR('g', 1, struct gup_test)
#define PIN_FAST_BENCHMARK _IOWR('g', 2, struct gup_test)
#define PIN_LONGTERM_BENCHMARK _IOWR('g', 3, struct gup_test)
#define GUP_TEST_MAX_PAGES_TO_DUMP 8

struct gup_test {
	__u64 get_delta_usec;
	__u64 put_delta_usec;
	__u64 addr;
	__u64 size;
	__u32 nr_pages_per_call;
	__u32 gup_flags;
	__u32 test_flags;
	__u32 which_pages[GUP_TEST_MAX_PAGES_TO_DUMP];
};

/* the ABI's gup_flags bits: v6.1's FOLL_WRITE and FOLL_LONGTERM values
 * (include/linux/mm.h); the 6.12 instrumentation translates them to 6.12's
 * own FOLL_* (an enum, FOLL_LONGTERM = 1 << 8) */
#define PB_FOLL_WRITE 0x01
#define PB_FOLL_LONGTERM 0x10000

#define PINLAB_GUP_ABI_VERSION 3
enum pinlab_gup_cmd {
	PINLAB_GUP_VERSION = 0, /* fills pages_done with the ABI version */
	PINLAB_GUP_FAST = 1,	/* get_user_pages_fast() */
	PINLAB_PIN_FAST = 2, /* pin_user_pages_fast(), FOLL_LONGTERM allowed */
	PINLAB_PIN_LONGTERM = 3, /* pin_user_pages(FOLL_LONGTERM) */
	PINLAB_GUP_REMOTE = 4,	 /* get_user_pages_remote() on pid's mm */
	PINLAB_PIN_REMOTE = 5,	 /* pin_user_pages_remote() on pid's mm */
	PINLAB_PIN_REMOTE_LONGTERM = 6, /* ... with FOLL_LONGTERM */
	PINLAB_GUP_NR_CMDS
};

struct pinlab_gup_bench {
	__u32 cmd;  /* enum pinlab_gup_cmd */
	__s32 pid;  /* remote commands: the target process */
	__u64 addr; /* in the target's address space */
	__u64 size;
	__u32 nr_pages_per_call;
	__u32 gup_flags;  /* PB_FOLL_WRITE, PB_FOLL_LONGTERM */
	__u64 get_ns;	  /* out: the pin loop, ktime_get_ns() */
	__u64 put_ns;	  /* out: the release loop */
	__u64 pages_done; /* out: pages pinned */
	__u64 calls;	  /* out: calls into the pin path */
	__s32 error;	  /* out: the first GUP error, -errno; 0 if none */
	__u32 reserved;
	__u64 pages_released; /* out: pages released, counted one by one */
};

#define PINLAB_GUP_BENCH _IOWR('g', 0x50, struct pinlab_gup_bench)

#endif
