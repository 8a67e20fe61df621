// SPDX-License-Identifier: GPL-2.0
/*
 * pinlab-prof: a QEMU TCG plugin that counts the guest instructions each
 * kernel function executes inside the windows the lab's instrumentation
 * marks, one profile per window.
 *
 * The instrumentation's bench ioctl (gup_test_ioctl, pinlab_gup_bench
 * inlined into it) reads the clock four times: ktime_get() before and after
 * the pin loop, before and after the release loop.  The plugin finds those
 * call sites as it translates: a translation block that starts inside the
 * caller's range and ends in a direct call (E8 rel32) to the clock function
 * is a marker.  Entering the caller resets the count; odd markers open a
 * window, even ones close it, so window 2k is a pass's pin loop and 2k+1 its
 * release loop.  No guest register is read (QEMU 7.2's API has none) and
 * nothing in the guest changes: the plugin only watches.
 *
 * Counting is per instruction: each instruction, as it is translated, gets
 * an inline add (no helper call) to the counter of the function its address
 * falls in (the booted image's System.map, given as sorted ranges); the
 * counters always run, and a window is the difference between their values
 * at its close and at its open.  An instruction counts when it executes, so
 * a block that an interrupt, an exception or an I/O instruction under
 * -icount (QEMU re-translates the block to end there) leaves half way is
 * counted as far as it ran; the I/O instruction that is re-executed counts
 * twice (one instruction).
 *
 * Arguments (-plugin pinlab-prof.so,ARG=VALUE,...):
 *   syms=FILE     text symbols, one "START END NAME" line each (hex), sorted
 *   caller=A:B    the marked function's address range (hex)
 *   clock=A       the clock function's address (hex)
 *   out=FILE      the profile: "window N TOTAL" then "COUNT NAME" lines
 *
 * Built against the installed QEMU's own qemu-plugin.h (Debian's source
 * package of the same version): scripts/pinlab/profile.py.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

struct sym {
	uint64_t start, end;
	char *name;
};

struct tbinfo {
	bool reset, marker;
};

#define NO_SYM UINT32_MAX

static struct sym *syms;
static uint32_t nsyms;
static uint64_t caller_start, caller_end, clock_addr;
static FILE *out;

/* executed instructions per symbol, the last for addresses in none; and
 * their values when the open window opened */
static uint64_t *counts, *snap;
static bool open_, failed;
static unsigned marks;
static uint64_t windows;

static uint32_t lookup(uint64_t a)
{
	uint32_t lo = 0, hi = nsyms;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (syms[mid].end <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nsyms && syms[lo].start <= a && a < syms[lo].end ? lo
								     : NO_SYM;
}

static void close_window(void)
{
	uint64_t total = 0;

	for (uint32_t i = 0; i <= nsyms; i++)
		total += counts[i] - snap[i];
	if (fprintf(out, "window %" PRIu64 " %" PRIu64 "\n", windows, total) <
	    0)
		failed = true;
	for (uint32_t i = 0; i <= nsyms; i++)
		if (counts[i] != snap[i])
			fprintf(out, "%" PRIu64 " %s\n", counts[i] - snap[i],
				i < nsyms ? syms[i].name : "[unknown]");
	windows++;
}

/* a marked block, at the start of its execution (before its instructions) */
static void tb_exec(unsigned int vcpu, void *udata)
{
	const struct tbinfo *t = udata;

	(void)vcpu; /* -smp 1: the lab's deterministic guests have one */
	if (t->reset)
		marks = 0;
	if (!t->marker)
		return;
	if (++marks % 2) {
		memcpy(snap, counts, (nsyms + 1) * sizeof(*counts));
		open_ = true;
	} else if (open_) {
		close_window();
		open_ = false;
	}
}

static bool calls_clock(struct qemu_plugin_insn *insn)
{
	const uint8_t *d = qemu_plugin_insn_data(insn);
	int32_t rel;

	if (qemu_plugin_insn_size(insn) != 5 || d[0] != 0xe8)
		return false;
	memcpy(&rel, d + 1, 4);
	return qemu_plugin_insn_vaddr(insn) + 5 + (int64_t)rel == clock_addr;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	uint64_t start = qemu_plugin_tb_vaddr(tb);
	bool reset = start == caller_start, marker = false;

	(void)id;
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint32_t s = lookup(qemu_plugin_insn_vaddr(insn));

		qemu_plugin_register_vcpu_insn_exec_inline(
			insn, QEMU_PLUGIN_INLINE_ADD_U64,
			&counts[s == NO_SYM ? nsyms : s], 1);
		if (i == n - 1 && start >= caller_start && start < caller_end)
			marker = calls_clock(insn);
	}
	if (reset || marker) {
		struct tbinfo *t = malloc(sizeof(*t));

		if (!t) {
			failed = true;
			return;
		}
		t->reset = reset;
		t->marker = marker;
		qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec,
						     QEMU_PLUGIN_CB_NO_REGS, t);
	}
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
	(void)id;
	(void)p;
	fprintf(out, "end %" PRIu64 " windows%s\n", windows,
		failed ? " FAILED" : "");
	fclose(out);
}

static int load_syms(const char *path)
{
	FILE *f = fopen(path, "r");
	char name[512];
	uint64_t a, b;
	uint32_t cap = 0;

	if (!f)
		return -1;
	while (fscanf(f, "%" SCNx64 " %" SCNx64 " %511s", &a, &b, name) == 3) {
		if (nsyms == cap) {
			struct sym *n;

			cap = cap ? 2 * cap : 65536;
			n = realloc(syms, cap * sizeof(*syms));
			if (!n)
				break;
			syms = n;
		}
		if (nsyms && a < syms[nsyms - 1].end)
			break; /* not sorted, or overlapping: refused below */
		syms[nsyms].start = a;
		syms[nsyms].end = b;
		syms[nsyms++].name = strdup(name);
	}
	if (!feof(f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return nsyms ? 0 : -1;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info, int argc,
					   char **argv)
{
	const char *sympath = NULL, *outpath = NULL;

	(void)info;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strncmp(a, "syms=", 5))
			sympath = a + 5;
		else if (!strncmp(a, "out=", 4))
			outpath = a + 4;
		else if (!strncmp(a, "caller=", 7) &&
			 sscanf(a + 7, "%" SCNx64 ":%" SCNx64, &caller_start,
				&caller_end) == 2)
			;
		else if (!strncmp(a, "clock=", 6) &&
			 sscanf(a + 6, "%" SCNx64, &clock_addr) == 1)
			;
		else {
			fprintf(stderr, "pinlab-prof: bad argument '%s'\n", a);
			return -1;
		}
	}
	if (!sympath || !outpath || !caller_start || !clock_addr ||
	    caller_end <= caller_start) {
		fprintf(stderr, "pinlab-prof: needs syms=, out=, caller=A:B "
				"and clock=\n");
		return -1;
	}
	if (load_syms(sympath)) {
		fprintf(stderr,
			"pinlab-prof: %s: unreadable, unsorted or "
			"empty symbol list\n",
			sympath);
		return -1;
	}
	counts = calloc(nsyms + 1, sizeof(*counts));
	snap = calloc(nsyms + 1, sizeof(*snap));
	out = fopen(outpath, "w");
	if (!counts || !snap || !out) {
		fprintf(stderr, "pinlab-prof: cannot open %s or allocate\n",
			outpath);
		return -1;
	}
	fprintf(out,
		"# pinlab-prof 1: %u symbols, caller %" PRIx64 ":%" PRIx64
		", clock %" PRIx64 "\n",
		nsyms, caller_start, caller_end, clock_addr);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
