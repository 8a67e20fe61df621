// SPDX-License-Identifier: GPL-2.0
#include "opts.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backing.h"
#include "probe.h"
#include "util.h"

#define F(x) offsetof(struct pb_opts, x)
/* the general options; backings and probes declare their own */
static const struct pb_option general[] = {
	{ "list", PB_OPT_CHOICE, F(list), 0, "text|json",
	  "list every probe x backing and whether it can run here" },
	{ "probe", PB_OPT_STR, F(probes), 0, "LIST",
	  "only these probes, e.g. iouring_register,process_vm (see --list)" },
	{ "backing", PB_OPT_STR, F(backings), 0, "LIST",
	  "only these backings, e.g. anon,thp (see --list)" },
	{ "size", PB_OPT_SIZES, F(sizes), F(nsizes), "LIST",
	  "buffer sizes, e.g. 16M,1G (default 16M)" },
	{ "ppc", PB_OPT_PPCS, F(ppcs), F(nppcs), "LIST",
	  "pages per call: numbers or 'all' (default 1,512,all)" },
	{ "vmas", PB_OPT_COUNTS, F(vmas), F(nvmas), "LIST",
	  "split the buffer into N adjacent VMAs (default 1)" },
	{ "write", PB_OPT_WRITES, F(writes), F(nwrites), "LIST",
	  "0,1: pin for read or for write (default 1)" },
	{ "iterations", PB_OPT_U64, F(iterations), 0, "N",
	  "fixed iterations per run (default: --benchmark_min_time decides)" },
	{ "node", PB_OPT_NODE, F(node), 0, "N",
	  "place the memory on NUMA node N" },
	{ "cpu-node", PB_OPT_NODE, F(cpu_node), 0, "N",
	  "run on the CPUs of node N (default: --node)" },
	{ "size-for", PB_OPT_STR, F(size_for), 0, "BACKING:SIZE,...",
	  "a backing's own buffer size instead of --size, e.g. "
	  "hugetlb_1g:1G" },
	{ "no-warmup", PB_OPT_NOFLAG, F(warmup), 0, NULL,
	  "no untimed warm-up pass before the timed passes" },
	{ "unit", PB_OPT_CHOICE, F(unit), 0, "ns|instructions",
	  "what the kernel's clock counts: ns, or instructions (QEMU "
	  "-icount shift=0): names the counters ns_per_* or insn_per_*" },
	{ "seed", PB_OPT_U64, F(seed), 0, "N",
	  "perturb the layout: benchmark order and buffer addresses "
	  "(recorded in the JSON context)" },
	{ "cpu", PB_OPT_STR, F(cpus), 0, "CPU[,CHILD]",
	  "pin the measuring thread to CPU (and the remote target to "
	  "CHILD)" },
	{ "label", PB_OPT_STR, F(label), 0, "TEXT",
	  "label written into the JSON context (the lab: kernel variant)" },
	{ "passes-out", PB_OPT_STR, F(passes_out), 0, "FILE",
	  "write one line per pass (warm-up too): benchmark, pass, get "
	  "and put clock deltas, pages, calls (the lab's profiles join "
	  "their windows to it)" },
	{ "help", PB_OPT_FLAG, F(help), 0, NULL, "this text" },
	PB_OPT_END,
};
#undef F

/* Every option table: the general one, then each backing's and probe's. */
static const struct pb_option *next_table(size_t *i)
{
	const struct pb_option *t = NULL;

	while (!t && *i < 1 + pb_nbackings + pb_nprobes) {
		size_t k = (*i)++;
		t = k == 0 ? general
		    : k <= pb_nbackings
			    ? pb_backings[k - 1]->options
			    : pb_probes[k - 1 - pb_nbackings]->options;
	}
	return t;
}

static const struct pb_option *find_opt(const char *name, size_t nl)
{
	const struct pb_option *t;
	size_t i = 0;

	while ((t = next_table(&i)))
		for (; t->name; t++)
			if (strlen(t->name) == nl &&
			    !strncmp(t->name, name, nl))
				return t;
	return NULL;
}

