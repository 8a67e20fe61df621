// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the Google Benchmark C API: benchmarks written in C against
 * gbench.h run under Google Benchmark, and its JSON carries what they set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gbench/gbench.h"

static char json[1 << 20];
static int seen_args[2];
static int64_t loops;

static void bm_counters(gbc_state *st, void *arg)
{
	int64_t n = 0;

	assert_string_equal((const char *)arg, "cookie");
	seen_args[0] = (int)gbc_range(st, 0);
	seen_args[1] = (int)gbc_range(st, 1);
	while (gbc_keep_running(st))
		n++;
	loops = n;
	assert_int_equal(gbc_iterations(st), n);
	gbc_counter(st, "answer", 42, GBC_CTR_DEFAULT);
	gbc_counter(st, "per_iter", (double)n, GBC_CTR_AVG_ITERATIONS);
	gbc_label(st, "labelled");
}

static void bm_manual(gbc_state *st, void *arg)
{
	(void)arg;
	while (gbc_keep_running(st))
		gbc_set_iteration_time(st, 0.004); /* 4 ms, reported as such */
}

static void bm_paused(gbc_state *st, void *arg)
{
	(void)arg;
	while (gbc_keep_running(st)) {
		gbc_pause(st);
		usleep(2000); /* 2 ms not timed */
		gbc_resume(st);
	}
}

static void bm_skip(gbc_state *st, void *arg)
{
	(void)arg;
	gbc_skip(st, "no %s here", "widget");
	while (gbc_keep_running(st))
		fail_msg("a skipped benchmark must not iterate");
	assert_true(gbc_stopped(st));
}

static void bm_error(gbc_state *st, void *arg)
{
	(void)arg;
	while (gbc_keep_running(st)) {
		gbc_error(st, "broke after %d", 1);
		break;
	}
}

/* skips before its loop in its second repetition only: the others'
 * statistics must still be computed (Google Benchmark aborts on
 * repetitions with different iteration counts) */
static int flaky_calls;
static void bm_flaky(gbc_state *st, void *arg)
{
	(void)arg;
	if (++flaky_calls == 2) {
		gbc_skip(st, "only this once");
		return;
	}
	while (gbc_keep_running(st))
		gbc_set_iteration_time(st, 0.001);
}

static int run_all(void **state)
{
	char out[] = "/tmp/pinlab-capi-XXXXXX";
	char flag[64];
	int fd = mkstemp(out);
	FILE *f;
	size_t n;

	(void)state;
	close(fd);
	snprintf(flag, sizeof(flag), "--benchmark_out=%s", out);
	char *argv[] = { "test_capi", flag, "--benchmark_out_format=json",
			 "--benchmark_min_time=0.02", NULL };
	int argc = 4;
	const char *names[] = { "x", "y" };
	int64_t a[2] = { 3, 7 };

	gbc_initialize(&argc, argv);
	if (gbc_report_unrecognized(argc, argv))
		return -1;
	gbc_bench *b = gbc_register("c/counters", bm_counters, "cookie");
	gbc_args(b, a, 2);
	gbc_arg_names(b, names, 2);
	b = gbc_register("c/manual", bm_manual, NULL);
	gbc_use_manual_time(b);
	gbc_unit(b, GBC_MS);
	gbc_fixed_iterations(b, 5);
	b = gbc_register("c/paused", bm_paused, NULL);
	gbc_fixed_iterations(b, 5);
	gbc_unit(b, GBC_MS);
	gbc_register("c/skip", bm_skip, NULL);
	gbc_register("c/error", bm_error, NULL);
	b = gbc_register("c/flaky", bm_flaky, NULL);
	gbc_use_manual_time(b);
	gbc_fixed_iterations(b, 2);
	gbc_repetitions(b, 3);
	gbc_context("pinlab_test", "ctx-value");
	if (gbc_run() != 6)
		return -1;
	gbc_shutdown();
	f = fopen(out, "r");
	if (!f)
		return -1;
	n = fread(json, 1, sizeof(json) - 1, f);
	json[n] = 0;
	fclose(f);
	unlink(out);
	return 0;
}

/* The JSON object of one benchmark, as text, or NULL. */
static const char *entry(const char *name, char *buf, size_t len)
{
	char key[128];
	const char *p, *e;

	snprintf(key, sizeof(key), "\"name\": \"%s\"", name);
	p = strstr(json, key);
	if (!p)
		return NULL;
	e = strchr(p, '}');
	snprintf(buf, len, "%.*s", (int)(e - p), p);
	return buf;
}

static double field(const char *obj, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\": ", key);
	p = strstr(obj, k);
	assert_non_null(p);
	return strtod(p + strlen(k), NULL);
}

static void args_and_counters(void **state)
{
	char buf[4096];
	const char *e = entry("c/counters/x:3/y:7", buf, sizeof(buf));

	(void)state;
	assert_non_null(e);
	assert_int_equal(seen_args[0], 3);
	assert_int_equal(seen_args[1], 7);
	assert_true(loops > 0);
	assert_true(field(e, "answer") == 42.0);
	/* AVG_ITERATIONS: n / n */
	assert_true(field(e, "per_iter") == 1.0);
	assert_non_null(strstr(e, "\"label\": \"labelled\""));
}

static void manual_time(void **state)
{
	char buf[4096];
	const char *e =
		entry("c/manual/iterations:5/manual_time", buf, sizeof(buf));

	(void)state;
	assert_non_null(e);
	assert_true(field(e, "real_time") > 3.999 &&
		    field(e, "real_time") < 4.001);
	assert_non_null(strstr(e, "\"time_unit\": \"ms\""));
	assert_true(field(e, "iterations") == 5.0);
}

static void pause_resume(void **state)
{
	char buf[4096];
	const char *e = entry("c/paused/iterations:5", buf, sizeof(buf));

	(void)state;
	assert_non_null(e);
	/* 2 ms of sleep per iteration was paused: far below it */
	assert_true(field(e, "real_time") < 1.0);
}

static void skip_and_error(void **state)
{
	char buf[4096];
	const char *s = entry("c/skip", buf, sizeof(buf));

	(void)state;
	assert_non_null(s);
	assert_non_null(strstr(s, "\"error_occurred\": true"));
	assert_non_null(
		strstr(s, "\"error_message\": \"SKIP: no widget here\""));
	s = entry("c/error", buf, sizeof(buf));
	assert_non_null(s);
	assert_non_null(
		strstr(s, "\"error_message\": \"ERROR: broke after 1\""));
}

static void skip_in_one_repetition(void **state)
{
	char buf[4096];
	const char *s =
		entry("c/flaky/iterations:2/repeats:3/manual_time_median", buf,
		      sizeof(buf));

	(void)state;
	assert_int_equal(flaky_calls, 3);
	assert_non_null(s); /* the statistics of the two that ran */
	assert_non_null(
		strstr(json, "\"error_message\": \"SKIP: only this once\""));
}

static void context(void **state)
{
	(void)state;
	assert_non_null(strstr(json, "\"pinlab_test\": \"ctx-value\""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(args_and_counters),
		cmocka_unit_test(manual_time),
		cmocka_unit_test(pause_resume),
		cmocka_unit_test(skip_and_error),
		cmocka_unit_test(skip_in_one_repetition),
		cmocka_unit_test(context),
	};
	return cmocka_run_group_tests_name("capi", tests, run_all, NULL);
}
