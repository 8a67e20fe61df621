// SPDX-License-Identifier: GPL-2.0
/* hugetlb_2m, hugetlb_1g: MAP_HUGETLB from the hugetlb pool of that size. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../lib/backing.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

static int hugetlb_available(size_t kb, char *why)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%zukB",
		 kb);
	if (access(path, F_OK))
		return pb_say(why, PB_SKIP,
			      "kernel without a %zukB hugetlb pool (%s)", kb,
			      path);
	return PB_OK;
}

/* the pool belongs to these backings: grown as root unless --no-reserve */
static const struct pb_option hugetlb_options[] = {
	{ "no-reserve", PB_OPT_NOFLAG, offsetof(struct pb_opts, reserve), 0,
	  NULL,
	  "never grow the hugetlb pool; skip when too few pages are free" },
	PB_OPT_END,
};

static int hugetlb_reserve(const struct pb_opts *o, size_t len, int shift,
			   char *why)
{
	return pb_hugetlb_ensure((1UL << shift) / 1024, o->node, len >> shift,
				 o->reserve, why);
}

static int hugetlb_map(struct pb_mem *m, size_t len, int shift, char *why)
{
	return pb_map_aligned(m, len, 1UL << shift, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
				      (shift << MAP_HUGE_SHIFT),
			      -1, why);
}

#define HUGETLB(NAME, SHIFT, DESC)                                      \
	static size_t NAME##_page_size(const struct pb_opts *o)         \
	{                                                               \
		(void)o;                                                \
		return 1UL << (SHIFT);                                  \
	}                                                               \
	static int NAME##_available(const struct pb_opts *o, char *why) \
	{                                                               \
		(void)o;                                                \
		return hugetlb_available((1UL << (SHIFT)) / 1024, why); \
	}                                                               \
	static int NAME##_reserve(const struct pb_opts *o, size_t len,  \
				  char *why)                            \
	{                                                               \
		return hugetlb_reserve(o, len, (SHIFT), why);           \
	}                                                               \
	static int NAME##_map(struct pb_mem *m, size_t len,             \
			      const struct pb_opts *o, char *why)       \
	{                                                               \
		(void)o;                                                \
		return hugetlb_map(m, len, (SHIFT), why);               \
	}                                                               \
	const struct pb_backing pb_backing_##NAME = {                   \
		.name = #NAME,                                          \
		.desc = DESC,                                           \
		.flags = PB_BK_HUGETLB,                                 \
		.options = hugetlb_options,                             \
		.page_size = NAME##_page_size,                          \
		.available = NAME##_available,                          \
		.reserve = NAME##_reserve,                              \
		.map = NAME##_map,                                      \
		.unmap = pb_unmap_common,                               \
	}

HUGETLB(hugetlb_2m, 21, "hugetlb 2M pages (MAP_HUGETLB | MAP_HUGE_2MB)");
HUGETLB(hugetlb_1g, 30, "hugetlb 1G pages (MAP_HUGETLB | MAP_HUGE_1GB)");
