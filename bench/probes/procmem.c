// SPDX-License-Identifier: GPL-2.0
/*
 * procmem: pread/pwrite on /proc/PID/mem of a child.  mem_rw() ->
 * access_remote_vm() -> get_user_pages_remote() one page at a time
 * (FOLL_FORCE, plus FOLL_WRITE for pwrite), copying through a kernel page.
 * A syscall moves ppc pages (at most 64 MiB); the pin calls are per page.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../lib/probe.h"

#define MAX_BYTES (64 * MiB)

struct pm {
	int fd;
	char *local;
	size_t chunk;
};

static int pm_available(const struct pb_opts *o, char *why)
{
	int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);

	(void)o;
	if (fd < 0)
		return pb_say_errno(why, PB_SKIP, errno, "open /proc/self/mem");
	close(fd);
	return PB_OK;
}

static int pm_open(struct pb_ctx *c, char *why)
{
	struct pm *m = calloc(1, sizeof(*m));
	char path[64];

	if (!m)
		return pb_say(why, PB_FAIL, "out of memory");
	m->chunk = pb_ppc_pages(c) * PB_PAGE;
	if (m->chunk > MAX_BYTES)
		m->chunk = MAX_BYTES;
	snprintf(path, sizeof(path), "/proc/%d/mem", c->t.pid);
	m->fd = open(path, O_RDWR | O_CLOEXEC);
	if (m->fd < 0) {
		int e = errno;
		free(m);
		return pb_say_errno(why, PB_SKIP, e, "open %s", path);
	}
	m->local = mmap(NULL, m->chunk, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (m->local == MAP_FAILED) {
		close(m->fd);
		free(m);
		return pb_say(why, PB_FAIL, "out of memory");
	}
	c->priv = m;
	return PB_OK;
}

static void pm_close(struct pb_ctx *c)
{
	struct pm *m = c->priv;

	munmap(m->local, m->chunk);
	close(m->fd);
	free(m);
	c->priv = NULL;
}

static int pm_iterate(struct pb_ctx *c, struct pb_sample *s, char *why)
{
	struct pm *m = c->priv;
	uint64_t t0 = pb_now_ns();

	for (size_t off = 0; off < c->t.len; off += m->chunk) {
		size_t n =
			c->t.len - off < m->chunk ? c->t.len - off : m->chunk;
		off_t at = (off_t)(uintptr_t)(c->t.addr + off);
		ssize_t r = c->p.write ? pwrite(m->fd, m->local, n, at)
				       : pread(m->fd, m->local, n, at);
		if (r != (ssize_t)n)
			return r < 0 ? pb_say_errno(why, PB_FAIL, errno,
						    "/proc/PID/mem %s",
						    c->p.write ? "pwrite"
							       : "pread")
				     : pb_say(why, PB_FAIL,
					      "/proc/PID/mem: short %zd of %zu",
					      r, n);
	}
	s->get_ns = pb_now_ns() - t0;
	s->pages = c->t.len / PB_PAGE;
	s->calls = s->pages; /* one get_user_pages_remote() a page */
	return PB_OK;
}

const struct pb_probe pb_probe_procmem = {
	.name = "procmem",
	.path = "get_user_pages_remote (1 page a call)",
	.via = "pread (write:0) / pwrite (write:1) on /proc/PID/mem",
	.flags = PB_PR_REMOTE,
	.available = pm_available,
	.open = pm_open,
	.iterate = pm_iterate,
	.close = pm_close,
};
