// SPDX-License-Identifier: GPL-2.0
/*
 * process_vm: process_vm_readv/writev against a child's buffer.  The kernel
 * pins the remote pages with pin_user_pages_remote() (FOLL_WRITE for
 * writev), at most PVM_MAX_KMALLOC_PAGES = 1024 pages a call, copies, and
 * unpins, all inside the syscall: the syscall is the timed unit.
 * One remote iovec = ppc pages; a syscall carries up to 1024 iovecs and up
 * to 64 MiB.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../lib/probe.h"

#define PVM_MAX_PAGES 1024 /* the kernel's pin batch */
#define MAX_IOVS 1024	   /* UIO_MAXIOV */
#define MAX_BYTES (64 * MiB)

struct pvm {
	struct iovec *riov; /* every remote iovec of one pass */
	size_t nriov;
	size_t per_call; /* remote iovecs per syscall */
	char *local;
	size_t local_len;
	uint64_t calls; /* pin calls per pass */
};

static int pvm_available(const struct pb_opts *o, char *why)
{
	struct iovec l = { 0 }, r = { 0 };

	(void)o;
	if (process_vm_readv(getpid(), &l, 1, &r, 1, 0) < 0 && errno == ENOSYS)
		return pb_say(why, PB_SKIP,
			      "process_vm_readv: ENOSYS (kernel without "
			      "CONFIG_CROSS_MEMORY_ATTACH)");
	return PB_OK;
}

static int pvm_open(struct pb_ctx *c, char *why)
{
	struct pvm *v = calloc(1, sizeof(*v));
	uint64_t ppc = pb_ppc_pages(c), chunk = ppc * PB_PAGE;

	if (!v)
		return pb_say(why, PB_FAIL, "out of memory");
	if (chunk > MAX_BYTES)
		chunk = MAX_BYTES;
	v->nriov = (c->t.len + chunk - 1) / chunk;
	v->riov = calloc(v->nriov, sizeof(*v->riov));
	v->per_call = MAX_BYTES / chunk;
	if (v->per_call > MAX_IOVS)
		v->per_call = MAX_IOVS;
	if (v->per_call < 1)
		v->per_call = 1;
	v->local_len = v->per_call * chunk;
	if (v->local_len > c->t.len)
		v->local_len = c->t.len;
	v->local = mmap(NULL, v->local_len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (!v->riov || v->local == MAP_FAILED) {
		free(v->riov);
		free(v);
		return pb_say(why, PB_FAIL, "out of memory");
	}
	for (size_t i = 0; i < v->nriov; i++) {
		size_t off = i * chunk, len = c->t.len - off;
		v->riov[i].iov_base = c->t.addr + off;
		v->riov[i].iov_len = len < chunk ? len : chunk;
		v->calls += (v->riov[i].iov_len / PB_PAGE + PVM_MAX_PAGES - 1) /
			    PVM_MAX_PAGES;
	}
	c->priv = v;
	return PB_OK;
}

static void pvm_close(struct pb_ctx *c)
{
	struct pvm *v = c->priv;

	munmap(v->local, v->local_len);
	free(v->riov);
	free(v);
	c->priv = NULL;
}

static int pvm_pass(struct pb_ctx *c, char *why)
{
	struct pvm *v = c->priv;

	for (size_t i = 0; i < v->nriov; i += v->per_call) {
		size_t n =
			v->nriov - i < v->per_call ? v->nriov - i : v->per_call;
		size_t bytes = 0;
		ssize_t r;

		for (size_t k = 0; k < n; k++)
			bytes += v->riov[i + k].iov_len;
		struct iovec l = { .iov_base = v->local, .iov_len = bytes };
		if (c->p.write)
			r = process_vm_writev(c->t.pid, &l, 1, v->riov + i, n,
					      0);
		else
			r = process_vm_readv(c->t.pid, &l, 1, v->riov + i, n,
					     0);
		if (r != (ssize_t)bytes)
			return r < 0 ? pb_say_errno(why, PB_FAIL, errno,
						    "process_vm_%s",
						    c->p.write ? "writev"
							       : "readv")
				     : pb_say(why, PB_FAIL,
					      "process_vm: short copy %zd of "
					      "%zu",
					      r, bytes);
	}
	return PB_OK;
}

static int pvm_iterate(struct pb_ctx *c, struct pb_sample *s, char *why)
{
	struct pvm *v = c->priv;
	uint64_t t0 = pb_now_ns();
	int r = pvm_pass(c, why);

	s->get_ns = pb_now_ns() - t0;
	s->pages = c->t.len / PB_PAGE;
	s->calls = v->calls;
	return r;
}

static int pvm_raw(struct pb_ctx *c, uint64_t iters, char *why)
{
	for (uint64_t i = 0; i < iters; i++)
		if (pvm_pass(c, why))
			return PB_FAIL;
	return PB_OK;
}

const struct pb_probe pb_probe_process_vm = {
	.name = "process_vm",
	.path = "pin_user_pages_remote",
	.via = "process_vm_readv (write:0) / process_vm_writev (write:1)",
	.flags = PB_PR_REMOTE,
	.available = pvm_available,
	.open = pvm_open,
	.iterate = pvm_iterate,
	.raw = pvm_raw,
	.close = pvm_close,
};
