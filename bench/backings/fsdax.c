// SPDX-License-Identifier: GPL-2.0
/*
 * fsdax: a file on a filesystem mounted -o dax (--fsdax-dir), MAP_SHARED,
 * every 2 MiB of it one PMD.  The file must report STATX_ATTR_DAX; it is
 * allocated after a 2 MiB extent-size hint (XFS made with su=2m: every
 * extent 2 MiB-aligned on the device) and mapped 2 MiB-aligned, and after
 * the fault-in every 2 MiB block must be one 2 MiB-aligned run of page
 * frames (/proc/self/pagemap), or the case is a SKIP: an extent layout
 * that changes from boot to boot would otherwise mix PMD and PTE mappings
 * into one figure.
 *
 * fsdax_pte: the same file mapped one page past a 2 MiB boundary, so that
 * no address has its file offset's PMD colour: DAX's PMD fault handler
 * falls back to PTEs for every page (fs/dax.c, dax_fault_check_fallback /
 * dax_iomap_pmd_fault), whatever the extents.
 *
 * One file per size and backing for the whole run: made at the first use,
 * every size of --size in ascending order for fsdax, then for fsdax_pte
 * (a file fsdax_pte has mapped holds PTE-sized DAX entries, and a PMD
 * fault there falls back to PTEs: the two never share one), so that where the
 * files sit on the device (their page frames, and so how deep get_dev_pagemap's
 * xarray lookup goes for them) does not depend on the order the cases run
 * in (--seed shuffles it).  A file made per case landed where the earlier
 * cases' files had been, and the lookup cost 21 instructions a page more
 * in one seed than in another (20261203-explain-fsdax-seed1/3).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/backing.h"

static const struct pb_option fsdax_options[] = {
	{ "fsdax-dir", PB_OPT_STR, offsetof(struct pb_opts, fsdax_dir), 0,
	  "DIR", "directory on a filesystem mounted -o dax" },
	PB_OPT_END,
};

static int fsdax_available(const struct pb_opts *o, char *why)
{
	struct pb_mem m = { .fd = -1 };
	int r, dax;

	if (!o->fsdax_dir)
		return pb_say(why, PB_SKIP,
			      "no --fsdax-dir (a directory on a filesystem "
			      "mounted -o dax)");
	r = pb_make_file(&m, o->fsdax_dir, "daxcheck", PB_PAGE, false, why);
	if (r) {
		pb_unmap_common(&m);
		return PB_FAIL;
	}
	dax = pb_fd_is_dax(m.fd);
	pb_unmap_common(&m);
	if (dax != 1)
		return pb_say(why, PB_FAIL,
			      "--fsdax-dir %s: files there are not DAX "
			      "(statx shows no STATX_ATTR_DAX)",
			      o->fsdax_dir);
	return PB_OK;
}

static int make_one(struct pb_mem *m, size_t len, const struct pb_opts *o,
		    char *why)
{
	int r = pb_make_file_extsize(m, o->fsdax_dir, "fsdax", len, PB_PMD,
				     why);

	if (!r && pb_fd_is_dax(m->fd) != 1)
		r = pb_say(why, PB_FAIL, "%s is not DAX (statx)", m->path);
	return r;
}

static struct pb_mem pool[2][PB_MAX_LIST]; /* [0] fsdax, [1] fsdax_pte */
static int npool[2] = { -1, -1 };	   /* -1: not made yet */

static void pool_make(const struct pb_opts *o)
{
	size_t sizes[PB_MAX_LIST];
	int n = 0;

	for (int i = 0; i < o->nsizes; i++) {
		int j = n++;

		while (j > 0 && sizes[j - 1] > o->sizes[i]) {
			sizes[j] = sizes[j - 1];
			j--;
		}
		sizes[j] = o->sizes[i];
	}
	for (int b = 0; b < 2; b++) {
		struct pb_mem *p = pool[b];

		npool[b] = 0;
		for (int i = 0; i < n; i++) {
			char why[PB_WHY];

			if (npool[b] && p[npool[b] - 1].len == sizes[i])
				continue;
			p[npool[b]] = (struct pb_mem){ .fd = -1 };
			/* a size that cannot be made is made per case */
			if (make_one(&p[npool[b]], sizes[i], o, why)) {
				pb_unmap_common(&p[npool[b]]);
				continue;
			}
			p[npool[b]++].len = sizes[i];
		}
	}
}

