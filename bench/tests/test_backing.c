// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: every backing's setup and teardown, VMA splitting, the hugetlb
 * pool's restore, the remote child, NUMA verification.  A backing this
 * machine lacks is skipped with its reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../lib/backing.h"
#include "../lib/child.h"
#include "../lib/probe.h"
#include "../lib/numa.h"

static struct pb_opts opts;

static size_t test_len(const struct pb_backing *bk)
{
	size_t ps = bk->page_size(&opts);

	return ps * 2 > 4 * MiB ? ps * 2 : 4 * MiB;
}

/* PB_OK, or skip() the test with the reason */
static void need(const struct pb_backing *bk, size_t len)
{
	char why[PB_WHY];
	int r = bk->available(&opts, why);

	if (r == PB_OK)
		r = pb_mem_reserve(bk, &opts, len, why);
	if (r != PB_OK) {
		print_message("SKIP %s: %s\n", bk->name, why);
		skip();
	}
}

static void setup_teardown(void **state)
{
	const struct pb_backing *bk = *state;
	size_t len = test_len(bk), ps = bk->page_size(&opts);
	struct pb_mem m;
	char why[PB_WHY], path[PATH_MAX];
	int r;

	need(bk, len);
	for (unsigned nv = 1; nv <= 2; nv++) {
		r = pb_mem_setup(&m, bk, &opts, len, nv, why);
		if (r == PB_SKIP) {
			print_message("SKIP %s: %s\n", bk->name, why);
			skip();
		}
		assert_int_equal(r, PB_OK);
		assert_non_null(m.addr);
		assert_int_equal(m.len, len);
		assert_int_equal((uintptr_t)m.addr % ps, 0);
		assert_int_equal(pb_count_vmas(0, m.addr, len), (int)nv);
		/* the memory is really there and writable */
		memset(m.addr, 0x5a, len);
		assert_int_equal(((unsigned char *)m.addr)[len - 1], 0x5a);
		snprintf(path, sizeof(path), "%s", m.path);
		char *addr = m.addr;
		pb_mem_teardown(bk, &m);
		assert_int_equal(pb_count_vmas(0, addr, len), 0);
		if (path[0])
			assert_int_equal(access(path, F_OK), -1);
	}
}

static void bad_params(void **state)
{
	const struct pb_backing *bk = *state;
	size_t ps = bk->page_size(&opts);
	const struct pb_probe *pr = pb_probe_find("process_vm");
	struct pb_params p = {
		.size = ps * 3, .ppc = 1, .nvmas = 2, .write = 1
	};
	char why[PB_WHY];

	assert_int_equal(pb_backing_check(bk, &opts, 0, 1, why), PB_FAIL);
	assert_int_equal(pb_backing_check(bk, &opts, ps + PB_PAGE / 2, 1, why),
			 PB_FAIL);
	assert_non_null(strstr(why, "not a multiple"));
	assert_int_equal(pb_backing_check(bk, &opts, ps * 3, 2, why), PB_SKIP);
	/* the case check (the one place a case is checked) says the same */
	assert_int_equal(pb_case_check(pr, bk, &opts, &p, why), PB_SKIP);
	if (bk->available(&opts, why) == PB_OK) {
		pb_case_check(pr, bk, &opts, &p, why);
		assert_non_null(strstr(why, "VMAs"));
	}
}

static void remote_child(void **state)
{
	const struct pb_backing *bk = *state;
	size_t len = test_len(bk);
	struct pb_child ch;
	char why[PB_WHY];
	int pid, r;

	need(bk, len);
	r = pb_child_start(&ch, bk, &opts, len, 2, why);
	if (r == PB_SKIP) {
		print_message("SKIP %s: %s\n", bk->name, why);
		skip();
	}
	assert_int_equal(r, PB_OK);
	pid = ch.pid;
	assert_true(pid > 0);
	assert_int_equal(pb_count_vmas(pid, ch.addr, len), 2);
	assert_int_equal(pb_child_stop(&ch, why), PB_OK);
	assert_int_equal(kill(pid, 0), -1); /* reaped */
	assert_int_equal(errno, ESRCH);
}

/* A backing whose refresh() leaves a mark the parent can read remotely. */
static int mark_refresh(struct pb_mem *m, char *why)
{
	(void)why;
	m->addr[0]++;
	return m->addr[0] == 3 ? PB_SKIP : PB_OK; /* the third one says no */
}

static void child_refresh(void **state)
{
	struct pb_backing bk = *pb_backing_find("anon");
	struct pb_child ch;
	char why[PB_WHY], c = 0;
	struct iovec l = { &c, 1 }, r;

	(void)state;
	bk.refresh = mark_refresh;
	assert_int_equal(pb_child_start(&ch, &bk, &opts, 4 * MiB, 1, why),
			 PB_OK);
	r = (struct iovec){ ch.addr, 1 };
	assert_int_equal(process_vm_readv(ch.pid, &l, 1, &r, 1, 0), 1);
	assert_int_equal(c, 1); /* faulted in by setup */
	assert_int_equal(pb_child_refresh(&ch, why), PB_OK);
	assert_int_equal(process_vm_readv(ch.pid, &l, 1, &r, 1, 0), 1);
	assert_int_equal(c, 2);
	assert_int_equal(pb_child_refresh(&ch, why), PB_SKIP);
	assert_int_equal(pb_child_stop(&ch, why), PB_OK);
	/* a backing without refresh(): nothing to do, OK */
	assert_int_equal(pb_child_start(&ch, pb_backing_find("anon"), &opts,
					4 * MiB, 1, why),
			 PB_OK);
	assert_int_equal(pb_child_refresh(&ch, why), PB_OK);
	assert_int_equal(pb_child_stop(&ch, why), PB_OK);
}

