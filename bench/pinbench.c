// SPDX-License-Identifier: GPL-2.0
/*
 * pinbench: what it costs to pin user memory, path by path (probes) and
 * memory by memory (backings), under Google Benchmark.
 *
 * Every probe x backing x size x pages-per-call x VMA count x write is one
 * benchmark, named PROBE/BACKING/size_kb:S/ppc:P/vmas:V/write:W.  One
 * iteration pins and releases the whole buffer; its manual time is the
 * probe's own measurement (for gup_test: the kernel's).  A case that cannot
 * run here is skipped with its reason ("SKIP: ..." in error_message); a pin
 * leak or an unexpected failure is an error and makes the exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "gbench/gbench.h"
#include "lib/numa.h"
#include "lib/probe.h"

#include "rev.h" /* PINLAB_REV: made by make from git describe --dirty */

/* One registered argument set of a case and its check, made once. */
struct pb_verdict {
	int64_t a[4]; /* size_kb, ppc, vmas, write */
	int r;
	char why[PB_WHY];
};

struct pb_case {
	const struct pb_probe *pr;
	const struct pb_backing *bk;
	bool overhead; /* harness against a bare loop of the same work */
	struct pb_verdict *v;
	size_t nv;
};

static struct pb_opts opts;
static int failures;

/*
 * Under -icount the timer tick comes every so many instructions: a short
 * timed pass either holds one or not, and with the same untimed work
 * between passes every repetition meets the tick at the same phase (all
 * clean or all not, per boot). An untimed spin of a pseudo-random length
 * (up to about a tick period at 250 Hz, from --seed: the same every boot
 * of a seed) before each pass makes the phases independent, so the least
 * of a boot's repetitions is the interrupt-free figure. Instructions only.
 */
static void phase_spin(void)
{
	static uint64_t x;
	volatile uint64_t i;
	uint64_t n;

	if (!x)
		x = opts.seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	n = x % 1000000;
	for (i = 0; i < n; i++)
		;
}

/*
 * Before each timed pass (instructions only, untimed): empty this CPU's LRU
 * batches.  A touched page that is not on an LRU (a DAX page) is looked
 * for in the per-CPU batch of pages waiting to be added
 * (__lru_cache_activate_folio), one step per page waiting, and how full
 * the batch is depends on whatever ran before: a remote pin of FS-DAX
 * through 64 VMAs read up to 30 instructions a page less in the passes
 * that happened to find it empty (20261203-lab-fsdax-aa4's first boots).
 * POSIX_FADV_DONTNEED on a file of a block-backed filesystem runs
 * lru_add_drain() (mm/fadvise.c); the file is a page in --dir.
 */
static int drain_fd = -2;

static void lru_drain(void)
{
	if (drain_fd == -2) {
		char path[PATH_MAX];
		static const char page[4096];

		drain_fd = -1;
		if (!opts.dir)
			return;
		snprintf(path, sizeof(path), "%s/pinbench-drain-XXXXXX",
			 opts.dir);
		drain_fd = mkostemp(path, O_CLOEXEC);
		if (drain_fd < 0)
			return;
		unlink(path);
		if (write(drain_fd, page, sizeof(page)) != sizeof(page)) {
			close(drain_fd);
			drain_fd = -1;
			return;
		}
	}
	if (drain_fd >= 0)
		(void)posix_fadvise(drain_fd, 0, 0, POSIX_FADV_DONTNEED);
}

static void fail_case(gbc_state *st, int r, const char *why)
{
	if (gbc_stopped(st))
		return;
	if (r == PB_SKIP) {
		gbc_skip(st, "%s", why);
		return;
	}
	if (r == PB_REFUSED) {
		gbc_refuse(st, "%s", why);
		return;
	}
	gbc_error(st, "%s", why);
	failures++;
}

/*
 * --passes-out: every pass of every case, in the order they ran (TAB
 * separated): name, "warmup" or "timed", get and put clock deltas (ns, or
 * instructions under -icount), pages, calls.  A profiling boot's plugin
 * opens two windows per gup_test pass (the pin loop, the release loop);
 * this says whose they were.  Written at exit from a buffer (a measuring
 * boot's job is the same as its profiling boot's: no write between passes).
 */
