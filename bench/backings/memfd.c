// SPDX-License-Identifier: GPL-2.0
/* memfd: a memfd_create() file mapped MAP_SHARED. */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../lib/backing.h"

static int memfd_available(const struct pb_opts *o, char *why)
{
	int fd = memfd_create("pinbench-probe", MFD_CLOEXEC);

	(void)o;
	if (fd < 0)
		return pb_say_errno(why, PB_SKIP, errno, "memfd_create");
	close(fd);
	return PB_OK;
}

static int memfd_map(struct pb_mem *m, size_t len, const struct pb_opts *o,
		     char *why)
{
	(void)o;
	m->fd = memfd_create("pinbench", MFD_CLOEXEC);
	if (m->fd < 0)
		return pb_say_errno(why, PB_SKIP, errno, "memfd_create");
	if (ftruncate(m->fd, (off_t)len)) {
		int e = errno;
		pb_unmap_common(m);
		return pb_say_errno(why, PB_FAIL, e, "ftruncate memfd");
	}
	return pb_map_aligned(m, len, PB_PAGE, PROT_READ | PROT_WRITE,
			      MAP_SHARED, m->fd, why);
}

const struct pb_backing pb_backing_memfd = {
	.name = "memfd",
	.desc = "memfd_create() file, MAP_SHARED",
	.flags = PB_BK_SHARED,
	.page_size = pb_page_size_base,
	.available = memfd_available,
	.map = memfd_map,
	.unmap = pb_unmap_common,
};
