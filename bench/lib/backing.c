// SPDX-License-Identifier: GPL-2.0
/* The backing table, the parameter check and the smallest shared helpers. */
#include "backing.h"

#include <string.h>

extern const struct pb_backing pb_backing_anon, pb_backing_thp,
	pb_backing_hugetlb_2m, pb_backing_hugetlb_1g, pb_backing_shmem,
	pb_backing_memfd, pb_backing_pagecache, pb_backing_fsdax,
	pb_backing_fsdax_pte, pb_backing_devdax, pb_backing_movable;

const struct pb_backing *const pb_backings[] = {
	&pb_backing_anon,	&pb_backing_thp,     &pb_backing_hugetlb_2m,
	&pb_backing_hugetlb_1g, &pb_backing_shmem,   &pb_backing_memfd,
	&pb_backing_pagecache,	&pb_backing_fsdax,   &pb_backing_fsdax_pte,
	&pb_backing_devdax,	&pb_backing_movable,
};
const size_t pb_nbackings = sizeof(pb_backings) / sizeof(pb_backings[0]);

const struct pb_backing *pb_backing_find(const char *name)
{
	for (size_t i = 0; i < pb_nbackings; i++)
		if (!strcmp(pb_backings[i]->name, name))
			return pb_backings[i];
	return NULL;
}

int pb_backing_check(const struct pb_backing *bk, const struct pb_opts *o,
		     size_t len, unsigned nvmas, char *why)
{
	size_t ps = bk->page_size(o);
	char a[32], b[32];

	if (len == 0)
		return pb_say(why, PB_FAIL, "size 0");
	if (len % ps)
		return pb_say(why, PB_FAIL,
			      "size %s is not a multiple of %s's page size %s",
			      pb_fmt_size(len, a, sizeof(a)), bk->name,
			      pb_fmt_size(ps, b, sizeof(b)));
	if (nvmas == 0 || (len / ps) % nvmas)
		return pb_say(why, PB_SKIP,
			      "%s cannot be split into %u VMAs of whole %s "
			      "pages",
			      pb_fmt_size(len, a, sizeof(a)), nvmas,
			      pb_fmt_size(ps, b, sizeof(b)));
	return PB_OK;
}

/* ---- helpers shared by backings ---------------------------------------- */

void pb_mem_touch(struct pb_mem *m)
{
	for (size_t off = 0; off < m->len; off += m->page_size)
		((volatile char *)m->addr)[off] = 1;
}

size_t pb_page_size_base(const struct pb_opts *o)
{
	(void)o;
	return PB_PAGE;
}

int pb_always_available(const struct pb_opts *o, char *why)
{
	(void)o;
	(void)why;
	return PB_OK;
}
