// SPDX-License-Identifier: GPL-2.0
/* anon: private anonymous 4K pages, THP kept away with MADV_NOHUGEPAGE. */
#include <errno.h>
#include <sys/mman.h>

#include "../lib/backing.h"

static int anon_map(struct pb_mem *m, size_t len, const struct pb_opts *o,
		    char *why)
{
	int r = pb_map_aligned(m, len, PB_PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, why);

	(void)o;
	/* a kernel without THP (or without madvise) gives 4K anyway: verify */
	if (!r)
		madvise(m->addr, len, MADV_NOHUGEPAGE);
	return r;
}

static int anon_verify(const struct pb_mem *m, char *why)
{
	uint64_t kb;

	if (pb_huge_kb(0, m->addr, m->len, &kb) == 0 && kb)
		return pb_say(why, PB_FAIL,
			      "anon: %llu kB came as huge pages despite "
			      "MADV_NOHUGEPAGE",
			      (unsigned long long)kb);
	return PB_OK;
}

const struct pb_backing pb_backing_anon = {
	.name = "anon",
	.desc = "private anonymous memory, 4K pages (MADV_NOHUGEPAGE)",
	.page_size = pb_page_size_base,
	.available = pb_always_available,
	.map = anon_map,
	.verify = anon_verify,
	.unmap = pb_unmap_common,
};
