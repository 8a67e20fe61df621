// SPDX-License-Identifier: GPL-2.0
/*
 * pinsem: functional semantics of the pin paths, as TAP.
 *
 * Reads a table (kernel-patches/6.1/VARIANT/semantics) of
 *     PROBE  BACKING  WRITE  EXPECT
 * [SIZE] where EXPECT is "ok" (the whole buffer pins and is released) or an
 * errno name (the kernel refuses with exactly that error), and SIZE (default
 * --size) is the buffer, pinned in one call.  Each row pins once
 * through pinbench's probes and checks the outcome and that the pins
 * balance in /proc/vmstat.  A row whose probe or backing cannot run here is
 * "ok # SKIP reason"; it never passes silently.
 *
 * Usage: pinsem [--size SIZE] [--fsdax-dir DIR] [--devdax PATH] [--dir DIR]
 *               FILE
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/probe.h"

static const struct {
	const char *name;
	int err;
} errnos[] = {
	{ "ok", 0 },	      { "EOPNOTSUPP", EOPNOTSUPP },
	{ "EINVAL", EINVAL }, { "ENOMEM", ENOMEM },
	{ "EFAULT", EFAULT }, { "EPERM", EPERM },
	{ "ENOTSUPP", 524 }, /* the kernel's internal ENOTSUPP */
};

static int parse_expect(const char *s, int *err)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (!strcmp(errnos[i].name, s)) {
			*err = errnos[i].err;
			return 0;
		}
	return -1;
}

static const char *err_name(int err)
{
	static char buf[32];

	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].err == err)
			return errnos[i].name;
	snprintf(buf, sizeof(buf), "errno %d", err);
	return buf;
}

int main(int argc, char **argv)
{
	char *gb[argc + 1];
	char why[PB_WHY], line[512];
	struct pb_opts o;
	int gbc, n = 0, failed = 0, skipped = 0;
	const char *file = NULL;
	uint64_t size = 4 * MiB;
	FILE *f;

	if (pb_opts_parse(&o, argc, argv, &gbc, gb, &file, why, sizeof(why)) ||
	    gbc > 1) {
		fprintf(stderr, "pinsem: %s\n",
			gbc > 1 ? "no --benchmark_* options here" : why);
		return 2;
	}
	if (o.help || !file) {
		fprintf(o.help ? stdout : stderr,
			"usage: pinsem [--size SIZE] [--fsdax-dir DIR] "
			"[--devdax PATH] [--dir DIR] FILE\n(pinbench's "
			"options: pinbench --help)\n");
		return o.help ? 0 : 2;
	}
	if (o.sizes_given)
		size = o.sizes[0];
	f = fopen(file, "r");
	if (!f) {
		fprintf(stderr, "pinsem: %s: %s\n", file, strerror(errno));
		return 2;
	}
	if (pb_pool_guard())
		fprintf(stderr, "pinsem: no pool guardian (%s)\n",
			strerror(errno));
	printf("TAP version 13\n");
	while (fgets(line, sizeof(line), f)) {
		char pname[64], bname[64], expect[32], sz[32] = "";
		uint64_t rsize = size;
		const struct pb_probe *pr;
		const struct pb_backing *bk;
		struct pb_params p;
		struct pb_ctx c;
		struct pb_sample s;
		int write, want, r, got;
		int64_t pins0 = 0, pins1 = 0;

		if (line[0] == '#' || line[strspn(line, " \t")] == '\n')
			continue;
		if (sscanf(line, "%63s %63s %d %31s %31s", pname, bname, &write,
			   expect, sz) < 4 ||
		    (sz[0] && pb_parse_size(sz, &rsize)) ||
		    !(pr = pb_probe_find(pname)) ||
		    !(bk = pb_backing_find(bname)) ||
		    parse_expect(expect, &want)) {
			fprintf(stderr, "pinsem: %s: bad line: %s", file, line);
			fclose(f);
			return 2;
		}
		n++;
		p = (struct pb_params){ .size = rsize > bk->page_size(&o)
							? rsize
							: bk->page_size(&o),
					.ppc = PB_PPC_ALL,
					.nvmas = 1,
					.write = write };
		pb_pins_outstanding(&pins0);
		r = pb_case_check(pr, bk, &o, &p, why);
		if (!r)
			r = pb_case_open(&c, pr, bk, &o, &p, why);
		if (r == PB_SKIP) {
			printf("ok %d - %s %s write:%d -> %s # SKIP %s\n", n,
			       pname, bname, write, expect, why);
			skipped++;
			continue;
		}
		if (r) {
			printf("not ok %d - %s %s write:%d -> %s: setup: %s\n",
			       n, pname, bname, write, expect, why);
			failed++;
			continue;
		}
		memset(&s, 0, sizeof(s));
		r = pr->iterate(&c, &s, why);
		got = r == PB_OK ? 0 : s.err;
		pb_case_close(&c, why);
		pins1 = pins0 + pb_pins_settle(pins0, 1000);
		if (r == PB_OK && s.pages != p.size / PB_PAGE) {
			printf("not ok %d - %s %s write:%d -> %s: pinned %llu "
			       "of %zu pages\n",
			       n, pname, bname, write, expect,
			       (unsigned long long)s.pages, p.size / PB_PAGE);
			failed++;
		} else if (got != want || (r != PB_OK && got == 0)) {
			printf("not ok %d - %s %s write:%d -> %s: got %s%s%s\n",
			       n, pname, bname, write, expect,
			       r == PB_OK ? "ok" : err_name(got),
			       r == PB_OK ? "" : ": ", r == PB_OK ? "" : why);
			failed++;
		} else if (pins1 != pins0) {
			printf("not ok %d - %s %s write:%d -> %s: %lld pins "
			       "left outstanding\n",
			       n, pname, bname, write, expect,
			       (long long)(pins1 - pins0));
			failed++;
		} else {
			printf("ok %d - %s %s write:%d -> %s\n", n, pname,
			       bname, write, expect);
		}
	}
	fclose(f);
	pb_hugetlb_restore();
	printf("1..%d\n", n);
	printf("semantics: %d passed, %d failed, %d skipped\n",
	       n - failed - skipped, failed, skipped);
	return failed ? 1 : 0;
}
