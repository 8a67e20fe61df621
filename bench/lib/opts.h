/* SPDX-License-Identifier: GPL-2.0 */
/* pinbench's own command line (Google Benchmark's --benchmark_* pass by). */
#ifndef PINLAB_OPTS_H
#define PINLAB_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PB_MAX_LIST 16
#define PB_PPC_ALL 0 /* pages per call: the whole buffer in one call */
#define PB_MAX_VMAS 65536
#define PB_MAX_SIZE (64 * 1024ULL * 1024 * 1024)

struct pb_opts {
	uint64_t sizes[PB_MAX_LIST];
	int nsizes;
	uint64_t ppcs[PB_MAX_LIST]; /* PB_PPC_ALL = whole buffer */
	int nppcs;
	uint64_t vmas[PB_MAX_LIST];
	int nvmas;
	uint64_t writes[2];
	int nwrites;
	int node;     /* memory node, -1: not chosen */
	int cpu_node; /* CPU node, -1: --node, or not chosen */
	const char *dir;
	const char *fsdax_dir;
	const char *devdax;
	const char *label;
	const char *passes_out; /* --passes-out: a line per pass, or NULL */
	const char *probes;	/* comma list of probe names, NULL: all */
	const char *backings;	/* comma list of backing names, NULL: all */
	uint64_t iterations;	/* fixed iterations per run, 0: Google Benchmark
				   decides */
	bool sizes_given;	/* else each backing: max(16M, its page size) */
	const char *list;	/* NULL: no --list; "text" or "json" */
	bool help;
	bool warmup;	      /* one untimed pass before the timed ones */
	const char *unit;     /* "ns", or "instructions" (a guest under
				 -icount: its clock counts instructions) */
	uint64_t seed;	      /* 0: none; else the layout perturbation */
	const char *size_for; /* BACKING:SIZE,...: a backing's own size */
	const char *cpus;     /* CPU[,CHILD_CPU]: pin the measuring thread
				 (and the remote target) to these CPUs */
	bool reserve; /* raise the hugetlb pool when short, restore at exit */
};

/*
 * An option, declared beside what it configures (fio's engine options are
 * the model): the general ones in opts.c, a backing's in its file
 * (struct pb_backing.options), a probe's in its (struct pb_probe.options).
 * Every value lands in struct pb_opts at off.
 */
enum pb_opt_kind {
	PB_OPT_FLAG,   /* sets a bool */
	PB_OPT_NOFLAG, /* clears a bool (--no-...) */
	PB_OPT_SIZES,  /* list of sizes: 16M,1G */
	PB_OPT_PPCS,   /* list of counts or 'all' */
	PB_OPT_COUNTS, /* list of 1..65536 */
	PB_OPT_WRITES, /* list of 0/1 */
	PB_OPT_NODE,   /* a NUMA node */
	PB_OPT_STR,    /* a string */
	PB_OPT_U64,    /* 1..1e9 */
	PB_OPT_CHOICE, /* a string from arg's '|' list, or the flag alone */
};

struct pb_option {
	const char *name;
	enum pb_opt_kind kind;
	size_t off;  /* offset of the field in struct pb_opts */
	size_t noff; /* offset of its count, for lists */
	const char *arg, *help;
};

#define PB_OPT_END                                  \
	{                                           \
		NULL, PB_OPT_FLAG, 0, 0, NULL, NULL \
	}

/*
 * Splits argv: every declared option is parsed into o, Google Benchmark's
 * (--benchmark_*, --v) are copied to gb_argv (gb_argv[0] = argv[0]); a
 * word that is not an option goes to *positional when it is given (at most
 * one), else it is an error.  Returns 0, or -1 with a one-line message.
 */
int pb_opts_parse(struct pb_opts *o, int argc, char **argv, int *gb_argc,
		  char **gb_argv, const char **positional, char *err,
		  size_t errlen);
void pb_opts_usage(FILE *f);

#endif
