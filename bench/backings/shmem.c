// SPDX-License-Identifier: GPL-2.0
/* shmem: shared anonymous memory (MAP_SHARED | MAP_ANONYMOUS, shmem pages). */
#include <sys/mman.h>

#include "../lib/backing.h"

static int shmem_map(struct pb_mem *m, size_t len, const struct pb_opts *o,
		     char *why)
{
	(void)o;
	return pb_map_aligned(m, len, PB_PAGE, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, why);
}

const struct pb_backing pb_backing_shmem = {
	.name = "shmem",
	.desc = "shared anonymous memory (shmem)",
	.flags = PB_BK_SHARED,
	.page_size = pb_page_size_base,
	.available = pb_always_available,
	.map = shmem_map,
	.unmap = pb_unmap_common,
};
