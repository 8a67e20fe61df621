// SPDX-License-Identifier: GPL-2.0
/*
 * fsdax: a file on a filesystem mounted -o dax (--fsdax-dir), MAP_SHARED.
 * The file must report STATX_ATTR_DAX; anything else is refused.
 */
#include <errno.h>
#include <stddef.h>
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

static int fsdax_map(struct pb_mem *m, size_t len, const struct pb_opts *o,
		     char *why)
{
	int r = pb_make_file(m, o->fsdax_dir, "fsdax", len, false, why);

	if (!r && pb_fd_is_dax(m->fd) != 1)
		r = pb_say(why, PB_FAIL, "%s is not DAX (statx)", m->path);
	/* 2M alignment lets the fault handler map PMDs */
	if (!r)
		r = pb_map_aligned(m, len, 2 * MiB, PROT_READ | PROT_WRITE,
				   MAP_SHARED, m->fd, why);
	if (r)
		pb_unmap_common(m);
	return r;
}

const struct pb_backing pb_backing_fsdax = {
	.name = "fsdax",
	.desc = "file on a filesystem mounted -o dax (--fsdax-dir), "
		"MAP_SHARED",
	.flags = PB_BK_FILE | PB_BK_DAX | PB_BK_SHARED,
	.options = fsdax_options,
	.page_size = pb_page_size_base,
	.available = fsdax_available,
	.map = fsdax_map,
	.unmap = pb_unmap_common,
};
