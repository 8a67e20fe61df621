/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Probes: one kernel pin path reached one way, one file each under
 * bench/probes/, one row each in the table in probe.c (fio's ioengine_ops
 * is the model).  A probe pins and releases the whole target buffer once
 * per iteration, in calls of p.ppc pages, and reports how long it took.
 */
#ifndef PINLAB_PROBE_H
#define PINLAB_PROBE_H

#include "backing.h"
#include "child.h"

struct pb_params {
	size_t size;  /* bytes */
	uint64_t ppc; /* pages per call, PB_PPC_ALL = whole buffer */
	unsigned nvmas;
	int write; /* pin for write (FOLL_WRITE) */
};

/* The memory being pinned: in this process, or in a child (remote paths). */
struct pb_target {
	int pid; /* 0: this process */
	char *addr;
	size_t len;
	size_t page_size;
	int node; /* where the pages were found, -1 mixed/unknown */
	struct pb_mem mem;
	struct pb_child child;
};

struct pb_ctx {
	const struct pb_opts *o;
	const struct pb_backing *bk;
	const struct pb_probe *pr;
	struct pb_params p;
	struct pb_target t;
	void *priv; /* the probe's own state */
};

struct pb_sample {
	uint64_t get_ns; /* pinning (for syscall probes: the whole call) */
	uint64_t put_ns; /* releasing, where the path has its own release */
	uint64_t pages;	 /* pages pinned */
	uint64_t calls;	 /* calls into the pin path */
	int err;	 /* a refusal's errno (0: none, -1: not known) */
};

enum pb_probe_flags {
	PB_PR_REMOTE = 1 << 0, /* pins another process's memory */
	PB_PR_PUT = 1 << 1,    /* release is timed apart (ns_per_page_put) */
	PB_PR_WRITE_ONLY = 1 << 2, /* always pins for write */
	PB_PR_KTIME = 1 << 3,	   /* the kernel times itself (gup_test) */
};

struct pb_probe {
	const char *name;
	const char *path; /* the kernel path reached */
	const char *via;  /* how userspace reaches it */
	unsigned flags;
	/* Its own command-line options (PB_OPT_END-terminated), or NULL. */
	const struct pb_option *options;
	/* Can this machine run it at all?  PB_OK or PB_SKIP + why. */
	int (*available)(const struct pb_opts *o, char *why);
	/* Optional: refuse a backing or parameter set. */
	int (*compatible)(const struct pb_backing *bk,
			  const struct pb_params *p, char *why);
	int (*open)(struct pb_ctx *c, char *why);
	int (*iterate)(struct pb_ctx *c, struct pb_sample *s, char *why);
	/* Optional: the same work as a bare loop, for the overhead benchmark.
	 */
	int (*raw)(struct pb_ctx *c, uint64_t iters, char *why);
	void (*close)(struct pb_ctx *c);
};

extern const struct pb_probe *const pb_probes[];
extern const size_t pb_nprobes;
const struct pb_probe *pb_probe_find(const char *name);

/* Pages of a call: ppc, or the whole buffer for PB_PPC_ALL. */
uint64_t pb_ppc_pages(const struct pb_ctx *c);

/*
 * Whether probe x backing x params can run here, with the reason: the one
 * check of a case (PB_FAIL: bad parameters; PB_SKIP: this machine cannot).
 */
int pb_case_check(const struct pb_probe *pr, const struct pb_backing *bk,
		  const struct pb_opts *o, const struct pb_params *p,
		  char *why);
/*
 * Open a case that passed pb_case_check: reserve what the backing needs,
 * map the target (here or in a child) and open the probe.
 */
int pb_case_open(struct pb_ctx *c, const struct pb_probe *pr,
		 const struct pb_backing *bk, const struct pb_opts *o,
		 const struct pb_params *p, char *why);
/* Before a pass: the backing's refresh(), here or in the child. */
int pb_case_refresh(struct pb_ctx *c, char *why);
/* Close the probe, unmap, reap the child; PB_FAIL if the child died badly. */
int pb_case_close(struct pb_ctx *c, char *why);

#endif
