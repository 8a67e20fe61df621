// SPDX-License-Identifier: GPL-2.0
/* pagecache: a regular file on a disk filesystem (--dir), MAP_SHARED. */
#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../lib/backing.h"

/* also where the odirect probe puts its O_DIRECT file */
static const struct pb_option pagecache_options[] = {
	{ "dir", PB_OPT_STR, offsetof(struct pb_opts, dir), 0, "DIR",
	  "directory on a disk filesystem for the file (and for the odirect "
	  "probe's; default /var/tmp)" },
	PB_OPT_END,
};

static int pagecache_available(const struct pb_opts *o, char *why)
{
	return pb_disk_dir_check(o->dir,
				 "shmem, not the page cache; give a directory "
				 "on a disk filesystem",
				 why);
}

static int pagecache_map(struct pb_mem *m, size_t len, const struct pb_opts *o,
			 char *why)
{
	int r = pb_make_file(m, o->dir, "pagecache", len, true, why);

	if (!r && pb_fd_is_dax(m->fd) == 1)
		r = pb_say(why, PB_SKIP, "--dir %s is DAX: no page cache there",
			   o->dir);
	if (!r)
		r = pb_map_aligned(m, len, PB_PAGE, PROT_READ | PROT_WRITE,
				   MAP_SHARED, m->fd, why);
	if (r)
		pb_unmap_common(m);
	return r;
}

const struct pb_backing pb_backing_pagecache = {
	.name = "pagecache",
	.desc = "page-cache pages of a file in --dir, MAP_SHARED",
	.flags = PB_BK_FILE | PB_BK_SHARED,
	.options = pagecache_options,
	.page_size = pb_page_size_base,
	.available = pagecache_available,
	.map = pagecache_map,
	.unmap = pb_unmap_common,
};