static void usage_table(FILE *f, const char *title, const struct pb_option *t)
{
	static const struct pb_option *shown[32];
	static size_t nshown;

	if (!t || !t->name)
		return;
	for (size_t i = 0; i < nshown; i++)
		if (shown[i] == t)
			return; /* a table two backings share */
	if (nshown < sizeof(shown) / sizeof(shown[0]))
		shown[nshown++] = t;
	if (title)
		fprintf(f, "\n%s:\n", title);
	for (; t->name; t++) {
		char left[40];
		snprintf(left, sizeof(left), "--%s%s%s", t->name,
			 t->arg ? "=" : "", t->arg ? t->arg : "");
		fprintf(f, "  %-22s %s\n", left, t->help);
	}
}

void pb_opts_usage(FILE *f)
{
	char title[64];

	fprintf(f, "usage: pinbench [OPTIONS] [--benchmark_* ...]\n\n");
	usage_table(f, NULL, general);
	for (size_t i = 0; i < pb_nbackings; i++) {
		snprintf(title, sizeof(title), "backing %s",
			 pb_backings[i]->name);
		usage_table(f, title, pb_backings[i]->options);
	}
	for (size_t i = 0; i < pb_nprobes; i++) {
		snprintf(title, sizeof(title), "probe %s", pb_probes[i]->name);
		usage_table(f, title, pb_probes[i]->options);
	}
	fprintf(f, "\nGoogle Benchmark's own flags (--benchmark_filter, "
		   "--benchmark_repetitions,\n--benchmark_out, "
		   "--benchmark_out_format, --benchmark_min_time, ...) pass "
		   "through.\nBenchmarks are named PROBE/BACKING/size_kb:S/"
		   "ppc:P/vmas:V/write:W (ppc 0 = all).\n");
}

static int set_defaults(struct pb_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->node = -1;
	o->cpu_node = -1;
	o->dir = "/var/tmp";
	o->reserve = true;
	o->warmup = true;
	o->unit = "ns";
	return 0;
}

static int parse_list(const struct pb_option *d, const char *val,
		      struct pb_opts *o, char *err, size_t errlen)
{
	uint64_t *arr = (uint64_t *)((char *)o + d->off);
	int *n = (int *)((char *)o + d->noff);
	char buf[512], *save = NULL, *tok;

	if (strlen(val) >= sizeof(buf) || !*val) {
		snprintf(err, errlen, "--%s: empty or too long list", d->name);
		return -1;
	}
	strcpy(buf, val);
	*n = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		uint64_t v = 0;
		int r = 0;

		if (*n >= PB_MAX_LIST) {
			snprintf(err, errlen, "--%s: at most %d values",
				 d->name, PB_MAX_LIST);
			return -1;
		}
		switch (d->kind) {
		case PB_OPT_SIZES:
			r = pb_parse_size(tok, &v);
			if (!r && v > PB_MAX_SIZE)
				r = -ERANGE;
			break;
		case PB_OPT_PPCS:
			if (!strcmp(tok, "all"))
				v = PB_PPC_ALL;
			else
				r = pb_parse_u64(tok, 1ULL << 32, &v)
					    ?: (v == 0 ? -EINVAL : 0);
			break;
		case PB_OPT_COUNTS:
			r = pb_parse_u64(tok, PB_MAX_VMAS, &v)
				    ?: (v == 0 ? -EINVAL : 0);
			break;
		case PB_OPT_WRITES: r = pb_parse_u64(tok, 1, &v); break;
		default: r = -EINVAL;
		}
		if (r) {
			snprintf(err, errlen, "--%s: bad value '%s'%s", d->name,
				 tok,
				 d->kind == PB_OPT_SIZES
					 ? " (a size > 0 and <= 64G, "
					   "e.g. 16M)"
				 : d->kind == PB_OPT_WRITES ? " (0 or 1)"
				 : d->kind == PB_OPT_PPCS
					 ? " (a count > 0 or 'all')"
					 : " (1..65536)");
			return -1;
		}
		arr[(*n)++] = v;
	}
	return 0;
}