static FILE *passes;
static char passes_buf[1 << 20];

static void pass_line(gbc_state *st, const struct pb_case *k, bool warm,
		      const struct pb_sample *s, int r)
{
	/* a pass the kernel refused ran its loops too (calls > 0) */
	if (!passes || (r && !s->calls))
		return;
	fprintf(passes,
		"%s%s/%s/size_kb:%" PRId64 "/ppc:%" PRId64 "/vmas:%" PRId64
		"/write:%" PRId64 "\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
		"\t%" PRIu64 "\n",
		k->overhead ? "overhead/" : "", k->pr->name, k->bk->name,
		gbc_range(st, 0), gbc_range(st, 1), gbc_range(st, 2),
		gbc_range(st, 3),
		r ? (warm ? "warmup-refused" : "timed-refused")
		  : (warm ? "warmup" : "timed"),
		s->get_ns, s->put_ns, s->pages, s->calls);
}

static void bench(gbc_state *st, void *arg)
{
	const struct pb_case *k = arg;
	struct pb_params p = {
		.size = (size_t)gbc_range(st, 0) * KiB,
		.ppc = (uint64_t)gbc_range(st, 1),
		.nvmas = (unsigned)gbc_range(st, 2),
		.write = (int)gbc_range(st, 3),
	};
	uint64_t get = 0, put = 0, pages = 0, calls = 0, n = 0;
	uint64_t t, wall = 0, raw = 0, migrated = 0, irqs = 0;
	char why[PB_WHY] = "", why2[PB_WHY] = "";
	int64_t pins0 = 0, leak;
	bool pins = pb_pins_outstanding(&pins0) == 0;
	bool irq_ok = true;
	struct pb_sample s;
	struct pb_ctx c;
	bool insn = !strcmp(opts.unit, "instructions");
	void *pad = NULL;
	size_t pad_len = 0;
	int r, rc;

	for (size_t i = 0; i < k->nv; i++)
		if (k->v[i].a[0] == gbc_range(st, 0) &&
		    k->v[i].a[1] == gbc_range(st, 1) &&
		    k->v[i].a[2] == gbc_range(st, 2) &&
		    k->v[i].a[3] == gbc_range(st, 3) && k->v[i].r) {
			fail_case(st, k->v[i].r, k->v[i].why);
			return;
		}
	/*
	 * --seed: a PROT_NONE pad above the buffer moves it (and its page
	 * tables) by a seed-chosen number of pages, a new layout per seed
	 */
	if (opts.seed) {
		pad_len = (size_t)((opts.seed * 2654435761u + gbc_range(st, 0) +
				    (int64_t)gbc_range(st, 1)) %
					   509 +
				   1) *
			  PB_PAGE;
		pad = mmap(NULL, pad_len, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (pad == MAP_FAILED)
			pad = NULL;
	}
	r = pb_case_open(&c, k->pr, k->bk, &opts, &p, why);
	if (r) {
		if (pad)
			munmap(pad, pad_len);
		fail_case(st, r, why);
		return;
	}
	/*
	 * one untimed pass first: the first pin after setup (page tables
	 * walked cold, hugetlb's first touch) is not what a steady caller pays
	 */
	if (opts.warmup) {
		r = k->bk->refresh ? pb_case_refresh(&c, why) : 0;
		if (!r) {
			memset(&s, 0, sizeof(s));
			r = c.pr->iterate(&c, &s, why);
			pass_line(st, k, true, &s, r);
		}
		if (r) {
			rc = pb_case_close(&c, why2);
			if (pad)
				munmap(pad, pad_len);
			fail_case(st, r, why);
			return;
		}
	}
	/*
	 * The overhead case interleaves one bare-loop pass after every
	 * harness iteration (outside the manual time), so drift hits both.
	 */
	t = pb_now_ns();
	while (gbc_keep_running(st)) {
		uint64_t mig0 = 0, mig1 = 0, irq0 = 0, irq1 = 0, spun = 0;

		if (k->bk->refresh) {
			/* untimed: the probe times itself */
			r = pb_case_refresh(&c, why);
			if (r)
				break;
			pb_read_keyed("/proc/vmstat", "pgmigrate_success",
				      &mig0);
		}
		memset(&s, 0, sizeof(s));
		if (insn) {
			/* untimed, and not the harness's overhead either */
			uint64_t t0 = pb_now_ns();

			phase_spin();
			lru_drain();
			spun = pb_now_ns() - t0;
		}
		/*
		 * untimed: every interrupt taken during the pass (the timer
		 * tick and what it runs); under -icount each one only adds
		 * instructions to the window it lands in
		 */
		irq_ok = irq_ok && !pb_read_keyed("/proc/stat", "intr", &irq0);
		r = c.pr->iterate(&c, &s, why);
		pass_line(st, k, false, &s, r);
		if (r)
			break;
		irq_ok = irq_ok && !pb_read_keyed("/proc/stat", "intr", &irq1);
		irqs += irq1 - irq0;
		if (k->bk->refresh) {
			pb_read_keyed("/proc/vmstat", "pgmigrate_success",
				      &mig1);
			migrated += mig1 - mig0;
		}
		gbc_set_iteration_time(st, (double)(s.get_ns + s.put_ns) / 1e9);
		get += s.get_ns;
		put += s.put_ns;
		pages += s.pages;
		calls += s.calls;
		n++;
		if (k->overhead) {
			uint64_t t1 = pb_now_ns();
			wall += t1 - t - spun;
			r = c.pr->raw(&c, 1, why);
			t = pb_now_ns();
			raw += t - t1;
			if (r)
				break;
		}
	}
	rc = pb_case_close(&c, why2);
	if (pad)
		munmap(pad, pad_len);
	if (r)
		fail_case(st, r, why);
	if (rc)
		fail_case(st, rc, why2);
	if (pins && (leak = pb_pins_settle(pins0, 3000)) > 0) {
		snprintf(why, sizeof(why),
			 "pin leak: %" PRId64
			 " pins outstanding after %s on %s "
			 "(nr_foll_pin_acquired - nr_foll_pin_released)",
			 leak, k->pr->name, k->bk->name);
		fprintf(stderr, "pinbench: %s\n", why);
		if (gbc_stopped(st))
			failures++;
		fail_case(st, PB_FAIL, why);
		return;
	}
	if (r || rc || !n || !pages)
		return;
	/* under -icount the kernel's ns are instructions: say so */
	gbc_counter(st, insn ? "insn_per_page" : "ns_per_page",
		    (double)get / (double)pages, 0);
	if (k->pr->flags & PB_PR_PUT)
		gbc_counter(st, insn ? "insn_per_page_put" : "ns_per_page_put",
			    (double)put / (double)pages, 0);
	gbc_counter(st, insn ? "insn_per_call" : "ns_per_call",
		    calls ? (double)get / (double)calls : 0, 0);
	gbc_counter(st, "pages", (double)pages / (double)n, 0);
	gbc_counter(st, "calls", (double)calls / (double)n, 0);
	gbc_counter(st, "vmas", p.nvmas, 0);
	gbc_counter(st, "mem_node", c.t.node, 0);
	if (irq_ok)
		gbc_counter(st, "irqs", (double)irqs / (double)n, 0);
	if (k->bk->refresh)
		gbc_counter(st, "migrated", (double)migrated / (double)n, 0);
	if (k->overhead) {
		double h = (double)wall / (double)n,
		       w = (double)raw / (double)n;
		gbc_counter(st, "harness_ns", h, 0);
		gbc_counter(st, "reported_ns", (double)(get + put) / (double)n,
			    0);
		gbc_counter(st, "raw_ns", w, 0);
		gbc_counter(st, "overhead_pct", (h - w) / w * 100.0, 0);
	}
}

/* ---- which benchmarks: the filter, checked before registering ---------- */

struct filter {
	regex_t re;
	bool on, negate;
};

static void filter_init(struct filter *f, int argc, char **argv)
{
	const char *pat = NULL;

	memset(f, 0, sizeof(*f));
	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], "--benchmark_filter=", 19))
			pat = argv[i] + 19;
	if (!pat || !*pat || !strcmp(pat, "all") || !strcmp(pat, "."))
		return;
	if (*pat == '-') {
		f->negate = true;
		pat++;
	}
	/* a pattern POSIX can't read: register all, Google Benchmark filters */
	f->on = regcomp(&f->re, pat, REG_EXTENDED | REG_NOSUB) == 0;
}

