// SPDX-License-Identifier: GPL-2.0
/* devdax: a device-DAX character device (--devdax /dev/daxX.Y), MAP_SHARED. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/backing.h"

static const struct pb_option devdax_options[] = {
	{ "devdax", PB_OPT_STR, offsetof(struct pb_opts, devdax), 0, "PATH",
	  "device-DAX character device, e.g. /dev/dax0.0" },
	PB_OPT_END,
};

static int devdax_attr(const struct pb_opts *o, const char *attr, uint64_t *v)
{
	char path[PATH_MAX], dev[PATH_MAX];

	snprintf(dev, sizeof(dev), "%s", o->devdax);
	snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/%s",
		 basename(dev), attr);
	return pb_read_u64(path, v);
}

static size_t devdax_page_size(const struct pb_opts *o)
{
	uint64_t align;

	if (o->devdax && devdax_attr(o, "align", &align) == 0 && align)
		return (size_t)align;
	return 2 * MiB;
}

static int devdax_available(const struct pb_opts *o, char *why)
{
	struct stat st;

	if (!o->devdax)
		return pb_say(why, PB_SKIP,
			      "no --devdax (a device-DAX device, e.g. "
			      "/dev/dax0.0)");
	if (stat(o->devdax, &st))
		return pb_say_errno(why, PB_FAIL, errno, "--devdax %s",
				    o->devdax);
	if (!S_ISCHR(st.st_mode))
		return pb_say(why, PB_FAIL,
			      "--devdax %s is not a character device",
			      o->devdax);
	return PB_OK;
}

static int devdax_map(struct pb_mem *m, size_t len, const struct pb_opts *o,
		      char *why)
{
	uint64_t size;

	if (devdax_attr(o, "size", &size) == 0 && len > size)
		return pb_say(why, PB_SKIP, "%s holds %llu MiB, %zu MiB asked",
			      o->devdax, (unsigned long long)(size / MiB),
			      len / MiB);
	m->fd = open(o->devdax, O_RDWR | O_CLOEXEC);
	if (m->fd < 0)
		return pb_say_errno(why, PB_FAIL, errno, "open %s", o->devdax);
	int r = pb_map_aligned(m, len, devdax_page_size(o),
			       PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, why);
	if (r)
		pb_unmap_common(m);
	return r;
}

const struct pb_backing pb_backing_devdax = {
	.name = "devdax",
	.desc = "device-DAX character device (--devdax), MAP_SHARED",
	.flags = PB_BK_DAX | PB_BK_SHARED,
	.options = devdax_options,
	.page_size = devdax_page_size,
	.available = devdax_available,
	.map = devdax_map,
	.unmap = pb_unmap_common,
};
