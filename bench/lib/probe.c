// SPDX-License-Identifier: GPL-2.0
/* The probe table and what every probe shares: opening and closing a case. */
#include "probe.h"

#include <stdio.h>
#include <string.h>

extern const struct pb_probe pb_probe_gup_fast, pb_probe_pin_fast,
	pb_probe_pin_longterm, pb_probe_pin_fast_longterm, pb_probe_gup_remote,
	pb_probe_pin_remote, pb_probe_pin_remote_longterm,
	pb_probe_iouring_register, pb_probe_process_vm, pb_probe_procmem,
	pb_probe_odirect;

const struct pb_probe *const pb_probes[] = {
	&pb_probe_gup_fast,
	&pb_probe_pin_fast,
	&pb_probe_pin_longterm,
	&pb_probe_pin_fast_longterm,
	&pb_probe_gup_remote,
	&pb_probe_pin_remote,
	&pb_probe_pin_remote_longterm,
	&pb_probe_iouring_register,
	&pb_probe_process_vm,
	&pb_probe_procmem,
	&pb_probe_odirect,
};
const size_t pb_nprobes = sizeof(pb_probes) / sizeof(pb_probes[0]);

const struct pb_probe *pb_probe_find(const char *name)
{
	for (size_t i = 0; i < pb_nprobes; i++)
		if (!strcmp(pb_probes[i]->name, name))
			return pb_probes[i];
	return NULL;
}

uint64_t pb_ppc_pages(const struct pb_ctx *c)
{
	uint64_t all = c->p.size / PB_PAGE;

	return c->p.ppc == PB_PPC_ALL || c->p.ppc > all ? all : c->p.ppc;
}

int pb_case_check(const struct pb_probe *pr, const struct pb_backing *bk,
		  const struct pb_opts *o, const struct pb_params *p, char *why)
{
	int r;

	r = pr->available(o, why);
	if (r)
		return r;
	r = bk->available(o, why);
	if (r)
		return r;
	r = pb_backing_check(bk, o, p->size, p->nvmas, why);
	if (r)
		return r;
	if ((pr->flags & PB_PR_WRITE_ONLY) && !p->write)
		return pb_say(why, PB_SKIP,
			      "%s always pins for write: write:0 does not "
			      "exist on this path",
			      pr->name);
	if (p->ppc != PB_PPC_ALL && p->ppc > p->size / PB_PAGE)
		return pb_say(why, PB_SKIP,
			      "%llu pages per call, the buffer has %zu",
			      (unsigned long long)p->ppc, p->size / PB_PAGE);
	if (pr->compatible)
		return pr->compatible(bk, p, why);
	return PB_OK;
}

int pb_case_open(struct pb_ctx *c, const struct pb_probe *pr,
		 const struct pb_backing *bk, const struct pb_opts *o,
		 const struct pb_params *p, char *why)
{
	int r;

	memset(c, 0, sizeof(*c));
	c->o = o;
	c->bk = bk;
	c->pr = pr;
	c->p = *p;
	c->t.mem.fd = -1;
	c->t.child.cmd_fd = c->t.child.reply_fd = -1;
	r = pb_mem_reserve(bk, o, p->size, why);
	if (r)
		return r;
	if (pr->flags & PB_PR_REMOTE) {
		r = pb_child_start(&c->t.child, bk, o, p->size, p->nvmas, why);
		if (r)
			return r;
		c->t.pid = c->t.child.pid;
		c->t.addr = c->t.child.addr;
		c->t.node = c->t.child.node;
	} else {
		r = pb_mem_setup(&c->t.mem, bk, o, p->size, p->nvmas, why);
		if (r)
			return r;
		c->t.addr = c->t.mem.addr;
		c->t.node = c->t.mem.node;
	}
	c->t.len = p->size;
	c->t.page_size = bk->page_size(o);
	if (pr->open) {
		r = pr->open(c, why);
		if (r) {
			char ignore[PB_WHY];
			c->pr = NULL; /* nothing to close */
			pb_case_close(c, ignore);
			return r;
		}
	}
	return PB_OK;
}

int pb_case_close(struct pb_ctx *c, char *why)
{
	int r = PB_OK;

	if (c->pr && c->pr->close)
		c->pr->close(c);
	c->pr = NULL;
	if (c->t.pid)
		r = pb_child_stop(&c->t.child, why);
	else if (c->t.addr)
		pb_mem_teardown(c->bk, &c->t.mem);
	c->t.pid = 0;
	c->t.addr = NULL;
	return r;
}

int pb_case_refresh(struct pb_ctx *c, char *why)
{
	if (!c->bk->refresh)
		return PB_OK;
	if (c->t.pid)
		return pb_child_refresh(&c->t.child, why);
	return c->bk->refresh(&c->t.mem, why);
}
