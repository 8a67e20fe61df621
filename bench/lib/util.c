// SPDX-License-Identifier: GPL-2.0
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int pb_say(char *why, int status, const char *fmt, ...)
{
	va_list ap;

	if (why) {
		va_start(ap, fmt);
		vsnprintf(why, PB_WHY, fmt, ap);
		va_end(ap);
	}
	return status;
}

int pb_say_errno(char *why, int status, int err, const char *fmt, ...)
{
	va_list ap;
	char head[PB_WHY];

	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	return pb_say(why, status, "%s: %s", head, strerror(err));
}

int pb_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int pb_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v, mul = 1;

	if (!s || !*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 0: break;
	case 'k':
	case 'K':
		mul = KiB;
		end++;
		break;
	case 'm':
	case 'M':
		mul = MiB;
		end++;
		break;
	case 'g':
	case 'G':
		mul = GiB;
		end++;
		break;
	case 't':
	case 'T':
		mul = 1024 * GiB;
		end++;
		break;
	default: return -EINVAL;
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || v == 0 || v > UINT64_MAX / mul)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

const char *pb_fmt_size(uint64_t b, char *buf, size_t len)
{
	if (b && b % GiB == 0)
		snprintf(buf, len, "%" PRIu64 "G", b / GiB);
	else if (b && b % MiB == 0)
		snprintf(buf, len, "%" PRIu64 "M", b / MiB);
	else if (b && b % KiB == 0)
		snprintf(buf, len, "%" PRIu64 "K", b / KiB);
	else
		snprintf(buf, len, "%" PRIu64, b);
	return buf;
}

int pb_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	close(fd);
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

int pb_read_u64(const char *path, uint64_t *v)
{
	char buf[64];
	int r = pb_read_file(path, buf, sizeof(buf));

	if (r)
		return r;
	return pb_parse_u64(buf, UINT64_MAX, v);
}

int pb_write_u64(const char *path, uint64_t v)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int n, r = 0;

	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);
	if (write(fd, buf, (size_t)n) != n)
		r = -errno;
	close(fd);
	return r;
}

int pb_read_keyed(const char *path, const char *key, uint64_t *v)
{
	FILE *f = fopen(path, "re");
	char line[256];
	size_t kl = strlen(key);
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, kl) == 0 &&
		    (line[kl] == ' ' || line[kl] == ':' || line[kl] == '\t')) {
			char *p = line + kl + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			*v = strtoull(p, NULL, 10);
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

int pb_read_choice(const char *path, char *buf, size_t len)
{
	char raw[256], *a, *b;
	int r = pb_read_file(path, raw, sizeof(raw));

	if (r)
		return r;
	a = strchr(raw, '[');
	b = a ? strchr(a, ']') : NULL;
	if (!a || !b) {
		snprintf(buf, len, "%s", raw);
		return 0;
	}
	*b = 0;
	snprintf(buf, len, "%s", a + 1);
	return 0;
}

int pb_pins_outstanding(int64_t *out)
{
	uint64_t acq, rel;
	int r;

	/*
	 * The counters are per-cpu deltas folded lazily: a pin taken on one
	 * CPU and released on another can look outstanding for a second.
	 * stat_refresh (root) folds them now; others wait for vmstat_update.
	 */
	if (pb_is_root())
		pb_write_u64("/proc/sys/vm/stat_refresh", 1);
	r = pb_read_keyed("/proc/vmstat", "nr_foll_pin_acquired", &acq);

	if (!r)
		r = pb_read_keyed("/proc/vmstat", "nr_foll_pin_released", &rel);
	if (r)
		return r;
	*out = (int64_t)(acq - rel);
	return 0;
}

int64_t pb_pins_settle(int64_t base, int ms)
{
	int64_t now = base;

	for (int waited = 0;; waited += 10) {
		if (pb_pins_outstanding(&now) || now <= base || waited >= ms)
			return now - base;
		usleep(10000);
	}
}

static FILE *open_proc(int pid, const char *what)
{
	char path[64];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	else
		snprintf(path, sizeof(path), "/proc/self/%s", what);
	return fopen(path, "re");
}

int pb_count_vmas(int pid, const void *addr, size_t len)
{
	uintptr_t lo = (uintptr_t)addr, hi = lo + len;
	unsigned long s, e;
	char line[512];
	int n = 0;
	FILE *f = open_proc(pid, "maps");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s < hi && e > lo)
			n++;
	}
	fclose(f);
	return n;
}

int pb_huge_kb(int pid, const void *addr, size_t len, uint64_t *kb)
{
	uintptr_t lo = (uintptr_t)addr, hi = lo + len;
	unsigned long s, e, v;
	char line[512], key[64];
	bool in = false;
	FILE *f = open_proc(pid, "smaps");

	if (!f)
		return -errno;
	*kb = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2) {
			in = s < hi && e > lo;
			continue;
		}
		if (in && sscanf(line, "%63[^:]: %lu kB", key, &v) == 2 &&
		    (!strcmp(key, "AnonHugePages") ||
		     !strcmp(key, "ShmemPmdMapped") ||
		     !strcmp(key, "FilePmdMapped")))
			*kb += v;
	}
	fclose(f);
	return 0;
}

bool pb_is_root(void)
{
	return geteuid() == 0;
}