static bool filter_match(const struct filter *f, const char *name)
{
	if (!f->on)
		return true;
	return (regexec(&f->re, name, 0, NULL, 0) == 0) != f->negate;
}

/* The backing's own size from --size-for (0: none); -1: a bad entry. */
static int64_t size_for(const char *name, char *err, size_t errlen)
{
	char buf[512], *save = NULL;

	if (!opts.size_for)
		return 0;
	snprintf(buf, sizeof(buf), "%s", opts.size_for);
	for (char *t = strtok_r(buf, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(t, ':');
		uint64_t v;

		if (!colon || pb_parse_size(colon + 1, &v) || !v ||
		    v > PB_MAX_SIZE) {
			snprintf(err, errlen,
				 "--size-for: bad entry '%s' (BACKING:SIZE, "
				 "e.g. hugetlb_1g:1G)",
				 t);
			return -1;
		}
		*colon = 0;
		if (!pb_backing_find(t)) {
			snprintf(err, errlen,
				 "--size-for: unknown backing '%s' (see "
				 "--list)",
				 t);
			return -1;
		}
		if (name && !strcmp(t, name))
			return (int64_t)v;
	}
	return 0;
}

static size_t backing_size(const struct pb_backing *bk, int i)
{
	size_t ps = bk->page_size(&opts);
	char err[PB_WHY];
	int64_t own = size_for(bk->name, err, sizeof(err));

	if (own > 0)
		return (size_t)own;
	if (opts.sizes_given)
		return opts.sizes[i];
	return ps > 16 * MiB ? ps : 16 * MiB;
}

/* Is name in the comma list (NULL: everything)? */
static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	if (!list)
		return true;
	for (const char *p = list; p && *p;
	     p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == 0))
			return true;
	return false;
}

