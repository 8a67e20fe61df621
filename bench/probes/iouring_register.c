// SPDX-License-Identifier: GPL-2.0
/*
 * iouring_register: IORING_REGISTER_BUFFERS pins each iovec long-term
 * (pin_user_pages[_fast](FOLL_WRITE | FOLL_LONGTERM)); unregistering unpins.
 * The two are timed apart.  One iovec = one pin call = ppc pages.
 */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/probe.h"

#define MAX_BUFS 16384	  /* IORING_MAX_REG_BUFFERS */
#define MAX_IOV (1 * GiB) /* io_uring's limit per registered buffer */

struct iour {
	struct io_uring ring;
	struct iovec *iov;
	unsigned n;
};

static int iour_available(const struct pb_opts *o, char *why)
{
	struct io_uring ring;
	uint64_t disabled = 0;
	int r;

	(void)o;
	if (pb_read_u64("/proc/sys/kernel/io_uring_disabled", &disabled) == 0 &&
	    disabled == 2)
		return pb_say(why, PB_SKIP,
			      "io_uring disabled (kernel.io_uring_disabled=2)");
	r = io_uring_queue_init(2, &ring, 0);
	if (r < 0)
		return pb_say_errno(why, PB_SKIP, -r, "io_uring_setup");
	io_uring_queue_exit(&ring);
	return PB_OK;
}

static uint64_t iour_chunk(const struct pb_params *p)
{
	uint64_t ppc = p->ppc == PB_PPC_ALL ? p->size / PB_PAGE : p->ppc;
	uint64_t chunk = ppc * PB_PAGE;

	return chunk > MAX_IOV ? MAX_IOV : chunk;
}

static int iour_compatible(const struct pb_backing *bk,
			   const struct pb_params *p, char *why)
{
	uint64_t n = (p->size + iour_chunk(p) - 1) / iour_chunk(p);

	(void)bk;
	if (n > MAX_BUFS)
		return pb_say(why, PB_SKIP,
			      "io_uring registers at most %d buffers; %llu "
			      "needed at this size and pages per call",
			      MAX_BUFS, (unsigned long long)n);
	return PB_OK;
}

static int iour_open(struct pb_ctx *c, char *why)
{
	struct iour *u = calloc(1, sizeof(*u));
	uint64_t chunk = iour_chunk(&c->p);
	int r;

	if (!u)
		return pb_say(why, PB_FAIL, "out of memory");
	u->n = (unsigned)((c->t.len + chunk - 1) / chunk);
	u->iov = calloc(u->n, sizeof(*u->iov));
	if (!u->iov) {
		free(u);
		return pb_say(why, PB_FAIL, "out of memory");
	}
	for (unsigned i = 0; i < u->n; i++) {
		size_t off = (size_t)i * chunk;
		u->iov[i].iov_base = c->t.addr + off;
		u->iov[i].iov_len =
			c->t.len - off < chunk ? c->t.len - off : chunk;
	}
	r = io_uring_queue_init(2, &u->ring, 0);
	if (r < 0) {
		free(u->iov);
		free(u);
		return pb_say_errno(why, PB_SKIP, -r, "io_uring_setup");
	}
	c->priv = u;
	return PB_OK;
}

static void iour_close(struct pb_ctx *c)
{
	struct iour *u = c->priv;
	const char *fault = getenv("PINBENCH_FAULT");

	/*
	 * Test hook (tests/integration.sh): PINBENCH_FAULT=leak keeps the
	 * ring, and the buffers registered last, until the process exits, so
	 * that the pin-balance check has a real leak to catch.
	 */
	if (fault && !strcmp(fault, "leak"))
		io_uring_register_buffers(&u->ring, u->iov, u->n);
	else
		io_uring_queue_exit(&u->ring);
	free(u->iov);
	free(u);
	c->priv = NULL;
}

static int iour_iterate(struct pb_ctx *c, struct pb_sample *s, char *why)
{
	struct iour *u = c->priv;
	uint64_t t0, t1, t2;
	int r;

	t0 = pb_now_ns();
	r = io_uring_register_buffers(&u->ring, u->iov, u->n);
	t1 = pb_now_ns();
	s->err = r < 0 ? -r : 0;
	if (r < 0)
		return pb_say_errno(why, PB_REFUSED, -r,
				    "kernel refused IORING_REGISTER_BUFFERS "
				    "(FOLL_LONGTERM) on %s",
				    c->bk->name);
	r = io_uring_unregister_buffers(&u->ring);
	t2 = pb_now_ns();
	if (r < 0)
		return pb_say_errno(why, PB_FAIL, -r,
				    "IORING_UNREGISTER_BUFFERS");
	s->get_ns = t1 - t0;
	s->put_ns = t2 - t1;
	s->pages = c->t.len / PB_PAGE;
	s->calls = u->n;
	return PB_OK;
}

static int iour_raw(struct pb_ctx *c, uint64_t iters, char *why)
{
	struct iour *u = c->priv;

	for (uint64_t i = 0; i < iters; i++) {
		if (io_uring_register_buffers(&u->ring, u->iov, u->n) < 0 ||
		    io_uring_unregister_buffers(&u->ring) < 0)
			return pb_say(why, PB_FAIL, "raw register loop failed");
	}
	return PB_OK;
}

const struct pb_probe pb_probe_iouring_register = {
	.name = "iouring_register",
	.path = "pin_user_pages(FOLL_WRITE|FOLL_LONGTERM)",
	.via = "io_uring IORING_REGISTER_BUFFERS / UNREGISTER",
	.flags = PB_PR_PUT | PB_PR_WRITE_ONLY,
	.available = iour_available,
	.compatible = iour_compatible,
	.open = iour_open,
	.iterate = iour_iterate,
	.raw = iour_raw,
	.close = iour_close,
};
