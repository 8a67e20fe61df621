// SPDX-License-Identifier: GPL-2.0
/* Unit tests: pinbench's argument parsing and size helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../lib/opts.h"
#include "../lib/util.h"

static int parse(struct pb_opts *o, char *err, int argc, ...)
{
	char *argv[32], *gb[32];
	int gbc;
	va_list ap;

	argv[0] = "pinbench";
	va_start(ap, argc);
	for (int i = 1; i <= argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	return pb_opts_parse(o, argc + 1, argv, &gbc, gb, NULL, err, PB_WHY);
}

static void sizes(void **state)
{
	uint64_t v;
	char buf[32];

	(void)state;
	assert_int_equal(pb_parse_size("16M", &v), 0);
	assert_int_equal(v, 16 * MiB);
	assert_int_equal(pb_parse_size("1g", &v), 0);
	assert_int_equal(v, GiB);
	assert_int_equal(pb_parse_size("64KiB", &v), 0);
	assert_int_equal(v, 64 * KiB);
	assert_int_equal(pb_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_not_equal(pb_parse_size("0", &v), 0);
	assert_int_not_equal(pb_parse_size("", &v), 0);
	assert_int_not_equal(pb_parse_size("-1M", &v), 0);
	assert_int_not_equal(pb_parse_size("12Q", &v), 0);
	assert_int_not_equal(pb_parse_size("M", &v), 0);
	assert_int_not_equal(pb_parse_size("99999999999999999999", &v), 0);
	assert_int_not_equal(pb_parse_size("20000000000T", &v), 0);
	assert_string_equal(pb_fmt_size(2 * GiB, buf, sizeof(buf)), "2G");
	assert_string_equal(pb_fmt_size(1536 * KiB, buf, sizeof(buf)), "1536K");
	assert_string_equal(pb_fmt_size(100, buf, sizeof(buf)), "100");
}

static void defaults(void **state)
{
	struct pb_opts o;
	char err[PB_WHY];

	(void)state;
	assert_int_equal(parse(&o, err, 0), 0);
	assert_false(o.sizes_given);
	assert_int_equal(o.nsizes, 1);
	assert_int_equal(o.sizes[0], 16 * MiB);
	assert_int_equal(o.nppcs, 3);
	assert_int_equal(o.ppcs[2], PB_PPC_ALL);
	assert_int_equal(o.nvmas, 1);
	assert_int_equal(o.writes[0], 1);
	assert_int_equal(o.node, -1);
	assert_true(o.reserve);
	assert_string_equal(o.dir, "/var/tmp");
}

static void lists_and_values(void **state)
{
	struct pb_opts o;
	char err[PB_WHY];

	(void)state;
	assert_int_equal(parse(&o, err, 7, "--size=4M,1G", "--ppc", "1,all",
			       "--vmas=1,64,1024", "--write=0,1", "--node=0",
			       "--no-reserve"),
			 0);
	assert_true(o.sizes_given);
	assert_int_equal(o.nsizes, 2);
	assert_int_equal(o.sizes[1], GiB);
	assert_int_equal(o.nppcs, 2);
	assert_int_equal(o.ppcs[0], 1);
	assert_int_equal(o.ppcs[1], PB_PPC_ALL);
	assert_int_equal(o.nvmas, 3);
	assert_int_equal(o.vmas[2], 1024);
	assert_int_equal(o.nwrites, 2);
	assert_int_equal(o.node, 0);
	assert_int_equal(o.cpu_node, 0); /* follows --node */
	assert_false(o.reserve);
}

static void passthrough(void **state)
{
	char *argv[] = { "pinbench", "--benchmark_filter=anon", "--label=x",
			 "--benchmark_repetitions=9", "--v=2" };
	char *gb[8], err[PB_WHY];
	struct pb_opts o;
	int n;

	(void)state;
	assert_int_equal(pb_opts_parse(&o, 5, argv, &n, gb, NULL, err, PB_WHY),
			 0);
	assert_int_equal(n, 4);
	assert_string_equal(gb[1], "--benchmark_filter=anon");
	assert_string_equal(gb[2], "--benchmark_repetitions=9");
	assert_string_equal(gb[3], "--v=2");
	assert_string_equal(o.label, "x");
}

/* options declared in a backing's file parse like the general ones */
static void declared_beside(void **state)
{
	char *argv[] = { "pinsem", "--fsdax-dir=/mnt/x", "--devdax", "/dev/d",
			 "--list", "table.txt",		 "--dir=/d" };
	char *gb[8], err[PB_WHY];
	const char *pos = NULL;
	struct pb_opts o;
	int n;

	(void)state;
	assert_int_equal(pb_opts_parse(&o, 7, argv, &n, gb, &pos, err, PB_WHY),
			 0);
	assert_string_equal(o.fsdax_dir, "/mnt/x");
	assert_string_equal(o.devdax, "/dev/d");
	assert_string_equal(o.dir, "/d");
	assert_string_equal(o.list, "text");
	assert_string_equal(pos, "table.txt");
	assert_int_equal(parse(&o, err, 1, "--list=json"), 0);
	assert_string_equal(o.list, "json");
	/* one positional word at most, and none where none is taken */
	char *two[] = { "pinsem", "a", "b" };
	assert_int_equal(pb_opts_parse(&o, 3, two, &n, gb, &pos, err, PB_WHY),
			 -1);
	assert_non_null(strstr(err, "unexpected argument 'b'"));
}

static void bad_input(void **state)
{
	struct pb_opts o;
	char err[PB_WHY];

	(void)state;
	assert_int_equal(parse(&o, err, 1, "--size=0"), -1);
	assert_non_null(strstr(err, "--size"));
	assert_int_equal(parse(&o, err, 1, "--size=abc"), -1);
	assert_int_equal(parse(&o, err, 1, "--size=128G"), -1);
	assert_int_equal(parse(&o, err, 1, "--ppc=0"), -1);
	assert_int_equal(parse(&o, err, 1, "--ppc=some"), -1);
	assert_int_equal(parse(&o, err, 1, "--vmas=0"), -1);
	assert_int_equal(parse(&o, err, 1, "--vmas=100000"), -1);
	assert_int_equal(parse(&o, err, 1, "--write=2"), -1);
	assert_int_equal(parse(&o, err, 1, "--node=-1"), -1);
	assert_int_equal(parse(&o, err, 1, "--node=x"), -1);
	assert_int_equal(parse(&o, err, 1, "--frobnicate"), -1);
	assert_non_null(strstr(err, "unknown option"));
	assert_int_equal(parse(&o, err, 1, "--size"), -1);
	assert_non_null(strstr(err, "needs a value"));
	assert_int_equal(parse(&o, err, 1, "--list=yes"), -1);
	assert_non_null(strstr(err, "not one of text|json"));
	assert_int_equal(parse(&o, err, 1, "--dir="), -1);
	assert_int_equal(parse(&o, err, 1, "stray"), -1);
	assert_int_equal(parse(&o, err, 1,
			       "--size=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,"
			       "16,17"),
			 -1);
	assert_non_null(strstr(err, "at most"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes),
		cmocka_unit_test(defaults),
		cmocka_unit_test(lists_and_values),
		cmocka_unit_test(passthrough),
		cmocka_unit_test(declared_beside),
		cmocka_unit_test(bad_input),
	};
	return cmocka_run_group_tests_name("opts", tests, NULL, NULL);
}