/* Every name in the comma list must be known. */
static int check_names(const char *list, const char *what, bool probe)
{
	char buf[512], *save = NULL;

	if (!list)
		return 0;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ",", &save); t;
	     t = strtok_r(NULL, ",", &save))
		if (probe ? !pb_probe_find(t) : !pb_backing_find(t)) {
			fprintf(stderr,
				"pinbench: unknown %s '%s' (see --list)\n",
				what, t);
			return -1;
		}
	return 0;
}

/* Checks one argument set of a case, once, and keeps the verdict for the
 * benchmark; a bad parameter (PB_FAIL) is the user's: -1. */
static int check_args(struct pb_case *k, const int64_t a[4])
{
	struct pb_params p = { .size = (size_t)a[0] * KiB,
			       .ppc = (uint64_t)a[1],
			       .nvmas = (unsigned)a[2],
			       .write = (int)a[3] };
	struct pb_verdict *v = realloc(k->v, (k->nv + 1) * sizeof(*v));

	if (!v) {
		fprintf(stderr, "pinbench: out of memory\n");
		return -1;
	}
	k->v = v;
	v = &k->v[k->nv++];
	memcpy(v->a, a, sizeof(v->a));
	v->why[0] = 0;
	v->r = pb_case_check(k->pr, k->bk, &opts, &p, v->why);
	if (v->r == PB_FAIL) {
		fprintf(stderr, "pinbench: %s/%s: %s\n", k->pr->name,
			k->bk->name, v->why);
		return -1;
	}
	return 0;
}

