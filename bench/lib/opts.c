// SPDX-License-Identifier: GPL-2.0
#include "opts.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

enum kind { K_FLAG, K_SIZES, K_PPCS, K_COUNTS, K_WRITES, K_NODE, K_STR, K_U64 };

struct opt {
	const char *name;
	enum kind kind;
	size_t off;  /* offset of the field in struct pb_opts */
	size_t noff; /* offset of its count, for lists */
	const char *arg, *help;
};

#define F(x) offsetof(struct pb_opts, x)
static const struct opt opts[] = {
	{ "list", K_FLAG, F(list), 0, NULL,
	  "list every probe x backing and whether it can run here" },
	{ "probe", K_STR, F(probes), 0, "LIST",
	  "only these probes, e.g. iouring_register,process_vm (see --list)" },
	{ "backing", K_STR, F(backings), 0, "LIST",
	  "only these backings, e.g. anon,thp (see --list)" },
	{ "size", K_SIZES, F(sizes), F(nsizes), "LIST",
	  "buffer sizes, e.g. 16M,1G (default 16M)" },
	{ "ppc", K_PPCS, F(ppcs), F(nppcs), "LIST",
	  "pages per call: numbers or 'all' (default 1,512,all)" },
	{ "vmas", K_COUNTS, F(vmas), F(nvmas), "LIST",
	  "split the buffer into N adjacent VMAs (default 1)" },
	{ "write", K_WRITES, F(writes), F(nwrites), "LIST",
	  "0,1: pin for read or for write (default 1)" },
	{ "iterations", K_U64, F(iterations), 0, "N",
	  "fixed iterations per run (default: --benchmark_min_time decides)" },
	{ "node", K_NODE, F(node), 0, "N", "place the memory on NUMA node N" },
	{ "cpu-node", K_NODE, F(cpu_node), 0, "N",
	  "run on the CPUs of node N (default: --node)" },
	{ "dir", K_STR, F(dir), 0, "DIR",
	  "directory for page-cache and O_DIRECT files (default /var/tmp)" },
	{ "fsdax-dir", K_STR, F(fsdax_dir), 0, "DIR",
	  "directory on a filesystem mounted -o dax (fsdax backing)" },
	{ "devdax", K_STR, F(devdax), 0, "PATH",
	  "device-DAX character device, e.g. /dev/dax0.0 (devdax backing)" },
	{ "label", K_STR, F(label), 0, "TEXT",
	  "label written into the JSON context (the lab: kernel variant)" },
	{ "no-reserve", K_FLAG, F(reserve), 0, NULL,
	  "never grow the hugetlb pool; skip when too few pages are free" },
	{ "help", K_FLAG, F(help), 0, NULL, "this text" },
};
#undef F

void pb_opts_usage(FILE *f)
{
	fprintf(f, "usage: pinbench [OPTIONS] [--benchmark_* ...]\n\n");
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		char left[40];
		snprintf(left, sizeof(left), "--%s%s%s", opts[i].name,
			 opts[i].arg ? "=" : "",
			 opts[i].arg ? opts[i].arg : "");
		fprintf(f, "  %-22s %s\n", left, opts[i].help);
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
	return 0;
}

static int parse_list(const struct opt *d, const char *val, struct pb_opts *o,
		      char *err, size_t errlen)
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
		case K_SIZES:
			r = pb_parse_size(tok, &v);
			if (!r && v > PB_MAX_SIZE)
				r = -ERANGE;
			break;
		case K_PPCS:
			if (!strcmp(tok, "all"))
				v = PB_PPC_ALL;
			else
				r = pb_parse_u64(tok, 1ULL << 32, &v)
					    ?: (v == 0 ? -EINVAL : 0);
			break;
		case K_COUNTS:
			r = pb_parse_u64(tok, PB_MAX_VMAS, &v)
				    ?: (v == 0 ? -EINVAL : 0);
			break;
		case K_WRITES: r = pb_parse_u64(tok, 1, &v); break;
		default: r = -EINVAL;
		}
		if (r) {
			snprintf(err, errlen, "--%s: bad value '%s'%s", d->name,
				 tok,
				 d->kind == K_SIZES
					 ? " (a size > 0 and <= 64G, "
					   "e.g. 16M)"
				 : d->kind == K_WRITES ? " (0 or 1)"
				 : d->kind == K_PPCS ? " (a count > 0 or 'all')"
						     : " (1..65536)");
			return -1;
		}
		arr[(*n)++] = v;
	}
	return 0;
}

int pb_opts_parse(struct pb_opts *o, int argc, char **argv, int *gb_argc,
		  char **gb_argv, char *err, size_t errlen)
{
	set_defaults(o);
	*gb_argc = 0;
	gb_argv[(*gb_argc)++] = argv[0];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		const struct opt *d = NULL;
		size_t nl;

		if (!strncmp(a, "--benchmark_", 12) || !strncmp(a, "--v=", 4) ||
		    !strcmp(a, "--v")) {
			gb_argv[(*gb_argc)++] = argv[i];
			continue;
		}
		if (strncmp(a, "--", 2)) {
			snprintf(err, errlen, "unexpected argument '%s'", a);
			return -1;
		}
		eq = strchr(a, '=');
		nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
			if (strlen(opts[k].name) == nl &&
			    !strncmp(opts[k].name, a + 2, nl))
				d = &opts[k];
		if (!d) {
			snprintf(err, errlen,
				 "unknown option '%s' (see --help)", a);
			return -1;
		}
		if (d->kind == K_FLAG) {
			if (eq) {
				snprintf(err, errlen, "--%s takes no value",
					 d->name);
				return -1;
			}
			/* --no-reserve clears the default-on flag */
			*(bool *)((char *)o + d->off) =
				strcmp(d->name, "no-reserve") != 0;
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
		if (d->kind == K_STR) {
			if (!*val) {
				snprintf(err, errlen, "--%s: empty value",
					 d->name);
				return -1;
			}
			*(const char **)((char *)o + d->off) = val;
		} else if (d->kind == K_U64) {
			uint64_t v;
			if (pb_parse_u64(val, 1000000000, &v) || !v) {
				snprintf(err, errlen,
					 "--%s: bad value '%s' (1..1e9)",
					 d->name, val);
				return -1;
			}
			*(uint64_t *)((char *)o + d->off) = v;
		} else if (d->kind == K_NODE) {
			uint64_t v;
			if (pb_parse_u64(val, 1023, &v)) {
				snprintf(err, errlen,
					 "--%s: bad node '%s' (0..1023)",
					 d->name, val);
				return -1;
			}
			*(int *)((char *)o + d->off) = (int)v;
		} else if (parse_list(d, val, o, err, errlen)) {
			return -1;
		}
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
