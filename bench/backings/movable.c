// SPDX-License-Identifier: GPL-2.0
/*
 * movable: private anonymous 4K pages in ZONE_MOVABLE, so that a long-term
 * pin must migrate them out first (check_and_migrate_movable_pages()).
 *
 * The zone comes from the machine: movablecore= on the kernel command line,
 * or memory onlined movable (daxctl reconfigure-device --mode=system-ram).
 * The buffer is bound to the node of the largest free Movable zone; every
 * page's PFN (/proc/self/pagemap, root) is checked to lie in that zone.
 * Before each pass the pages are dropped and faulted again, so that every
 * pass finds them movable; pinbench reports pgmigrate_success per pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../lib/backing.h"
#include "../lib/numa.h"

struct zone {
	int node;
	uint64_t start, spanned, present, free;
};

/* The Movable zone with the most free pages; -ENOENT if none. */
static int movable_zone(struct zone *best)
{
	FILE *f = fopen("/proc/zoneinfo", "re");
	char line[256], name[32];
	struct zone z = { .node = -1 };
	bool in = false;
	int node;
	unsigned long v;

	if (!f)
		return -errno;
	memset(best, 0, sizeof(*best));
	best->node = -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %d, zone %31s", &node, name) == 2) {
			in = !strcmp(name, "Movable");
			z = (struct zone){ .node = node };
			continue;
		}
		if (!in)
			continue;
		if (sscanf(line, " pages free %lu", &v) == 1)
			z.free = v;
		else if (sscanf(line, " spanned %lu", &v) == 1)
			z.spanned = v;
		else if (sscanf(line, " present %lu", &v) == 1)
			z.present = v;
		else if (sscanf(line, " start_pfn: %lu", &v) == 1) {
			z.start = v;
			if (z.present && z.free > best->free)
				*best = z;
		}
	}
	fclose(f);
	return best->node >= 0 ? 0 : -ENOENT;
}

static int movable_available(const struct pb_opts *o, char *why)
{
	struct zone z;

	(void)o;
	if (movable_zone(&z))
		return pb_say(why, PB_SKIP,
			      "no ZONE_MOVABLE memory here (boot with "
			      "movablecore=, or online memory movable: daxctl "
			      "reconfigure-device --mode=system-ram)");
	if (!pb_is_root())
		return pb_say(why, PB_SKIP,
			      "checking pages are in ZONE_MOVABLE reads PFNs "
			      "from /proc/self/pagemap: needs root");
	return PB_OK;
}

static int movable_map(struct pb_mem *m, size_t len, const struct pb_opts *o,
		       char *why)
{
	struct zone z;
	int r;

	(void)o;
	if (movable_zone(&z))
		return pb_say(why, PB_SKIP, "no ZONE_MOVABLE memory");
	if (len / PB_PAGE > z.free)
		return pb_say(why, PB_SKIP,
			      "ZONE_MOVABLE of node %d has %llu free pages, "
			      "%zu needed",
			      z.node, (unsigned long long)z.free,
			      len / PB_PAGE);
	r = pb_map_aligned(m, len, PB_PAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, why);
	if (r)
		return r;
	madvise(m->addr, len, MADV_NOHUGEPAGE);
	/* user pages prefer the highest zone of the node: Movable */
	r = pb_numa_bind_range(m->addr, len, z.node, why);
	if (r)
		pb_unmap_common(m);
	return r;
}

static int movable_verify(const struct pb_mem *m, char *why)
{
	uint64_t pfns[512];
	size_t n = m->len / PB_PAGE, in = 0;
	struct zone z;
	int fd, r = PB_OK;

	if (movable_zone(&z))
		return pb_say(why, PB_FAIL, "ZONE_MOVABLE went away");
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pb_say_errno(why, PB_FAIL, errno, "open pagemap");
	for (size_t i = 0; i < n && r == PB_OK;) {
		size_t k = n - i < 512 ? n - i : 512;
		off_t at = (off_t)(((uintptr_t)m->addr / PB_PAGE + i) * 8);
		if (pread(fd, pfns, k * 8, at) != (ssize_t)(k * 8)) {
			r = pb_say_errno(why, PB_FAIL, errno, "read pagemap");
			break;
		}
		for (size_t j = 0; j < k; j++) {
			uint64_t pfn = pfns[j] & ((1ULL << 55) - 1);
			if (!(pfns[j] >> 63) || !pfn) {
				r = pb_say(why, PB_FAIL,
					   "pagemap shows no PFN for page %zu",
					   i + j);
				break;
			}
			in += pfn >= z.start && pfn < z.start + z.spanned;
		}
		i += k;
	}
	close(fd);
	if (r == PB_OK && in != n)
		r = pb_say(why, PB_SKIP,
			   "only %zu of %zu pages landed in ZONE_MOVABLE of "
			   "node %d",
			   in, n, z.node);
	return r;
}

/* Drop the pages (long-term pins moved them out) and fault them back in. */
static int movable_refresh(struct pb_mem *m, char *why)
{
	if (madvise(m->addr, m->len, MADV_DONTNEED))
		return pb_say_errno(why, PB_FAIL, errno, "MADV_DONTNEED");
	pb_mem_touch(m);
	return movable_verify(m, why);
}

const struct pb_backing pb_backing_movable = {
	.name = "movable",
	.desc = "private anonymous 4K pages in ZONE_MOVABLE (FOLL_LONGTERM "
		"migrates them; refaulted before each pass)",
	.flags = PB_BK_PLACED,
	.page_size = pb_page_size_base,
	.available = movable_available,
	.map = movable_map,
	.verify = movable_verify,
	.refresh = movable_refresh,
	.unmap = pb_unmap_common,
};