/* Registers the matching benchmarks of one case; -1 on a bad argument. */
static int register_case(struct pb_case *k, const char *prefix,
			 const struct filter *f, int *nreg)
{
	static const char *const names[] = { "size_kb", "ppc", "vmas",
					     "write" };
	char base[128], full[256];
	gbc_bench *b = NULL;

	snprintf(base, sizeof(base), "%s%s/%s", prefix, k->pr->name,
		 k->bk->name);
	/* a backing with its own size (--size-for) has that one size */
	int nsizes =
		size_for(k->bk->name, full, sizeof(full)) > 0 ? 1 : opts.nsizes;

	for (int si = 0; si < nsizes; si++)
		for (int pi = 0; pi < opts.nppcs; pi++)
			for (int vi = 0; vi < opts.nvmas; vi++)
				for (int wi = 0; wi < opts.nwrites; wi++) {
					size_t size = backing_size(k->bk, si);
					int64_t a[4] = {
						(int64_t)(size / KiB),
						(int64_t)opts.ppcs[pi],
						(int64_t)opts.vmas[vi],
						(int64_t)opts.writes[wi]
					};
					snprintf(full, sizeof(full),
						 "%s/size_kb:%" PRId64
						 "/ppc:%" PRId64
						 "/vmas:%" PRId64
						 "/write:%" PRId64
						 "/manual_time",
						 base, a[0], a[1], a[2], a[3]);
					if (!filter_match(f, full))
						continue;
					if (check_args(k, a))
						return -1;
					if (!b) {
						b = gbc_register(base, bench,
								 k);
						gbc_arg_names(b, names, 4);
						gbc_use_manual_time(b);
						gbc_unit(b, GBC_US);
						if (opts.iterations)
							gbc_fixed_iterations(
								b,
								(int64_t)opts
									.iterations);
					}
					gbc_args(b, a, 4);
					(*nreg)++;
				}
	return 0;
}

/* ---- context: what produced the numbers -------------------------------- */

/*
 * What the machine is: a virtual machine when the CPU says it runs under a
 * hypervisor (the cpuinfo flag; CPUID leaf 0x40000000 names it), with the
 * DMI vendor and product where the firmware gives them.  A "native" run
 * inside a VM must say so.
 */
static void machine_kind(char *buf, size_t len)
{
	char info[65536], vendor[13] = "", dmi[256] = "", prod[128] = "";
	unsigned a = 0, b = 0, c = 0, d = 0;
	bool hv = false;

	if (pb_read_file("/proc/cpuinfo", info, sizeof(info)) == 0)
		hv = strstr(info, " hypervisor") != NULL;
#if defined(__x86_64__) || defined(__i386__)
	if (hv) {
		__asm__ volatile("cpuid"
				 : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
				 : "a"(0x40000000), "c"(0));
		memcpy(vendor, &b, 4);
		memcpy(vendor + 4, &c, 4);
		memcpy(vendor + 8, &d, 4);
		for (int i = 0; i < 12; i++)
			if ((unsigned char)vendor[i] < 0x20 || vendor[i] > 0x7e)
				vendor[i] = vendor[i] ? '?' : 0;
	}
#endif
	pb_read_file("/sys/class/dmi/id/sys_vendor", dmi, sizeof(dmi));
	pb_read_file("/sys/class/dmi/id/product_name", prod, sizeof(prod));
	snprintf(buf, len, "%s%s%s%s%s%s%s",
		 hv ? "virtual machine (CPU hypervisor flag; hypervisor "
		      "vendor '"
		    : "no hypervisor flag (bare metal, or a VM that hides it)",
		 hv ? vendor : "", hv ? "')" : "", dmi[0] ? "; DMI: " : "", dmi,
		 prod[0] ? " " : "", prod);
}

