/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Backings: one kind of memory each, one file each under bench/backings/,
 * one row each in the table in backing.c.  A backing maps a buffer; the
 * shared code here splits it into VMAs, places it on a NUMA node, faults it
 * in and verifies that it got what it asked for.
 */
#ifndef PINLAB_BACKING_H
#define PINLAB_BACKING_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "opts.h"
#include "util.h"

enum pb_backing_flags {
	PB_BK_FILE = 1 << 0,	/* a file on a filesystem */
	PB_BK_HUGETLB = 1 << 1, /* needs the hugetlb pool */
	PB_BK_DAX = 1 << 2, /* persistent memory: placement is the device's */
	PB_BK_SHARED = 1 << 3, /* MAP_SHARED */
	PB_BK_PLACED = 1 << 4, /* places itself (a zone's node): no --node */
};

struct pb_mem {
	char *addr; /* the buffer */
	size_t len;
	void *map; /* the mapping, with any alignment slack */
	size_t map_len;
	int fd;
	char path[PATH_MAX]; /* its file's name (unlinked once open), "" if none
			      */
	size_t page_size;
	unsigned nvmas;
	int node; /* node the pages were found on, -1 mixed/unknown */
};

struct pb_backing {
	const char *name;
	const char *desc;
	unsigned flags;
	/* Its own command-line options (PB_OPT_END-terminated), or NULL. */
	const struct pb_option *options;
	/* The backing's page size: sizes and VMA chunks are multiples of it. */
	size_t (*page_size)(const struct pb_opts *o);
	/* Can this machine provide it at all?  PB_OK or PB_SKIP + why. */
	int (*available)(const struct pb_opts *o, char *why);
	/*
	 * Optional: prepare what the machine must provide before mapping
	 * (the hugetlb pool), in the measuring process; undone at exit.
	 */
	int (*reserve)(const struct pb_opts *o, size_t len, char *why);
	/* Map len bytes at m->addr (aligned to page_size). */
	int (*map)(struct pb_mem *m, size_t len, const struct pb_opts *o,
		   char *why);
	/* After faulting: check the memory is what it claims (THP, DAX). */
	int (*verify)(const struct pb_mem *m, char *why);
	/*
	 * Optional: make the memory what it was before a pass (e.g. back in
	 * ZONE_MOVABLE after a long-term pin migrated it out); untimed.
	 */
	int (*refresh)(struct pb_mem *m, char *why);
	void (*unmap)(struct pb_mem *m);
};

extern const struct pb_backing *const pb_backings[];
extern const size_t pb_nbackings;
const struct pb_backing *pb_backing_find(const char *name);

/*
 * Parameter check, before anything is mapped: PB_OK, PB_SKIP or PB_FAIL +
 * why.  Part of pb_case_check (probe.h), the one place a case is checked.
 */
int pb_backing_check(const struct pb_backing *bk, const struct pb_opts *o,
		     size_t len, unsigned nvmas, char *why);

/* ---- setup.c: a checked case's memory ---------------------------------- */
/* The backing's reserve(), if it has one (in the measuring process). */
int pb_mem_reserve(const struct pb_backing *bk, const struct pb_opts *o,
		   size_t len, char *why);
/*
 * Map (after pb_mem_reserve), apply NUMA placement, split into nvmas VMAs,
 * fault every page in, verify VMAs, THP/DAX and placement.  The parameters
 * were checked by pb_case_check.  On failure nothing stays mapped.
 */
int pb_mem_setup(struct pb_mem *m, const struct pb_backing *bk,
		 const struct pb_opts *o, size_t len, unsigned nvmas,
		 char *why);
void pb_mem_teardown(const struct pb_backing *bk, struct pb_mem *m);

/* Helpers shared by backings. */
void pb_mem_touch(struct pb_mem *m); /* write one byte of every page */
size_t pb_page_size_base(const struct pb_opts *o); /* 4K */
int pb_always_available(const struct pb_opts *o, char *why);
int pb_map_aligned(struct pb_mem *m, size_t len, size_t align, int prot,
		   int flags, int fd, char *why);
void pb_unmap_common(struct pb_mem *m);
/* Create, unlink and size a file in dir; fills m->fd and m->path. */
int pb_make_file(struct pb_mem *m, const char *dir, const char *tag, size_t len,
		 bool fill, char *why);
/* The same, fallocated after an extent-size hint (FS_IOC_FSSETXATTR). */
int pb_make_file_extsize(struct pb_mem *m, const char *dir, const char *tag,
			 size_t len, size_t extsize, char *why);
/*
 * Of the buffer's 2 MiB blocks (total), how many (bad) cannot be one PMD:
 * the block's virtual address not 2 MiB-aligned, or its page frames (from
 * /proc/self/pagemap, root only) not one 2 MiB-aligned contiguous run.
 * A SKIP when pagemap hides the frames.
 */
#define PB_PMD (2UL << 20)
#define PB_PFN_MASK ((1ULL << 55) - 1)
#define PB_PM_PRESENT (1ULL << 63)
int pb_pmd_mappable(const struct pb_mem *m, size_t *bad, size_t *total,
		    char *why);

/* ---- pool.c: the hugetlb pool ----------------------------------------- */
/* Make sure npages of size_kb are free (grow if allowed). */
int pb_hugetlb_ensure(size_t size_kb, int node, uint64_t npages, bool may_grow,
		      char *why);
/* Put every pool we grew back to where it was; safe to call twice. */
void pb_hugetlb_restore(void);
/*
 * Call first thing in main(): the fatal-signal handlers, and a guardian
 * process that puts the pools back if this process is killed with SIGKILL.
 * 0, or -1 (then only the handlers protect the pools).
 */
int pb_pool_guard(void);

/* ---- setup.c: helpers for files and filesystems ------------------------ */
/* Is this open file DAX?  statx STATX_ATTR_DAX: 1 yes, 0 no, -errno. */
int pb_fd_is_dax(int fd);
/* Is dir on tmpfs (shmem, not page cache)? */
bool pb_dir_is_tmpfs(const char *dir);
/*
 * --dir must be a directory (else PB_FAIL) on a disk filesystem (tmpfs:
 * PB_SKIP, saying why it matters for the caller).
 */
int pb_disk_dir_check(const char *dir, const char *tmpfs_why, char *why);
#endif