static int fsdax_file(struct pb_mem *m, size_t len, const struct pb_opts *o,
		      int b, char *why)
{
	if (npool[b] < 0)
		pool_make(o);
	for (int i = 0; i < npool[b]; i++)
		if (pool[b][i].len == len) {
			m->fd = fcntl(pool[b][i].fd, F_DUPFD_CLOEXEC, 0);
			if (m->fd < 0)
				return pb_say_errno(why, PB_FAIL, errno,
						    "dup %s", pool[b][i].path);
			snprintf(m->path, sizeof(m->path), "%s",
				 pool[b][i].path);
			return PB_OK;
		}
	return make_one(m, len, o, why);
}

static int fsdax_map(struct pb_mem *m, size_t len, const struct pb_opts *o,
		     char *why)
{
	int r = fsdax_file(m, len, o, 0, why);

	/* 2M alignment lets the fault handler map PMDs */
	if (!r)
		r = pb_map_aligned(m, len, PB_PMD, PROT_READ | PROT_WRITE,
				   MAP_SHARED, m->fd, why);
	if (r)
		pb_unmap_common(m);
	return r;
}

static int fsdax_verify(const struct pb_mem *m, char *why)
{
	size_t bad, total;
	int r;

	/* VMAs smaller than a PMD: every page is a PTE, by construction */
	if (m->len / m->nvmas < PB_PMD)
		return PB_OK;
	r = pb_pmd_mappable(m, &bad, &total, why);
	if (r)
		return r;
	if (bad)
		return pb_say(why, PB_SKIP,
			      "fsdax: %zu of %zu 2 MiB blocks are not one "
			      "2 MiB-aligned run of page frames (the file's "
			      "extents): they cannot be PMD-mapped",
			      bad, total);
	return PB_OK;
}

static int fsdax_pte_map(struct pb_mem *m, size_t len, const struct pb_opts *o,
			 char *why)
{
	int r = fsdax_file(m, len, o, 1, why);
	char *p, *a;

	if (r) {
		pb_unmap_common(m);
		return r;
	}
	/* reserve, then place the file at a 2 MiB boundary + one page */
	p = mmap(NULL, len + 2 * PB_PMD, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		r = pb_say_errno(why, PB_FAIL, errno,
				 "reserve %zu bytes of address space", len);
		pb_unmap_common(m);
		return r;
	}
	a = (char *)((((uintptr_t)p + PB_PMD - 1) & ~(uintptr_t)(PB_PMD - 1)) +
		     PB_PAGE);
	if (mmap(a, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, m->fd,
		 0) == MAP_FAILED) {
		int e = errno;

		munmap(p, len + 2 * PB_PMD);
		pb_unmap_common(m);
		return pb_say_errno(why, e == ENOMEM ? PB_SKIP : PB_FAIL, e,
				    "mmap %zu bytes", len);
	}
	if (a > p)
		munmap(p, (size_t)(a - p));
	munmap(a + len, (size_t)(p + len + 2 * PB_PMD - (a + len)));
	m->map = m->addr = a;
	m->map_len = m->len = len;
	return PB_OK;
}

static int fsdax_pte_verify(const struct pb_mem *m, char *why)
{
	/* file offset 0 at an address one page past a PMD boundary */
	if ((uintptr_t)m->addr % PB_PMD != PB_PAGE)
		return pb_say(why, PB_FAIL,
			      "fsdax_pte: the buffer at %p is not one page "
			      "past a 2 MiB boundary",
			      (void *)m->addr);
	return PB_OK;
}

const struct pb_backing pb_backing_fsdax = {
	.name = "fsdax",
	.desc = "file on a filesystem mounted -o dax (--fsdax-dir), "
		"MAP_SHARED, every 2 MiB one PMD (checked in pagemap)",
	.flags = PB_BK_FILE | PB_BK_DAX | PB_BK_SHARED,
	.options = fsdax_options,
	.page_size = pb_page_size_base,
	.available = fsdax_available,
	.map = fsdax_map,
	.verify = fsdax_verify,
	.unmap = pb_unmap_common,
};

const struct pb_backing pb_backing_fsdax_pte = {
	.name = "fsdax_pte",
	.desc = "the fsdax file mapped off its PMD colour: every page a PTE",
	.flags = PB_BK_FILE | PB_BK_DAX | PB_BK_SHARED,
	.page_size = pb_page_size_base,
	.available = fsdax_available,
	.map = fsdax_pte_map,
	.verify = fsdax_pte_verify,
	.unmap = pb_unmap_common,
};