static void add_context(int argc, char **argv)
{
	char buf[1024], line[4096] = "";
	struct utsname u;
	size_t len = 0;

	uname(&u);
	gbc_context("pinlab_revision", PINLAB_REV);
	gbc_context("kernel_release", u.release);
	if (pb_read_file("/proc/version", buf, sizeof(buf)) == 0)
		gbc_context("proc_version", buf);
	if (pb_read_file("/proc/cmdline", buf, sizeof(buf)) == 0)
		gbc_context("kernel_cmdline", buf);
	for (int i = 0; i < argc && len < sizeof(line) - 2; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s",
					i ? " " : "", argv[i]);
	gbc_context("command_line", line);
	gbc_context("label", opts.label ? opts.label : "");
	gbc_context("clock_counts", strcmp(opts.unit, "instructions")
					    ? "ns"
					    : "instructions (QEMU -icount "
					      "shift=0: 1 guest ns = 1 "
					      "instruction)");
	gbc_context("warmup_passes", opts.warmup ? "1" : "0");
	snprintf(buf, sizeof(buf), "%" PRIu64, opts.seed);
	gbc_context("layout_seed", buf);
	gbc_context("cpus", opts.cpus ? opts.cpus : "");
	gbc_context("size_for", opts.size_for ? opts.size_for : "");
	if (pb_read_choice("/sys/kernel/mm/transparent_hugepage/enabled", buf,
			   sizeof(buf)) == 0)
		gbc_context("thp_enabled", buf);
	if (pb_read_choice("/sys/kernel/mm/transparent_hugepage/defrag", buf,
			   sizeof(buf)) == 0)
		gbc_context("thp_defrag", buf);
	for (int i = 0; i < 2; i++) {
		static const char *const kb[] = { "2048", "1048576" };
		char path[128], key[64];
		uint64_t nr = 0, fr = 0;
		snprintf(path, sizeof(path),
			 "/sys/kernel/mm/hugepages/hugepages-%skB/nr_hugepages",
			 kb[i]);
		if (pb_read_u64(path, &nr))
			continue;
		snprintf(path, sizeof(path),
			 "/sys/kernel/mm/hugepages/hugepages-%skB/"
			 "free_hugepages",
			 kb[i]);
		pb_read_u64(path, &fr);
		snprintf(key, sizeof(key), "hugepages_%skB", kb[i]);
		snprintf(buf, sizeof(buf),
			 "%" PRIu64 " reserved, %" PRIu64 " free at start", nr,
			 fr);
		gbc_context(key, buf);
	}
	snprintf(buf, sizeof(buf), "%d", pb_numa_nodes());
	gbc_context("numa_nodes", buf);
	if (opts.node >= 0)
		snprintf(buf, sizeof(buf), "memory node %d, cpu node %d",
			 opts.node, opts.cpu_node);
	else
		snprintf(buf, sizeof(buf), "%s",
			 pb_numa_nodes() == 1
				 ? "one node: memory and CPUs on node 0"
				 : "not chosen (--node): see counter mem_node");
	gbc_context("numa_placement", buf);
	gbc_context("dir", opts.dir);
	gbc_context("fsdax_dir", opts.fsdax_dir ? opts.fsdax_dir : "");
	gbc_context("devdax", opts.devdax ? opts.devdax : "");
	gbc_context("running_as_root", pb_is_root() ? "yes" : "no");
	machine_kind(buf, sizeof(buf));
	gbc_context("machine", buf);
}

/* ---- --list ------------------------------------------------------------- */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void json_options(const struct pb_option *t)
{
	printf("[");
	for (int n = 0; t && t->name; t++, n++) {
		printf("%s{\"name\": ", n ? ", " : "");
		json_str(t->name);
		printf(", \"help\": ");
		json_str(t->help);
		printf("}");
	}
	printf("]");
}

/* Probe x backing at the first size, ppc, vmas and write: PB_* and why. */
static int list_verdict(size_t i, size_t j, char *why)
{
	const struct pb_backing *bk = pb_backings[j];
	struct pb_params p = {
		.size = backing_size(bk, 0),
		.ppc = opts.ppcs[0],
		.nvmas = (unsigned)opts.vmas[0],
		.write = (int)opts.writes[0],
	};

	why[0] = 0;
	return pb_case_check(pb_probes[i], bk, &opts, &p, why);
}