static int set_value(const struct pb_option *d, const char *val,
		     struct pb_opts *o, char *err, size_t errlen)
{
	void *field = (char *)o + d->off;
	uint64_t v;

	switch (d->kind) {
	case PB_OPT_STR:
		if (!*val) {
			snprintf(err, errlen, "--%s: empty value", d->name);
			return -1;
		}
		*(const char **)field = val;
		return 0;
	case PB_OPT_CHOICE:
		for (const char *p = d->arg; p && *p;) {
			size_t n = strcspn(p, "|");
			if (strlen(val) == n && !strncmp(p, val, n)) {
				*(const char **)field = val;
				return 0;
			}
			p += n + (p[n] == '|');
		}
		snprintf(err, errlen, "--%s: '%s' is not one of %s", d->name,
			 val, d->arg);
		return -1;
	case PB_OPT_U64:
		if (pb_parse_u64(val, 1000000000, &v) || !v) {
			snprintf(err, errlen, "--%s: bad value '%s' (1..1e9)",
				 d->name, val);
			return -1;
		}
		*(uint64_t *)field = v;
		return 0;
	case PB_OPT_NODE:
		if (pb_parse_u64(val, 1023, &v)) {
			snprintf(err, errlen, "--%s: bad node '%s' (0..1023)",
				 d->name, val);
			return -1;
		}
		*(int *)field = (int)v;
		return 0;
	default: return parse_list(d, val, o, err, errlen);
	}
}

int pb_opts_parse(struct pb_opts *o, int argc, char **argv, int *gb_argc,
		  char **gb_argv, const char **positional, char *err,
		  size_t errlen)
{
	set_defaults(o);
	*gb_argc = 0;
	gb_argv[(*gb_argc)++] = argv[0];
	if (positional)
		*positional = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		const struct pb_option *d;

		if (!strncmp(a, "--benchmark_", 12) || !strncmp(a, "--v=", 4) ||
		    !strcmp(a, "--v")) {
			gb_argv[(*gb_argc)++] = argv[i];
			continue;
		}
		if (strncmp(a, "--", 2)) {
			if (positional && !*positional) {
				*positional = a;
				continue;
			}
			snprintf(err, errlen, "unexpected argument '%s'", a);
			return -1;
		}
		eq = strchr(a, '=');
		d = find_opt(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
		if (!d) {
			snprintf(err, errlen,
				 "unknown option '%s' (see --help)", a);
			return -1;
		}
		if (d->kind == PB_OPT_FLAG || d->kind == PB_OPT_NOFLAG) {
			if (eq) {
				snprintf(err, errlen, "--%s takes no value",
					 d->name);
				return -1;
			}
			*(bool *)((char *)o + d->off) = d->kind == PB_OPT_FLAG;
			continue;
		}
		if (d->kind == PB_OPT_CHOICE && !eq) {
			/* --list alone: its first choice */
			*(const char **)((char *)o + d->off) = "text";
			continue;
		}
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			snprintf(err, errlen, "--%s needs a value", d->name);
			return -1;
		}
		if (set_value(d, val, o, err, errlen))
			return -1;
	}
	o->sizes_given = o->nsizes > 0;
	if (!o->nsizes) {
		o->sizes[0] = 16 * MiB;
		o->nsizes = 1;
	}
	if (!o->nppcs) {
		o->ppcs[0] = 1;
		o->ppcs[1] = 512;
		o->ppcs[2] = PB_PPC_ALL;
		o->nppcs = 3;
	}
	if (!o->nvmas) {
		o->vmas[0] = 1;
		o->nvmas = 1;
	}
	if (!o->nwrites) {
		o->writes[0] = 1;
		o->nwrites = 1;
	}
	if (o->cpu_node < 0)
		o->cpu_node = o->node;
	return 0;
}
