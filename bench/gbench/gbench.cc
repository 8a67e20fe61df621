// SPDX-License-Identifier: GPL-2.0
// The one C++ file: adapts gbench.h to Google Benchmark.
#include "gbench.h"

#include <benchmark/benchmark.h>

#include <cstdarg>
#include <cstdio>
#include <string>
#include <vector>

namespace
{
benchmark::State &S(gbc_state *st)
{
	return *reinterpret_cast<benchmark::State *>(st);
}
benchmark::internal::Benchmark *B(gbc_bench *b)
{
	return reinterpret_cast<benchmark::internal::Benchmark *>(b);
}
std::string vfmt(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	return std::string(prefix) + buf;
}
} // namespace

extern "C" {

void gbc_initialize(int *argc, char **argv)
{
	benchmark::Initialize(argc, argv);
}

bool gbc_report_unrecognized(int argc, char **argv)
{
	return benchmark::ReportUnrecognizedArguments(argc, argv);
}

size_t gbc_run(void)
{
	return benchmark::RunSpecifiedBenchmarks();
}

void gbc_shutdown(void)
{
	benchmark::Shutdown();
}

void gbc_context(const char *key, const char *value)
{
	benchmark::AddCustomContext(key, value ? value : "");
}

gbc_bench *gbc_register(const char *name, gbc_fn fn, void *arg)
{
	auto *b = benchmark::RegisterBenchmark(
		name, [fn, arg](benchmark::State &s) {
			fn(reinterpret_cast<gbc_state *>(&s), arg);
		});
	return reinterpret_cast<gbc_bench *>(b);
}

void gbc_args(gbc_bench *b, const int64_t *v, size_t n)
{
	B(b)->Args(std::vector<int64_t>(v, v + n));
}

void gbc_arg_names(gbc_bench *b, const char *const *names, size_t n)
{
	B(b)->ArgNames(std::vector<std::string>(names, names + n));
}

void gbc_use_manual_time(gbc_bench *b)
{
	B(b)->UseManualTime();
}

void gbc_unit(gbc_bench *b, enum gbc_unit u)
{
	static const benchmark::TimeUnit map[] = { benchmark::kNanosecond,
						   benchmark::kMicrosecond,
						   benchmark::kMillisecond,
						   benchmark::kSecond };
	B(b)->Unit(map[u]);
}

void gbc_fixed_iterations(gbc_bench *b, int64_t n)
{
	B(b)->Iterations(n);
}

void gbc_repetitions(gbc_bench *b, int n)
{
	B(b)->Repetitions(n);
}

bool gbc_keep_running(gbc_state *st)
{
	return S(st).KeepRunning();
}

int64_t gbc_range(gbc_state *st, size_t i)
{
	return S(st).range(i);
}

int64_t gbc_iterations(gbc_state *st)
{
	return static_cast<int64_t>(S(st).iterations());
}

void gbc_pause(gbc_state *st)
{
	S(st).PauseTiming();
}

void gbc_resume(gbc_state *st)
{
	S(st).ResumeTiming();
}

void gbc_set_iteration_time(gbc_state *st, double seconds)
{
	S(st).SetIterationTime(seconds);
}

void gbc_counter(gbc_state *st, const char *name, double value, unsigned flags)
{
	S(st).counters[name] = benchmark::Counter(
		value, static_cast<benchmark::Counter::Flags>(flags));
}

void gbc_label(gbc_state *st, const char *label)
{
	S(st).SetLabel(label);
}

/*
 * Ends a benchmark with "PREFIX<message>": how SKIP, REFUSED and ERROR
 * differ.  Then runs the iteration loop out (it ends at once after the
 * error), wherever the error came: a run that stops before its loop
 * otherwise reports fewer iterations than its sibling repetitions, and
 * Google Benchmark 1.7 aborts computing their statistics
 * (statistics.cc: run_iterations == run.iterations).
 */
#define GBC_END_WITH(prefix)                           \
	do {                                           \
		va_list ap;                            \
		va_start(ap, fmt);                     \
		std::string m = vfmt(prefix, fmt, ap); \
		va_end(ap);                            \
		S(st).SkipWithError(m.c_str());        \
		while (S(st).KeepRunning())            \
			;                              \
	} while (0)

void gbc_skip(gbc_state *st, const char *fmt, ...)
{
	GBC_END_WITH(GBC_SKIP_PREFIX);
}

void gbc_refuse(gbc_state *st, const char *fmt, ...)
{
	GBC_END_WITH(GBC_REFUSED_PREFIX);
}

void gbc_error(gbc_state *st, const char *fmt, ...)
{
	GBC_END_WITH("ERROR: ");
}

bool gbc_stopped(gbc_state *st)
{
	return S(st).error_occurred();
}

} // extern "C"