/* --list=json: what scripts read instead of typed lists of names. */
static void list_json(void)
{
	char why[PB_WHY];

	printf("{\"probes\": [");
	for (size_t i = 0; i < pb_nprobes; i++) {
		const struct pb_probe *pr = pb_probes[i];
		printf("%s\n {\"name\": ", i ? "," : "");
		json_str(pr->name);
		printf(", \"path\": ");
		json_str(pr->path);
		printf(", \"via\": ");
		json_str(pr->via);
		printf(", \"remote\": %s, \"timed_release\": %s, \"options\": ",
		       pr->flags & PB_PR_REMOTE ? "true" : "false",
		       pr->flags & PB_PR_PUT ? "true" : "false");
		json_options(pr->options);
		printf("}");
	}
	printf("],\n\"backings\": [");
	for (size_t j = 0; j < pb_nbackings; j++) {
		const struct pb_backing *bk = pb_backings[j];
		printf("%s\n {\"name\": ", j ? "," : "");
		json_str(bk->name);
		printf(", \"desc\": ");
		json_str(bk->desc);
		printf(", \"page_size\": %zu, \"options\": ",
		       bk->page_size(&opts));
		json_options(bk->options);
		printf("}");
	}
	printf("],\n\"cases\": [");
	for (size_t i = 0; i < pb_nprobes; i++)
		for (size_t j = 0; j < pb_nbackings; j++) {
			int r = list_verdict(i, j, why);
			printf("%s\n {\"probe\": ", i + j ? "," : "");
			json_str(pb_probes[i]->name);
			printf(", \"backing\": ");
			json_str(pb_backings[j]->name);
			printf(", \"verdict\": \"%s\", \"why\": ",
			       r == PB_OK     ? "run"
			       : r == PB_SKIP ? "skip"
					      : "refused");
			json_str(why);
			printf("}");
		}
	printf("],\n\"root\": %s}\n", pb_is_root() ? "true" : "false");
}

static void list_cases(void)
{
	char why[PB_WHY];

	if (!strcmp(opts.list, "json")) {
		list_json();
		return;
	}
	printf("probes (kernel path <- how it is reached):\n");
	for (size_t i = 0; i < pb_nprobes; i++)
		printf("  %-30s %s <- %s\n", pb_probes[i]->name,
		       pb_probes[i]->path, pb_probes[i]->via);
	printf("\nbackings:\n");
	for (size_t i = 0; i < pb_nbackings; i++)
		printf("  %-12s %s\n", pb_backings[i]->name,
		       pb_backings[i]->desc);
	printf("\nprobe x backing on this machine (at the first size, ppc, "
	       "vmas, write):\n");
	for (size_t i = 0; i < pb_nprobes; i++)
		for (size_t j = 0; j < pb_nbackings; j++) {
			int r = list_verdict(i, j, why);
			printf("  %-30s %-12s %s%s\n", pb_probes[i]->name,
			       pb_backings[j]->name,
			       r == PB_OK     ? "can run"
			       : r == PB_SKIP ? "skip: "
					      : "refused: ",
			       r == PB_OK ? "" : why);
		}
	if (!pb_is_root())
		printf("\nnot root: gup_test, growing the hugetlb pool and "
		       "io_uring's pinned-memory limit need root.\n");
}

/* --cpu=CPU[,CHILD]: the measuring thread on CPU (the remote target
 * pins itself to CHILD, lib/child.c); a CPU outside the allowed set is
 * the user's error. */
