// SPDX-License-Identifier: GPL-2.0
/*
 * odirect: O_DIRECT I/O between a file in --dir and the buffer.  The block
 * layer pins the buffer (6.1: get_user_pages_fast, FOLL_GET; 6.3+:
 * iov_iter_extract_pages -> pin_user_pages_fast).  write:1 reads the file
 * into the buffer (the buffer is written), write:0 writes the buffer out.
 * A syscall moves ppc pages (at most 1 GiB).  The device's time is in the
 * figure: compare backings on one device, not the path with the others.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "../lib/probe.h"

#define MAX_BYTES (1 * GiB)

struct od {
	struct pb_mem file; /* the data file: fd, path */
	int fd;		    /* O_DIRECT */
	size_t chunk;
};

static int od_available(const struct pb_opts *o, char *why)
{
	return pb_disk_dir_check(
		o->dir, "its O_DIRECT is buffered and pins nothing", why);
}

static int od_open(struct pb_ctx *c, char *why)
{
	struct od *d = calloc(1, sizeof(*d));
	char proc[64];
	int r;

	if (!d)
		return pb_say(why, PB_FAIL, "out of memory");
	d->file.fd = -1;
	d->chunk = pb_ppc_pages(c) * PB_PAGE;
	if (d->chunk > MAX_BYTES)
		d->chunk = MAX_BYTES;
	r = pb_make_file(&d->file, c->o->dir, "odirect", c->t.len, true, why);
	if (r)
		goto fail;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", d->file.fd);
	d->fd = open(proc, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (d->fd < 0) {
		r = pb_say_errno(why, PB_SKIP, errno, "open O_DIRECT in %s",
				 c->o->dir);
		goto fail;
	}
	c->priv = d;
	return PB_OK;
fail:
	pb_unmap_common(&d->file);
	free(d);
	return r;
}

static void od_close(struct pb_ctx *c)
{
	struct od *d = c->priv;

	close(d->fd);
	pb_unmap_common(&d->file);
	free(d);
	c->priv = NULL;
}

static int od_pass(struct pb_ctx *c, uint64_t *calls, char *why)
{
	struct od *d = c->priv;

	*calls = 0;
	for (size_t off = 0; off < c->t.len; off += d->chunk) {
		size_t n =
			c->t.len - off < d->chunk ? c->t.len - off : d->chunk;
		ssize_t r =
			c->p.write
				? pread(d->fd, c->t.addr + off, n, (off_t)off)
				: pwrite(d->fd, c->t.addr + off, n, (off_t)off);
		if (r != (ssize_t)n)
			return r < 0 ? pb_say_errno(why, PB_FAIL, errno,
						    "O_DIRECT %s on %s",
						    c->p.write ? "read"
							       : "write",
						    c->bk->name)
				     : pb_say(why, PB_FAIL,
					      "O_DIRECT: short %zd of %zu", r,
					      n);
		(*calls)++;
	}
	return PB_OK;
}

static int od_iterate(struct pb_ctx *c, struct pb_sample *s, char *why)
{
	uint64_t t0 = pb_now_ns();
	int r = od_pass(c, &s->calls, why);

	s->get_ns = pb_now_ns() - t0;
	s->pages = c->t.len / PB_PAGE;
	return r;
}

const struct pb_probe pb_probe_odirect = {
	.name = "odirect",
	.path = "get_user_pages_fast (6.1) / pin_user_pages_fast (6.3+)",
	.via = "O_DIRECT pread (write:1) / pwrite (write:0) on a file in --dir",
	.available = od_available,
	.open = od_open,
	.iterate = od_iterate,
	.close = od_close,
};
