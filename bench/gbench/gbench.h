/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small C API over Google Benchmark.
 *
 * Google Benchmark is C++ only; pinlab's benchmarks are C.  This header is all
 * a benchmark needs: register a function with argument tuples, loop while the
 * state says keep running, pause/resume the timer or report a manually timed
 * iteration, set counters, skip with a reason, add context to the JSON.  The
 * adapter (gbench.cc) maps each call onto benchmark::State one to one, so all
 * of Google Benchmark's own flags (--benchmark_filter, _repetitions, _out,
 * _out_format, _min_time, ...) keep working and its JSON stays unchanged.
 */
#ifndef PINLAB_GBENCH_H
#define PINLAB_GBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gbc_state gbc_state; /* a benchmark::State */
typedef struct gbc_bench gbc_bench; /* a benchmark::internal::Benchmark */
typedef void (*gbc_fn)(gbc_state *st, void *arg);

enum gbc_unit { GBC_NS, GBC_US, GBC_MS, GBC_S };

/* Counter flags: the same bits as benchmark::Counter::Flags. */
enum gbc_counter_flags {
	GBC_CTR_DEFAULT = 0,
	GBC_CTR_RATE = 1 << 0,
	GBC_CTR_AVG_THREADS = 1 << 1,
	GBC_CTR_ITER_INVARIANT = 1 << 2,
	GBC_CTR_AVG_ITERATIONS = 1 << 3,
};

/* Prefix of the error message of a benchmark skipped with gbc_skip(). */
#define GBC_SKIP_PREFIX "SKIP: "
/* Prefix of a benchmark whose pin the kernel refused (gbc_refuse()). */
#define GBC_REFUSED_PREFIX "REFUSED: "

/* Process-wide: parse and remove Google Benchmark's flags from argv. */
void gbc_initialize(int *argc, char **argv);
/* Returns true (and prints) when argv still holds an unrecognized flag. */
bool gbc_report_unrecognized(int argc, char **argv);
/* Runs every registered benchmark the filter selects; returns how many. */
size_t gbc_run(void);
void gbc_shutdown(void);
/* A key/value pair in the JSON "context" object. */
void gbc_context(const char *key, const char *value);

/* Registration: the name is copied; arg is handed back to fn unchanged. */
gbc_bench *gbc_register(const char *name, gbc_fn fn, void *arg);
void gbc_args(gbc_bench *b, const int64_t *v, size_t n);
void gbc_arg_names(gbc_bench *b, const char *const *names, size_t n);
void gbc_use_manual_time(gbc_bench *b);
void gbc_unit(gbc_bench *b, enum gbc_unit u);
void gbc_fixed_iterations(gbc_bench *b, int64_t n);
void gbc_repetitions(gbc_bench *b, int n);

/* Inside a benchmark. */
bool gbc_keep_running(gbc_state *st);
int64_t gbc_range(gbc_state *st, size_t i);
int64_t gbc_iterations(gbc_state *st);
void gbc_pause(gbc_state *st);
void gbc_resume(gbc_state *st);
void gbc_set_iteration_time(gbc_state *st, double seconds);
void gbc_counter(gbc_state *st, const char *name, double value, unsigned flags);
void gbc_label(gbc_state *st, const char *label);
/* Ends the benchmark; the reason lands in the JSON's error_message. */
void gbc_skip(gbc_state *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The kernel refused the pin: an outcome, "REFUSED: ...". */
void gbc_refuse(gbc_state *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void gbc_error(gbc_state *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool gbc_stopped(gbc_state *st);

#ifdef __cplusplus
}
#endif
#endif