static int pin_cpus(char *err)
{
	cpu_set_t set;
	char *end;
	long cpu;

	if (!opts.cpus)
		return 0;
	cpu = strtol(opts.cpus, &end, 10);
	if (end == opts.cpus || (*end && *end != ',') || cpu < 0 ||
	    cpu >= CPU_SETSIZE || (*end == ',' && pb_child_cpu(&opts) < 0)) {
		snprintf(err, PB_WHY, "--cpu: bad value '%s' (CPU[,CHILD])",
			 opts.cpus);
		return -1;
	}
	CPU_ZERO(&set);
	CPU_SET((int)cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		snprintf(err, PB_WHY, "--cpu: CPU %ld: %s", cpu,
			 strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char **gb_argv = calloc((size_t)argc + 1, sizeof(char *));
	char err[PB_WHY];
	struct filter f;
	int gb_argc, nreg = 0, status;
	static struct pb_case cases[64 * 16];
	size_t ncases = 0;

	if (!gb_argv)
		return 2;
	if (pb_opts_parse(&opts, argc, argv, &gb_argc, gb_argv, NULL, err,
			  sizeof(err))) {
		fprintf(stderr, "pinbench: %s\n", err);
		free(gb_argv);
		return 2;
	}
	if (opts.help) {
		pb_opts_usage(stdout);
		free(gb_argv);
		return 0;
	}
	if (pb_numa_check_node(opts.node, err) ||
	    pb_numa_check_node(opts.cpu_node, err)) {
		fprintf(stderr, "pinbench: %s\n", err);
		free(gb_argv);
		return 2;
	}
	if (size_for(NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "pinbench: %s\n", err);
		free(gb_argv);
		return 2;
	}
	if (opts.list) {
		list_cases();
		free(gb_argv);
		return 0;
	}
	if (pb_numa_run_on(opts.cpu_node, err) || pin_cpus(err)) {
		fprintf(stderr, "pinbench: %s\n", err);
		free(gb_argv);
		return 2;
	}
	if (check_names(opts.probes, "probe", true) ||
	    check_names(opts.backings, "backing", false)) {
		free(gb_argv);
		return 2;
	}
	filter_init(&f, gb_argc, gb_argv);
	gbc_initialize(&gb_argc, gb_argv);
	if (gbc_report_unrecognized(gb_argc, gb_argv)) {
		free(gb_argv);
		return 2;
	}
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < pb_nprobes; i++)
			for (size_t j = 0; j < pb_nbackings; j++) {
				/* the overhead check: a bare loop on anon */
				if (pass == 1 &&
				    (!pb_probes[i]->raw ||
				     strcmp(pb_backings[j]->name, "anon")))
					continue;
				if (!in_list(opts.probes, pb_probes[i]->name) ||
				    !in_list(opts.backings,
					     pb_backings[j]->name))
					continue;
				cases[ncases++] =
					(struct pb_case){ .pr = pb_probes[i],
							  .bk = pb_backings[j],
							  .overhead = pass };
			}
	/* --seed: the cases run in a seed-chosen order (Fisher-Yates) */
	for (uint64_t x = opts.seed, i = ncases; opts.seed && i > 1; i--) {
		struct pb_case t;
		size_t r;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		r = (size_t)((x >> 33) % i);
		t = cases[i - 1], cases[i - 1] = cases[r], cases[r] = t;
	}
	for (size_t c = 0; c < ncases; c++)
		if (register_case(&cases[c],
				  cases[c].overhead ? "overhead/" : "", &f,
				  &nreg)) {
			for (size_t d = 0; d < ncases; d++)
				free(cases[d].v);
			free(gb_argv);
			return 2;
		}
	if (f.on)
		regfree(&f.re);
	if (!nreg) {
		fprintf(stderr, "pinbench: no benchmark matches the filter "
				"(see --list)\n");
		free(gb_argv);
		return 2;
	}
	if (!pb_is_root())
		fprintf(stderr, "pinbench: not root: gup_test, growing the "
				"hugetlb pool and io_uring's pinned-memory "
				"limit need root; those cases will skip\n");
	if (pb_numa_nodes() == 1 && opts.node < 0)
		fprintf(stderr, "pinbench: one NUMA node: memory and CPUs on "
				"node 0\n");
	add_context(argc, argv);
	if (pb_pool_guard())
		fprintf(stderr,
			"pinbench: no pool guardian (%s): a SIGKILL "
			"would leave a grown hugetlb pool\n",
			strerror(errno));
	if (opts.passes_out &&
	    (!(passes = fopen(opts.passes_out, "w")) ||
	     setvbuf(passes, passes_buf, _IOFBF, sizeof(passes_buf)))) {
		fprintf(stderr, "pinbench: --passes-out %s: %s\n",
			opts.passes_out, strerror(errno));
		for (size_t d = 0; d < ncases; d++)
			free(cases[d].v);
		free(gb_argv);
		return 2;
	}
	gbc_run();
	gbc_shutdown();
	if (passes && fclose(passes)) {
		fprintf(stderr, "pinbench: --passes-out %s: %s\n",
			opts.passes_out, strerror(errno));
		failures++;
	}
	pb_hugetlb_restore();
	status = failures ? 1 : 0;
	for (size_t i = 0; i < ncases; i++)
		free(cases[i].v);
	if (failures)
		fprintf(stderr,
			"pinbench: %d benchmark(s) failed (see "
			"ERROR lines)\n",
			failures);
	free(gb_argv);
	return status;
}
