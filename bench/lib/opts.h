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
	const char *probes;   /* comma list of probe names, NULL: all */
	const char *backings; /* comma list of backing names, NULL: all */
	uint64_t iterations;  /* fixed iterations per run, 0: Google Benchmark
				 decides */
	bool sizes_given;     /* else each backing: max(16M, its page size) */
	bool list;
	bool help;
	bool reserve; /* raise the hugetlb pool when short, restore at exit */
};

/*
 * Splits argv: pinbench's options are parsed into o, Google Benchmark's
 * (--benchmark_*, --v) are copied to gb_argv (gb_argv[0] = argv[0]).
 * Returns 0, or -1 with a one-line message in err.
 */
int pb_opts_parse(struct pb_opts *o, int argc, char **argv, int *gb_argc,
		  char **gb_argv, char *err, size_t errlen);
void pb_opts_usage(FILE *f);

#endif
