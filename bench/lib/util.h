/* SPDX-License-Identifier: GPL-2.0 */
/* Shared helpers: status codes, reasons, sizes, sysfs/procfs, clocks. */
#ifndef PINLAB_UTIL_H
#define PINLAB_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Every "can this run / did it work" answer carries a one-line reason. */
#define PB_WHY 320
/*
 * PB_REFUSED: the kernel refused the pin from its first page, an outcome to
 * report (REFUSED: in the JSON), neither a skip nor a failure.
 */
enum pb_status { PB_OK = 0, PB_SKIP = 1, PB_FAIL = 2, PB_REFUSED = 3 };

#define KiB ((uint64_t)1024)
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define PB_PAGE 4096UL /* base page size: x86-64 */

int pb_say(char *why, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int pb_say_errno(char *why, int status, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "16M", "2m", "1G", "4096", "64k": bytes; 0 on bad input (errno EINVAL). */
int pb_parse_size(const char *s, uint64_t *out);
/* Unsigned decimal with an upper bound. */
int pb_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* Human form of a size: "16M", "2G", "4K", "1536K". */
const char *pb_fmt_size(uint64_t bytes, char *buf, size_t len);

/* Small file helpers: return 0 or -errno. */
int pb_read_file(const char *path, char *buf, size_t len);
int pb_read_u64(const char *path, uint64_t *v);
int pb_write_u64(const char *path, uint64_t v);
/* One field of /proc/vmstat or /proc/meminfo-like "key value" files. */
int pb_read_keyed(const char *path, const char *key, uint64_t *v);
/* The bracketed choice in a sysfs "a [b] c" file, e.g. THP mode. */
int pb_read_choice(const char *path, char *buf, size_t len);

static inline uint64_t pb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Pins outstanding system-wide: nr_foll_pin_acquired - nr_foll_pin_released. */
int pb_pins_outstanding(int64_t *out);
/*
 * Wait up to ms for the pins outstanding to come back to base or below
 * (vmstat folds per-cpu deltas lazily); returns outstanding - base.
 */
int64_t pb_pins_settle(int64_t base, int ms);

/* Number of VMAs of this process (pid 0: self) overlapping [addr, addr+len). */
int pb_count_vmas(int pid, const void *addr, size_t len);
/* kB of AnonHugePages (or ShmemPmdMapped/FilePmdMapped) in that range. */
int pb_huge_kb(int pid, const void *addr, size_t len, uint64_t *kb);

bool pb_is_root(void);

#endif