static void hugetlb_pool_restored(void **state)
{
	const char *nr = "/sys/kernel/mm/hugepages/hugepages-2048kB/"
			 "nr_hugepages";
	uint64_t before, during, after;
	char why[PB_WHY];

	(void)state;
	if (!pb_is_root() || pb_read_u64(nr, &before)) {
		print_message("SKIP: needs root and a 2M hugetlb pool\n");
		skip();
	}
	pb_hugetlb_restore(); /* drop what earlier tests grew */
	pb_read_u64(nr, &before);
	assert_int_equal(pb_hugetlb_ensure(2048, -1, before + 3, true, why),
			 PB_OK);
	pb_read_u64(nr, &during);
	assert_true(during >= before + 3);
	pb_hugetlb_restore();
	pb_hugetlb_restore(); /* twice is harmless */
	pb_read_u64(nr, &after);
	assert_int_equal(after, before);
	/* without permission to grow, a short pool is a skip with a reason */
	assert_int_equal(
		pb_hugetlb_ensure(2048, -1, before + 1000000, false, why),
		PB_SKIP);
	assert_non_null(strstr(why, "--no-reserve"));
}

static void numa_placement(void **state)
{
	struct pb_opts o = opts;
	struct pb_mem m;
	char why[PB_WHY];

	(void)state;
	assert_int_equal(pb_numa_check_node(0, why), PB_OK);
	assert_int_equal(pb_numa_check_node(pb_numa_nodes() + 7, why), PB_FAIL);
	assert_non_null(strstr(why, "does not exist"));
	o.node = 0;
	assert_int_equal(
		pb_mem_setup(&m, pb_backing_find("anon"), &o, 4 * MiB, 1, why),
		PB_OK);
	assert_int_equal(m.node, 0);
	pb_mem_teardown(pb_backing_find("anon"), &m);
}

static void thp_is_checked(void **state)
{
	const struct pb_backing *bk = pb_backing_find("anon");
	struct pb_mem m;
	char why[PB_WHY];
	uint64_t kb = 1;

	(void)state;
	/* anon must come as 4K pages: smaps shows no AnonHugePages */
	assert_int_equal(pb_mem_setup(&m, bk, &opts, 8 * MiB, 1, why), PB_OK);
	assert_int_equal(pb_huge_kb(0, m.addr, m.len, &kb), 0);
	assert_int_equal(kb, 0);
	pb_mem_teardown(bk, &m);
}

/*
 * The PMD check the fsdax backing relies on: 4K anonymous pages are not one
 * aligned run of frames per 2 MiB block; THPs are.  Needs the frames
 * (root).
 */
static void pmd_mappable_is_checked(void **state)
{
	const struct pb_backing *anon = pb_backing_find("anon");
	const struct pb_backing *thp = pb_backing_find("thp");
	struct pb_mem m;
	char why[PB_WHY];
	size_t bad = 0, total = 0;

	(void)state;
	if (!pb_is_root())
		skip();
	assert_int_equal(pb_mem_setup(&m, anon, &opts, 8 * MiB, 1, why), PB_OK);
	assert_int_equal(pb_pmd_mappable(&m, &bad, &total, why), PB_OK);
	assert_int_equal(total, 4);
	assert_int_equal(bad, 4);
	pb_mem_teardown(anon, &m);
	why[0] = 0;
	if (thp->available(&opts, why) != PB_OK ||
	    pb_mem_setup(&m, thp, &opts, 8 * MiB, 1, why) != PB_OK) {
		print_message("# no THPs here: %s\n", why);
		return;
	}
	assert_int_equal(pb_pmd_mappable(&m, &bad, &total, why), PB_OK);
	assert_int_equal(total, 4);
	assert_int_equal(bad, 0);
	pb_mem_teardown(thp, &m);
}

int main(void)
{
	struct CMUnitTest tests[64];
	char names[3][32][64];
	size_t n = 0;
	char *argv[] = { "test", NULL };
	char *gb[2], err[PB_WHY];
	int gbc;

	pb_opts_parse(&opts, 1, argv, &gbc, gb, NULL, err, sizeof(err));
	/* the lab guest hands its DAX memory in */
	opts.fsdax_dir = getenv("PINLAB_FSDAX_DIR");
	opts.devdax = getenv("PINLAB_DEVDAX");
	for (size_t i = 0; i < pb_nbackings; i++) {
		void *bk = (void *)pb_backings[i];
		snprintf(names[0][i], 64, "setup_teardown/%s",
			 pb_backings[i]->name);
		snprintf(names[1][i], 64, "bad_params/%s",
			 pb_backings[i]->name);
		snprintf(names[2][i], 64, "remote_child/%s",
			 pb_backings[i]->name);
		tests[n++] = (struct CMUnitTest){ names[0][i], setup_teardown,
						  NULL, NULL, bk };
		tests[n++] = (struct CMUnitTest){ names[1][i], bad_params, NULL,
						  NULL, bk };
		tests[n++] = (struct CMUnitTest){ names[2][i], remote_child,
						  NULL, NULL, bk };
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(child_refresh);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(hugetlb_pool_restored);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(numa_placement);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(thp_is_checked);
	tests[n++] =
		(struct CMUnitTest)cmocka_unit_test(pmd_mappable_is_checked);
	int r = _cmocka_run_group_tests("backing", tests, n, NULL, NULL);
	pb_hugetlb_restore();
	return r;
}
